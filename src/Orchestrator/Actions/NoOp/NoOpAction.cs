using System.Text.Json.Nodes;

namespace Orchestrator.Actions.NoOp;

/// <summary>
/// The <c>noop</c> action type: records a run and does nothing else. For trying out a trigger, heartbeats, and
/// measuring the scheduler's own overhead (bench/).
/// </summary>
public sealed class NoOpAction : ActionDefinition
{
    public const string TypeName = "noop";

    public override string Type => TypeName;

    public override Type JobType => typeof(NoOpJob);

    public override string Description => "Records a run and does nothing else: for trying out a trigger, heartbeats and benchmarks.";

    public override Task<ActionOutcome> ExecuteAsync(ActionInvocation invocation, IServiceProvider services, CancellationToken cancellationToken) =>
        Task.FromResult(new ActionOutcome(true, []));

    public override string SchemaJson => """
        { "$schema": "https://json-schema.org/draft/2020-12/schema", "title": "noop config", "type": "object", "additionalProperties": false, "properties": {} }
        """;
}

/// <summary>The Quartz job of the <c>noop</c> action type.</summary>
public sealed class NoOpJob(ActionJobServices services) : ActionJob(services)
{
    protected override string ActionType => NoOpAction.TypeName;

    protected override Task<ActionOutcome> ExecuteActionAsync(ActionInvocation invocation, CancellationToken cancellationToken) =>
        Task.FromResult(new ActionOutcome(true, new JsonObject()));
}
