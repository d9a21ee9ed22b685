using Orchestrator.Hosting;
using Orchestrator.Runs;

namespace Orchestrator.Actions.Notifications;

/// <summary>The Quartz job of the <c>send_notification</c> action type.</summary>
public sealed class SendNotificationJob(NotificationSender sender, ActionJobServices services) : ActionJob(services)
{
    protected override string ActionType => SendNotificationAction.TypeName;

    protected override Task<ActionOutcome> ExecuteActionAsync(ActionInvocation invocation, CancellationToken cancellationToken)
    {
        var config = invocation.Config;
        var subject = RunTemplate.Render(config.TryGetProperty("subject", out var s) ? s.GetString()! : "{{schedule.name}}", invocation);
        var message = RunTemplate.Render(config.GetProperty("message").GetString()!, invocation);
        var severity = config.TryGetProperty("severity", out var v) ? v.GetString()! : "info";
        return sender.SendAsync(config.GetProperty("channel").GetString()!, subject, message, severity, invocation.IdempotencyKey, cancellationToken);
    }
}
