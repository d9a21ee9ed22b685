using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Actions;
using Orchestrator.Actions.CallApi;
using Orchestrator.Templates;

namespace Orchestrator.Tools;

/// <summary>
/// Runs a tool of any kind. A built-in tool is dispatched to its implementation. A <c>command</c> tool is a process
/// started from an argv array, never through a shell: each <c>{{args.x}}</c> fills exactly one argv element, so
/// "; rm -rf /" is just an argument. It runs in the project's root with a cleared environment, a timeout, and captured,
/// truncated output. An <c>http</c> tool is a request template sent through the call_api executor (same outbound
/// policy and secrets). Arguments have been validated against the tool's schema before this is called.
/// </summary>
public sealed class ToolInvoker(HttpActionExecutor http, BuiltinToolCatalog builtins, SecretTemplates secrets)
{
    public const int MaxOutputChars = ProcessRunner.MaxOutputChars;
    public const int DefaultTimeoutSeconds = 60;
    public const int MaxTimeoutSeconds = 3600;

    /// <summary>
    /// Runs the tool and masks every configured secret value in what it produced (stdout, stderr, result, error) before
    /// any caller records or returns it: a command or a file can print what the server's own environment holds
    /// (<c>/proc/$PPID/environ</c>), and a run record, a node output or an invoke response is readable by viewers.
    /// Masking stops an accidental echo, not a tool that encodes the value on purpose.
    /// </summary>
    public async Task<ActionOutcome> InvokeAsync(ToolDefinition tool, ToolContext context, JsonElement arguments, CancellationToken cancellationToken)
    {
        var configured = secrets.ConfiguredValues.ToList();
        try
        {
            var outcome = await InvokeUnmaskedAsync(tool, context, arguments, cancellationToken);
            return outcome with { Result = MaskStrings(outcome.Result, configured).AsObject(), Error = outcome.Error is null ? null : SecretMask.Redact(outcome.Error, configured) };
        }
        catch (ActionFailedException ex)
        {
            throw new ActionFailedException(SecretMask.Redact(ex.Message, configured), ex.Result is null ? null : MaskStrings(ex.Result, configured).AsObject());
        }
    }

    /// <summary>A copy of <paramref name="node"/> with every string value and property name masked.</summary>
    private static JsonNode MaskStrings(JsonNode node, IReadOnlyCollection<string> configured) => node switch
    {
        JsonObject obj => MaskProperties(obj, configured),
        JsonArray array => new JsonArray([.. array.Select(item => item is null ? null : MaskStrings(item, configured))]),
        JsonValue value when value.GetValueKind() == JsonValueKind.String && TextOf(value) is var text && SecretMask.Redact(text, configured) is var masked
                             && !ReferenceEquals(masked, text) => JsonValue.Create(masked),
        _ => node.DeepClone(),
    };

    /// <summary>A string value's text, also when it holds a value written as a string (a DateTimeOffset, a Guid).</summary>
    private static string TextOf(JsonValue value) =>
        value.TryGetValue<string>(out var text) ? text : JsonDocument.Parse(value.ToJsonString()).RootElement.GetString()!;

    private static JsonObject MaskProperties(JsonObject obj, IReadOnlyCollection<string> configured)
    {
        var masked = new JsonObject();
        foreach (var (name, value) in obj)
        {
            // Two names masked alike keep the later value: a name that held a secret is no field anyone relies on.
            masked[SecretMask.Redact(name, configured)] = value is null ? null : MaskStrings(value, configured);
        }

        return masked;
    }

    private async Task<ActionOutcome> InvokeUnmaskedAsync(ToolDefinition tool, ToolContext context, JsonElement arguments, CancellationToken cancellationToken)
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

