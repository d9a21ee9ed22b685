using Orchestrator.Actions.CallApi;
using Orchestrator.Actions.NoOp;
using Orchestrator.Actions.Notifications;
using Orchestrator.Actions.Tasks;

namespace Orchestrator.Actions;

/// <summary>
/// Runs an action by type through the executor its Quartz job uses, for callers that are not that job: a pipeline's
/// action nodes. <paramref name="services"/> is the caller's scope, for the scoped executors.
/// </summary>
public sealed class ActionDispatcher(HttpActionExecutor http)
{
    public Task<ActionOutcome> ExecuteAsync(string actionType, ActionInvocation invocation, IServiceProvider services, CancellationToken cancellationToken) => actionType switch
    {
        CallApiAction.TypeName => http.ExecuteAsync(invocation.Config, invocation.IdempotencyKey, cancellationToken),
        SendNotificationAction.TypeName => services.GetRequiredService<NotificationSender>().SendAsync(invocation, cancellationToken),
        RunTaskAction.TypeName => services.GetRequiredService<TaskExecutor>().ExecuteAsync(invocation, cancellationToken),
        NoOpAction.TypeName => Task.FromResult(new ActionOutcome(true, [])),
        _ => throw new ActionFailedException($"Action type '{actionType}' cannot run here."),
    };
}
