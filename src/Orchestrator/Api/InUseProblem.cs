using Microsoft.AspNetCore.Mvc;

namespace Orchestrator.Api;

/// <summary>
/// The 409 a delete gives while schedules or pipelines still refer to what it would delete: each later firing would
/// otherwise fail on a name that no longer exists. It names the first few users and counts all of them, so the
/// refusal says what to change without growing with the number of users.
/// </summary>
public static class InUseProblem
{
    public const int NamedUsers = 10;

    /// <summary>The refusal for <paramref name="subject"/> (e.g. "Tool 'echo'"), or null when nothing uses it.</summary>
    public static ProblemDetails? For(string subject, IReadOnlyList<string> schedules, IReadOnlyList<string> pipelines)
    {
        var users = new List<string>();
        if (schedules.Count > 0)
        {
            users.Add(Describe(schedules, "schedule"));
        }

        if (pipelines.Count > 0)
        {
            users.Add(Describe(pipelines, "pipeline"));
        }

        return users.Count == 0
            ? null
            : Problems.Conflict($"{subject} is still used by {string.Join(" and ", users)}; delete or change them first, then delete it.");
    }

    private static string Describe(IReadOnlyList<string> ids, string kind)
    {
        var named = string.Join(", ", ids.Take(NamedUsers).Select(id => $"'{id}'"));
        var more = ids.Count > NamedUsers ? $" and {ids.Count - NamedUsers} more" : "";
        return $"{ids.Count} {kind}{(ids.Count == 1 ? "" : "s")} ({named}{more})";
    }
}
