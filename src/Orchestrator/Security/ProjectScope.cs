using System.Security.Claims;
using Microsoft.AspNetCore.Mvc;

namespace Orchestrator.Security;

/// <summary>
/// The projects the caller may see and change: those of a project-scoped key, or every project (an unscoped key, and
/// anything not on behalf of a request: a schedule's run, its agent and tool calls, housekeeping, the command line).
/// The services and queries ask it, so every surface that calls them is confined the same way: lists leave other
/// projects out, a single resource of another project answers 404 (its existence is not revealed), and creating or
/// acting in another project is a 403 naming that project.
/// </summary>
public sealed class ProjectScope(IHttpContextAccessor http)
{
    /// <summary>One claim per project of a scoped key; an unscoped key carries none.</summary>
    public const string ProjectClaim = "orchestrator:project";

    private string[]? projects;
    private bool read;

    /// <summary>The projects the caller is confined to, or null when it sees every project.</summary>
    public string[]? Projects
    {
        get
        {
            if (!read)
            {
                projects = Of(http.HttpContext?.User);
                read = true;
            }

            return projects;
        }
    }

    public bool IsScoped => Projects is not null;

    /// <summary>Whether the caller may see <paramref name="project"/>; a record of no project is visible to unscoped keys only.</summary>
    public bool Allows(string? project) => Projects is not { } allowed || (project is not null && allowed.Contains(project, StringComparer.Ordinal));

    /// <summary>
    /// Null when the caller may create in or act on <paramref name="project"/>; otherwise the 403 naming it. For a
    /// project the request itself names (a create, an invocation's project), where a 404 would hide nothing.
    /// </summary>
    public ProblemDetails? RefuseOutside(string project) =>
        Allows(project)
            ? null
            : new ProblemDetails
            {
                Status = StatusCodes.Status403Forbidden,
                Title = "Forbidden",
                Detail = $"This API key is scoped to {Describe(Projects!)}; it cannot act in project '{project}'.",
            };

    /// <summary>
    /// The 403 for a field a scoped key may not set even in its own projects (a project's rootPath, a secret reference,
    /// a tool that runs a program): the problem names the field, in its detail and under <c>errors</c>.
    /// </summary>
    public static ProblemDetails RefuseField(IReadOnlyList<string> projects, string field, string what) =>
        new HttpValidationProblemDetails(new Dictionary<string, string[]> { [field] = [$"a key scoped to {Describe(projects)} cannot {what}."] })
        {
            Status = StatusCodes.Status403Forbidden,
            Title = "Forbidden",
            Detail = $"This API key is scoped to {Describe(projects)}; it cannot {what} ({field}).",
        };

    /// <summary>The projects of a principal's key, or null for an unscoped key (or no key at all).</summary>
    public static string[]? Of(ClaimsPrincipal? user)
    {
        var claimed = user?.FindAll(ProjectClaim).Select(c => c.Value).ToArray();
        return claimed is { Length: > 0 } ? claimed : null;
    }

    public static string Describe(IReadOnlyList<string> projects) =>
        (projects.Count == 1 ? "project " : "projects ") + string.Join(", ", projects.Select(p => $"'{p}'"));
}
