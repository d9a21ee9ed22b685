using System.Net.Http.Json;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Cluster;

/// <summary>Nodes are separate processes on one PostgreSQL; "crash" is SIGKILL. The run ledger must prevent lost and doubled effects.</summary>
[TestFixture]
[Category("Cluster")]
[NonParallelizable]
public sealed class CrashRecoveryTests
{
    private RecordingHttpServer peer = null!;

    [OneTimeSetUp]
    public async Task StartPeer() => peer = await RecordingHttpServer.StartAsync();

    [OneTimeTearDown]
    public async Task StopPeer()
    {
        if (peer is not null)
        {
            await peer.DisposeAsync();
        }
    }

    private static Dictionary<string, string?> Node(string database, Dictionary<string, string?>? extra = null)
    {
        var environment = PostgresNode.Environment(database, new Dictionary<string, string?> { ["Orchestrator__Outbound__AllowedHosts__0"] = "127.0.0.1" });
        foreach (var (key, value) in extra ?? [])
        {
            environment[key] = value;
        }

        return environment;
    }

    private object OneShot(string name, string path) => new
    {
        name,
        action = new { type = "call_api", config = new { method = "POST", url = peer.BaseUrl + path, timeoutSeconds = 60 } },
        trigger = new { at = TimeProvider.System.GetUtcNow().AddSeconds(2).ToString("O", System.Globalization.CultureInfo.InvariantCulture) },
    };

    private static async Task<string> InstanceIdAsync(HttpClient http)
    {
        var nodes = await http.GetFromJsonAsync<JsonElement>("/api/cluster/nodes");
        return nodes.EnumerateArray().Single(n => n.GetProperty("isThisNode").GetBoolean()).GetProperty("instanceId").GetString()!;
    }

    [Test]
    public async Task A_node_killed_mid_call_is_recovered_by_the_survivor_as_attempt_2_with_the_same_idempotency_key()
    {
        var database = await TestPostgres.CreateDatabaseAsync("crashmid");
        peer.Configure("/held", new RecordingHttpServer.Behaviour(TimeSpan.FromSeconds(10)));
        await using var first = ServerProcess.Start(Node(database));
        await first.WaitUntilReadyAsync();
        var key = first.PrintedAdminKey!;
        await using var second = ServerProcess.Start(Node(database));
        await second.WaitUntilReadyAsync();
        var nodes = new Dictionary<string, ServerProcess>
        {
            [await InstanceIdAsync(first.CreateClient(key))] = first,
            [await InstanceIdAsync(second.CreateClient(key))] = second,
        };

        using var api = first.CreateClient(key);
        await api.CreateScheduleAsync(OneShot("held", "/held"));

        // Wait until some node is inside the call, then kill exactly that node.
        using var observer = second.CreateClient(key);
        var running = await Poll.UntilAsync(() => observer.RunsAsync("default.held"), r => r.Count == 1 && r[0].Status() == "running" && peer.InFlight == 1,
            TimeSpan.FromSeconds(20), "the call to be in flight");
        var victimId = running[0].GetProperty("node").GetString()!;
        var firstKey = running[0].GetProperty("idempotencyKey").GetString();
        var victim = nodes[victimId];
        var survivor = nodes.Single(n => n.Key != victimId);
        victim.Kill();

        using var survivorApi = survivor.Value.CreateClient(key);
        var finished = await Poll.UntilAsync(() => survivorApi.RunsAsync("default.held"), r => r.Count >= 1 && r.All(x => x.Status() == "succeeded"),
            TimeSpan.FromSeconds(45), "the survivor to finish the recovered run");
        var dump = await DatabaseDump.QuartzAndLedgerAsync(database);

        Assert.That(finished, Has.Count.EqualTo(1), "exactly one ledger row for the fire time\n" + dump);
        var run = finished[0];
        Assert.That(run.GetProperty("attempt").GetInt32(), Is.EqualTo(2), dump);
        Assert.That(run.GetProperty("triggeredBy").GetString(), Is.EqualTo("recovery"), dump);
        Assert.That(run.GetProperty("node").GetString(), Is.EqualTo(survivor.Key), dump);
        Assert.That(run.GetProperty("idempotencyKey").GetString(), Is.EqualTo(firstKey), dump);

        var calls = peer.RequestsTo("/held");
        Assert.That(calls, Has.Count.EqualTo(2), "the killed attempt and the recovered one\n" + dump);
        Assert.That(calls.Select(c => c.IdempotencyKey).Distinct(), Is.EqualTo(new[] { firstKey }), "both attempts carried the same key");
    }

