using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.FileSystemGlobbing;
using Orchestrator.Actions;
using Orchestrator.Api;
using Orchestrator.Projects;

namespace Orchestrator.Tools.Builtin;

/// <summary>Reads a file inside the project root, up to a byte cap, as UTF-8 text or base64.</summary>
public sealed class FilesReadTool : BuiltinTool
{
    /// <summary>The result is recorded in the run and returned by the API: a few MiB at most.</summary>
    public const int MaxBytes = 4 * 1024 * 1024;

    public override string Name => "files.read";

    public override string Description => "Read a file inside the project root (UTF-8 text or base64), up to maxBytes.";

    public override string ParametersSchema => """
        {
          "type": "object",
          "additionalProperties": false,
          "required": ["path"],
          "properties": {
            "path": { "type": "string", "minLength": 1, "maxLength": 1024, "description": "Relative to the project root." },
            "encoding": { "type": "string", "enum": ["utf8", "base64"] },
            "maxBytes": { "type": "integer", "minimum": 1, "maximum": 4194304 }
          }
        }
        """;

    public override ValueTask ValidateAsync(JsonElement arguments, string? projectId, string prefix, IServiceProvider services, FieldErrors errors, CancellationToken cancellationToken) =>
        ToolPaths.CheckAsync(arguments, "path", projectId, prefix, services, errors, cancellationToken);

    public override async Task<ActionOutcome> InvokeAsync(ToolContext context, JsonElement arguments, CancellationToken cancellationToken)
    {
        var relative = arguments.GetProperty("path").GetString()!;
        var full = ToolPaths.Resolve(context, relative, "path");
        if (!File.Exists(full))
        {
            throw new ActionFailedException($"path: '{relative}' is not a file in the project.");
        }

        var cap = arguments.TryGetProperty("maxBytes", out var m) ? m.GetInt32() : 1024 * 1024;
        await using var stream = await WorkspaceFiles.OpenForReadingAsync(context.ProjectRoot, full) ?? throw ToolPaths.OpenedOutside("path");
        var size = stream.Length;
        var buffer = new byte[(int)Math.Min(cap, size)];
        // A file that shrinks while it is read gives what was there.
        var read = await stream.ReadAtLeastAsync(buffer, buffer.Length, throwOnEndOfStream: false, cancellationToken);
        buffer = buffer[..read];
        var base64 = OptionalString(arguments, "encoding") == "base64";
        return new ActionOutcome(true, new JsonObject
        {
            ["path"] = relative,
            ["size"] = size,
            ["encoding"] = base64 ? "base64" : "utf8",
            ["content"] = base64 ? Convert.ToBase64String(buffer) : Encoding.UTF8.GetString(buffer),
            ["truncated"] = size > buffer.Length,
        });
    }
}

/// <summary>Writes (or appends to) a file inside the project root; a replaced file is swapped in whole, never seen half-written.</summary>
public sealed class FilesWriteTool : BuiltinTool
{
    public override string Name => "files.write";

    public override string Description => "Write or append to a file inside the project root, creating its directories.";

    public override string ParametersSchema => """
        {
          "type": "object",
          "additionalProperties": false,
          "required": ["path", "content"],
          "properties": {
            "path": { "type": "string", "minLength": 1, "maxLength": 1024, "description": "Relative to the project root." },
            "content": { "type": "string", "maxLength": 8388608 },
            "encoding": { "type": "string", "enum": ["utf8", "base64"] },
            "append": { "type": "boolean" },
            "createDirectories": { "type": "boolean" }
          }
        }
        """;

    public override ValueTask ValidateAsync(JsonElement arguments, string? projectId, string prefix, IServiceProvider services, FieldErrors errors, CancellationToken cancellationToken)
    {
        if (OptionalString(arguments, "encoding") == "base64" && !IsBase64(arguments.GetProperty("content").GetString()!))
        {
            errors.Add($"{prefix}.content", "is not valid base64 (encoding is 'base64').");
        }

        return ToolPaths.CheckAsync(arguments, "path", projectId, prefix, services, errors, cancellationToken);
    }

