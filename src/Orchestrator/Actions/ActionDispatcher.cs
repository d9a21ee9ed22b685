namespace Orchestrator.Actions;

/// <summary>
/// Runs an action by type through the executor its Quartz job uses, for callers that are not that job: a pipeline's
/// action nodes. <paramref name="services"/> is the caller's scope, for the scoped executors. The types it runs are the
/// catalog's (<see cref="ActionCatalog.PipelineNodeTypes"/>); each runs through its own <see cref="ActionDefinition"/>.
/// </summary>
public sealed class ActionDispatcher(ActionCatalog actions)
{
    /// <summary>Whether <see cref="ExecuteAsync"/> runs <paramref name="actionType"/>.</summary>
    public bool CanRun(string actionType) => actions.TryGet(actionType, out var action) && action.RunsInPipelineNodes;

    public Task<ActionOutcome> ExecuteAsync(string actionType, ActionInvocation invocation, IServiceProvider services, CancellationToken cancellationToken) =>
        actions.TryGet(actionType, out var action) && action.RunsInPipelineNodes
            ? action.ExecuteAsync(invocation, services, cancellationToken)
            : throw new ActionFailedException($"Action type '{actionType}' cannot run here.");
}
