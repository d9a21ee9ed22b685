using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Orchestrator.Actions;
using Orchestrator.Actions.CallApi;

namespace Orchestrator.Tools;

/// <summary>
/// Runs a tool of any kind. A built-in tool is dispatched to its implementation. A <c>command</c> tool is a process
/// started from an argv array, never through a shell: each <c>{{args.x}}</c> fills exactly one argv element, so
/// "; rm -rf /" is just an argument. It runs in the project's root with a cleared environment, a timeout, and captured,
/// truncated output. An <c>http</c> tool is a request template sent through the call_api executor (same outbound
/// policy and secrets). Arguments have been validated against the tool's schema before this is called.
/// </summary>
public sealed partial class ToolInvoker(HttpActionExecutor http, BuiltinToolCatalog builtins)
{
    public const int MaxOutputChars = ProcessRunner.MaxOutputChars;
    public const int DefaultTimeoutSeconds = 60;

    public async Task<ActionOutcome> InvokeAsync(ToolDefinition tool, ToolContext context, JsonElement arguments, CancellationToken cancellationToken)
    {
        if (tool.Kind == ToolKind.Builtin)
        {
            var builtin = builtins.Find(tool.Name) ?? throw new ActionFailedException($"Built-in tool '{tool.Name}' does not exist on this node.");
            if (!builtins.IsEnabled(tool.Name))
            {
                throw new ActionFailedException($"Built-in tool '{tool.Name}' is disabled on this node (Orchestrator:Tools:DisabledBuiltins).");
            }

            try
            {
                return await builtin.InvokeAsync(context, arguments, cancellationToken);
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException or JsonException or NotSupportedException)
            {
                // The disk and the arguments' finer types are the outside world: a failed run with the reason, not a crash.
                throw new ActionFailedException($"{tool.Name}: {ex.Message}");
            }
        }

        using var config = JsonDocument.Parse(tool.ConfigJson);
        return tool.Kind switch
        {
            ToolKind.Command => await RunCommandAsync(config.RootElement, context, arguments, cancellationToken),
            ToolKind.Http => await http.ExecuteAsync(FillHttpTemplate(config.RootElement, arguments), context.IdempotencyKey, cancellationToken),
            _ => throw new ActionFailedException($"Tool '{tool.Name}' of kind {tool.Kind} cannot be invoked."),
        };
    }

    private static Task<ActionOutcome> RunCommandAsync(JsonElement config, ToolContext context, JsonElement arguments, CancellationToken cancellationToken)
    {
        var argv = config.GetProperty("argv").EnumerateArray().Select(a => Fill(a.GetString()!, arguments, Uri.EscapeDataString, raw: true)).ToList();
        // Nothing of the server's environment (connection strings, secrets) leaks into a tool; only what it needs to run.
        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["PATH"] = Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/bin:/usr/bin:/bin",
            ["HOME"] = context.ProjectRoot,
            ["LANG"] = "C.UTF-8",
            ["ORCHESTRATOR_IDEMPOTENCY_KEY"] = context.IdempotencyKey,
        };
        var timeout = TimeSpan.FromSeconds(config.TryGetProperty("timeoutSeconds", out var t) && t.TryGetInt32(out var s) ? Math.Clamp(s, 1, 3600) : DefaultTimeoutSeconds);
        return ProcessRunner.RunAsync(new ProcessRequest(argv, context.ProjectRoot, environment, timeout), cancellationToken);
    }

    private static JsonElement FillHttpTemplate(JsonElement config, JsonElement arguments)
    {
        var filled = JsonNode.Parse(config.GetRawText())!.AsObject();
        filled["url"] = Fill(config.GetProperty("url").GetString()!, arguments, Uri.EscapeDataString, raw: false);
        if (config.TryGetProperty("headers", out var headers))
        {
            var h = new JsonObject();
            foreach (var header in headers.EnumerateObject())
            {
                h[header.Name] = Fill(header.Value.GetString()!, arguments, v => v.Replace("\r", "", StringComparison.Ordinal).Replace("\n", "", StringComparison.Ordinal), raw: true);
            }

            filled["headers"] = h;
        }

        if (config.TryGetProperty("body", out var body) && body.ValueKind == JsonValueKind.String)
        {
            filled["body"] = Fill(body.GetString()!, arguments, v => v, raw: true);
        }

        return JsonDocument.Parse(filled.ToJsonString()).RootElement.Clone();
    }

    /// <summary>Replaces each <c>{{args.x}}</c> with the argument's text (encoded for URLs when asked); a missing argument is an error.</summary>
    private static string Fill(string template, JsonElement arguments, Func<string, string> encode, bool raw) => Placeholder().Replace(template, m =>
    {
        if (arguments.ValueKind != JsonValueKind.Object || !arguments.TryGetProperty(m.Groups[1].Value, out var value) || value.ValueKind is JsonValueKind.Null)
        {
            throw new ActionFailedException($"Argument '{m.Groups[1].Value}' is used by the tool's template but was not given.");
        }

        var text = value.ValueKind switch
        {
            JsonValueKind.String => value.GetString()!,
            JsonValueKind.Number => value.GetRawText(),
            JsonValueKind.True => "true",
            JsonValueKind.False => "false",
            _ => value.GetRawText(),
        };
        return raw ? text : encode(text);
    });

    [GeneratedRegex(@"\{\{\s*args\.([A-Za-z0-9_]+)\s*\}\}", RegexOptions.CultureInvariant)]
    private static partial Regex Placeholder();
}
