using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Actions;

/// <summary>
/// call_api against what a hostile or broken peer does: redirects inward, endless bodies, hanging. Only 127.0.0.1 is
/// allowlisted; the circuit breaker is set to open after three failures so a test can see it.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class CallApiOutboundTests : ServerWithPeerFixture
{
    protected override string DatabaseName => "outbound";

    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Orchestrator__Outbound__CircuitBreaker__MinimumThroughput"] = "3",
        ["Orchestrator__Outbound__CircuitBreaker__FailureRatio"] = "0.5",
        ["Orchestrator__Outbound__CircuitBreaker__SamplingDuration"] = "00:01:00",
        ["Orchestrator__Outbound__CircuitBreaker__BreakDuration"] = "00:01:00",
    };

    private async Task<JsonElement> RunOnceAsync(string name, object config)
    {
        await Admin.CreateScheduleAsync(new { name, action = new { type = "call_api", config }, trigger = new { at = InOneSecond() } });
        var runs = await Poll.UntilAsync(() => Admin.RunsAsync("default." + name), r => r.Count == 1 && r[0].Status() is "failed" or "succeeded",
            TimeSpan.FromSeconds(20), "the run of " + name);
        return runs[0];
    }

    [Test]
    public async Task A_redirect_to_a_name_resolving_to_loopback_is_refused_at_connect_time()
    {
        // The literal 127.0.0.1 is allowed; the name 'localhost' is not, although it resolves to the same address.
        var target = Peer.BaseUrl.Replace("127.0.0.1", "localhost", StringComparison.Ordinal) + "/landed";
        Peer.Configure("/to-localhost", new RecordingHttpServer.Behaviour(TimeSpan.Zero, Status: 302, Location: target));

        var run = await RunOnceAsync("to-localhost", new { url = Peer.BaseUrl + "/to-localhost" });

        Assert.That(run.Status(), Is.EqualTo("failed"), run.ToString());
        Assert.That(run.GetProperty("error").GetString(), Does.Contain("'localhost' resolves to").And.Contain("loopback"), run.ToString());
        Assert.That(Peer.RequestsTo("/to-localhost"), Has.Count.EqualTo(1));
        Assert.That(Peer.RequestsTo("/landed"), Is.Empty, "the refused connection was never made");
    }

    [Test]
    public async Task A_redirect_to_cloud_metadata_is_refused_before_connecting()
    {
        // The policy refuses 169.254.169.254 in the connect callback, before a socket exists: nothing is sent there.
        Peer.Configure("/to-metadata", new RecordingHttpServer.Behaviour(TimeSpan.Zero, Status: 302, Location: "http://169.254.169.254/latest/meta-data/"));

        var run = await RunOnceAsync("to-metadata", new { url = Peer.BaseUrl + "/to-metadata" });

        Assert.That(run.Status(), Is.EqualTo("failed"), run.ToString());
        Assert.That(run.GetProperty("error").GetString(), Does.Contain("169.254.169.254, a link-local address"), run.ToString());
    }

    [Test]
    public async Task A_multi_megabyte_endless_feeling_body_is_read_only_up_to_the_cap()
    {
        // 16 MiB trickled out over about 13 s: reading it all would outlast the 5 s timeout; the cap needs the first chunk only.
        Peer.Configure("/huge", new RecordingHttpServer.Behaviour(TimeSpan.Zero, StreamBytes: 16L * 1024 * 1024, ChunkDelay: TimeSpan.FromMilliseconds(200)));

        var run = await RunOnceAsync("huge-body", new { url = Peer.BaseUrl + "/huge", timeoutSeconds = 5, maxResponseChars = 2000 });

        Assert.That(run.Status(), Is.EqualTo("succeeded"), run.ToString()[..Math.Min(2000, run.ToString().Length)]);
        var result = run.GetProperty("result");
        Assert.That(result.GetProperty("bodyTruncated").GetBoolean(), Is.True);
        Assert.That(result.GetProperty("body").GetString(), Has.Length.EqualTo(2000));
        Assert.That(run.GetRawText().Length, Is.LessThan(16 * 1024), "the recorded run stays small");
        Assert.That(result.GetProperty("durationMs").GetInt64(), Is.LessThan(4000));
    }

    [Test]
    public async Task Timeouts_of_a_hanging_host_open_its_circuit_breaker()
    {
        // A server of its own: the breaker is per host and port, and opening it must not touch the other tests' peer.
        await using var hanging = await RecordingHttpServer.StartAsync();
        hanging.Configure("/hang", new RecordingHttpServer.Behaviour(TimeSpan.FromSeconds(30)));
        await Admin.CreateScheduleAsync(new
        {
            name = "hanging",
            action = new { type = "call_api", config = new { url = hanging.BaseUrl + "/hang", timeoutSeconds = 1 } },
            trigger = new { intervalSeconds = 1 },
        });

        var runs = await Poll.UntilAsync(() => Admin.RunsAsync("default.hanging"),
            r => r.Any(x => x.TryGetProperty("error", out var e) && e.GetString()?.Contains("not sent", StringComparison.Ordinal) == true),
            TimeSpan.FromSeconds(30), "a call the open breaker did not send");
        await Admin.PostAsync("/api/schedules/default.hanging/pause", null);

        var errors = runs.Select(r => r.TryGetProperty("error", out var e) ? e.GetString() : null).ToList();
        Assert.That(errors.Count(e => e?.Contains("timed out after 1 s", StringComparison.Ordinal) == true), Is.GreaterThanOrEqualTo(3),
            "the breaker opened on timeouts: " + string.Join(" | ", errors));
    }
}