    public override async Task<ActionOutcome> InvokeAsync(ToolContext context, JsonElement arguments, CancellationToken cancellationToken)
    {
        var relative = arguments.GetProperty("path").GetString()!;
        var full = ToolPaths.Resolve(context, relative, "path");
        if (Directory.Exists(full))
        {
            throw new ActionFailedException($"path: '{relative}' is a directory.");
        }

        var text = arguments.GetProperty("content").GetString()!;
        byte[] bytes;
        try
        {
            bytes = OptionalString(arguments, "encoding") == "base64" ? Convert.FromBase64String(text) : Encoding.UTF8.GetBytes(text);
        }
        catch (FormatException)
        {
            throw new ActionFailedException("content: is not valid base64.");
        }

        var directory = Path.GetDirectoryName(full)!;
        if (!Directory.Exists(directory))
        {
            if (!OptionalBool(arguments, "createDirectories", true))
            {
                throw new ActionFailedException($"path: the directory of '{relative}' does not exist (createDirectories is false).");
            }

            Directory.CreateDirectory(directory);
        }

        var existed = File.Exists(full);
        if (OptionalBool(arguments, "append", false))
        {
            await using var file = new FileStream(full, FileMode.Append, FileAccess.Write, FileShare.Read, 81920, useAsync: true);
            ToolPaths.VerifyOpened(context, file, "path");
            await file.WriteAsync(bytes, cancellationToken);
        }
        else
        {
            if (!await WorkspaceFiles.ReplaceFileAsync(context.ProjectRoot, full, (file, ct) => file.WriteAsync(bytes, ct).AsTask(), cancellationToken))
            {
                throw ToolPaths.OpenedOutside("path");
            }
        }

        return new ActionOutcome(true, new JsonObject { ["path"] = relative, ["size"] = new FileInfo(full).Length, ["created"] = !existed });
    }

    private static bool IsBase64(string text) => Convert.TryFromBase64String(text, new byte[text.Length], out _);
}

/// <summary>Lists a directory inside the project root, optionally recursively and filtered by a glob; symlinks are listed, never followed.</summary>
public sealed class FilesListTool : BuiltinTool
{
    public const int MaxScanned = 100_000;

    public override string Name => "files.list";

    public override string Description => "List a directory inside the project root (optionally recursive, filtered by a glob such as '**/*.log').";

    public override string ParametersSchema => """
        {
          "type": "object",
          "additionalProperties": false,
          "properties": {
            "path": { "type": "string", "maxLength": 1024, "description": "Directory relative to the project root; empty for the root." },
            "recursive": { "type": "boolean" },
            "pattern": { "type": "string", "minLength": 1, "maxLength": 256 },
            "maxEntries": { "type": "integer", "minimum": 1, "maximum": 10000 }
          }
        }
        """;

    public override ValueTask ValidateAsync(JsonElement arguments, string? projectId, string prefix, IServiceProvider services, FieldErrors errors, CancellationToken cancellationToken) =>
        ToolPaths.CheckAsync(arguments, "path", projectId, prefix, services, errors, cancellationToken);

    public override Task<ActionOutcome> InvokeAsync(ToolContext context, JsonElement arguments, CancellationToken cancellationToken)
    {
        var relative = OptionalString(arguments, "path") ?? "";
        var full = ToolPaths.Resolve(context, relative, "path");
        if (!Directory.Exists(full))
        {
            throw new ActionFailedException($"path: '{relative}' is not a directory in the project.");
        }

        var max = arguments.TryGetProperty("maxEntries", out var m) ? m.GetInt32() : 1000;
        var scanned = 0;
        var matcher = OptionalString(arguments, "pattern") is { } pattern ? new Matcher(StringComparison.Ordinal).AddInclude(pattern) : null;
        // Directory walks are blocking I/O: keep them off the request thread.
        return Task.Run(() =>
        {
            var entries = new JsonArray();
            var truncated = false;
            foreach (var entry in Walk(new DirectoryInfo(full), OptionalBool(arguments, "recursive", false), cancellationToken))
            {
                if (++scanned > MaxScanned)
                {
                    // A pattern that matches nothing must not walk an enormous tree to the end.
                    truncated = true;
                    break;
                }

                var path = ToolPaths.Relative(context, entry.FullName);
                if (matcher is not null && !matcher.Match(Path.GetRelativePath(full, entry.FullName).Replace('\\', '/')).HasMatches)
                {
                    continue;
                }

                if (entries.Count == max)
                {
                    truncated = true;
                    break;
                }

                entries.Add(new JsonObject
                {
                    ["path"] = path,
                    ["type"] = ToolPaths.IsLink(entry) ? "link" : entry is DirectoryInfo ? "directory" : "file",
                    ["size"] = entry is FileInfo f && !ToolPaths.IsLink(entry) ? f.Length : null,
                    ["modifiedAt"] = new DateTimeOffset(entry.LastWriteTimeUtc, TimeSpan.Zero),
                });
            }

            return new ActionOutcome(true, new JsonObject { ["path"] = relative, ["entries"] = entries, ["truncated"] = truncated });
        }, cancellationToken);
    }

