using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Cluster;

/// <summary>
/// A dead node's in-flight firing used to be recovered only after the cluster's whole catch-up backlog: Quartz's
/// recovery trigger carries the dead firing's fire time, and acquisition ordered by fire time first.
/// </summary>
[TestFixture]
[Category("Cluster")]
[NonParallelizable]
public sealed class RecoveryOrderTests
{
    private const int BacklogSize = 16;

    [Test]
    public async Task A_recovered_firing_runs_before_the_backlog_that_was_due_before_it()
    {
        await using var peer = await RecordingHttpServer.StartAsync();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        peer.Configure("/held", new RecordingHttpServer.Behaviour(TimeSpan.Zero, Hold: release.Task));
        peer.Configure("/backlog", new RecordingHttpServer.Behaviour(TimeSpan.FromSeconds(1.5)));

        // One worker thread per node: the node inside the held call takes nothing else, the other drains the backlog
        // one firing at a time, and each acquisition picks the next trigger in the store's order.
        var database = await TestPostgres.CreateDatabaseAsync("recoveryorder");
        var environment = PostgresNode.Environment(database, new Dictionary<string, string?>
        {
            ["Orchestrator__Outbound__AllowedHosts__0"] = "127.0.0.1",
            ["Orchestrator__Scheduler__MaxConcurrency"] = "1",
        });
        await using var first = ServerProcess.Start(environment);
        await first.WaitUntilReadyAsync();
        var key = first.PrintedAdminKey!;
        await using var second = ServerProcess.Start(environment);
        await second.WaitUntilReadyAsync();
        var nodes = new Dictionary<string, ServerProcess>
        {
            [await InstanceIdAsync(first, key)] = first,
            [await InstanceIdAsync(second, key)] = second,
        };

        using var api = first.CreateClient(key);
        var now = TimeProvider.System.GetUtcNow();
        await api.CreateScheduleAsync(new
        {
            name = "held",
            action = new { type = "call_api", config = new { method = "POST", url = peer.BaseUrl + "/held", timeoutSeconds = 120 } },
            trigger = new { at = now.AddSeconds(2).ToString("O", CultureInfo.InvariantCulture) },
        });
        var running = await Poll.UntilAsync(() => api.RunsAsync("default.held"), r => r.Count == 1 && r[0].Status() == "running" && peer.InFlightTo("/held") == 1,
            TimeSpan.FromSeconds(30), "the held call to be in flight");
        var victimId = running[0].GetProperty("node").GetString()!;
        var victim = nodes[victimId];
        var survivor = nodes.Single(n => n.Key != victimId).Value;

        // The backlog: one-shot schedules due before the held firing started (catch_up keeps their past fire times),
        // so by fire time alone every one of them comes before the recovered firing.
        using var survivorApi = survivor.CreateClient(key);
        for (var i = 0; i < BacklogSize; i++)
        {
            await survivorApi.CreateScheduleAsync(new
            {
                name = $"backlog-{i:00}",
                action = new { type = "call_api", config = new { method = "POST", url = peer.BaseUrl + "/backlog" } },
                trigger = new { at = now.AddSeconds(-30).ToString("O", CultureInfo.InvariantCulture) },
                misfire = new { policy = "catch_up" },
            });
        }

        await Poll.UntilAsync(() => Task.FromResult(peer.RequestsTo("/backlog").Count + peer.InFlightTo("/backlog")), n => n >= 2, TimeSpan.FromSeconds(30), "the backlog to start draining");
        victim.Kill();
        release.SetResult();

        var dump = "";
        try
        {
            await Poll.UntilAsync(() => survivorApi.RunsAsync("default.held"), r => r.Count == 1 && r[0].Status() == "succeeded",
                TimeSpan.FromSeconds(120), "the survivor to finish the recovered run");
            await Poll.UntilAsync(() => Task.FromResult(peer.RequestsTo("/backlog").Count), n => n >= BacklogSize,
                TimeSpan.FromSeconds(120), "the backlog to drain");
        }
        finally
        {
            dump = await DatabaseDump.QuartzAndLedgerAsync(database) + Timeline(peer);
        }

        var held = (await survivorApi.RunsAsync("default.held")).Single();
        Assert.That(held.GetProperty("attempt").GetInt32(), Is.EqualTo(2), dump);
        Assert.That(held.GetProperty("triggeredBy").GetString(), Is.EqualTo("recovery"), dump);
        var calls = peer.RequestsTo("/held").OrderBy(r => r.Started).ToList();
        Assert.That(calls, Has.Count.EqualTo(2), "the killed attempt and the recovered one\n" + dump);
        var backlog = peer.RequestsTo("/backlog");
        Assert.That(backlog, Has.Count.EqualTo(BacklogSize), "each backlog firing ran once\n" + dump);

        // Before the fix all of them started before the recovered call. Recovery takes a few check-ins (about 2.5–4 s
        // with the tests' 1 s / 2 s), while the backlog needs 1.5 s a firing for at least 20 s: a recovered firing that
        // goes first leaves several of the backlog's firings to start after it.
        var recoveredStart = calls[1].Started;
        var startedAfter = backlog.Count(b => b.Started > recoveredStart);
        Assert.That(startedAfter, Is.GreaterThanOrEqualTo(3),
            $"the recovered firing should run before the backlog's later firings; only {startedAfter} of {BacklogSize} started after it\n" + dump);
    }

