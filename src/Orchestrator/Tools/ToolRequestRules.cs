using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Orchestrator.Actions;
using Orchestrator.Actions.CallApi;
using Orchestrator.Api;
using Orchestrator.Templates;

namespace Orchestrator.Tools;

/// <summary>
/// What a tool registration must satisfy: a kind, a parameters schema for a JSON object, a config its kind can run
/// (a command's argv, an http tool's call_api config), and placeholders that name declared parameters.
/// </summary>
internal static partial class ToolRequestRules
{
    /// <summary>The name rule for a registered tool.</summary>
    public static bool IsToolName(string? name) => !string.IsNullOrEmpty(name) && NamePattern().IsMatch(name);

    /// <summary>The definition <paramref name="request"/> describes (without name and version), or null when its errors leave none to build.</summary>
    public static async Task<ToolDefinition?> BuildAsync(ToolRequest request, ActionCatalog actions, FieldErrors errors, CancellationToken ct)
    {
        if (request.Description is { Length: > 2000 })
        {
            errors.Add("description", "must be at most 2000 characters.");
        }
        else if (request.Description?.Contains('\0', StringComparison.Ordinal) == true)
        {
            // PostgreSQL text cannot hold NUL: storing it failed as a 500.
            errors.Add("description", "must not contain NUL characters.");
        }

        ToolKind kind;
        switch (request.Kind)
        {
            case "command":
                kind = ToolKind.Command;
                break;
            case "http":
                kind = ToolKind.Http;
                break;
            case "builtin":
                errors.Add("kind", "built-in tools are provided by the server and cannot be registered; use 'command' or 'http'.");
                return null;
            default:
                errors.Add("kind", $"{(request.Kind is null ? "is required" : $"'{request.Kind}' is not a tool kind")}; use 'command' or 'http'.");
                return null;
        }

        if (request.Parameters is not { } parameters)
        {
            errors.Add("parameters", "is required: a JSON Schema for the tool's arguments.");
            return null;
        }

        if (parameters.GetRawText().Length > 64 * 1024)
        {
            errors.Add("parameters", "is larger than 64 KiB.");
            return null;
        }

        SchemaChecks.Parse(parameters, "parameters", errors);
        if (parameters.ValueKind == JsonValueKind.Object
            && !(parameters.TryGetProperty("type", out var parametersType) && parametersType.ValueKind == JsonValueKind.String && parametersType.GetString() == "object"))
        {
            // Arguments are always a JSON object whose properties the templates name; a schema for anything else can never match.
            errors.Add("parameters.type", "must be \"object\": a tool's arguments are a JSON object, each '{{args.x}}' naming one of its properties.");
        }

        if (request.Result is { } result)
        {
            SchemaChecks.Parse(result, "result", errors);
        }

        var config = request.Config ?? JsonDocument.Parse("{}").RootElement;
        if (config.ValueKind != JsonValueKind.Object)
        {
            errors.Add("config", kind == ToolKind.Command ? "must be an object with 'argv'." : "must be a call_api config object with 'url'.");
        }
        else if (kind == ToolKind.Command)
        {
            CheckCommandConfig(config, errors);
        }
        else
        {
            var callApi = actions.TryGet(CallApiAction.TypeName, out var definition) ? definition : throw new InvalidOperationException("The call_api action type is not registered.");
            // An http tool is a call_api config with placeholders, so it is held to call_api's schema and checks (method,
            // headers, body size, timeouts, outbound policy, known secrets) with each placeholder standing in as a plain value.
            await callApi.ValidateAsync(WithPlaceholdersFilled(config), "config", errors, ct);
        }

        if (config.ValueKind == JsonValueKind.Object && parameters.ValueKind == JsonValueKind.Object)
        {
            CheckPlaceholdersNameParameters(config, parameters, errors);
        }

        return new ToolDefinition
        {
            Name = "",
            Description = request.Description,
            Kind = kind,
            ParametersSchema = parameters.GetRawText(),
            ResultSchema = request.Result?.GetRawText(),
            ConfigJson = config.GetRawText(),
            Enabled = request.Enabled ?? true,
        };
    }

