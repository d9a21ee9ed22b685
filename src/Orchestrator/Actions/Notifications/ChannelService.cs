using System.Text.Json;
using System.Text.Json.Serialization;
using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore;
using MimeKit;
using Orchestrator.Actions.CallApi;
using Orchestrator.Api;
using Orchestrator.Audit;
using Orchestrator.Data;
using Orchestrator.Definitions;
using Orchestrator.Pipelines;
using Orchestrator.Schedules;
using Quartz;

namespace Orchestrator.Actions.Notifications;

public sealed record WebhookRequest(string? Url, string? Format, Dictionary<string, string>? Headers);

public sealed record EmailRequest(string? Host, int? Port, string? Security, string? Username, string? Password, string? From, List<string>? To);

public sealed record ChannelRequest(string? Name, string? Kind, WebhookRequest? Webhook, EmailRequest? Email);

/// <summary>A channel as the API shows it: settings, and only whether secrets are set.</summary>
public sealed record ChannelResponse(string Name, string Kind, ChannelSettingsResponse Settings, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public static ChannelResponse From(NotificationChannel c, SecretBox box) => new(
        c.Name,
        c.Kind.ToString().ToLowerInvariant(),
        c.Kind == ChannelKind.Webhook
            ? WebhookChannelSettings.From(c.Webhook)
            : new EmailChannelSettings(c.Email.Host, c.Email.Port, c.Email.Security, c.Email.Username, c.Email.From, c.Email.To, HasPassword(c, box)),
        c.CreatedAt,
        c.UpdatedAt);

    /// <summary>Null when the secrets cannot be opened here (the key that sealed them is not configured on this node).</summary>
    private static bool? HasPassword(NotificationChannel c, SecretBox box)
    {
        try
        {
            return c.SecretsFrom(box).Password is not null;
        }
        catch (Exception ex) when (ex is System.Security.Cryptography.CryptographicException or FormatException)
        {
            return null;
        }
    }
}

/// <summary>
/// A channel's readable settings, one shape per kind. Registered as derived types without a discriminator, so each is
/// written as its own properties only (the kind is the response's <c>kind</c>) and the API document lists both shapes.
/// </summary>
[JsonDerivedType(typeof(WebhookChannelSettings))]
[JsonDerivedType(typeof(EmailChannelSettings))]
public abstract record ChannelSettingsResponse;

/// <summary>A webhook's settings; header values are secrets, so only their names are shown.</summary>
public sealed record WebhookChannelSettings(string Url, string Format, IReadOnlyList<string> HeaderNames) : ChannelSettingsResponse
{
    public static WebhookChannelSettings From(WebhookSettings settings) => new(settings.Url, settings.Format, settings.HeaderNames);
}

/// <summary>An email channel's settings; the password is never shown, only whether one is set (null: not readable on this node).</summary>
public sealed record EmailChannelSettings(string Host, int Port, string Security, string? Username, string From, IReadOnlyList<string> To, bool? HasPassword)
    : ChannelSettingsResponse;

/// <summary>
/// The notification channel use cases: list, read, create, replace (omitted secrets are kept), delete. Secrets are
/// sealed with <see cref="SecretBox"/> on every save and never returned.
/// </summary>
public sealed partial class ChannelService(OrchestratorDbContext db, OutboundPolicy outbound, SecretBox box, ISchedulerFactory schedulers, AuditLog audit, TimeProvider time)
{
    public async Task<List<ChannelResponse>> ListAsync(CancellationToken cancellationToken) =>
        [.. (await db.Channels.AsNoTracking().OrderBy(c => c.Name).ToListAsync(cancellationToken)).Select(c => ChannelResponse.From(c, box))];

    public async Task<Outcome<ChannelResponse>> GetAsync(string name, CancellationToken cancellationToken) =>
        await db.Channels.AsNoTracking().FirstOrDefaultAsync(c => c.Name == name, cancellationToken) is { } channel
            ? ChannelResponse.From(channel, box)
            : Problems.NotFound("channel", name);

    /// <summary>Whether a channel named <paramref name="name"/> exists: what a notification's config is checked against when saved.</summary>
    public Task<bool> ExistsAsync(string name, CancellationToken cancellationToken) => db.Channels.AnyAsync(c => c.Name == name, cancellationToken);

    public async Task<Outcome<ChannelResponse>> CreateAsync(ChannelRequest request, CancellationToken cancellationToken)
    {
        var errors = new FieldErrors();
        if (string.IsNullOrEmpty(request.Name) || !NamePattern().IsMatch(request.Name))
        {
            errors.Add("name", "is required: 1–63 lowercase letters, digits, '-' or '_'.");
        }

        var channel = Build(request, null, errors);
        if (errors.Any)
        {
            return errors.ToProblemDetails();
        }

        if (await db.Channels.AnyAsync(c => c.Name == request.Name, cancellationToken))
        {
            return Problems.Conflict($"A channel named '{request.Name}' already exists.", "name");
        }

        channel!.Name = request.Name!;
        channel.SecretsJson = box.Seal(channel.SecretsJson, channel.Name);
        channel.CreatedAt = channel.UpdatedAt = time.GetUtcNow();
        db.Channels.Add(channel);
        audit.Add(new AuditChange("channel.create", "channel", channel.Name, null, null, ChannelResponse.From(channel, box)));
        await db.SaveChangesAsync(cancellationToken);
        return ChannelResponse.From(channel, box);
    }

