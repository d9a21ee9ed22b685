using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Cluster;

/// <summary>
/// Issue 13 item 5 with the shipped settings: a killed node's in-flight firings are recovered ahead of a catch-up
/// backlog that is due before them and keeps every worker of the surviving node busy (measured before recovery came
/// first: 41 s behind a 40 s backlog).
/// </summary>
[TestFixture]
[Category("Cluster")]
[NonParallelizable]
public sealed class RecoveryUnderBacklogTests
{
    private const int Held = 3;

    private const int Backlog = 150;

    /// <summary>Backlog firings still to start after the last recovered one: with recovery queued behind the backlog by
    /// fire time, none would be (every backlog firing is due before the held ones).</summary>
    private const int StillWaiting = 20;

    [Test]
    public async Task Recovered_firings_start_before_an_earlier_due_backlog_that_fills_the_surviving_node()
    {
        await using var peer = await RecordingHttpServer.StartAsync();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        peer.Configure("/held", new RecordingHttpServer.Behaviour(TimeSpan.Zero, Hold: release.Task));
        // Four seconds a call: the surviving node's ten workers start 2.5 backlog firings a second, so the backlog
        // outlasts the recovery (about 8 s with the shipped check-in settings) by a wide margin.
        peer.Configure("/backlog", new RecordingHttpServer.Behaviour(TimeSpan.FromSeconds(4)));

        // The shipped check-in settings and thread pool (10 per node): only the outbound allow-list is the test's.
        var database = await TestPostgres.CreateDatabaseAsync("recoverybacklog");
        var environment = PostgresNode.Environment(database, new Dictionary<string, string?>
        {
            ["Orchestrator__Outbound__AllowedHosts__0"] = "127.0.0.1",
            ["Orchestrator__Cluster__CheckinInterval"] = null,
            ["Orchestrator__Cluster__CheckinMisfireThreshold"] = null,
        });

        // The victim alone first, so that every held firing is in flight on it.
        await using var victim = ServerProcess.Start(environment);
        await victim.WaitUntilReadyAsync();
        var key = victim.PrintedAdminKey!;
        using var victimApi = victim.CreateClient(key);
        var heldAt = TimeProvider.System.GetUtcNow().AddSeconds(2);
        for (var i = 0; i < Held; i++)
        {
            await victimApi.CreateScheduleAsync(new
            {
                name = $"held-{i}",
                action = new { type = "call_api", config = new { method = "POST", url = peer.BaseUrl + "/held", timeoutSeconds = 300 } },
                trigger = new { at = heldAt.ToString("O", CultureInfo.InvariantCulture) },
            });
        }

        await Poll.UntilAsync(() => Task.FromResult(peer.InFlightTo("/held")), n => n == Held, TimeSpan.FromSeconds(30), "the held calls to be in flight on the first node");

        // The backlog, due before the held firings (catch_up fires every one): by fire time alone all of it precedes
        // their recovery. Created before the survivor starts, so only the victim's seven free workers drain it meanwhile.
        // Each is due 55 s before it is created (a one-time schedule more than 60 s in the past is refused), never after
        // the held firings.
        await Parallel.ForEachAsync(Enumerable.Range(0, Backlog), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, _) =>
        {
            var at = TimeProvider.System.GetUtcNow().AddSeconds(-55);
            await victimApi.CreateScheduleAsync(new
            {
                name = $"backlog-{i:000}",
                action = new { type = "call_api", config = new { method = "POST", url = peer.BaseUrl + "/backlog" } },
                trigger = new { at = (at < heldAt ? at : heldAt.AddSeconds(-1)).ToString("O", CultureInfo.InvariantCulture) },
                misfire = new { policy = "catch_up" },
            });
        });
        await using var survivor = ServerProcess.Start(environment);
        await survivor.WaitUntilReadyAsync();
        using var survivorApi = survivor.CreateClient(key);
        // More backlog calls in flight than the victim has free workers: the survivor's are taken by the backlog too.
        await Poll.UntilAsync(() => Task.FromResult(peer.InFlightTo("/backlog")), n => n >= 10 - Held + 5, TimeSpan.FromSeconds(30), "the survivor to be draining the backlog");

        var survivorId = await InstanceIdAsync(survivorApi);
        victim.Kill();
        // On the peer's clock (the requests' times): the backlog calls in flight may not have finished, so none may be
        // recorded yet to read a time from.
        var killedAt = peer.Elapsed;
        release.SetResult();

        var dump = "";
        try
        {
            await Poll.UntilAsync(() => Task.FromResult(peer.RequestsTo("/held").Count), n => n >= 2 * Held, TimeSpan.FromSeconds(120), "every held firing's recovered call");
            await Poll.UntilAsync(() => Task.FromResult(peer.RequestsTo("/backlog").Select(r => r.IdempotencyKey).Distinct().Count()), n => n >= Backlog,
                TimeSpan.FromSeconds(180), "the backlog to drain");
        }
        finally
        {
            dump = await DatabaseDump.QuartzAndLedgerAsync(database) + Timeline(peer, killedAt);
        }

        var held = peer.RequestsTo("/held").OrderBy(r => r.Started).ToList();
        var recovered = held.Skip(Held).ToList();
        Assert.That(held.Take(Held).All(r => r.Started < killedAt), "the first calls were the victim's\n" + dump);
        Assert.That(recovered.Select(r => r.IdempotencyKey).Distinct().Count(), Is.EqualTo(Held), "each held firing recovered once\n" + dump);
        foreach (var id in Enumerable.Range(0, Held).Select(i => $"default.held-{i}"))
        {
            var run = (await survivorApi.RunsAsync(id)).Single();
            Assert.That((run.GetProperty("triggeredBy").GetString(), run.GetProperty("attempt").GetInt32(), run.GetProperty("node").GetString()),
                Is.EqualTo(("recovery", 2, survivorId)), $"{id} recovered on the survivor\n" + dump);
        }

        // Each backlog firing's first call (the victim's own backlog calls are recovered too, with the same key).
        var backlog = peer.RequestsTo("/backlog").GroupBy(r => r.IdempotencyKey).Select(g => g.Min(r => r.Started)).ToList();
        Assert.That(backlog, Has.Count.EqualTo(Backlog), "every backlog firing ran\n" + dump);
        var lastRecovered = recovered.Max(r => r.Started);
        var waitingAfter = backlog.Count(started => started > lastRecovered);
        Assert.That(waitingAfter, Is.GreaterThanOrEqualTo(StillWaiting),
            $"every recovered firing should start while the earlier-due backlog still waits; only {waitingAfter} of {Backlog} started after the last one\n" + dump);
    }

    private static async Task<string> InstanceIdAsync(HttpClient http)
    {
        var nodes = await http.GetFromJsonAsync<JsonElement>("/api/cluster/nodes");
        return nodes.EnumerateArray().Single(n => n.GetProperty("isThisNode").GetBoolean()).GetProperty("instanceId").GetString()!;
    }

    private static string Timeline(RecordingHttpServer peer, TimeSpan killedAt) =>
        $"\n-- peer requests (started, finished, path); the victim was killed just after {killedAt.TotalSeconds:0.000}\n" +
        string.Join("\n", peer.Requests.OrderBy(r => r.Started).Select(r => $"{r.Started.TotalSeconds:0.000} {r.Finished.TotalSeconds:0.000} {r.Path}{(r.Aborted ? " aborted" : "")}"));
}
