using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Orchestrator.Data;
using Orchestrator.Hosting;
using Orchestrator.Security;

namespace Orchestrator.Projects;

public sealed record FileEntry(string Name, string Type, long? Size, DateTimeOffset ModifiedAt);

/// <summary>A project's workspace files: list a directory, read, write and delete files, inside the project root only.</summary>
public static partial class ProjectFileEndpoints
{
    public const long MaxReadBytes = 10 * 1024 * 1024;

    public static IEndpointRouteBuilder MapProjectFiles(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/projects/{id}/files").WithTags("Projects").RequireAuthorization(Policies.Viewer);
        group.MapGet("/{**path}", GetPath).WithName("GetProjectFile").WithSummary("List a directory (JSON) or download a file, inside the project root.");
        group.MapPut("/{**path}", PutFile).WithName("PutProjectFile").WithSummary("Write a file (the request body), creating directories.")
            .RequireAuthorization(Policies.Operator);
        group.MapDelete("/{**path}", DeletePath).WithName("DeleteProjectFile").WithSummary("Delete a file or an empty directory.")
            .RequireAuthorization(Policies.Operator);
        return app;
    }

    public static async Task<IResult> GetPath(string id, string? path, OrchestratorDbContext db, CancellationToken ct)
    {
        var (full, root, problem) = await ResolveAsync(id, path, db, ct);
        if (full is null)
        {
            return problem!;
        }

        if (Directory.Exists(full))
        {
            var entries = new DirectoryInfo(full).EnumerateFileSystemInfos()
                .OrderBy(e => e.Name, StringComparer.Ordinal)
                .Select(e => new FileEntry(e.Name, e is DirectoryInfo ? "directory" : e.LinkTarget is null ? "file" : "link",
                    e is FileInfo f && e.LinkTarget is null ? f.Length : null, e.LastWriteTimeUtc))
                .ToList();
            return TypedResults.Ok(entries);
        }

        if (!File.Exists(full))
        {
            return ApiProblems.NotFound("file", path ?? "");
        }

        FileStream stream;
        try
        {
            stream = new FileStream(full, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 64 * 1024, useAsync: true);
        }
        catch (Exception ex) when (ex is FileNotFoundException or DirectoryNotFoundException)
        {
            // Deleted between the check and the open.
            return ApiProblems.NotFound("file", path ?? "");
        }

        if (!WorkspacePathResolver.IsOpenedInside(root, stream.SafeFileHandle))
        {
            await stream.DisposeAsync();
            return PathProblem(ChangedWhileOpening);
        }

        // The size of the file actually opened, not of whatever the path named a moment earlier.
        if (stream.Length > MaxReadBytes)
        {
            var length = stream.Length;
            await stream.DisposeAsync();
            return TypedResults.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "File too large",
                detail: $"'{path}' is {length} bytes; files over {MaxReadBytes} bytes cannot be read through the API.");
        }

        return TypedResults.Stream(stream, "application/octet-stream");
    }

    public static async Task<IResult> PutFile(string id, string? path, HttpRequest request, OrchestratorDbContext db, CancellationToken ct)
    {
        var (full, root, problem) = await ResolveAsync(id, path, db, ct);
        if (full is null)
        {
            return problem!;
        }

        if (string.IsNullOrEmpty(path) || Directory.Exists(full))
        {
            var errors = new FieldErrors();
            errors.Add("path", "must name a file, not a directory.");
            return errors.ToProblem();
        }

        Directory.CreateDirectory(Path.GetDirectoryName(full)!);
        // Write to a temporary file and move it into place, so readers never see half a file.
        var temporary = full + $".{Guid.NewGuid():N}.tmp";
        try
        {
            await using (var file = new FileStream(temporary, FileMode.CreateNew, FileAccess.Write, FileShare.None, 64 * 1024, useAsync: true))
            {
                if (!WorkspacePathResolver.IsOpenedInside(root, file.SafeFileHandle))
                {
                    return PathProblem(ChangedWhileOpening);
                }

                await request.Body.CopyToAsync(file, ct);
            }

            File.Move(temporary, full, overwrite: true);
        }
        finally
        {
            // A body that ends early (client gone, over the size limit) must not leave its partial copy in the project.
            DeleteQuietly(temporary);
        }

        return TypedResults.Ok(new FileEntry(Path.GetFileName(full), "file", new FileInfo(full).Length, File.GetLastWriteTimeUtc(full)));
    }

    private static void DeleteQuietly(string path)
    {
        try
        {
            File.Delete(path);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            // Cleanup is best effort: the request's own outcome (or exception) is what the caller needs to see.
        }
    }

    public static async Task<IResult> DeletePath(string id, string? path, OrchestratorDbContext db, CancellationToken ct)
    {
        var (full, root, problem) = await ResolveAsync(id, path, db, ct);
        if (full is null)
        {
            return problem!;
        }

        if (string.IsNullOrEmpty(path))
        {
            return ApiProblems.Conflict("The project root itself cannot be deleted through the files API.");
        }

        if (File.Exists(full))
        {
            File.Delete(full);
            return TypedResults.NoContent();
        }

        if (Directory.Exists(full))
        {
            if (Directory.EnumerateFileSystemEntries(full).Any())
            {
                return ApiProblems.Conflict($"Directory '{path}' is not empty.");
            }

            Directory.Delete(full);
            return TypedResults.NoContent();
        }

        return ApiProblems.NotFound("file", path);
    }

    private static async Task<(string? FullPath, string Root, IResult? Problem)> ResolveAsync(string id, string? path, OrchestratorDbContext db, CancellationToken ct)
    {
        var root = await db.Projects.AsNoTracking().Where(p => p.Id == id).Select(p => p.RootPath).FirstOrDefaultAsync(ct);
        if (root is null)
        {
            return (null, "", ApiProblems.NotFound("project", id));
        }

        // A catch-all route value keeps "%2F" and friends encoded; decode once so an encoded "../" is judged as one.
        var decoded = path is null ? null : Uri.UnescapeDataString(path);
        var (full, error) = decoded is not null && ResidualEscape().IsMatch(decoded)
            // An escape that survives decoding was not valid UTF-8 (e.g. the overlong "%c0%ae" for '.').
            ? (null, "contains percent-encoding that is not valid UTF-8.")
            : WorkspacePathResolver.Resolve(root, decoded);
        if (error is not null)
        {
            return (null, root, PathProblem(error));
        }

        return (full, root, null);
    }

    private static ProblemHttpResult PathProblem(string error)
    {
        var errors = new FieldErrors();
        errors.Add("path", error);
        return errors.ToProblem();
    }

    private const string ChangedWhileOpening = "changed into a link leading outside the project root while it was being opened.";

    [System.Text.RegularExpressions.GeneratedRegex("%[0-9A-Fa-f]{2}", System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex ResidualEscape();
}
