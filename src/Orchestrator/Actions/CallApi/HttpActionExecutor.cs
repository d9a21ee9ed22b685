using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace Orchestrator.Actions.CallApi;

/// <summary>
/// Makes the HTTP call of a <c>call_api</c> action (also used by tools and pipeline nodes): sends the
/// idempotency key, resolves secrets in headers and body at the last moment, marks what carries them so no redirect
/// takes them to another origin (<see cref="RedirectHandler"/>), and records status, selected headers and a truncated
/// body — masked before they are cut, so neither a whole secret nor a piece of one is recorded (<see cref="SecretMask"/>).
/// </summary>
public sealed class HttpActionExecutor(IHttpClientFactory clients, SecretTemplates secrets)
{
    public const string ClientName = "call_api";
    public const int DefaultTimeoutSeconds = 30;
    public const int DefaultMaxResponseChars = 4096;

    /// <summary>How far past <c>maxResponseChars</c> a body is read at most to see a secret at the cut whole.</summary>
    private const int MaxLookAheadChars = 64 * 1024;

    /// <summary>The call's timeout, read by the client's resilience pipeline so that a timeout counts against the host's breaker.</summary>
    public static readonly HttpRequestOptionsKey<TimeSpan> TimeoutOption = new("orchestrator.timeout");

    public async Task<ActionOutcome> ExecuteAsync(JsonElement config, string idempotencyKey, CancellationToken cancellationToken)
    {
        var method = new HttpMethod(config.TryGetProperty("method", out var m) ? m.GetString()! : "GET");
        var url = config.GetProperty("url").GetString()!;
        var timeout = TimeSpan.FromSeconds(config.TryGetProperty("timeoutSeconds", out var t) ? t.GetInt32() : DefaultTimeoutSeconds);
        var maxChars = config.TryGetProperty("maxResponseChars", out var mc) ? mc.GetInt32() : DefaultMaxResponseChars;
        var usedSecrets = new List<string>();
        var secretHeaders = new List<string>();

        using var request = new HttpRequestMessage(method, url);
        request.Headers.TryAddWithoutValidation("Idempotency-Key", idempotencyKey);
        string? contentType = null;
        if (config.TryGetProperty("headers", out var headers))
        {
            foreach (var header in headers.EnumerateObject())
            {
                var before = usedSecrets.Count;
                var value = secrets.Resolve(header.Value.GetString()!, usedSecrets);
                if (usedSecrets.Count > before)
                {
                    secretHeaders.Add(header.Name);
                }

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
            var before = usedSecrets.Count;
            var text = secrets.ResolveBody(body, usedSecrets);
            request.Options.Set(RedirectHandler.SecretBody, usedSecrets.Count > before);
            request.Content = new StringContent(text, Encoding.UTF8);
            request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse(
                contentType ?? (body.ValueKind == JsonValueKind.String ? "text/plain; charset=utf-8" : "application/json"));
        }

        // Until the response headers the pipeline's timeout strategy enforces the timeout (and the breaker counts it);
        // this source bounds the whole call, reading the body included.
        request.Options.Set(TimeoutOption, timeout);
        request.Options.Set(RedirectHandler.SecretHeaders, secretHeaders);
        using var timeoutSource = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeoutSource.CancelAfter(timeout);
        var client = clients.CreateClient(ClientName);
        var clock = Stopwatch.StartNew();
        HttpResponseMessage response;
        try
        {
            response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, cancellationToken);
        }
        catch (TimeoutRejectedException)
        {
            throw new ActionFailedException($"{method} {url} timed out after {timeout.TotalSeconds:0} s.");
        }
        catch (HttpRequestException ex)
        {
            var reason = ex.InnerException is OutboundRefusedException refused ? refused.Message : ex.Message;
            throw new ActionFailedException($"{method} {url} failed: {SecretMask.Redact(reason, usedSecrets)}");
        }
        catch (OutboundRefusedException ex)
        {
            // A redirect the policy does not follow (another scheme, or a secret body bound for another origin).
            throw new ActionFailedException($"{method} {url} failed: {SecretMask.Redact(ex.Message, usedSecrets)}");
        }
        catch (BrokenCircuitException ex)
        {
            throw new ActionFailedException($"{method} {url} not sent: {ex.Message}");
        }

        using (response)
        {
            string content;
            bool truncated;
            try
            {
                // Read past the cap by the longest spelling of a secret sent, so a value the cap cuts is seen whole and
                // masked before the text is cut (a cut-off beginning alone would not match the value).
                var lookAhead = Math.Min(SecretMask.LongestForm(usedSecrets), MaxLookAheadChars);
                (content, truncated) = await ReadCappedAsync(response.Content, maxChars + lookAhead, timeoutSource.Token);
                content = SecretMask.Redact(content, usedSecrets);
                truncated |= content.Length > maxChars;
                if (content.Length > maxChars)
                {
                    content = SecretMask.Redact(content[..maxChars], usedSecrets);
                }
            }
            catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
            {
                throw new ActionFailedException($"{method} {url} timed out after {timeout.TotalSeconds:0} s reading the response body.");
            }

            var status = (int)response.StatusCode;
            var result = new JsonObject
            {
                ["status"] = status,
                ["durationMs"] = clock.ElapsedMilliseconds,
                ["headers"] = SelectedHeaders(config, response, usedSecrets),
                ["body"] = content,
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

    /// <summary>
    /// Reads at most <paramref name="maxChars"/> characters of the body, plus one to know whether there was more; the
    /// rest is never read (disposing the response drops the connection), so a huge or endless body costs nothing.
    /// </summary>
    private static async Task<(string Text, bool Truncated)> ReadCappedAsync(HttpContent content, int maxChars, CancellationToken ct)
    {
        var encoding = Encoding.UTF8;
        if (content.Headers.ContentType?.CharSet is { Length: > 0 } charset)
        {
            try
            {
                encoding = Encoding.GetEncoding(charset.Trim('"'));
            }
            catch (ArgumentException)
            {
                // An unknown charset is read as UTF-8, as ReadAsStringAsync would.
            }
        }

        await using var stream = await content.ReadAsStreamAsync(ct);
        using var reader = new StreamReader(stream, encoding, detectEncodingFromByteOrderMarks: true, bufferSize: 16 * 1024);
        var buffer = new char[maxChars + 1];
        var read = 0;
        while (read < buffer.Length)
        {
            var n = await reader.ReadAsync(buffer.AsMemory(read), ct);
            if (n == 0)
            {
                break;
            }

            read += n;
        }

        return read > maxChars ? (new string(buffer, 0, maxChars), true) : (new string(buffer, 0, read), false);
    }

    private static JsonObject SelectedHeaders(JsonElement config, HttpResponseMessage response, List<string> usedSecrets)
    {
        var selected = new JsonObject();
        var names = config.TryGetProperty("recordHeaders", out var r) ? r.EnumerateArray().Select(n => n.GetString()!).ToList() : ["Content-Type", "Location"];
        foreach (var name in names)
        {
            if (response.Headers.TryGetValues(name, out var values) || response.Content.Headers.TryGetValues(name, out values))
            {
                selected[name] = SecretMask.Redact(string.Join(", ", values), usedSecrets);
            }
        }

        return selected;
    }
}
