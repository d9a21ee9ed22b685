using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.FileSystemGlobbing;
using Orchestrator.Actions;
using Orchestrator.Api;

namespace Orchestrator.Tools.Builtin;

/// <summary>
/// The housekeeper: removes files matching a glob under a directory of the project, oldest first, until every
/// policy holds — older than <c>retentionDays</c> go first, then the oldest until at most <c>maxFiles</c> remain,
/// then the oldest until they total at most <c>maxSizeMb</c>. Symlinks are neither followed nor removed.
/// <c>dryRun</c> reports the same list and removes nothing.
/// </summary>
public sealed class WorkspaceCleanupTool(TimeProvider time) : BuiltinTool
{
    public const int MaxReported = 1000;
    public const int MaxCandidates = 200_000;

    public override string Name => "workspace.cleanup";

    public override string Description =>
        "Housekeeper: delete files matching a glob under a project directory, oldest first, by age (retentionDays), count (maxFiles) and total size (maxSizeMb); dryRun reports without deleting.";

    public override string ParametersSchema => """
        {
          "type": "object",
          "additionalProperties": false,
          "properties": {
            "directory": { "type": "string", "maxLength": 1024, "description": "Relative to the project root; default the root." },
            "pattern": { "type": "string", "minLength": 1, "maxLength": 256, "description": "Glob relative to the directory; default '**/*'." },
            "retentionDays": { "type": "number", "minimum": 0, "maximum": 36500 },
            "maxFiles": { "type": "integer", "minimum": 0, "maximum": 10000000 },
            "maxSizeMb": { "type": "number", "minimum": 0, "maximum": 10000000 },
            "dryRun": { "type": "boolean" }
          }
        }
        """;

    public override ValueTask ValidateAsync(JsonElement arguments, string? projectId, string prefix, IServiceProvider services, FieldErrors errors, CancellationToken cancellationToken)
    {
        if (!arguments.TryGetProperty("retentionDays", out _) && !arguments.TryGetProperty("maxFiles", out _) && !arguments.TryGetProperty("maxSizeMb", out _))
        {
            errors.Add(prefix, "needs at least one policy: retentionDays, maxFiles or maxSizeMb (a cleanup without one would delete nothing or everything).");
        }

        return ToolPaths.CheckAsync(arguments, "directory", projectId, prefix, services, errors, cancellationToken);
    }

    public override Task<ActionOutcome> InvokeAsync(ToolContext context, JsonElement arguments, CancellationToken cancellationToken)
    {
        var relative = OptionalString(arguments, "directory") ?? "";
        var directory = ToolPaths.Resolve(context, relative, "directory");
        if (!Directory.Exists(directory))
        {
            throw new ActionFailedException($"directory: '{relative}' is not a directory in the project.");
        }

        var pattern = OptionalString(arguments, "pattern") ?? "**/*";
        var policy = new CleanupPolicy(
            OptionalNumber(arguments, "retentionDays") is { } days ? TimeSpan.FromDays(days) : null,
            arguments.TryGetProperty("maxFiles", out var f) ? f.GetInt32() : null,
            OptionalNumber(arguments, "maxSizeMb") is { } mb ? (long)(mb * 1024 * 1024) : null);
        var dryRun = OptionalBool(arguments, "dryRun", false);

        // A large tree is seconds of blocking I/O: off the request thread.
        return Task.Run(() => Clean(context, directory, relative, pattern, policy, dryRun, cancellationToken), cancellationToken);
    }

