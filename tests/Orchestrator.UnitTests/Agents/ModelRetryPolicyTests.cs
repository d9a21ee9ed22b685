using System.Net;
using System.Net.Http.Headers;
using Orchestrator.Agents;

namespace Orchestrator.UnitTests.Agents;

public sealed class ModelRetryPolicyTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);

    [TestCase(HttpStatusCode.TooManyRequests, true)]
    [TestCase(HttpStatusCode.RequestTimeout, true)]
    [TestCase(HttpStatusCode.InternalServerError, true)]
    [TestCase(HttpStatusCode.ServiceUnavailable, true)]
    [TestCase(HttpStatusCode.BadRequest, false)]
    [TestCase(HttpStatusCode.Unauthorized, false)]
    [TestCase(HttpStatusCode.NotFound, false)]
    public void Only_rate_limits_timeouts_and_server_errors_are_retried(HttpStatusCode status, bool retried) =>
        Assert.That(ModelRetryPolicy.IsRetryable(status), Is.EqualTo(retried));

    [Test]
    public void Retry_after_in_seconds_is_the_wait()
    {
        using var response = new HttpResponseMessage(HttpStatusCode.TooManyRequests);
        response.Headers.RetryAfter = new RetryConditionHeaderValue(TimeSpan.FromSeconds(7));
        Assert.That(ModelRetryPolicy.DelayBefore(1, response, Now, 0.5), Is.EqualTo(TimeSpan.FromSeconds(7)));
    }

    [Test]
    public void Retry_after_as_a_date_is_the_time_until_it_and_a_past_date_means_now()
    {
        using var future = new HttpResponseMessage(HttpStatusCode.ServiceUnavailable);
        future.Headers.RetryAfter = new RetryConditionHeaderValue(Now.AddSeconds(12));
        Assert.That(ModelRetryPolicy.DelayBefore(1, future, Now, 0.5), Is.EqualTo(TimeSpan.FromSeconds(12)));

        using var past = new HttpResponseMessage(HttpStatusCode.ServiceUnavailable);
        past.Headers.RetryAfter = new RetryConditionHeaderValue(Now.AddSeconds(-3));
        Assert.That(ModelRetryPolicy.DelayBefore(1, past, Now, 0.5), Is.EqualTo(TimeSpan.Zero));
    }

    [Test]
    public void Retry_after_ms_wins_over_retry_after()
    {
        using var response = new HttpResponseMessage(HttpStatusCode.TooManyRequests);
        response.Headers.RetryAfter = new RetryConditionHeaderValue(TimeSpan.FromSeconds(20));
        response.Headers.TryAddWithoutValidation("retry-after-ms", "1500");
        Assert.That(ModelRetryPolicy.DelayBefore(1, response, Now, 0.5), Is.EqualTo(TimeSpan.FromMilliseconds(1500)));
    }

    [Test]
    public void Without_retry_after_the_backoff_doubles_within_jitter_up_to_the_cap()
    {
        using var response = new HttpResponseMessage(HttpStatusCode.InternalServerError);
        Assert.That(ModelRetryPolicy.DelayBefore(1, response, Now, 0.5), Is.EqualTo(TimeSpan.FromSeconds(1)));
        Assert.That(ModelRetryPolicy.Backoff(3, 0.5), Is.EqualTo(TimeSpan.FromSeconds(4)));
        Assert.That(ModelRetryPolicy.Backoff(2, 0), Is.EqualTo(TimeSpan.FromSeconds(1.6)));
        Assert.That(ModelRetryPolicy.Backoff(2, 0.999), Is.LessThan(TimeSpan.FromSeconds(2.4)));
        Assert.That(ModelRetryPolicy.Backoff(40, 0.5), Is.EqualTo(ModelRetryPolicy.MaxBackoff));
    }
}
