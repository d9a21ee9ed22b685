using System.Net;
using Orchestrator.Actions.CallApi;
using Polly.CircuitBreaker;
using Polly.Timeout;

namespace Orchestrator.Agents;

/// <summary>
/// Retries a model call the endpoint answered with 429 or a 5xx, or that failed to connect, with exponential backoff
/// or the endpoint's <c>Retry-After</c>, and never past the caller's deadline: a wait that would end after it is not
/// begun, and the endpoint's last answer is returned instead. Written here rather than as a Polly retry strategy
/// because the decision needs the next delay before waiting it, which Polly's predicate does not see.
/// </summary>
public sealed partial class ModelRetryHandler(TimeProvider time, DateTimeOffset deadline, ILogger<ModelRetryHandler> logger) : DelegatingHandler
{
    /// <summary>Attempts of one call at most, the first included.</summary>
    public const int MaxAttempts = 6;

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        // Every attempt sends the same bytes.
        if (request.Content is not null)
        {
            await request.Content.LoadIntoBufferAsync(cancellationToken);
        }

        var host = request.RequestUri?.Authority ?? "";
        for (var attempt = 1; ; attempt++)
        {
            var remaining = deadline - time.GetUtcNow();
            if (remaining <= TimeSpan.Zero)
            {
                throw DeadlineExceeded(host, attempt - 1);
            }

            // The call_api pipeline's timeout strategy bounds the wait for the response headers (and counts a timeout
            // against the host's breaker); this source ends the attempt at the deadline whatever is under way.
            request.Options.Set(HttpActionExecutor.TimeoutOption, remaining);
            using var untilDeadline = new CancellationTokenSource(remaining, time);
            using var attemptToken = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, untilDeadline.Token);
            HttpResponseMessage response;
            try
            {
                response = await base.SendAsync(request, attemptToken.Token);
            }
            catch (Exception ex) when (ex is TimeoutRejectedException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
            {
                throw DeadlineExceeded(host, attempt);
            }
            catch (HttpRequestException ex) when (ex.InnerException is not OutboundRefusedException && attempt < MaxAttempts)
            {
                // A connection that failed (refused, reset) may work next time; one the outbound policy refused never will.
                var backoff = ModelRetryPolicy.Backoff(attempt, Random.Shared.NextDouble());
                if (time.GetUtcNow() + backoff >= deadline)
                {
                    throw;
                }

                RetryingAfterError(logger, host, attempt, (long)backoff.TotalMilliseconds, ex.Message);
                await Task.Delay(backoff, time, cancellationToken);
                continue;
            }
            catch (BrokenCircuitException ex)
            {
                throw new HttpRequestException($"Model endpoint {host} not called: {ex.Message}", ex);
            }

            if (!ModelRetryPolicy.IsRetryable(response.StatusCode) || attempt >= MaxAttempts)
            {
                return response;
            }

            var delay = ModelRetryPolicy.DelayBefore(attempt, response, time.GetUtcNow(), Random.Shared.NextDouble());
            if (time.GetUtcNow() + delay >= deadline)
            {
                // Waiting would outlast the caller: its answer now (the SDK turns it into an error naming the status).
                return response;
            }

            RetryingAfterStatus(logger, host, (int)response.StatusCode, attempt, (long)delay.TotalMilliseconds);
            response.Dispose();
            await Task.Delay(delay, time, cancellationToken);
        }
    }

    private ModelDeadlineExceededException DeadlineExceeded(string host, int attempts) =>
        new($"The model endpoint {host} did not answer before the deadline ({deadline:O}) after {attempts} attempt(s).");

    // Host only: an endpoint's path or query may carry a deployment name or token, and the key is never at hand here.
    [LoggerMessage(Level = LogLevel.Warning, Message = "Model endpoint {Host} answered {Status} on attempt {Attempt}; retrying in {DelayMs} ms")]
    private static partial void RetryingAfterStatus(ILogger logger, string host, int status, int attempt, long delayMs);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Model endpoint {Host} could not be reached on attempt {Attempt}; retrying in {DelayMs} ms: {Reason}")]
    private static partial void RetryingAfterError(ILogger logger, string host, int attempt, long delayMs, string reason);
}

/// <summary>When a model call is tried again and how long after: pure, so the rules are tested without a server.</summary>
public static class ModelRetryPolicy
{
    public static readonly TimeSpan FirstBackoff = TimeSpan.FromSeconds(1);
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);

    /// <summary>Rate limited (429), timed out at a proxy (408), or a server error: the same request may succeed later.</summary>
    public static bool IsRetryable(HttpStatusCode status) => status is HttpStatusCode.TooManyRequests or HttpStatusCode.RequestTimeout || (int)status >= 500;

    /// <summary>
    /// The wait before attempt <paramref name="attempt"/> + 1: what the endpoint asked for (<c>retry-after-ms</c>, which
    /// OpenAI sends, then <c>Retry-After</c> in seconds or as a date), otherwise <see cref="Backoff"/>.
    /// </summary>
    public static TimeSpan DelayBefore(int attempt, HttpResponseMessage response, DateTimeOffset now, double jitter)
    {
        if (response.Headers.TryGetValues("retry-after-ms", out var values)
            && double.TryParse(values.FirstOrDefault(), System.Globalization.NumberStyles.Float, System.Globalization.CultureInfo.InvariantCulture, out var ms)
            && ms >= 0)
        {
            return TimeSpan.FromMilliseconds(ms);
        }

        return response.Headers.RetryAfter switch
        {
            { Delta: { } delta } => delta < TimeSpan.Zero ? TimeSpan.Zero : delta,
            { Date: { } date } => date > now ? date - now : TimeSpan.Zero,
            _ => Backoff(attempt, jitter),
        };
    }

    /// <summary>1 s, 2 s, 4 s … up to 30 s after attempt 1, 2, 3 …, each within ±20 % (<paramref name="jitter"/> in [0, 1)) so callers that failed together do not come back together.</summary>
    public static TimeSpan Backoff(int attempt, double jitter)
    {
        var exponential = FirstBackoff.TotalMilliseconds * Math.Pow(2, Math.Min(attempt - 1, 16));
        var capped = Math.Min(exponential, MaxBackoff.TotalMilliseconds);
        return TimeSpan.FromMilliseconds(capped * (0.8 + (0.4 * jitter)));
    }
}