    private ActionOutcome Clean(ToolContext context, string directory, string relative, string pattern, CleanupPolicy policy, bool dryRun, CancellationToken cancellationToken)
    {
        var matcher = new Matcher(StringComparison.Ordinal).AddInclude(pattern);
        var candidates = FilesListTool.Walk(new DirectoryInfo(directory), recursive: true, cancellationToken)
            .OfType<FileInfo>()
            .Where(file => !ToolPaths.IsLink(file) && matcher.Match(Path.GetRelativePath(directory, file.FullName).Replace('\\', '/')).HasMatches)
            .Select(file => new CleanupCandidate(ToolPaths.Relative(context, file.FullName), file.FullName, file.Length, new DateTimeOffset(file.LastWriteTimeUtc, TimeSpan.Zero)))
            .Take(MaxCandidates + 1)
            .ToList();
        if (candidates.Count > MaxCandidates)
        {
            // Oldest-first needs the whole set; a partial scan could remove newer files under the count or size policy.
            throw new ActionFailedException($"more than {MaxCandidates} files match under '{relative}'; narrow the directory or the pattern.");
        }

        var plan = CleanupPlanner.Plan(candidates, policy, time.GetUtcNow());
        var removed = new JsonArray();
        var failures = new JsonArray();
        long freed = 0;
        foreach (var (file, reason) in plan)
        {
            cancellationToken.ThrowIfCancellationRequested();
            if (!dryRun)
            {
                try
                {
                    // The tree may have changed since the walk (a directory swapped for a link): check again right before deleting.
                    if (!ToolPaths.ParentStillInside(context, file.FullPath) || new FileInfo(file.FullPath).LinkTarget is not null)
                    {
                        throw new IOException("the file's directory no longer lies inside the project root, or the file became a link");
                    }

                    File.Delete(file.FullPath);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    failures.Add(new JsonObject { ["path"] = file.Path, ["error"] = ex.Message });
                    continue;
                }
            }

            freed += file.Size;
            if (removed.Count < MaxReported)
            {
                removed.Add(new JsonObject { ["path"] = file.Path, ["size"] = file.Size, ["modifiedAt"] = file.ModifiedAt, ["reason"] = reason });
            }
        }

        var removedCount = plan.Count - failures.Count;
        var result = new JsonObject
        {
            ["directory"] = relative,
            ["pattern"] = pattern,
            ["dryRun"] = dryRun,
            ["scanned"] = candidates.Count,
            ["removedCount"] = removedCount,
            ["removed"] = removed,
            ["bytesFreed"] = freed,
            ["remaining"] = new JsonObject { ["files"] = candidates.Count - removedCount, ["bytes"] = candidates.Sum(c => c.Size) - freed },
            ["errors"] = failures,
        };
        return failures.Count == 0
            ? new ActionOutcome(true, result)
            : new ActionOutcome(false, result, $"{failures.Count} file(s) could not be removed.");
    }
}

public sealed record CleanupPolicy(TimeSpan? MaxAge, int? MaxFiles, long? MaxBytes);

public sealed record CleanupCandidate(string Path, string FullPath, long Size, DateTimeOffset ModifiedAt);

/// <summary>Decides what the housekeeper removes; pure, so the policies are unit-tested without a disk.</summary>
public static class CleanupPlanner
{
    /// <summary>The files to remove, oldest first, each with the policy that removed it (age, count or size).</summary>
    public static IReadOnlyList<(CleanupCandidate File, string Reason)> Plan(IEnumerable<CleanupCandidate> candidates, CleanupPolicy policy, DateTimeOffset now)
    {
        // Oldest first; equal times in path order, so the same tree always gives the same plan.
        var remaining = new Queue<CleanupCandidate>(candidates.OrderBy(c => c.ModifiedAt).ThenBy(c => c.Path, StringComparer.Ordinal));
        var plan = new List<(CleanupCandidate, string)>();
        if (policy.MaxAge is { } maxAge)
        {
            while (remaining.TryPeek(out var oldest) && now - oldest.ModifiedAt > maxAge)
            {
                plan.Add((remaining.Dequeue(), "age"));
            }
        }

        if (policy.MaxFiles is { } maxFiles)
        {
            while (remaining.Count > maxFiles)
            {
                plan.Add((remaining.Dequeue(), "count"));
            }
        }

        if (policy.MaxBytes is { } maxBytes)
        {
            var total = remaining.Sum(c => c.Size);
            while (total > maxBytes && remaining.TryDequeue(out var oldest))
            {
                total -= oldest.Size;
                plan.Add((oldest, "size"));
            }
        }

        return plan;
    }
}