    /// <summary>Entries in name order, depth first; a symlinked directory is an entry, not a place to descend into.</summary>
    internal static IEnumerable<FileSystemInfo> Walk(DirectoryInfo directory, bool recursive, CancellationToken cancellationToken)
    {
        foreach (var entry in directory.EnumerateFileSystemInfos().OrderBy(e => e.Name, StringComparer.Ordinal))
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return entry;
            if (recursive && entry is DirectoryInfo child && !ToolPaths.IsLink(child))
            {
                foreach (var inner in Walk(child, recursive, cancellationToken))
                {
                    yield return inner;
                }
            }
        }
    }
}

/// <summary>Deletes a file, a symlink (not its target) or a directory (recursively only when asked) inside the project root; never the root itself.</summary>
public sealed class FilesDeleteTool : BuiltinTool
{
    public override string Name => "files.delete";

    public override string Description => "Delete a file, or a directory (recursive: true for a non-empty one), inside the project root.";

    public override string ParametersSchema => """
        {
          "type": "object",
          "additionalProperties": false,
          "required": ["path"],
          "properties": {
            "path": { "type": "string", "minLength": 1, "maxLength": 1024, "description": "Relative to the project root." },
            "recursive": { "type": "boolean" },
            "missingOk": { "type": "boolean" }
          }
        }
        """;

    public override ValueTask ValidateAsync(JsonElement arguments, string? projectId, string prefix, IServiceProvider services, FieldErrors errors, CancellationToken cancellationToken) =>
        ToolPaths.CheckAsync(arguments, "path", projectId, prefix, services, errors, cancellationToken);

    public override Task<ActionOutcome> InvokeAsync(ToolContext context, JsonElement arguments, CancellationToken cancellationToken)
    {
        var relative = arguments.GetProperty("path").GetString()!;
        var full = ToolPaths.Resolve(context, relative, "path");
        if (ToolPaths.Relative(context, full).Length == 0)
        {
            throw new ActionFailedException("path: the project root itself cannot be deleted.");
        }

        return Task.Run(() =>
        {
            FileSystemInfo entry = Directory.Exists(full) ? new DirectoryInfo(full) : new FileInfo(full);
            if (!entry.Exists && entry.LinkTarget is null)
            {
                return OptionalBool(arguments, "missingOk", false)
                    ? new ActionOutcome(true, new JsonObject { ["path"] = relative, ["deleted"] = false })
                    : throw new ActionFailedException($"path: '{relative}' does not exist in the project.");
            }

            string kind;
            if (entry is DirectoryInfo directory && !ToolPaths.IsLink(directory))
            {
                if (!OptionalBool(arguments, "recursive", false) && directory.EnumerateFileSystemInfos().Any())
                {
                    throw new ActionFailedException($"path: directory '{relative}' is not empty; pass recursive: true to delete it with its contents.");
                }

                // A recursive delete removes symlinks it meets, without following them out of the root.
                directory.Delete(recursive: true);
                kind = "directory";
            }
            else
            {
                File.Delete(full);
                kind = ToolPaths.IsLink(entry) ? "link" : "file";
            }

            return new ActionOutcome(true, new JsonObject { ["path"] = relative, ["deleted"] = true, ["type"] = kind });
        }, cancellationToken);
    }
}
