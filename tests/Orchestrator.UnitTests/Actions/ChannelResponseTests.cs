using System.Text.Json;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Orchestrator.Actions.Notifications;
using Orchestrator.Hosting;

namespace Orchestrator.UnitTests.Actions;

/// <summary>
/// The typed channel response must write the JSON the untyped one did: a webhook's settings as stored, an email
/// channel's settings with hasPassword and without the password. A settings record written as its declared base type
/// (no properties) would give "settings":{} instead.
/// </summary>
public sealed class ChannelResponseTests
{
    private static readonly JsonSerializerOptions Web = new(JsonSerializerDefaults.Web);

    private static readonly DateTimeOffset At = new(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);

    private sealed class Settings(OrchestratorOptions value) : IOptionsMonitor<OrchestratorOptions>
    {
        public OrchestratorOptions CurrentValue => value;

        public OrchestratorOptions Get(string? name) => value;

        public IDisposable? OnChange(Action<OrchestratorOptions, string?> listener) => null;
    }

    private static readonly SecretBox PlainBox = new(new Settings(new OrchestratorOptions()), NullLogger<SecretBox>.Instance);

    private static NotificationChannel Channel(ChannelKind kind, object settings, object secrets) => new()
    {
        Name = "ops",
        Kind = kind,
        SettingsJson = JsonSerializer.Serialize(settings, ChannelJson.Options),
        SecretsJson = JsonSerializer.Serialize(secrets, ChannelJson.Options),
        CreatedAt = At,
        UpdatedAt = At,
    };

    [Test]
    public void A_webhook_channel_shows_its_url_format_and_header_names_only()
    {
        var channel = Channel(ChannelKind.Webhook, new WebhookSettings("https://hooks.example/x", "slack", ["X-Token"]),
            new ChannelSecrets(null, new Dictionary<string, string> { ["X-Token"] = "t0ken-9f8e" }));

        var json = JsonSerializer.Serialize(ChannelResponse.From(channel, PlainBox), Web);

        Assert.That(json, Is.EqualTo(
            """{"name":"ops","kind":"webhook","settings":{"url":"https://hooks.example/x","format":"slack","headerNames":["X-Token"]},"createdAt":"2026-11-30T12:00:00+00:00","updatedAt":"2026-11-30T12:00:00+00:00"}"""));
    }

    [Test]
    public void An_email_channel_shows_whether_a_password_is_set_never_the_password()
    {
        var channel = Channel(ChannelKind.Email, new EmailSettings("smtp.example", 587, "starttls", null, "ops@example.org", ["a@example.org"]),
            new ChannelSecrets("pw-1a2b", null));

        var json = JsonSerializer.Serialize(ChannelResponse.From(channel, PlainBox), Web);

        Assert.That(json, Is.EqualTo(
            """{"name":"ops","kind":"email","settings":{"host":"smtp.example","port":587,"security":"starttls","username":null,"from":"ops@example.org","to":["a@example.org"],"hasPassword":true},"createdAt":"2026-11-30T12:00:00+00:00","updatedAt":"2026-11-30T12:00:00+00:00"}"""));
    }
}
