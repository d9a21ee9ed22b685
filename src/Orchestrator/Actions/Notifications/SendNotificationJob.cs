namespace Orchestrator.Actions.Notifications;

/// <summary>The Quartz job of the <c>send_notification</c> action type.</summary>
public sealed class SendNotificationJob(NotificationSender sender, ActionJobServices services) : ActionJob(services)
{
    protected override string ActionType => SendNotificationAction.TypeName;

    protected override Task<ActionOutcome> ExecuteActionAsync(ActionInvocation invocation, CancellationToken cancellationToken) =>
        sender.SendAsync(invocation, cancellationToken);
}
