using Microsoft.Win32.SafeHandles;

namespace Orchestrator.Projects;

/// <summary>
/// Resolves a path given by a user (API, tool argument) against a project's root, and only there. Refuses
/// anything that could name a place outside it: absolute paths, drive letters, '..' segments, NUL and control
/// characters, backslashes, and symlinks inside the root whose target lies outside it.
/// </summary>
public static class WorkspacePathResolver
{
    public const int MaxPathLength = 1024;

    /// <summary>The full path inside <paramref name="root"/> for <paramref name="relative"/>, or the reason it is refused.</summary>
    public static (string? FullPath, string? Error) Resolve(string root, string? relative)
    {
        relative ??= "";
        if (relative.Length > MaxPathLength)
        {
            return (null, $"is longer than {MaxPathLength} characters.");
        }

        if (relative.Any(c => char.IsControl(c)))
        {
            return (null, "must not contain NUL or control characters.");
        }

        if (relative.Contains('\uFFFD', StringComparison.Ordinal))
        {
            return (null, "is not valid UTF-8 (overlong or broken percent-encoding).");
        }

        if (relative.Contains('\\', StringComparison.Ordinal))
        {
            return (null, "must use '/' as the separator; backslashes are refused.");
        }

        if (relative.StartsWith('/') || relative.StartsWith('~') || (relative.Length >= 2 && relative[1] == ':'))
        {
            return (null, "must be relative to the project root (no leading '/', '~' or drive letter).");
        }

        var segments = relative.Split('/', StringSplitOptions.RemoveEmptyEntries);
        if (segments.Any(s => s is ".." or "."))
        {
            return (null, "must not contain '.' or '..' segments.");
        }

        var fullRoot = Path.TrimEndingDirectorySeparator(Path.GetFullPath(root));
        var full = segments.Length == 0 ? fullRoot : Path.GetFullPath(Path.Combine([fullRoot, .. segments]));
        if (full != fullRoot && !WorkspaceRoots.IsStrictlyInside(full, fullRoot))
        {
            return (null, "resolves outside the project root.");
        }

        // The lexical check is not enough: a symlink inside the root can point anywhere.
        string realRoot, real;
        try
        {
            realRoot = WorkspaceRoots.RealPath(fullRoot);
            real = WorkspaceRoots.RealPath(full);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // A symlink loop ("too many levels of symbolic links") or a component we may not read.
            return (null, $"cannot be resolved safely: {ex.Message}");
        }

        if (real != realRoot && !WorkspaceRoots.IsStrictlyInside(real, realRoot))
        {
            return (null, "leads outside the project root through a symbolic link.");
        }

        return (full, null);
    }

    /// <summary>
    /// After opening: whether the file the handle refers to is still inside <paramref name="root"/>. Resolve checks a
    /// path; between that check and the open, a component can be swapped for a symlink leading out. The kernel reports
    /// where the handle really points (/proc/self/fd), which no later swap can change. Elsewhere than Linux there is
    /// no such view, and the check made by Resolve is all there is.
    /// </summary>
    public static bool IsOpenedInside(string root, SafeFileHandle handle)
    {
        if (!OperatingSystem.IsLinux())
        {
            return true;
        }

        var target = new FileInfo($"/proc/self/fd/{handle.DangerousGetHandle()}").LinkTarget;
        var realRoot = WorkspaceRoots.RealPath(Path.TrimEndingDirectorySeparator(Path.GetFullPath(root)));
        return target is not null && WorkspaceRoots.IsStrictlyInside(target, realRoot);
    }
}
