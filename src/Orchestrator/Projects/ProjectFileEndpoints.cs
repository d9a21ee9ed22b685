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
        var (full, problem) = await ResolveAsync(id, path, db, ct);
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

        var info = new FileInfo(full);
        if (info.Length > MaxReadBytes)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status413PayloadTooLarge, title: "File too large",
                detail: $"'{path}' is {info.Length} bytes; files over {MaxReadBytes} bytes cannot be read through the API.");
        }

        return TypedResults.Bytes(await File.ReadAllBytesAsync(full, ct), "application/octet-stream");
    }

    public static async Task<IResult> PutFile(string id, string? path, HttpRequest request, OrchestratorDbContext db, CancellationToken ct)
    {
        var (full, problem) = await ResolveAsync(id, path, db, ct);
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
        await using (var file = File.Create(temporary))
        {
            await request.Body.CopyToAsync(file, ct);
        }

        File.Move(temporary, full, overwrite: true);
        return TypedResults.Ok(new FileEntry(Path.GetFileName(full), "file", new FileInfo(full).Length, File.GetLastWriteTimeUtc(full)));
    }

    public static async Task<IResult> DeletePath(string id, string? path, OrchestratorDbContext db, CancellationToken ct)
    {
        var (full, problem) = await ResolveAsync(id, path, db, ct);
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

    private static async Task<(string? FullPath, IResult? Problem)> ResolveAsync(string id, string? path, OrchestratorDbContext db, CancellationToken ct)
    {
        var root = await db.Projects.AsNoTracking().Where(p => p.Id == id).Select(p => p.RootPath).FirstOrDefaultAsync(ct);
        if (root is null)
        {
            return (null, ApiProblems.NotFound("project", id));
        }

        // A catch-all route value keeps "%2F" and friends encoded; decode once so an encoded "../" is judged as one.
        var decoded = path is null ? null : Uri.UnescapeDataString(path);
        var (full, error) = decoded is not null && ResidualEscape().IsMatch(decoded)
            // An escape that survives decoding was not valid UTF-8 (e.g. the overlong "%c0%ae" for '.').
            ? (null, "contains percent-encoding that is not valid UTF-8.")
            : WorkspacePathResolver.Resolve(root, decoded);
        if (error is not null)
        {
            var errors = new FieldErrors();
            errors.Add("path", error);
            return (null, errors.ToProblem());
        }

        return (full, null);
    }

    [System.Text.RegularExpressions.GeneratedRegex("%[0-9A-Fa-f]{2}", System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex ResidualEscape();
}
