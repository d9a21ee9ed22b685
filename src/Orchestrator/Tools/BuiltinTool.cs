using System.Text.Json;
using Microsoft.Extensions.Options;
using Orchestrator.Actions;
using Orchestrator.Api;
using Orchestrator.Hosting;
using Orchestrator.Security;

namespace Orchestrator.Tools;

/// <summary>
/// Where and for whom a tool runs: the project (its root from the database), the run it belongs to (a schedule's run,
/// or a synthetic one for a direct API invocation, so templates and idempotency keys work the same), and the
/// services of the caller's scope.
/// </summary>
public sealed record ToolContext(string ProjectId, string ProjectRoot, ActionInvocation Run, IServiceProvider Services)
{
    public string IdempotencyKey => Run.IdempotencyKey;
}

/// <summary>
/// A tool the server provides. Its parameter schema is validated before <see cref="InvokeAsync"/> runs, so the
/// implementation can read its arguments without re-checking types; <see cref="ValidateAsync"/> adds the checks a
/// schema cannot express (an address policy, a channel that must exist).
/// </summary>
public abstract class BuiltinTool
{
    private CheckedSchema? schema;

    public abstract string Name { get; }

    public abstract string Description { get; }

    public abstract string ParametersSchema { get; }

    /// <summary>
    /// The least role that may invoke this tool directly through the API. A tool that does what only an admin may do
    /// through its own route (run an arbitrary command, create or delete schedules) needs admin here too, so the tool
    /// is not a way around the route's authorization.
    /// </summary>
    public virtual ApiRole RequiredRole => ApiRole.Operator;

    /// <summary>
    /// Whether the tool's own validation decides where a <c>{{secret:NAME}}</c> may stand in its arguments (they are an
    /// action config, or a schedule with one). Otherwise a reference anywhere in them is refused: the tool would get it as text.
    /// </summary>
    public virtual bool JudgesSecretReferences => false;

    public CheckedSchema Schema => schema ??= SchemaChecks.Build(ParametersSchema);

    /// <summary>Checks beyond the schema, reported under <paramref name="prefix"/>; <paramref name="projectId"/> is null when not yet known.</summary>
    public virtual ValueTask ValidateAsync(JsonElement arguments, string? projectId, string prefix, IServiceProvider services, FieldErrors errors, CancellationToken cancellationToken) =>
        ValueTask.CompletedTask;

    public abstract Task<ActionOutcome> InvokeAsync(ToolContext context, JsonElement arguments, CancellationToken cancellationToken);

    public ToolDefinition ToDefinition(bool enabled) => new()
    {
        Name = Name,
        Description = Description,
        Kind = ToolKind.Builtin,
        ParametersSchema = ParametersSchema,
        ConfigJson = "{}",
        Enabled = enabled,
        Version = 1,
    };

    protected static string? OptionalString(JsonElement arguments, string name) =>
        arguments.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    protected static bool OptionalBool(JsonElement arguments, string name, bool fallback) =>
        arguments.TryGetProperty(name, out var value) && value.ValueKind is JsonValueKind.True or JsonValueKind.False ? value.GetBoolean() : fallback;

    protected static double? OptionalNumber(JsonElement arguments, string name) =>
        arguments.TryGetProperty(name, out var value) && value.ValueKind == JsonValueKind.Number ? value.GetDouble() : null;
}

/// <summary>The built-in tools by name, and which of them the operator has switched off (<c>Orchestrator:Tools:DisabledBuiltins</c>).</summary>
public sealed class BuiltinToolCatalog(IEnumerable<BuiltinTool> tools, IOptionsMonitor<OrchestratorOptions> options)
{
    /// <summary>The names of the built-in tools, for checking settings before the services exist (a unit test keeps it equal to the registered set).</summary>
    public static readonly IReadOnlyList<string> KnownNames =
    [
        "files.delete", "files.list", "files.read", "files.write", "http.request", "notify",
        "schedules.create", "schedules.delete", "schedules.list", "schedules.pause", "schedules.resume", "schedules.run",
        "shell.run", "workspace.cleanup",
    ];

    private readonly Dictionary<string, BuiltinTool> byName = tools.ToDictionary(t => t.Name, StringComparer.Ordinal);

    public IEnumerable<BuiltinTool> All => byName.Values.OrderBy(t => t.Name, StringComparer.Ordinal);

    public BuiltinTool? Find(string name) => byName.GetValueOrDefault(name);

    public bool IsEnabled(string name) => !options.CurrentValue.Tools.DisabledBuiltins.Contains(name, StringComparer.Ordinal);
}
