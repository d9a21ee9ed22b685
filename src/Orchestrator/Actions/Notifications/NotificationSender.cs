using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using MailKit.Net.Smtp;
using MailKit.Security;
using Microsoft.EntityFrameworkCore;
using MimeKit;
using Orchestrator.Actions.CallApi;
using Orchestrator.Data;
using Orchestrator.Templates;

namespace Orchestrator.Actions.Notifications;

/// <summary>
/// Sends a rendered notification to a named channel: a JSON (or Slack-compatible) POST through the same guarded
/// HTTP client as call_api, or an email over SMTP with MailKit. Every notification carries the run's idempotency key.
/// </summary>
public sealed class NotificationSender(OrchestratorDbContext db, IHttpClientFactory clients, SecretBox box, OutboundPolicy outbound, TimeProvider time)
{
    private static readonly TimeSpan SendTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Sends a send_notification config (channel, subject, message, severity) with its templates rendered for the run.</summary>
    public Task<ActionOutcome> SendAsync(ActionInvocation invocation, CancellationToken cancellationToken)
    {
        var config = invocation.Config;
        var values = new InvocationValues(invocation);
        var subject = TemplateResolver.RenderText(config.TryGetProperty("subject", out var s) ? s.GetString()! : "{{schedule.name}}", values);
        var message = TemplateResolver.RenderText(config.GetProperty("message").GetString()!, values);
        var severity = config.TryGetProperty("severity", out var v) ? v.GetString()! : "info";
        return SendAsync(config.GetProperty("channel").GetString()!, subject, message, severity, invocation.IdempotencyKey, cancellationToken);
    }