    /// <summary>The whole of a command tool's config: an argv template and a timeout; anything else would be ignored, so it is refused.</summary>
    private static void CheckCommandConfig(JsonElement config, FieldErrors errors)
    {
        foreach (var property in config.EnumerateObject().Where(p => p.Name is not ("argv" or "timeoutSeconds")))
        {
            errors.Add($"config.{property.Name}", "is not a property of a command tool's config; it has 'argv' and 'timeoutSeconds' only (no shell is ever used).");
        }

        if (!config.TryGetProperty("argv", out var argv) || argv.ValueKind != JsonValueKind.Array || argv.GetArrayLength() is 0 or > 100
            || argv.EnumerateArray().Any(a => a.ValueKind != JsonValueKind.String))
        {
            errors.Add("config.argv", "is required: an array of 1–100 strings; each '{{args.x}}' becomes exactly one argument.");
        }
        else
        {
            if (string.IsNullOrWhiteSpace(argv[0].GetString()) || argv[0].GetString()!.Contains("{{", StringComparison.Ordinal))
            {
                errors.Add("config.argv[0]", "must name the program literally; it cannot come from an argument.");
            }
            else if (ProcessRunner.ProgramError(argv[0].GetString()!) is { } program)
            {
                errors.Add("config.argv[0]", program);
            }

            var i = 0;
            foreach (var item in argv.EnumerateArray())
            {
                if (item.GetString()!.Contains('\0', StringComparison.Ordinal))
                {
                    errors.Add($"config.argv[{i}]", "must not contain NUL characters (the process would get the argument cut short there).");
                }

                i++;
            }
        }

        if (config.TryGetProperty("timeoutSeconds", out var timeout)
            && (timeout.ValueKind != JsonValueKind.Number || !timeout.TryGetInt32(out var seconds) || seconds is < 1 or > ToolInvoker.MaxTimeoutSeconds))
        {
            errors.Add("config.timeoutSeconds", $"must be a whole number of seconds between 1 and {ToolInvoker.MaxTimeoutSeconds}.");
        }
    }

    /// <summary>Each '{{args.x}}' of a template must name a property of the parameters schema: otherwise no valid arguments could ever fill it.</summary>
    private static void CheckPlaceholdersNameParameters(JsonElement config, JsonElement parameters, FieldErrors errors)
    {
        var declared = parameters.TryGetProperty("properties", out var properties) && properties.ValueKind == JsonValueKind.Object
            ? properties.EnumerateObject().Select(p => p.Name).ToHashSet(StringComparer.Ordinal)
            : [];
        foreach (var (path, text) in JsonStrings.WithPaths(config, "config"))
        {
            foreach (var name in ArgumentValues.NamesIn(text).Where(n => !declared.Contains(n)))
            {
                errors.Add(path, $"'{{{{args.{name}}}}}' names no parameter of this tool; declare '{name}' under parameters.properties"
                    + (declared.Count == 0 ? "." : $" or use one of {string.Join(", ", declared.Order(StringComparer.Ordinal))}."));
            }
        }
    }

    private static JsonElement WithPlaceholdersFilled(JsonElement config)
    {
        static JsonNode? Fill(JsonNode? node) => node switch
        {
            JsonObject obj => new JsonObject(obj.Select(p => KeyValuePair.Create(p.Key, Fill(p.Value)))),
            JsonArray array => new JsonArray([.. array.Select(Fill)]),
            JsonValue value when value.GetValueKind() == JsonValueKind.String => JsonValue.Create(TemplateReference.Replace(value.GetValue<string>(), r => ArgumentValues.IsArgument(r) ? "x" : null)),
            _ => node?.DeepClone(),
        };

        return JsonDocument.Parse(Fill(JsonNode.Parse(config.GetRawText()))?.ToJsonString() ?? "null").RootElement.Clone();
    }

    [GeneratedRegex("^[a-z][a-z0-9._-]{0,99}$", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();
}
