using System.Text.Json;

namespace Orchestrator.Actions.Notifications;

/// <summary>
/// A named notification destination. Settings are readable through the API; secrets (SMTP password, webhook
/// header values) are write-only: stored separately and never returned, logged or copied into run records.
/// </summary>
public sealed class NotificationChannel
{
    public required string Name { get; set; }

    public ChannelKind Kind { get; set; }

    public required string SettingsJson { get; set; }

    public required string SecretsJson { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }

    public WebhookSettings Webhook => JsonSerializer.Deserialize<WebhookSettings>(SettingsJson, ChannelJson.Options)!;

    public EmailSettings Email => JsonSerializer.Deserialize<EmailSettings>(SettingsJson, ChannelJson.Options)!;

    /// <summary>The secrets, opened with the box that sealed them (they may be encrypted at rest).</summary>
    public ChannelSecrets SecretsFrom(SecretBox box) => JsonSerializer.Deserialize<ChannelSecrets>(box.Open(SecretsJson, Name), ChannelJson.Options)!;
}

public enum ChannelKind
{
    Webhook,
    Email,
}

public sealed record WebhookSettings(string Url, string Format, IReadOnlyList<string> HeaderNames);

public sealed record EmailSettings(string Host, int Port, string Security, string? Username, string From, IReadOnlyList<string> To);

public sealed record ChannelSecrets(string? Password, IReadOnlyDictionary<string, string>? Headers);

public static class ChannelJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web);
}
