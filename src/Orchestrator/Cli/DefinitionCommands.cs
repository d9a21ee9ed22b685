using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Definitions;

namespace Orchestrator.Cli;

/// <summary>
/// <c>apply -f &lt;dir|file&gt;</c> over <c>POST /api/apply</c> and <c>export</c> over <c>GET /api/export</c>: definitions
/// kept as files (SPEC §3 "Definitions as code"), read and written by <see cref="DefinitionFiles"/> exactly as the
/// server describes them, so <c>export --out dir</c> then <c>apply -f dir</c> reproduces every definition.
/// </summary>
public static class DefinitionCommands
{
    private static readonly Column[] PlanColumns = [new("ACTION", "action"), new("KIND", "kind"), new("NAME", "name"), new("DOCUMENT", "document")];

    public static Command Apply(RemoteOptions options)
    {
        var file = new Option<string>("--file", "-f") { Description = "A directory of *.yaml, *.yml and *.json documents (read recursively), or one such file.", Required = true, HelpName = "path" };
        var dryRun = new Option<bool>("--dry-run") { Description = "Print the plan; change nothing." };
        var prune = new Option<bool>("--prune") { Description = "Also delete managed resources the documents no longer name." };
        var force = new Option<bool>("--force") { Description = "Take over resources made through the API that the documents change." };
        var apply = new Command("apply", "Apply definition documents to a running server, all or nothing, and print the plan (create, update, delete, unchanged).") { file, dryRun, prune, force };
        options.AddTo(apply);
        return apply.WithRemoteAction(options, async (session, parsed, ct) =>
        {
            var path = parsed.GetValue(file)!;
            IReadOnlyList<JsonObject> documents;
            try
            {
                documents = Directory.Exists(path) ? DefinitionFiles.ReadDirectory(path)
                    : File.Exists(path) ? ReadFile(path)
                    : throw await session.EndAsync(CliExitCodes.Usage, $"error: '{path}' is neither a directory nor a file.");
            }
            catch (DefinitionFileException ex)
            {
                throw await session.EndAsync(CliExitCodes.Usage, $"error: {ex.Message}");
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                // An unreadable file or directory is the caller's to fix, like a document that does not parse; nothing was sent.
                throw await session.EndAsync(CliExitCodes.Usage, $"error: cannot read '{path}': {ex.Message}");
            }

            if (documents.Count == 0)
            {
                throw await session.EndAsync(CliExitCodes.Usage, $"error: no documents in '{path}' (*.yaml, *.yml or *.json).");
            }

            var body = new JsonObject
            {
                ["documents"] = new JsonArray([.. documents.Select(d => d.DeepClone())]),
                ["dryRun"] = parsed.GetValue(dryRun),
                ["prune"] = parsed.GetValue(prune),
                ["force"] = parsed.GetValue(force),
            };
            var answer = await session.SendAsync(HttpMethod.Post, "api/apply", body.ToJsonString(), ct);
            if (session.Json)
            {
                await session.PrintAsync(answer, []);
                return CliExitCodes.Ok;
            }

            if (answer is { } plan && plan.TryGetProperty("changes", out var changes))
            {
                await session.PrintAsync(changes, PlanColumns);
                var counts = changes.EnumerateArray().GroupBy(c => c.GetProperty("action").GetString()).Select(g => $"{g.Count()} {g.Key}");
                var applied = plan.TryGetProperty("applied", out var a) && a.ValueKind == JsonValueKind.True;
                await session.SayAsync($"{(applied ? "Applied" : "Plan (nothing changed)")}: {string.Join(", ", counts)}.");
            }

            return CliExitCodes.Ok;
        });
    }

    public static Command Export(RemoteOptions options)
    {
        var output = new Option<string?>("--out", "-o") { Description = "Write one YAML file per resource under this directory (<kind>s/<name>.yaml) instead of printing YAML.", HelpName = "dir" };
        var export = new Command("export", "Every definition on a running server as the documents 'apply' takes: YAML on stdout, files with --out, JSON with --json.") { output };
        options.AddTo(export);
        return export.WithRemoteAction(options, async (session, parsed, ct) =>
        {
            var answer = await session.GetAsync("api/export", ct);
            var documents = answer is { } value && value.TryGetProperty("documents", out var list)
                ? list.EnumerateArray().Select(d => JsonNode.Parse(d.GetRawText())!.AsObject()).ToList()
                : [];
            if (parsed.GetValue(output) is { } dir)
            {
                IReadOnlyList<string> written;
                try
                {
                    written = DefinitionFiles.WriteDirectory(dir, documents);
                }
                catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
                {
                    throw await session.EndAsync(CliExitCodes.Usage, $"error: cannot write under '{dir}': {ex.Message}");
                }

                await session.SayAsync($"Wrote {written.Count} file{(written.Count == 1 ? "" : "s")} under {dir}.");
                return CliExitCodes.Ok;
            }

            if (session.Json)
            {
                await session.PrintAsync(answer, []);
            }
            else
            {
                await session.Output.WriteAsync(DefinitionFiles.ToYaml(documents));
            }

            return CliExitCodes.Ok;
        });
    }

    private static IReadOnlyList<JsonObject> ReadFile(string path)
    {
        var text = File.ReadAllText(path);
        return Path.GetExtension(path).ToLowerInvariant() is ".json" ? DefinitionFiles.ParseJson(text, path) : DefinitionFiles.ParseYaml(text, path);
    }
}