    public async Task<ActionOutcome> SendAsync(string channelName, string subject, string message, string severity, string idempotencyKey, CancellationToken cancellationToken)
    {
        var channel = await db.Channels.AsNoTracking().FirstOrDefaultAsync(c => c.Name == channelName, cancellationToken)
            ?? throw new ActionFailedException($"Notification channel '{channelName}' no longer exists.");
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(SendTimeout);
        try
        {
            _ = channel.SecretsFrom(box);
        }
        catch (Exception ex) when (ex is System.Security.Cryptography.CryptographicException or FormatException)
        {
            throw new ActionFailedException($"Channel '{channelName}': its secrets cannot be opened: {ex.Message}");
        }

        try
        {
            return channel.Kind == ChannelKind.Webhook
                ? await SendWebhookAsync(channel, subject, message, severity, idempotencyKey, timeout.Token)
                : await SendEmailAsync(channel, subject, message, severity, idempotencyKey, timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ActionFailedException($"Sending to channel '{channelName}' timed out after {SendTimeout.TotalSeconds:0} s.");
        }
    }

    private async Task<ActionOutcome> SendWebhookAsync(NotificationChannel channel, string subject, string message, string severity, string key, CancellationToken ct)
    {
        var settings = channel.Webhook;
        JsonObject payload = settings.Format == "slack"
            ? new JsonObject { ["text"] = $"*[{severity.ToUpperInvariant()}] {subject}*\n{message}" }
            : new JsonObject
            {
                ["subject"] = subject,
                ["message"] = message,
                ["severity"] = severity,
                ["idempotencyKey"] = key,
                ["sentAt"] = time.GetUtcNow(),
            };
        // A buffered body with its Content-Length: simple receivers (Python's http.server) read nothing of a chunked one.
        using var request = new HttpRequestMessage(HttpMethod.Post, settings.Url)
        {
            Content = new StringContent(payload.ToJsonString(), Encoding.UTF8, "application/json"),
        };
        request.Options.Set(HttpActionExecutor.TimeoutOption, SendTimeout);
        request.Headers.TryAddWithoutValidation("Idempotency-Key", key);
        var headers = channel.SecretsFrom(box).Headers ?? new Dictionary<string, string>();
        foreach (var (name, value) in headers)
        {
            request.Headers.TryAddWithoutValidation(name, value);
        }

        // Every header value of a channel is a secret (write-only): none follows a redirect to another origin.
        request.Options.Set(RedirectHandler.SecretHeaders, [.. headers.Keys]);

        HttpResponseMessage response;
        try
        {
            response = await clients.CreateClient(HttpActionExecutor.ClientName).SendAsync(request, ct);
        }
        catch (HttpRequestException ex)
        {
            var reason = (ex.InnerException as OutboundRefusedException)?.Message ?? ex.Message;
            throw new ActionFailedException($"Webhook channel '{channel.Name}' failed: {SecretMask.Redact(reason, headers.Values)}");
        }
        catch (OutboundRefusedException ex)
        {
            // A redirect the policy does not follow.
            throw new ActionFailedException($"Webhook channel '{channel.Name}' failed: {SecretMask.Redact(ex.Message, headers.Values)}");
        }
        catch (Polly.Timeout.TimeoutRejectedException)
        {
            throw new ActionFailedException($"Webhook channel '{channel.Name}' timed out after {SendTimeout.TotalSeconds:0} s.");
        }
        catch (Polly.CircuitBreaker.BrokenCircuitException)
        {
            // The per-host breaker shared with call_api: the host has been failing, so no request was sent.
            throw new ActionFailedException($"Webhook channel '{channel.Name}' was not called: its host is failing and its circuit is open.");
        }

        using (response)
        {
            var result = new JsonObject { ["channel"] = channel.Name, ["kind"] = "webhook", ["status"] = (int)response.StatusCode };
            return response.IsSuccessStatusCode
                ? new ActionOutcome(true, result)
                : new ActionOutcome(false, result, $"Webhook channel '{channel.Name}' answered {(int)response.StatusCode}.");
        }
    }

    private async Task<ActionOutcome> SendEmailAsync(NotificationChannel channel, string subject, string message, string severity, string key, CancellationToken ct)
    {
        var settings = channel.Email;
        var mail = new MimeMessage
        {
            Subject = subject,
            // Derived from the idempotency key, so a re-sent attempt of the same run is recognisable as the same message.
            MessageId = $"{key}@orchestrator",
            Body = new TextPart("plain") { Text = message },
        };
        mail.From.Add(MailboxAddress.Parse(settings.From));
        foreach (var to in settings.To)
        {
            mail.To.Add(MailboxAddress.Parse(to));
        }

        mail.Headers.Add("X-Orchestrator-Idempotency-Key", key);
        mail.Headers.Add("X-Orchestrator-Severity", severity);

        using var smtp = new SmtpClient { Timeout = (int)SendTimeout.TotalMilliseconds };
        using var span = Telemetry.OrchestratorActivities.StartSmtpSend(settings.Host, settings.Port);
        try
        {
            var security = settings.Security switch
            {
                "tls" => SecureSocketOptions.SslOnConnect,
                "none" => SecureSocketOptions.None,
                _ => SecureSocketOptions.StartTls,
            };
            // The SMTP server is reached through the outbound policy as call_api is: resolved and checked here, and
            // MailKit is handed the checked connection (the host name still serves TLS certificate validation).
            Socket socket;
            try
            {
                socket = await outbound.ConnectSocketAsync(settings.Host, settings.Port, ct);
            }
            catch (OutboundRefusedException ex)
            {
                Telemetry.OrchestratorActivities.Failed(span, ex);
                throw new ActionFailedException($"Email channel '{channel.Name}' not sent: {ex.Message}");
            }

            try
            {
                await smtp.ConnectAsync(socket, settings.Host, settings.Port, security, ct);
            }
            catch
            {
                socket.Dispose();
                throw;
            }

            if (settings.Username is not null)
            {
                if (!smtp.Capabilities.HasFlag(SmtpCapabilities.Authentication))
                {
                    // MailKit would throw NotSupportedException; the operator needs to know which setting is wrong.
                    throw new ActionFailedException(
                        $"Email channel '{channel.Name}': the SMTP server at {settings.Host}:{settings.Port} does not offer authentication (AUTH) " +
                        $"over this connection (security '{settings.Security}'), but the channel has a username; remove the username if the server " +
                        "needs none, or use security 'starttls' or 'tls' if it offers AUTH only over TLS.");
                }

                await smtp.AuthenticateAsync(settings.Username, channel.SecretsFrom(box).Password ?? "", ct);
            }

            var reply = await smtp.SendAsync(mail, ct);
            await smtp.DisconnectAsync(quit: true, ct);
            return new ActionOutcome(true, new JsonObject { ["channel"] = channel.Name, ["kind"] = "email", ["messageId"] = mail.MessageId, ["server"] = reply });
        }
        catch (Exception ex) when (ex is MailKit.ServiceNotConnectedException or MailKit.Net.Smtp.SmtpCommandException or MailKit.Net.Smtp.SmtpProtocolException
                                       or MailKit.Security.AuthenticationException or System.Net.Sockets.SocketException or IOException)
        {
            Telemetry.OrchestratorActivities.Failed(span, ex);
            // A server's reply can quote what it was sent; the password is masked like a call's secrets.
            throw new ActionFailedException($"Email channel '{channel.Name}' failed: {SecretMask.Redact(ex.Message, PasswordOf(channel))}");
        }
        catch (NotSupportedException ex)
        {
            Telemetry.OrchestratorActivities.Failed(span, ex);
            // MailKit's way of saying the server and the channel's settings do not fit (no SASL mechanism both know).
            throw new ActionFailedException($"Email channel '{channel.Name}': the SMTP server at {settings.Host}:{settings.Port} does not support what the channel asks: {ex.Message}");
        }
    }

    private string[] PasswordOf(NotificationChannel channel) => channel.SecretsFrom(box).Password is { } password ? [password] : [];
}
