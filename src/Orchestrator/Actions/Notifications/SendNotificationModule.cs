namespace Orchestrator.Actions.Notifications;

/// <summary>
/// The <c>send_notification</c> action type, its sender and the channels it sends through (their service and the box
/// that encrypts their secrets).
/// </summary>
public sealed class SendNotificationModule : IActionModule
{
    public void AddServices(IServiceCollection services)
    {
        services.AddActionType<SendNotificationAction, SendNotificationJob>();
        services.AddScoped<NotificationSender>();
        services.AddSingleton<SecretBox>();
        services.AddChannels();
    }
}
