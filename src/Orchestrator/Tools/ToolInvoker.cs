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
public sealed partial class ToolInvoker(HttpActionExecutor http, BuiltinToolCatalog builtins, SecretTemplates secrets)
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
                .SelectMany(a => Placeholder().Matches(a.GetString()!)).Select(m => m.Groups[1].Value).Distinct(StringComparer.Ordinal)
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
        var argv = config.GetProperty("argv").EnumerateArray().Select(a => Fill(a.GetString()!, arguments, v => v)).ToList();
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
        var filled = JsonNode.Parse(config.GetRawText())!.AsObject();
        filled["url"] = FillForHttp(config.GetProperty("url").GetString()!, arguments, Uri.EscapeDataString);
        if (config.TryGetProperty("headers", out var headers))
        {
            var h = new JsonObject();
            foreach (var header in headers.EnumerateObject())
            {
                var template = header.Value.GetString()!;
                h[header.Name] = RefuseFormedReference($"Header '{header.Name}'", template, FillForHttp(template, arguments, StripLineBreaks));
            }

            filled["headers"] = h;
        }

        if (config.TryGetProperty("body", out var body))
        {
            if (body.ValueKind == JsonValueKind.String)
            {
                filled["body"] = RefuseFormedReference("The body", body.GetString()!, FillForHttp(body.GetString()!, arguments, v => v));
            }
            else if (body.ValueKind is JsonValueKind.Object or JsonValueKind.Array)
            {
                filled["body"] = FillJson(JsonNode.Parse(body.GetRawText()), arguments);
            }
        }

        return JsonDocument.Parse(filled.ToJsonString()).RootElement.Clone();
    }

    private static JsonNode? FillJson(JsonNode? node, JsonElement arguments)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var property in obj.ToList())
                {
                    obj[property.Key] = FillJson(property.Value?.DeepClone(), arguments);
                }

                return obj;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    array[i] = FillJson(array[i]?.DeepClone(), arguments);
                }

                return array;
            case JsonValue value when value.GetValueKind() == JsonValueKind.String:
                var text = value.GetValue<string>();
                var whole = Placeholder().Match(text);
                if (whole.Success && whole.Length == text.Length)
                {
                    var argument = Argument(arguments, whole.Groups[1].Value);
                    RefuseTemplateSyntax(whole.Groups[1].Value, argument.GetRawText());
                    return JsonNode.Parse(argument.GetRawText());
                }

                return JsonValue.Create(RefuseFormedReference("A body value", text, FillForHttp(text, arguments, v => v)));
            default:
                return node;
        }
    }

    /// <summary>
    /// The executor expands {{secret:NAME}} in header values and body strings after this. Arguments cannot contain "{{",
    /// but one could still complete a reference the template leaves open ("{{secret:{{args.x}}}}"); only references
    /// written in the template itself may reach the executor.
    /// </summary>
    private static string RefuseFormedReference(string where, string template, string filled) =>
        !SecretTemplates.FillingChangesReferences(Placeholder().Replace(template, SecretTemplates.PlaceholderBreak), filled)
            ? filled
            : throw new ActionFailedException($"{where}: the arguments would form a secret reference; only the tool's own template may reference secrets.");

    private static string StripLineBreaks(string value) =>
        value.Replace("\r", "", StringComparison.Ordinal).Replace("\n", "", StringComparison.Ordinal).Replace("\0", "", StringComparison.Ordinal);

    private static string FillForHttp(string template, JsonElement arguments, Func<string, string> encode) => Fill(template, arguments, encode, refuseTemplateSyntax: true);

    /// <summary>Replaces each <c>{{args.x}}</c> with the argument's text, encoded by <paramref name="encode"/>; a missing argument is an error.</summary>
    private static string Fill(string template, JsonElement arguments, Func<string, string> encode, bool refuseTemplateSyntax = false) => Placeholder().Replace(template, m =>
    {
        var name = m.Groups[1].Value;
        var value = Argument(arguments, name);
        var text = value.ValueKind switch
        {
            JsonValueKind.String => value.GetString()!,
            JsonValueKind.True => "true",
            JsonValueKind.False => "false",
            _ => value.GetRawText(),
        };
        if (refuseTemplateSyntax)
        {
            RefuseTemplateSyntax(name, text);
        }

        return encode(text);
    });

    private static JsonElement Argument(JsonElement arguments, string name) =>
        arguments.ValueKind == JsonValueKind.Object && arguments.TryGetProperty(name, out var value) && value.ValueKind is not JsonValueKind.Null
            ? value
            : throw new ActionFailedException($"Argument '{name}' is used by the tool's template but was not given.");

    /// <summary>
    /// An http request's header values go through secret expansion after the template is filled, so text from an
    /// argument that contains "{{" could name a server secret ("{{secret:DB_PASSWORD}}") and send it wherever the
    /// operator points the tool. Refused everywhere in an http request, so no part of it has to be reasoned about alone.
    /// </summary>
    private static void RefuseTemplateSyntax(string name, string text)
    {
        if (text.Contains("{{", StringComparison.Ordinal))
        {
            throw new ActionFailedException($"Argument '{name}' contains '{{{{', which an http tool does not accept in arguments (it could reference a server secret).");
        }
    }

    [GeneratedRegex(@"\{\{\s*args\.([A-Za-z0-9_]+)\s*\}\}", RegexOptions.CultureInvariant)]
    private static partial Regex Placeholder();
}
