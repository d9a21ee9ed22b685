using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Api;
using Orchestrator.Tools;

namespace Orchestrator.Actions;

/// <summary>One action type: its name, the Quartz job that runs it, and the JSON Schema its config must satisfy.</summary>
public abstract class ActionDefinition
{
    private CheckedSchema? schema;

    public abstract string Type { get; }

    public abstract Type JobType { get; }

    /// <summary>One line saying what the type does, served by <c>GET /api/actions</c> beside its schema.</summary>
    public abstract string Description { get; }

    /// <summary>
    /// Whether a pipeline's action node can run this type (through <see cref="ActionDispatcher"/>, so
    /// <see cref="ExecuteAsync"/> must run it). False for <c>execute_pipeline</c>: a sub-pipeline is a <c>pipeline</c> node.
    /// </summary>
    public virtual bool RunsInPipelineNodes => true;

    /// <summary>
    /// Runs the action outside its Quartz job, through the executor that job uses: for a pipeline's action nodes.
    /// <paramref name="services"/> is the caller's scope, for the scoped executors.
    /// </summary>
    public virtual Task<ActionOutcome> ExecuteAsync(ActionInvocation invocation, IServiceProvider services, CancellationToken cancellationToken) =>
        throw new ActionFailedException($"Action type '{Type}' cannot run here.");

    /// <summary>The JSON Schema (draft 2020-12) of the config, as text so it can be served as is.</summary>
    public abstract string SchemaJson { get; }

    public CheckedSchema Schema => schema ??= SchemaChecks.Build(SchemaJson);

    /// <summary>Schema validation, then the checks a schema cannot express (e.g. which hosts may be called).</summary>
    /// <param name="projectId">The project the config will run in, when known (a schedule's), for checks that depend on it.</param>
    public async ValueTask ValidateAsync(JsonElement config, string prefix, FieldErrors errors, CancellationToken cancellationToken, string? projectId = null)
    {
        var schemaErrors = SchemaChecks.Validate(Schema, config);
        foreach (var error in schemaErrors)
        {
            // "$.headers.X-Token" under the prefix "action.config" is "action.config.headers.X-Token"; the message is a
            // sentence about that field ("must be one of GET, POST, …"), the key names it.
            errors.Add(prefix + error.Path[1..], error.Message);
        }

        // A reference anywhere else, or a malformed one ("{{secret: X}}") where secrets go, would be sent as written
        // (a subject reading "{{secret:X}}"): refused here instead. Said even when the schema also refuses the value
        // (a URL holding a reference is no valid URI either), since where secrets may go is the more useful reason.
        foreach (var (field, reason) in CallApi.SecretTemplates.ReferenceProblems(config, prefix, AcceptsSecretAt))
        {
            errors.Add(field, reason);
        }

        if (schemaErrors.Count == 0)
        {
            await ValidateSemanticsAsync(config, prefix, projectId, errors, cancellationToken);
        }
    }

    /// <summary>
    /// Whether a <c>{{secret:NAME}}</c> reference may stand at <paramref name="path"/> of the config (relative, such as
    /// <c>headers.X-Token</c>): only where the executor resolves it. Nowhere, unless an action type says so.
    /// </summary>
    protected virtual bool AcceptsSecretAt(string path) => false;

    /// <summary>
    /// What is wrong with the secret references in <paramref name="text"/> standing at <paramref name="path"/> of the
    /// config (relative, as for <see cref="AcceptsSecretAt"/>), or null: for the text a pipeline node's value keeps
    /// around its placeholders, judged when it is saved by the rule its action type applies to a whole value.
    /// </summary>
    public string? SecretReferenceProblem(string path, string text) => CallApi.SecretTemplates.ReferenceProblem(text, AcceptsSecretAt(path));

    /// <summary>
    /// What a run of a valid <paramref name="sample"/> config would hand to the outside world, for
    /// <c>POST /api/actions/dry-run</c>: the config as the executor reads it, with the placeholders the executor fills
    /// filled from the sample run. Nothing is sent or stored; <c>{{secret:NAME}}</c> references stay as written (the
    /// values are resolved only when a real run sends). By default the config as it is: types that fill nothing.
    /// </summary>
    public virtual JsonObject DryRun(ActionInvocation sample) => JsonNode.Parse(sample.Config.GetRawText())!.AsObject();

    protected virtual ValueTask ValidateSemanticsAsync(JsonElement config, string prefix, string? projectId, FieldErrors errors, CancellationToken cancellationToken) =>
        ValueTask.CompletedTask;

}

/// <summary>
/// The action types this server knows, by name: the one list of them (each registered once as an
/// <see cref="ActionDefinition"/>). Schedules, pipeline nodes, <see cref="ActionDispatcher"/> and <c>GET /api/actions</c>
/// (hence the dashboard) all read it.
/// </summary>
public sealed class ActionCatalog(IEnumerable<ActionDefinition> definitions)
{
    private readonly Dictionary<string, ActionDefinition> byType = definitions.ToDictionary(d => d.Type, StringComparer.Ordinal);

    public IReadOnlyCollection<string> Types => byType.Keys;

    /// <summary>Every action type, ordered by name.</summary>
    public IReadOnlyList<ActionDefinition> All => [.. byType.Values.OrderBy(d => d.Type, StringComparer.Ordinal)];

    /// <summary>The types a pipeline's action node can run, ordered by name.</summary>
    public IReadOnlyList<string> PipelineNodeTypes => [.. All.Where(d => d.RunsInPipelineNodes).Select(d => d.Type)];

    public bool TryGet(string type, [NotNullWhen(true)] out ActionDefinition? definition) => byType.TryGetValue(type, out definition);

    public string? TypeOfJob(string? jobTypeName) =>
        byType.Values.FirstOrDefault(d => jobTypeName is not null && jobTypeName.StartsWith(d.JobType.FullName!, StringComparison.Ordinal))?.Type;
}
