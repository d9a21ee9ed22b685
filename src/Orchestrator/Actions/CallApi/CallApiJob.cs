namespace Orchestrator.Actions.CallApi;

/// <summary>The Quartz job of the <c>call_api</c> action type.</summary>
public sealed class CallApiJob(HttpActionExecutor executor, ActionJobServices services) : ActionJob(services)
{
    protected override string ActionType => CallApiAction.TypeName;

    protected override Task<ActionOutcome> ExecuteActionAsync(ActionInvocation invocation, CancellationToken cancellationToken) =>
        executor.ExecuteAsync(invocation.Config, invocation.IdempotencyKey, cancellationToken);
}
