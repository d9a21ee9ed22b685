using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Api;
using Orchestrator.Templates;

namespace Orchestrator.Actions.Notifications;

/// <summary>The <c>send_notification</c> action type: channel, subject and message templates, severity.</summary>
public sealed class SendNotificationAction(IServiceScopeFactory scopes) : ActionDefinition
{
    public const string TypeName = "send_notification";

    public override string Type => TypeName;

    public override Type JobType => typeof(SendNotificationJob);

    public override string Description => "Sends a message through a notification channel (webhook or email).";

    public override Task<ActionOutcome> ExecuteAsync(ActionInvocation invocation, IServiceProvider services, CancellationToken cancellationToken) =>
        services.GetRequiredService<NotificationSender>().SendAsync(invocation, cancellationToken);

    public override string SchemaJson => """
        {
          "$schema": "https://json-schema.org/draft/2020-12/schema",
          "title": "send_notification config",
          "type": "object",
          "additionalProperties": false,
          "required": ["channel", "message"],
          "properties": {
            "channel": { "type": "string", "minLength": 1, "maxLength": 63, "pattern": "^[a-z0-9][a-z0-9_-]{0,62}$" },
            "subject": { "type": "string", "maxLength": 500 },
            "message": { "type": "string", "minLength": 1, "maxLength": 20000 },
            "severity": { "type": "string", "enum": ["info", "warning", "error", "critical"] }
          }
        }
        """;

    /// <summary>The notification <see cref="NotificationSender"/> would send for the sample run: subject and message rendered.</summary>
    public override JsonObject DryRun(ActionInvocation sample)
    {
        var config = sample.Config;
        var values = new InvocationValues(sample);
        return new JsonObject
        {
            ["channel"] = config.GetProperty("channel").GetString(),
            ["subject"] = TemplateResolver.RenderText(config.TryGetProperty("subject", out var s) ? s.GetString()! : "{{schedule.name}}", values),
            ["message"] = TemplateResolver.RenderText(config.GetProperty("message").GetString()!, values),
            ["severity"] = config.TryGetProperty("severity", out var v) ? v.GetString() : "info",
            ["idempotencyKey"] = sample.IdempotencyKey,
        };
    }

    protected override async ValueTask ValidateSemanticsAsync(JsonElement config, string prefix, string? projectId, FieldErrors errors, CancellationToken cancellationToken)
    {
        var channel = config.GetProperty("channel").GetString()!;
        await using var scope = scopes.CreateAsyncScope();
        if (!await scope.ServiceProvider.GetRequiredService<ChannelService>().ExistsAsync(channel, cancellationToken))
        {
            errors.Add($"{prefix}.channel", $"no notification channel named '{channel}' (see /api/channels).");
        }

        if (config.TryGetProperty("subject", out var subject) && subject.GetString()!.Any(c => c is '\r' or '\n' or '\0'))
        {
            // A subject is one header line of an email: a line break would start a header of the sender's choosing.
            errors.Add($"{prefix}.subject", "must not contain CR, LF or NUL (it is one line; put longer text in the message).");
        }

        if (config.GetProperty("message").GetString()!.Contains('\0', StringComparison.Ordinal))
        {
            errors.Add($"{prefix}.message", "must not contain NUL.");
        }

        foreach (var field in new[] { "subject", "message" })
        {
            if (config.TryGetProperty(field, out var template))
            {
                TemplateValidator.Check(template.GetString()!, TemplateContext.ScheduleNotification, $"{prefix}.{field}", errors);
            }
        }
    }
}