    [Test]
    public async Task A_recovery_firing_does_not_repeat_an_action_that_already_succeeded()
    {
        var database = await TestPostgres.CreateDatabaseAsync("crashafter");
        peer.Configure("/once", new RecordingHttpServer.Behaviour(TimeSpan.Zero));

        // This node dies right after the ledger records success, before Quartz records the firing complete.
        await using var doomed = ServerProcess.Start(Node(database, new()
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Testing",
            ["Orchestrator__FaultPoints__Crash"] = "after-success",
        }));
        await doomed.WaitUntilReadyAsync();
        var key = doomed.PrintedAdminKey!;
        using (var api = doomed.CreateClient(key))
        {
            await api.CreateScheduleAsync(OneShot("once", "/once"));
        }

        var exitCode = await doomed.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Assert.That(doomed.Output, Does.Contain("Fault point 'after-success' reached"), $"exit {exitCode}");
        Assert.That(peer.RequestsTo("/once"), Has.Count.EqualTo(1));

        // The survivor finds the dead node's in-flight firing and recovers it; the ledger says it already succeeded.
        await using var survivor = ServerProcess.Start(Node(database));
        await survivor.WaitUntilReadyAsync();
        await Poll.UntilAsync(() => Task.FromResult(survivor.Output), o => o.Contains("does not run the action again", StringComparison.Ordinal),
            TimeSpan.FromSeconds(30), "the recovery firing to consult the ledger");
        await Poll.NothingHappensFor(TimeSpan.FromSeconds(1), () => Task.FromResult(peer.RequestsTo("/once").Count != 1), "a second call to the endpoint");

        var dump = await DatabaseDump.QuartzAndLedgerAsync(database);
        Assert.That(peer.RequestsTo("/once"), Has.Count.EqualTo(1), "the endpoint is called exactly once\n" + dump);
        using var survivorApi = survivor.CreateClient(key);
        var runs = await survivorApi.RunsAsync("default.once");
        Assert.That(runs, Has.Count.EqualTo(1), dump);
        Assert.That(runs[0].Status(), Is.EqualTo("succeeded"));
        Assert.That(runs[0].GetProperty("attempt").GetInt32(), Is.EqualTo(1));

        // Finding the fire time's row is the ledger doing its job, not a database error (it used to log EF Core's
        // duplicate-key failure with a stack trace).
        ServerLog.AssertNoFailureOrTrace(survivor.Output, "the survivor recovering a firing that already succeeded");
    }

    [Test]
    public async Task Cancelling_through_one_node_interrupts_a_run_executing_on_another()
    {
        var database = await TestPostgres.CreateDatabaseAsync("crosscancel");
        peer.Configure("/long", new RecordingHttpServer.Behaviour(TimeSpan.FromSeconds(60)));
        await using var first = ServerProcess.Start(Node(database));
        await first.WaitUntilReadyAsync();
        var key = first.PrintedAdminKey!;
        await using var second = ServerProcess.Start(Node(database));
        await second.WaitUntilReadyAsync();
        var clients = new Dictionary<string, HttpClient>
        {
            [await InstanceIdAsync(first.CreateClient(key))] = first.CreateClient(key),
            [await InstanceIdAsync(second.CreateClient(key))] = second.CreateClient(key),
        };

        await clients.Values.First().CreateScheduleAsync(OneShot("long", "/long"));
        var running = await Poll.UntilAsync(() => clients.Values.First().RunsAsync("default.long"), r => r.Count == 1 && r[0].Status() == "running",
            TimeSpan.FromSeconds(20), "the run to start");
        var runner = running[0].GetProperty("node").GetString()!;
        var other = clients.Single(c => c.Key != runner).Value;
        var runId = running[0].GetProperty("id").GetString();

        await other.PostForJsonAsync($"/api/runs/{runId}/cancel", null, System.Net.HttpStatusCode.Accepted);
        var done = await Poll.UntilAsync(() => other.GetFromJsonAsync<JsonElement>($"/api/runs/{runId}"), r => r.Status() != "running",
            TimeSpan.FromSeconds(20), "the run on the other node to be interrupted");
        Assert.That(done.Status(), Is.EqualTo("cancelled"), await DatabaseDump.QuartzAndLedgerAsync(database));
        Assert.That(done.GetProperty("node").GetString(), Is.EqualTo(runner));
        foreach (var client in clients.Values)
        {
            client.Dispose();
        }
    }
}