    public async Task<Outcome<ChannelResponse>> ReplaceAsync(string name, ChannelRequest request, CancellationToken cancellationToken, bool force = false)
    {
        var existing = await db.Channels.FirstOrDefaultAsync(c => c.Name == name, cancellationToken);
        if (existing is null)
        {
            return Problems.NotFound("channel", name);
        }

        if (await ManagedMarks.RefuseUnlessForcedAsync(db, DefinitionKinds.Channel, name, force, cancellationToken) is { } managed)
        {
            return managed;
        }

        var errors = new FieldErrors();
        if (request.Name is not null && request.Name != name)
        {
            errors.Add("name", $"must match the channel in the URL ('{name}').");
        }

        var replacement = Build(request, existing, errors);
        if (errors.Any)
        {
            return errors.ToProblemDetails();
        }

        var before = ChannelResponse.From(existing, box);
        existing.Kind = replacement!.Kind;
        existing.SettingsJson = replacement.SettingsJson;
        // Sealed again on every save: a replace also moves the secrets to the current key.
        existing.SecretsJson = box.Seal(replacement.SecretsJson, existing.Name);
        existing.UpdatedAt = time.GetUtcNow();
        audit.Add(new AuditChange("channel.update", "channel", name, null, before, ChannelResponse.From(existing, box)));
        await db.SaveChangesAsync(cancellationToken);
        return ChannelResponse.From(existing, box);
    }

    /// <summary>
    /// Deletes a channel; the value is the name deleted. A channel a send_notification schedule or pipeline node still
    /// sends to is refused: each of their firings would fail on it.
    /// </summary>
    public async Task<Outcome<string>> DeleteAsync(string name, CancellationToken cancellationToken, bool force = false)
    {
        if (!await ExistsAsync(name, cancellationToken))
        {
            return Problems.NotFound("channel", name);
        }

        if (await ManagedMarks.RefuseUnlessForcedAsync(db, DefinitionKinds.Channel, name, force, cancellationToken) is { } managed)
        {
            return managed;
        }

        var reference = new ActionReference(SendNotificationAction.TypeName, "channel", name);
        if (InUseProblem.For($"Channel '{name}'",
                await ScheduleReferences.UsingAsync(schedulers, reference, cancellationToken),
                await PipelineReferences.UsingAsync(db, reference, cancellationToken)) is { } inUse)
        {
            return inUse;
        }

        var before = await GetAsync(name, cancellationToken);
        if (await db.Channels.Where(c => c.Name == name).ExecuteDeleteAsync(cancellationToken) == 0)
        {
            return Problems.NotFound("channel", name);
        }

        await ManagedMarks.ForgetAsync(db, DefinitionKinds.Channel, name, cancellationToken);
        await audit.RecordAsync(new AuditChange("channel.delete", "channel", name, null, before.Value, null), cancellationToken);
        return name;
    }

