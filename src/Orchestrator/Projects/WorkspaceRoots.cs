using Orchestrator.Hosting;

namespace Orchestrator.Projects;

/// <summary>
/// The directories project roots must live in (<c>Orchestrator:Workspaces:Roots</c>). Containment is
/// checked on real paths: a symlink inside an allowed root that points elsewhere does not make "elsewhere" allowed.
/// </summary>
public sealed class WorkspaceRoots(StorageChoice storage)
{
    private static readonly StringComparison PathComparison =
        OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal;

    public IReadOnlyList<string> Roots => storage.WorkspaceRoots;

    /// <summary>Returns the normalized root for a project, or the reason it is refused.</summary>
    public (string? Path, string? Error) Check(string rootPath)
    {
        if (rootPath.Contains('\0', StringComparison.Ordinal))
        {
            return (null, "must not contain NUL characters.");
        }

        if (!System.IO.Path.IsPathFullyQualified(rootPath))
        {
            return (null, $"must be an absolute path inside one of the allowed workspace roots: {string.Join(", ", Roots)}.");
        }

        var full = System.IO.Path.TrimEndingDirectorySeparator(System.IO.Path.GetFullPath(rootPath));
        var real = RealPath(full);
        foreach (var root in Roots)
        {
            var realRoot = RealPath(root);
            if (IsStrictlyInside(full, root) && IsStrictlyInside(real, realRoot))
            {
                return (full, null);
            }
        }

        return (null, $"'{full}' is not inside an allowed workspace root. Allowed roots: {string.Join(", ", Roots)} (setting Orchestrator:Workspaces:Roots).");
    }

    internal static bool IsStrictlyInside(string path, string root)
    {
        var prefix = System.IO.Path.EndsInDirectorySeparator(root) ? root : root + System.IO.Path.DirectorySeparatorChar;
        return path.Length > prefix.Length && path.StartsWith(prefix, PathComparison);
    }

    /// <summary>Resolves symlinks in every existing component of the path; the non-existent tail is appended as is.</summary>
    internal static string RealPath(string fullPath)
    {
        var root = System.IO.Path.GetPathRoot(fullPath) ?? "/";
        var parts = fullPath[root.Length..].Split(System.IO.Path.DirectorySeparatorChar, StringSplitOptions.RemoveEmptyEntries);
        var current = root;
        for (var i = 0; i < parts.Length; i++)
        {
            var next = System.IO.Path.Combine(current, parts[i]);
            FileSystemInfo info = new DirectoryInfo(next);
            if (!info.Exists)
            {
                info = new FileInfo(next);
            }

            if (!info.Exists && info.LinkTarget is null)
            {
                // Nothing on disk from here on: nothing left that can redirect.
                return System.IO.Path.Combine([current, .. parts[i..]]);
            }

            var target = info.LinkTarget is null ? null : info.ResolveLinkTarget(returnFinalTarget: true);
            current = target is null ? next : RealPath(System.IO.Path.GetFullPath(target.FullName));
        }

        return current;
    }
}
