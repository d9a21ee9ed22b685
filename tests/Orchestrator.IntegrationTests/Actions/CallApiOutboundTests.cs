using System.Net;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Actions;

/// <summary>
/// call_api against what a hostile or broken peer does: redirects inward, endless bodies, hanging. Only 127.0.0.1 is
/// allowlisted; the circuit breaker is set to open after three failures so a test can see it.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class CallApiOutboundTests
{
    private ServerProcess server = null!;
    private RecordingHttpServer peer = null!;
    private HttpClient admin = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        peer = await RecordingHttpServer.StartAsync();
        var database = await TestPostgres.CreateDatabaseAsync("outbound");
        server = ServerProcess.Start(PostgresNode.Environment(database, new Dictionary<string, string?>
        {
            ["Orchestrator__Outbound__AllowedHosts__0"] = "127.0.0.1",
            ["Orchestrator__Outbound__CircuitBreaker__MinimumThroughput"] = "3",
            ["Orchestrator__Outbound__CircuitBreaker__FailureRatio"] = "0.5",
            ["Orchestrator__Outbound__CircuitBreaker__SamplingDuration"] = "00:01:00",
            ["Orchestrator__Outbound__CircuitBreaker__BreakDuration"] = "00:01:00",
        }));
        await server.WaitUntilReadyAsync();
        admin = server.CreateClient(server.PrintedAdminKey);
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        admin?.Dispose();
        if (server is not null)
        {
            await server.DisposeAsync();
        }

        if (peer is not null)
        {
            await peer.DisposeAsync();
        }
    }

    private static string InOneSecond() => TimeProvider.System.GetUtcNow().AddSeconds(1).ToString("O", System.Globalization.CultureInfo.InvariantCulture);

    private async Task<JsonElement> RunOnceAsync(string name, object config)
    {
        await admin.CreateScheduleAsync(new { name, action = new { type = "call_api", config }, trigger = new { at = InOneSecond() } });
        var runs = await Poll.UntilAsync(() => admin.RunsAsync("default." + name), r => r.Count == 1 && r[0].Status() is "failed" or "succeeded",
            TimeSpan.FromSeconds(20), "the run of " + name);
        return runs[0];
    }

    [Test]
    public async Task A_redirect_to_a_name_resolving_to_loopback_is_refused_at_connect_time()
    {
        // The literal 127.0.0.1 is allowed; the name 'localhost' is not, although it resolves to the same address.
        var target = peer.BaseUrl.Replace("127.0.0.1", "localhost", StringComparison.Ordinal) + "/landed";
        peer.Configure("/to-localhost", new RecordingHttpServer.Behaviour(TimeSpan.Zero, Status: 302, Location: target));

        var run = await RunOnceAsync("to-localhost", new { url = peer.BaseUrl + "/to-localhost" });

        Assert.That(run.Status(), Is.EqualTo("failed"), run.ToString());
        Assert.That(run.GetProperty("error").GetString(), Does.Contain("'localhost' resolves to").And.Contain("loopback"), run.ToString());
        Assert.That(peer.RequestsTo("/to-localhost"), Has.Count.EqualTo(1));
        Assert.That(peer.RequestsTo("/landed"), Is.Empty, "the refused connection was never made");
    }

    [Test]
    public async Task A_redirect_to_cloud_metadata_is_refused_before_connecting()
    {
        // The policy refuses 169.254.169.254 in the connect callback, before a socket exists: nothing is sent there.
        peer.Configure("/to-metadata", new RecordingHttpServer.Behaviour(TimeSpan.Zero, Status: 302, Location: "http://169.254.169.254/latest/meta-data/"));

        var run = await RunOnceAsync("to-metadata", new { url = peer.BaseUrl + "/to-metadata" });

        Assert.That(run.Status(), Is.EqualTo("failed"), run.ToString());
        Assert.That(run.GetProperty("error").GetString(), Does.Contain("169.254.169.254, a link-local address"), run.ToString());
    }

    [Test]
    public async Task A_multi_megabyte_endless_feeling_body_is_read_only_up_to_the_cap()
    {
        // 16 MiB trickled out over about 13 s: reading it all would outlast the 5 s timeout; the cap needs the first chunk only.
        peer.Configure("/huge", new RecordingHttpServer.Behaviour(TimeSpan.Zero, StreamBytes: 16L * 1024 * 1024, ChunkDelay: TimeSpan.FromMilliseconds(200)));

        var run = await RunOnceAsync("huge-body", new { url = peer.BaseUrl + "/huge", timeoutSeconds = 5, maxResponseChars = 2000 });

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
        await admin.CreateScheduleAsync(new
        {
            name = "hanging",
            action = new { type = "call_api", config = new { url = hanging.BaseUrl + "/hang", timeoutSeconds = 1 } },
            trigger = new { intervalSeconds = 1 },
        });

        var runs = await Poll.UntilAsync(() => admin.RunsAsync("default.hanging"),
            r => r.Any(x => x.TryGetProperty("error", out var e) && e.GetString()?.Contains("not sent", StringComparison.Ordinal) == true),
            TimeSpan.FromSeconds(30), "a call the open breaker did not send");
        await admin.PostAsync("/api/schedules/default.hanging/pause", null);

        var errors = runs.Select(r => r.TryGetProperty("error", out var e) ? e.GetString() : null).ToList();
        Assert.That(errors.Count(e => e?.Contains("timed out after 1 s", StringComparison.Ordinal) == true), Is.GreaterThanOrEqualTo(3),
            "the breaker opened on timeouts: " + string.Join(" | ", errors));
    }
}
