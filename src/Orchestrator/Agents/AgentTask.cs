using System.Text.Json;
using Orchestrator.Api;
using Orchestrator.Hosting;
using Orchestrator.Templates;
using Orchestrator.Tools;

namespace Orchestrator.Agents;

/// <summary>
/// The agent form of a run_task config (<c>{"agent": {…}}</c>): a goal the model works toward with the listed tools,
/// within limits no higher than the server's caps. Omitted limits take the caps (steps, tokens) or
/// <see cref="DefaultTimeoutSeconds"/>.
/// </summary>
public sealed record AgentTask(string Goal, string Model, IReadOnlyList<string> Tools, JsonElement? Inputs, int MaxSteps, int MaxTokens, int TimeoutSeconds)
{
    public const int DefaultTimeoutSeconds = 600;
    public const int MaxTimeoutSeconds = 86_400;

    /// <summary>Placeholders a goal and the inputs' strings may hold: the run's values, filled when the attempt starts.</summary>
    public static readonly TemplateContext Context = new("an agent task's goal and inputs", TemplateContext.RunNames, [], Strict: false);

    /// <summary>The JSON Schema of the <c>agent</c> object, embedded in run_task's config schema.</summary>
    public const string SchemaJson = """
        {
          "type": "object",
          "additionalProperties": false,
          "required": ["goal", "model"],
          "description": "An agent goal: the model works toward it with the listed tools, each call validated against the tool's schema and recorded as a step.",
          "properties": {
            "goal": { "type": "string", "minLength": 1, "maxLength": 20000, "description": "What the model is to achieve; may use {{run.*}} and {{schedule.*}}." },
            "model": { "type": "string", "minLength": 1, "maxLength": 100, "description": "A model configured under Orchestrator:Agents:Models (see /api/models)." },
            "tools": { "type": "array", "maxItems": 64, "uniqueItems": true, "items": { "type": "string", "minLength": 1, "maxLength": 100, "pattern": "^[a-z][a-z0-9._-]{0,99}$" }, "description": "The registered tools offered to the model; no others can be called." },
            "inputs": { "type": "object", "description": "Data given to the model with the goal; strings may use {{run.*}} and {{schedule.*}}." },
            "maxSteps": { "type": "integer", "minimum": 1, "description": "Most model turns and tool calls; at most the server's Agents:MaxSteps (the default)." },
            "maxTokens": { "type": "integer", "minimum": 1, "description": "Most tokens over all model turns; at most the server's Agents:MaxTokens (the default)." },
            "timeoutSeconds": { "type": "integer", "minimum": 1, "maximum": 86400, "description": "Wall-clock limit of one attempt, model retries included (default 600)." }
          }
        }
        """;

    /// <summary>A config the schema accepted, with omitted limits taken from <paramref name="caps"/>.</summary>
    public static AgentTask From(JsonElement agent, AgentsOptions caps) => new(
        agent.GetProperty("goal").GetString()!,
        agent.GetProperty("model").GetString()!,
        agent.TryGetProperty("tools", out var tools) ? [.. tools.EnumerateArray().Select(t => t.GetString()!)] : [],
        agent.TryGetProperty("inputs", out var inputs) ? inputs.Clone() : null,
        IntOr(agent, "maxSteps", caps.MaxSteps),
        IntOr(agent, "maxTokens", caps.MaxTokens),
        IntOr(agent, "timeoutSeconds", DefaultTimeoutSeconds));

    /// <summary>
    /// The name a tool is offered to the model under: OpenAI-compatible endpoints accept letters, digits, '_' and '-'
    /// only, so a registry name's dots become underscores (<c>files.write</c> is <c>files_write</c>).
    /// </summary>
    public static string FunctionName(string tool) => tool.Replace('.', '_');

    /// <summary>The checks of the agent form its schema cannot express: the model, each tool, the caps and the placeholders.</summary>
    public static async ValueTask ValidateAsync(JsonElement agent, string prefix, AgentsOptions caps, ToolRegistry registry, FieldErrors errors, CancellationToken cancellationToken)
    {
        var model = agent.GetProperty("model").GetString()!;
        if (!caps.Models.ContainsKey(model))
        {
            var configured = caps.Models.Count == 0 ? "none is configured" : "configured: " + string.Join(", ", caps.Models.Keys.Order(StringComparer.Ordinal));
            errors.Add($"{prefix}.model", $"no model named '{model}' is configured under {OrchestratorOptions.SectionName}:Agents:Models ({configured}; see /api/models).");
        }

        if (agent.TryGetProperty("tools", out var tools))
        {
            var byFunction = new Dictionary<string, string>(StringComparer.Ordinal);
            var i = 0;
            foreach (var item in tools.EnumerateArray())
            {
                var name = item.GetString()!;
                var at = $"{prefix}.tools[{i++}]";
                var tool = await registry.FindAsync(name, cancellationToken);
                if (tool is null)
                {
                    errors.Add(at, $"no tool named '{name}' (see /api/tools).");
                }
                else if (!tool.Enabled)
                {
                    errors.Add(at, $"tool '{name}' is disabled; enable it or leave it out.");
                }
                else if (byFunction.TryGetValue(FunctionName(name), out var other))
                {
                    errors.Add(at, $"'{name}' and '{other}' would both be offered to the model as '{FunctionName(name)}' (dots become underscores); list one of them.");
                }
                else
                {
                    byFunction[FunctionName(name)] = name;
                }
            }
        }

        CheckCap(agent, "maxSteps", caps.MaxSteps, "MaxSteps", prefix, errors);
        CheckCap(agent, "maxTokens", caps.MaxTokens, "MaxTokens", prefix, errors);

        TemplateValidator.Check(agent.GetProperty("goal").GetString()!, Context, $"{prefix}.goal", errors);
        if (agent.TryGetProperty("inputs", out var inputs))
        {
            CheckInputStrings(inputs, $"{prefix}.inputs", errors);
        }
    }

    private static void CheckCap(JsonElement agent, string field, int cap, string setting, string prefix, FieldErrors errors)
    {
        if (agent.TryGetProperty(field, out var value) && value.TryGetInt64(out var n) && n > cap)
        {
            errors.Add($"{prefix}.{field}", $"{n} is above the server's cap {OrchestratorOptions.SectionName}:Agents:{setting} = {cap}; give at most {cap}.");
        }
    }

    private static void CheckInputStrings(JsonElement value, string at, FieldErrors errors)
    {
        switch (value.ValueKind)
        {
            case JsonValueKind.String:
                TemplateValidator.Check(value.GetString()!, Context, at, errors);
                break;
            case JsonValueKind.Object:
                foreach (var property in value.EnumerateObject())
                {
                    CheckInputStrings(property.Value, $"{at}.{property.Name}", errors);
                }

                break;
            case JsonValueKind.Array:
                var i = 0;
                foreach (var item in value.EnumerateArray())
                {
                    CheckInputStrings(item, $"{at}[{i++}]", errors);
                }

                break;
        }
    }

    private static int IntOr(JsonElement agent, string name, int fallback) =>
        agent.TryGetProperty(name, out var value) && value.TryGetInt32(out var n) ? n : fallback;
}