    [Test]
    public async Task A_node_killed_under_the_default_check_in_settings_is_recovered_well_before_the_old_15_seconds()
    {
        var (recoveredAfter, dump) = await KillMidCallAsync("recoverydefaults", TimeSpan.Zero);

        // 1 s / 5 s recovers a concurrency-forbid firing within 3 × 1 + 5 = 8 s of the victim's last check-in (7.5 s
        // measured); the old 5 s / 10 s never took less than 15 s (16.8 s measured). The bound leaves room for a loaded
        // machine and still fails the old defaults.
        Assert.That(recoveredAfter, Is.LessThan(TimeSpan.FromSeconds(14)), dump);
    }

    [Test]
    public async Task A_call_killed_after_more_than_the_misfire_threshold_is_recovered_without_waiting_for_the_misfire_scan()
    {
        // The recovery trigger's fire time is when the dead firing started, 70 s ago: past Quartz's 60 s misfire
        // threshold, so acquisition used to skip it until the misfire handler's next scan (once a minute) re-timed it.
        // Measured before the fix: 47.3 s after the kill; after: 7.3 s. (The scan's phase is random, so the old code
        // could pass by luck about one run in eight.)
        var (recoveredAfter, dump) = await KillMidCallAsync("recoverylong", TimeSpan.FromSeconds(70));
        Assert.That(recoveredAfter, Is.LessThan(TimeSpan.FromSeconds(14)), dump);
    }

    /// <summary>
    /// Two nodes with the shipped check-in settings; one is killed <paramref name="runFor"/> into a call, which the
    /// other then runs again. Returns the time from the kill (the killed call's connection dropping) to the recovered
    /// call arriving, and the dump to print on failure.
    /// </summary>
    private static async Task<(TimeSpan RecoveredAfter, string Dump)> KillMidCallAsync(string databaseName, TimeSpan runFor)
    {
        await using var peer = await RecordingHttpServer.StartAsync();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        peer.Configure("/held", new RecordingHttpServer.Behaviour(TimeSpan.Zero, Hold: release.Task));

        var database = await TestPostgres.CreateDatabaseAsync(databaseName);
        var environment = PostgresNode.Environment(database, new Dictionary<string, string?>
        {
            ["Orchestrator__Outbound__AllowedHosts__0"] = "127.0.0.1",
            ["Orchestrator__Cluster__CheckinInterval"] = null,
            ["Orchestrator__Cluster__CheckinMisfireThreshold"] = null,
        });
        await using var first = ServerProcess.Start(environment);
        await first.WaitUntilReadyAsync();
        var key = first.PrintedAdminKey!;
        await using var second = ServerProcess.Start(environment);
        await second.WaitUntilReadyAsync();
        var nodes = new Dictionary<string, ServerProcess>
        {
            [await InstanceIdAsync(first, key)] = first,
            [await InstanceIdAsync(second, key)] = second,
        };

        using var api = first.CreateClient(key);
        await api.CreateScheduleAsync(new
        {
            name = "held",
            action = new { type = "call_api", config = new { method = "POST", url = peer.BaseUrl + "/held", timeoutSeconds = 120 } },
            trigger = new { at = TimeProvider.System.GetUtcNow().AddSeconds(2).ToString("O", CultureInfo.InvariantCulture) },
        });
        var running = await Poll.UntilAsync(() => api.RunsAsync("default.held"), r => r.Count == 1 && r[0].Status() == "running" && peer.InFlightTo("/held") == 1,
            TimeSpan.FromSeconds(30), "the held call to be in flight");
        await Task.Delay(runFor);
        nodes[running[0].GetProperty("node").GetString()!].Kill();
        release.SetResult();

        string dump;
        try
        {
            await Poll.UntilAsync(() => Task.FromResult(peer.RequestsTo("/held").Count), n => n >= 2, TimeSpan.FromSeconds(120), "the recovered call");
        }
        finally
        {
            dump = await DatabaseDump.QuartzAndLedgerAsync(database) + Timeline(peer);
        }

        var calls = peer.RequestsTo("/held").OrderBy(r => r.Started).ToList();
        var recoveredAfter = calls[1].Started - calls[0].Finished;
        await TestContext.Out.WriteLineAsync($"recovered {recoveredAfter.TotalSeconds:0.0} s after the kill");
        return (recoveredAfter, dump);
    }

    private static async Task<string> InstanceIdAsync(ServerProcess server, string key)
    {
        using var http = server.CreateClient(key);
        var nodes = await http.GetFromJsonAsync<JsonElement>("/api/cluster/nodes");
        return nodes.EnumerateArray().Single(n => n.GetProperty("isThisNode").GetBoolean()).GetProperty("instanceId").GetString()!;
    }

    private static string Timeline(RecordingHttpServer peer) =>
        "\n-- peer requests (started, finished, path)\n" + string.Join("\n", peer.Requests.OrderBy(r => r.Started)
            .Select(r => $"{r.Started.TotalSeconds:0.000} {r.Finished.TotalSeconds:0.000} {r.Path}{(r.Aborted ? " aborted" : "")}"));
}