    private NotificationChannel? Build(ChannelRequest request, NotificationChannel? existing, FieldErrors errors)
    {
        switch (request.Kind)
        {
            case "webhook":
                var webhook = request.Webhook;
                if (webhook is null)
                {
                    errors.Add("webhook", "is required for a webhook channel: {url, format, headers}.");
                    return null;
                }

                // The other kind's settings would be stored nowhere: refused rather than dropped, so a caller who meant
                // an email channel is told instead of getting a webhook.
                if (request.Email is not null)
                {
                    errors.Add("email", "is not a setting of a webhook channel; a channel carries only the settings of its kind (webhook).");
                }

                if (string.IsNullOrEmpty(webhook.Url))
                {
                    errors.Add("webhook.url", "is required.");
                }
                else if (outbound.CheckUrl(webhook.Url) is { } reason)
                {
                    errors.Add("webhook.url", reason);
                }
                else
                {
                    RefuseSecretReference("webhook.url", webhook.Url, errors);
                }

                var format = webhook.Format ?? "json";
                if (format is not "json" and not "slack")
                {
                    errors.Add("webhook.format", "must be 'json' or 'slack'.");
                }

                if (webhook.Headers is { Count: > RequestHeaderRules.MaxHeaders })
                {
                    errors.Add("webhook.headers", $"has {webhook.Headers.Count} headers; at most {RequestHeaderRules.MaxHeaders} are allowed.");
                }

                foreach (var (headerName, value) in webhook.Headers ?? [])
                {
                    // The same rules as call_api's headers, plus Content-Type: a webhook's body is always JSON.
                    RequestHeaderRules.Check($"webhook.headers.{headerName}", headerName, value, errors);
                    if (string.Equals(headerName, "Content-Type", StringComparison.OrdinalIgnoreCase))
                    {
                        errors.Add($"webhook.headers.{headerName}", "is set by the webhook itself (application/json).");
                    }

                    RefuseSecretReference($"webhook.headers.{headerName}", value, errors);
                }

                // Header values are secrets (tokens); omitted on replace means "keep the ones stored".
                var headers = webhook.Headers ?? (existing?.Kind == ChannelKind.Webhook ? existing.SecretsFrom(box).Headers?.ToDictionary() : null) ?? [];
                return new NotificationChannel
                {
                    Name = existing?.Name ?? "",
                    Kind = ChannelKind.Webhook,
                    SettingsJson = JsonSerializer.Serialize(new WebhookSettings(webhook.Url ?? "", format, [.. headers.Keys]), ChannelJson.Options),
                    SecretsJson = JsonSerializer.Serialize(new ChannelSecrets(null, headers), ChannelJson.Options),
                };
            case "email":
                var email = request.Email;
                if (email is null)
                {
                    errors.Add("email", "is required for an email channel: {host, port, security, username, password, from, to}.");
                    return null;
                }

                if (request.Webhook is not null)
                {
                    errors.Add("webhook", "is not a setting of an email channel; a channel carries only the settings of its kind (email).");
                }

                // Each of these ends up in an SMTP command line (or, for username and password, in AUTH's NUL-separated
                // PLAIN form): a line break or NUL would let the value add commands or credentials of its own.
                foreach (var (field, value) in new[] { ("email.username", email.Username), ("email.password", email.Password), ("email.from", email.From) }
                             .Concat((email.To ?? []).Select((to, i) => ($"email.to[{i}]", (string?)to))))
                {
                    if (value is not null && value.Any(c => c is '\r' or '\n' or '\0'))
                    {
                        errors.Add(field, "must not contain CR, LF or NUL.");
                    }

                    if (value is not null)
                    {
                        RefuseSecretReference(field, value, errors);
                    }
                }

                if (email.Username is { Length: 0 or > 256 })
                {
                    errors.Add("email.username", "must be 1 to 256 characters, or left out when the server needs no authentication.");
                }

                if (string.IsNullOrWhiteSpace(email.Host) || Uri.CheckHostName(email.Host) == UriHostNameType.Unknown)
                {
                    errors.Add("email.host", "is required: the SMTP server's host name or IP address.");
                }
                else if (outbound.CheckHost(email.Host) is { } hostRefused)
                {
                    errors.Add("email.host", hostRefused);
                }

                var port = email.Port ?? 587;
                if (port is < 1 or > 65535)
                {
                    errors.Add("email.port", "must be between 1 and 65535.");
                }

                var security = email.Security ?? "starttls";
                if (security is not "starttls" and not "tls" and not "none")
                {
                    errors.Add("email.security", "must be 'starttls', 'tls' or 'none'.");
                }

                if (!IsEmailAddress(email.From))
                {
                    errors.Add("email.from", "must be an email address.");
                }

                if (email.To is not { Count: > 0 and <= 50 })
                {
                    errors.Add("email.to", "must list 1 to 50 addresses.");
                }
                else
                {
                    for (var i = 0; i < email.To.Count; i++)
                    {
                        if (!IsEmailAddress(email.To[i]))
                        {
                            errors.Add($"email.to[{i}]", "must be an email address.");
                        }
                    }
                }

                var password = email.Password ?? (existing?.Kind == ChannelKind.Email ? existing.SecretsFrom(box).Password : null);
                return new NotificationChannel
                {
                    Name = existing?.Name ?? "",
                    Kind = ChannelKind.Email,
                    SettingsJson = JsonSerializer.Serialize(new EmailSettings(email.Host ?? "", port, security, email.Username, email.From ?? "", email.To ?? []), ChannelJson.Options),
                    SecretsJson = JsonSerializer.Serialize(new ChannelSecrets(password, null), ChannelJson.Options),
                };
            default:
                errors.Add("kind", $"{(request.Kind is null ? "is required" : $"'{request.Kind}' is not a channel kind")}; use 'webhook' or 'email'.");
                return null;
        }
    }

    /// <summary>
    /// A channel's secrets are its own (write-only, sealed at rest) and sent as stored, so a <c>{{secret:NAME}}</c> written
    /// into one would go out as that text: refused, saying where references do work.
    /// </summary>
    private static void RefuseSecretReference(string field, string value, FieldErrors errors)
    {
        if (SecretTemplates.MentionsSecret(value))
        {
            errors.Add(field, $"cannot reference a secret: a channel sends its values as stored (its password and header values are write-only and never shown, so put the value itself there); {SecretTemplates.WhereSecretsGo}.");
        }
    }

    /// <summary>MimeKit alone accepts a bare local part ("ops"); a channel needs a deliverable address with a domain.</summary>
    private static bool IsEmailAddress(string? text) =>
        MailboxAddress.TryParse(text ?? "", out var address) && address.Address.IndexOf('@', StringComparison.Ordinal) is > 0 and var at && at < address.Address.Length - 1;

    [GeneratedRegex("^[a-z0-9][a-z0-9_-]{0,62}$", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();
}
