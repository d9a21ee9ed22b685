using Microsoft.AspNetCore.Mvc;
using Orchestrator.Api;
using Orchestrator.Audit;

namespace Orchestrator.Projects;

public sealed record FileEntry(string Name, string Type, long? Size, DateTimeOffset ModifiedAt);

/// <summary>What a path in a workspace holds: a directory's entries, or a file opened for reading (the caller disposes it).</summary>
public sealed record WorkspaceContent(List<FileEntry>? Entries, FileStream? File);

/// <summary>
/// A project's workspace files: list a directory, read, write and delete files, inside the project root only. The files
/// API calls the use cases; the file tools share the disk steps (opening inside the root, replacing a file whole).
/// </summary>
public sealed class WorkspaceFiles(ProjectService projects, AuditLog audit)
{
    public const long MaxReadBytes = 10 * 1024 * 1024;

    private const string ChangedWhileOpening = "changed into a link leading outside the project root while it was being opened.";

    public async Task<Outcome<WorkspaceContent>> ReadAsync(string projectId, string? path, CancellationToken cancellationToken)
    {
        var resolved = await ResolveAsync(projectId, path, cancellationToken);
        if (!resolved.Succeeded)
        {
            return resolved.Refusal<WorkspaceContent>();
        }

        var (full, root) = resolved.Value;
        if (Directory.Exists(full))
        {
            var entries = new DirectoryInfo(full).EnumerateFileSystemInfos()
                .OrderBy(e => e.Name, StringComparer.Ordinal)
                .Select(e => new FileEntry(e.Name, e is DirectoryInfo ? "directory" : e.LinkTarget is null ? "file" : "link",
                    e is FileInfo f && e.LinkTarget is null ? f.Length : null, e.LastWriteTimeUtc))
                .ToList();
            return new WorkspaceContent(entries, null);
        }

        if (!File.Exists(full))
        {
            return Problems.NotFound("file", path ?? "");
        }

        FileStream? stream;
        try
        {
            stream = await OpenForReadingAsync(root, full);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            // Deleted between the check and the open.
            return Problems.NotFound("file", path ?? "");
        }

        if (stream is null)
        {
            return PathProblem(ChangedWhileOpening);
        }

        // The size of the file actually opened, not of whatever the path named a moment earlier.
        if (stream.Length > MaxReadBytes)
        {
            var length = stream.Length;
            await stream.DisposeAsync();
            return new ProblemDetails
            {
                Status = StatusCodes.Status413PayloadTooLarge,
                Title = "File too large",
                Detail = $"'{path}' is {length} bytes; files over {MaxReadBytes} bytes cannot be read through the API.",
            };
        }

        return new WorkspaceContent(null, stream);
    }

    /// <summary>Writes <paramref name="content"/> as the file at <paramref name="path"/>, creating its directories.</summary>
    public async Task<Outcome<FileEntry>> WriteAsync(string projectId, string? path, Stream content, CancellationToken cancellationToken)
    {
        var resolved = await ResolveAsync(projectId, path, cancellationToken);
        if (!resolved.Succeeded)
        {
            return resolved.Refusal<FileEntry>();
        }

        var (full, root) = resolved.Value;
        if (string.IsNullOrEmpty(path) || Directory.Exists(full))
        {
            return PathProblem("must name a file, not a directory.");
        }

        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        if (!await ReplaceFileAsync(root, full, content.CopyToAsync, cancellationToken))
        {
            return PathProblem(ChangedWhileOpening);
        }

        var entry = new FileEntry(Path.GetFileName(full), "file", new FileInfo(full).Length, File.GetLastWriteTimeUtc(full));
        // What was written, not its content: a file can hold anything, secrets included.
        await audit.RecordAsync(new AuditChange("file.write", "file", $"{projectId}/{path}", projectId, null, new { path, entry.Size }), cancellationToken);
        return entry;
    }

    /// <summary>Deletes a file or an empty directory (never the root); the value is the path deleted.</summary>
    public async Task<Outcome<string>> DeleteAsync(string projectId, string? path, CancellationToken cancellationToken)
    {
        var resolved = await ResolveAsync(projectId, path, cancellationToken);
        if (!resolved.Succeeded)
        {
            return resolved.Refusal<string>();
        }

        var full = resolved.Value.FullPath;
        if (string.IsNullOrEmpty(path))
        {
            return Problems.Conflict("The project root itself cannot be deleted through the files API.");
        }

        if (File.Exists(full))
        {
            var size = new FileInfo(full).Length;
            File.Delete(full);
            await audit.RecordAsync(new AuditChange("file.delete", "file", $"{projectId}/{path}", projectId, new { path, size }, null), cancellationToken);
            return path;
        }

        if (Directory.Exists(full))
        {
            if (Directory.EnumerateFileSystemEntries(full).Any())
            {
                return Problems.Conflict($"Directory '{path}' is not empty.");
            }

            Directory.Delete(full);
            await audit.RecordAsync(new AuditChange("file.delete", "file", $"{projectId}/{path}", projectId, new { path, type = "directory" }, null), cancellationToken);
            return path;
        }

        return Problems.NotFound("file", path);
    }

    /// <summary>
    /// Opens <paramref name="fullPath"/> for reading, or returns null when the file opened lies outside
    /// <paramref name="root"/>: a symlink swapped in between the path check and the open is caught here, because the
    /// kernel reports where the handle really points.
    /// </summary>
    public static async Task<FileStream?> OpenForReadingAsync(string root, string fullPath)
    {
        var stream = new FileStream(fullPath, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 64 * 1024, useAsync: true);
        if (WorkspacePathResolver.IsOpenedInside(root, stream.SafeFileHandle))
        {
            return stream;
        }

        await stream.DisposeAsync();
        return null;
    }

    /// <summary>
    /// Replaces (or creates) the file at <paramref name="fullPath"/> with what <paramref name="write"/> writes: into a
    /// temporary file first, moved into place when complete, so readers never see half a file. False, with nothing
    /// changed, when the temporary file opened outside <paramref name="root"/>.
    /// </summary>
    public static async Task<bool> ReplaceFileAsync(string root, string fullPath, Func<Stream, CancellationToken, Task> write, CancellationToken cancellationToken)
    {
        var temporary = fullPath + $".{Guid.NewGuid():N}.tmp";
        try
        {
            await using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024, useAsync: true))
            {
                if (!WorkspacePathResolver.IsOpenedInside(root, file.SafeFileHandle))
                {
                    return false;
                }

                await write(file, cancellationToken);
            }

            File.Move(temporary, fullPath, overwrite: true);
            return true;
        }
        finally
        {
            // A write that ends early (client gone, over the size limit, cancelled) must not leave its partial copy in the project.
            DeleteQuietly(temporary);
        }
    }

    private static void DeleteQuietly(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Cleanup is best effort: the operation's own outcome (or exception) is what the caller needs to see.
        }
    }

    private async Task<Outcome<(string FullPath, string Root)>> ResolveAsync(string projectId, string? path, CancellationToken cancellationToken)
    {
        var root = await projects.FindRootAsync(projectId, cancellationToken);
        if (root is null)
        {
            return Problems.NotFound("project", projectId);
        }

        // The path arrives decoded exactly once (ProjectFileEndpoints.RequestedPath); decoding it again here turned a
        // double-encoded "%252e%252e" into "..".
        var (full, error) = WorkspacePathResolver.Resolve(root, path);
        return error is not null ? PathProblem(error) : (full!, root);
    }

    private static HttpValidationProblemDetails PathProblem(string error)
    {
        var errors = new FieldErrors();
        errors.Add("path", error);
        return errors.ToProblemDetails();
    }
}