        try
        {
            using var config = JsonDocument.Parse(tool.ConfigJson);
            return tool.Kind switch
            {
                ToolKind.Command => await RunCommandAsync(config.RootElement, context, arguments, cancellationToken),
                ToolKind.Http => await http.ExecuteAsync(FillHttpTemplate(config.RootElement, arguments), context.IdempotencyKey, cancellationToken),
                _ => throw new ActionFailedException($"Tool '{tool.Name}' of kind {tool.Kind} cannot be invoked."),
            };
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or FormatException or ArgumentException
                                       or IndexOutOfRangeException or NullReferenceException)
        {
            // Registration checks the config, but a stored one can predate those checks or be edited in the database:
            // whatever it holds, the caller gets a failed run that says so, not a server error.
            // An http tool's exception text can quote a header value after its secrets were resolved, so it is left out.
            var detail = tool.Kind == ToolKind.Http ? ex.GetType().Name : $"{ex.GetType().Name}: {ex.Message}";
            throw new ActionFailedException($"Tool '{tool.Name}' v{tool.Version} has a config that cannot be used ({detail}); replace the tool to fix it.");
        }
    }

    /// <summary>
    /// Arguments a command tool cannot pass on: a string with a NUL that fills an argv element (the process would get it cut
    /// short there). Checked with the schema, so validate and invoke answer 422 and a run_task run fails naming the argument.
    /// </summary>
    internal static IReadOnlyList<ArgumentError> CommandArgumentProblems(string configJson, JsonElement arguments)
    {
        if (arguments.ValueKind != JsonValueKind.Object)
        {
            return [];
        }

        try
        {
            using var config = JsonDocument.Parse(configJson);
            if (config.RootElement.ValueKind != JsonValueKind.Object || !config.RootElement.TryGetProperty("argv", out var argv) || argv.ValueKind != JsonValueKind.Array)
            {
                return [];
            }

            return [.. argv.EnumerateArray().Where(a => a.ValueKind == JsonValueKind.String)
                .SelectMany(a => ArgumentValues.NamesIn(a.GetString()!)).Distinct(StringComparer.Ordinal)
                .Where(name => arguments.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String && value.GetString()!.Contains('\0', StringComparison.Ordinal))
                .Select(name => new ArgumentError($"$.{name}", "semantic", "contains a NUL character, which a command argument cannot carry (it would be cut short there)."))];
        }
        catch (JsonException)
        {
            // A stored config that does not parse fails the run when it is invoked, with its own message.
            return [];
        }
    }

    private static Task<ActionOutcome> RunCommandAsync(JsonElement config, ToolContext context, JsonElement arguments, CancellationToken cancellationToken)
    {
        // Each placeholder fills part of one argv element; nothing is interpreted, so the text goes in as it is.
        var values = new ArgumentValues(arguments);
        var argv = config.GetProperty("argv").EnumerateArray().Select(a => TemplateResolver.RenderText(a.GetString()!, values)).ToList();
        // Nothing of the server's environment (connection strings, secrets) leaks into a tool; only what it needs to run.
        var environment = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["PATH"] = Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/bin:/usr/bin:/bin",
            ["HOME"] = context.ProjectRoot,
            ["LANG"] = "C.UTF-8",
            ["ORCHESTRATOR_IDEMPOTENCY_KEY"] = context.IdempotencyKey,
        };
        var timeout = TimeSpan.FromSeconds(config.TryGetProperty("timeoutSeconds", out var t) && t.TryGetInt32(out var s) ? Math.Clamp(s, 1, MaxTimeoutSeconds) : DefaultTimeoutSeconds);
        return ProcessRunner.RunAsync(new ProcessRequest(argv, context.ProjectRoot, context.ProjectRoot, environment, timeout), cancellationToken);
    }

    /// <summary>
    /// The call_api config an http tool sends: <c>{{args.x}}</c> filled in the URL (URL-encoded), in header values
    /// (CR, LF and NUL removed, so an argument cannot add a header) and in the body (a string body as text; in a JSON
    /// body, a string that is exactly one placeholder takes the argument's JSON value and type, others get its text).
    /// </summary>
    internal static JsonElement FillHttpTemplate(JsonElement config, JsonElement arguments)
    {
        var values = new ArgumentValues(arguments, refuseTemplateSyntax: true);
        var filled = JsonNode.Parse(config.GetRawText())!.AsObject();
        filled["url"] = TemplateResolver.RenderText(config.GetProperty("url").GetString()!, values, (_, text) => Uri.EscapeDataString(text));
        if (config.TryGetProperty("headers", out var headers))
        {
            var h = new JsonObject();
            foreach (var header in headers.EnumerateObject())
            {
                var template = header.Value.GetString()!;
                h[header.Name] = RefuseFormedReference($"Header '{header.Name}'", template, TemplateResolver.RenderText(template, values, (_, text) => StripLineBreaks(text)));
            }

            filled["headers"] = h;
        }

        if (config.TryGetProperty("body", out var body))
        {
            if (body.ValueKind == JsonValueKind.String)
            {
                filled["body"] = RefuseFormedReference("The body", body.GetString()!, TemplateResolver.RenderText(body.GetString()!, values));
            }
            else if (body.ValueKind is JsonValueKind.Object or JsonValueKind.Array)
            {
                filled["body"] = TemplateResolver.RenderJson(JsonNode.Parse(body.GetRawText()), values, (template, text) => RefuseFormedReference("A body value", template, text));
            }
        }

        return JsonDocument.Parse(filled.ToJsonString()).RootElement.Clone();
    }

    /// <summary>
    /// The executor expands {{secret:NAME}} in header values and body strings after this. Arguments cannot contain "{{",
    /// but one could still complete a reference the template leaves open ("{{secret:{{args.x}}}}"); only references
    /// written in the template itself may reach the executor.
    /// </summary>
    private static string RefuseFormedReference(string where, string template, string filled) =>
        !SecretTemplates.FillingChangesReferences(TemplateReference.Replace(template, r => ArgumentValues.IsArgument(r) ? SecretTemplates.PlaceholderBreak : null), filled)
            ? filled
            : throw new ActionFailedException($"{where}: the arguments would form a secret reference; only the tool's own template may reference secrets.");

    private static string StripLineBreaks(string value) =>
        value.Replace("\r", "", StringComparison.Ordinal).Replace("\n", "", StringComparison.Ordinal).Replace("\0", "", StringComparison.Ordinal);
}
