using System.Globalization;
using System.Text.RegularExpressions;

namespace Orchestrator.Actions.Notifications;

/// <summary>
/// <c>{{schedule.name}}</c>-style placeholders in notification subjects and messages, filled from the run's
/// context. No expressions, no code: a placeholder is a name looked up in a fixed set.
/// </summary>
public static partial class RunTemplate
{
    public static readonly IReadOnlyList<string> Names =
    [
        "schedule.name", "schedule.id", "schedule.project", "run.id", "run.scheduledFireTime", "run.attempt", "run.idempotencyKey",
    ];

    /// <summary>Why <paramref name="name"/> is refused, the same words wherever a template is checked.</summary>
    public static string NotKnown(string name) =>
        $"'{{{{{name}}}}}' is not a known placeholder; use {string.Join(", ", Names.Select(n => "{{" + n + "}}"))}.";

    public static IEnumerable<string> UnknownPlaceholders(string template) =>
        Placeholder().Matches(template).Select(m => m.Groups[1].Value).Where(n => !Names.Contains(n)).Distinct();

    public static string Render(string template, ActionInvocation run) => Placeholder().Replace(template, m => m.Groups[1].Value switch
    {
        "schedule.name" => run.ScheduleName,
        "schedule.id" => run.ScheduleId,
        "schedule.project" => run.ProjectId,
        "run.id" => run.RunId.ToString(),
        "run.scheduledFireTime" => run.ScheduledFireTime.ToString("O", CultureInfo.InvariantCulture),
        "run.attempt" => run.Attempt.ToString(CultureInfo.InvariantCulture),
        "run.idempotencyKey" => run.IdempotencyKey,
        _ => m.Value,
    });

    [GeneratedRegex(@"\{\{\s*([A-Za-z0-9_.]+)\s*\}\}", RegexOptions.CultureInvariant)]
    private static partial Regex Placeholder();
}
