using System.Text.Json;
using Orchestrator.Actions;
using Orchestrator.Api;
using Orchestrator.Projects;

namespace Orchestrator.Tools.Builtin;

/// <summary>
/// Path arguments of built-in tools, resolved only through <see cref="WorkspacePathResolver"/> against the project's
/// root from the database. Checked twice on purpose: at validation (so a bad path is a 422 naming the argument)
/// and again when the tool runs, because the disk may have changed in between (a symlink planted since).
/// </summary>
internal static class ToolPaths
{
    // When the project is not known yet (a run_task schedule's arguments are checked before its project is), only the
    // lexical rules can be applied; a root that does not exist has no symlinks to follow.
    private static readonly string LexicalOnlyRoot = Path.Combine(Path.GetTempPath(), "orchestrator-no-such-root-" + Guid.NewGuid().ToString("N"));

    public static async ValueTask CheckAsync(JsonElement arguments, string property, string? projectId, string prefix, IServiceProvider services, FieldErrors errors, CancellationToken cancellationToken)
    {
        if (!arguments.TryGetProperty(property, out var value) || value.ValueKind != JsonValueKind.String)
        {
            return;
        }

        var root = projectId is null ? null : await services.GetRequiredService<ProjectService>().FindRootAsync(projectId, cancellationToken);

        if (WorkspacePathResolver.Resolve(root ?? LexicalOnlyRoot, value.GetString()).Error is { } error)
        {
            errors.Add($"{prefix}.{property}", error);
        }
    }

    /// <summary>The full path of a path argument inside the project root; a refused path fails the run and names the argument.</summary>
    public static string Resolve(ToolContext context, string? relative, string property)
    {
        var (full, error) = WorkspacePathResolver.Resolve(context.ProjectRoot, relative);
        return full ?? throw new ActionFailedException($"{property}: '{relative}' {error}");
    }

    /// <summary>A path as the tool reports it: relative to the project root, with '/' separators.</summary>
    public static string Relative(ToolContext context, string fullPath)
    {
        var relative = Path.GetRelativePath(Path.GetFullPath(context.ProjectRoot), fullPath).Replace('\\', '/');
        return relative == "." ? "" : relative;
    }

    public static bool IsLink(FileSystemInfo entry) => entry.LinkTarget is not null;

    /// <summary>
    /// After opening: the file the handle refers to must still be inside the root. A symlink swapped in between the
    /// check and the open is caught here, because the kernel reports where the handle really points.
    /// </summary>
    public static void VerifyOpened(ToolContext context, FileStream stream, string property)
    {
        if (!WorkspacePathResolver.IsOpenedInside(context.ProjectRoot, stream.SafeFileHandle))
        {
            throw OpenedOutside(property);
        }
    }

    /// <summary>The failure for a file that turned out, once opened, to lie outside the project root.</summary>
    public static ActionFailedException OpenedOutside(string property) =>
        new($"{property}: the file changed into a link leading outside the project root while it was being opened.");

    /// <summary>Just before a destructive step: the directory holding <paramref name="fullPath"/> still resolves inside the root.</summary>
    public static bool ParentStillInside(ToolContext context, string fullPath) =>
        IsInsideRealRoot(context, WorkspaceRoots.RealPath(Path.GetDirectoryName(fullPath)!) + Path.DirectorySeparatorChar + "x");

    private static bool IsInsideRealRoot(ToolContext context, string realPath) =>
        WorkspaceRoots.IsStrictlyInside(realPath, WorkspaceRoots.RealPath(Path.TrimEndingDirectorySeparator(Path.GetFullPath(context.ProjectRoot))));
}
