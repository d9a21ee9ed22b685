using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Orchestrator.Actions.CallApi;

/// <summary>
/// Makes the HTTP call of a <c>call_api</c> action (also used by tools and pipeline nodes): sends the
/// idempotency key, resolves secret headers at the last moment, and records status, selected headers and a
/// truncated body — with any secret value masked.
/// </summary>
public sealed class HttpActionExecutor(IHttpClientFactory clients, SecretTemplates secrets)
{
    public const string ClientName = "call_api";
    public const int DefaultTimeoutSeconds = 30;
    public const int DefaultMaxResponseChars = 4096;

    public async Task<ActionOutcome> ExecuteAsync(JsonElement config, string idempotencyKey, CancellationToken cancellationToken)
    {
        var method = new HttpMethod(config.TryGetProperty("method", out var m) ? m.GetString()! : "GET");
        var url = config.GetProperty("url").GetString()!;
        var timeout = TimeSpan.FromSeconds(config.TryGetProperty("timeoutSeconds", out var t) ? t.GetInt32() : DefaultTimeoutSeconds);
        var maxChars = config.TryGetProperty("maxResponseChars", out var mc) ? mc.GetInt32() : DefaultMaxResponseChars;
        var usedSecrets = new List<string>();

        using var request = new HttpRequestMessage(method, url);
        request.Headers.TryAddWithoutValidation("Idempotency-Key", idempotencyKey);
        string? contentType = null;
        if (config.TryGetProperty("headers", out var headers))
        {
            foreach (var header in headers.EnumerateObject())
            {
                var value = secrets.Resolve(header.Value.GetString()!, usedSecrets);
                if (string.Equals(header.Name, "Content-Type", StringComparison.OrdinalIgnoreCase))
                {
                    contentType = value;
                }
                else
                {
                    request.Headers.TryAddWithoutValidation(header.Name, value);
                }
            }
        }

        if (config.TryGetProperty("body", out var body) && body.ValueKind is not JsonValueKind.Null and not JsonValueKind.Undefined)
        {
            var text = body.ValueKind == JsonValueKind.String ? body.GetString()! : body.GetRawText();
            request.Content = new StringContent(text, Encoding.UTF8);
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(
                contentType ?? (body.ValueKind == JsonValueKind.String ? "text/plain; charset=utf-8" : "application/json"));
        }

        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(timeout);
        var client = clients.CreateClient(ClientName);
        var clock = Stopwatch.StartNew();
        HttpResponseMessage response;
        try
        {
            response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeoutSource.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new ActionFailedException($"{method} {url} timed out after {timeout.TotalSeconds:0} s.");
        }
        catch (HttpRequestException ex)
        {
            var reason = ex.InnerException is OutboundRefusedException refused ? refused.Message : ex.Message;
            throw new ActionFailedException($"{method} {url} failed: {SecretTemplates.Redact(reason, usedSecrets)}");
        }
        catch (Polly.CircuitBreaker.BrokenCircuitException ex)
        {
            throw new ActionFailedException($"{method} {url} not sent: {ex.Message}");
        }

        using (response)
        {
            var content = await response.Content.ReadAsStringAsync(timeoutSource.Token);
            var truncated = content.Length > maxChars;
            var status = (int)response.StatusCode;
            var result = new JsonObject
            {
                ["status"] = status,
                ["durationMs"] = clock.ElapsedMilliseconds,
                ["headers"] = SelectedHeaders(config, response, usedSecrets),
                ["body"] = SecretTemplates.Redact(truncated ? content[..maxChars] : content, usedSecrets),
                ["bodyTruncated"] = truncated,
            };

            var accepted = config.TryGetProperty("acceptedStatusCodes", out var codes) && codes.GetArrayLength() > 0
                ? codes.EnumerateArray().Any(c => c.GetInt32() == status)
                : status is >= 200 and < 300;
            return accepted
                ? new ActionOutcome(true, result)
                : new ActionOutcome(false, result, $"{method} {url} answered {status}, which is not an accepted status.");
        }
    }

    private static JsonObject SelectedHeaders(JsonElement config, HttpResponseMessage response, List<string> usedSecrets)
    {
        var selected = new JsonObject();
        var names = config.TryGetProperty("recordHeaders", out var r) ? r.EnumerateArray().Select(n => n.GetString()!).ToList() : ["Content-Type", "Location"];
        foreach (var name in names)
        {
            if (response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values))
            {
                selected[name] = SecretTemplates.Redact(string.Join(", ", values), usedSecrets);
            }
        }

        return selected;
    }
}
