using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Cluster;

/// <summary>A pipeline whose node dies mid-run (SIGKILL) resumes on the survivor without repeating finished steps.</summary>
[TestFixture]
[Category("Cluster")]
[NonParallelizable]
public sealed class PipelineCrashTests
{
    [Test]
    public async Task A_pipeline_killed_mid_node_resumes_on_the_survivor_without_calling_finished_nodes_again()
    {
        await using var peer = await RecordingHttpServer.StartAsync();
        peer.Configure("/crash/b", new RecordingHttpServer.Behaviour(TimeSpan.FromSeconds(8)));
        var database = await TestPostgres.CreateDatabaseAsync("pipecrash");
        await using var cluster = await TwoNodes.StartAsync(database);
        var (nodes, key) = (cluster.Nodes, cluster.Key);
        using var api = cluster.First.CreateClient(key);
        object Call(string id) => new { id, type = "action", action = new { type = "call_api", config = new { method = "POST", url = $"{peer.BaseUrl}/crash/{id}", timeoutSeconds = 60 } } };
        await api.PostForJsonAsync("/api/pipelines", new
        {
            id = "crashy",
            name = "crashy",
            nodes = new[] { Call("a"), Call("b"), Call("c") },
            edges = new[] { new { from = "a", to = "b" }, new { from = "b", to = "c" } },
        }, HttpStatusCode.Created);
        var runId = (await api.PostForJsonAsync("/api/pipelines/crashy/run", new { inputs = new { } }, HttpStatusCode.Accepted)).GetProperty("id").GetString();

        // A has succeeded and B is in flight: kill the node running the pipeline.
        await peer.WaitForRequestsAsync("/crash/b", 1, TimeSpan.FromSeconds(30), includeInFlight: true);
        var running = await api.GetFromJsonAsync<JsonElement>($"/api/pipeline-runs/{runId}");
        var victimId = running.GetProperty("run").GetProperty("node").GetString()!;
        var firstKey = peer.RequestsTo("/crash/a").Single().IdempotencyKey;
        var victim = nodes[victimId];
        var survivor = nodes.Single(n => n.Key != victimId);
        victim.Kill();

        using var survivorApi = survivor.Value.CreateClient(key);
        var finished = await Poll.UntilAsync(() => survivorApi.GetFromJsonAsync<JsonElement>($"/api/pipeline-runs/{runId}"),
            d => d.GetProperty("run").GetProperty("status").GetString() is "succeeded" or "failed" or "cancelled", TimeSpan.FromSeconds(60), "the survivor to finish the run");
        var dump = await DatabaseDump.QuartzAndLedgerAsync(database);
        JsonElement Node(string id) => finished.GetProperty("nodes").EnumerateArray().Single(n => n.GetProperty("nodeId").GetString() == id);

        Assert.That(finished.GetProperty("run").GetProperty("status").GetString(), Is.EqualTo("succeeded"), finished + "\n" + dump);
        Assert.That(finished.GetProperty("run").GetProperty("node").GetString(), Is.EqualTo(survivor.Key));
        Assert.That(finished.GetProperty("run").GetProperty("attempt").GetInt32(), Is.EqualTo(2), "the run was resumed once");
        Assert.That(peer.RequestsTo("/crash/a"), Has.Count.EqualTo(1), "A had succeeded and was not called again");
        Assert.That(Node("a").GetProperty("attempts").GetInt32(), Is.EqualTo(1));
        var b = peer.RequestsTo("/crash/b");
        Assert.That(b, Has.Count.EqualTo(2), "B was cut off and ran again");
        Assert.That(b.Select(r => r.IdempotencyKey).Distinct().Count(), Is.EqualTo(1), "with the same idempotency key");
        Assert.That(Node("b").GetProperty("attempts").GetInt32(), Is.EqualTo(2), "as attempt 2");
        Assert.That(Node("b").GetProperty("status").GetString(), Is.EqualTo("succeeded"));
        Assert.That(peer.RequestsTo("/crash/c"), Has.Count.EqualTo(1));
        Assert.That(firstKey, Is.Not.EqualTo(b[0].IdempotencyKey), "each node has its own key");
    }

    [Test]
    public async Task A_scheduled_pipeline_killed_mid_node_resumes_through_the_recovered_firing()
    {
        await using var peer = await RecordingHttpServer.StartAsync();
        peer.Configure("/sched/b", new RecordingHttpServer.Behaviour(TimeSpan.FromSeconds(8)));
        var database = await TestPostgres.CreateDatabaseAsync("pipecrashsched");
        await using var cluster = await TwoNodes.StartAsync(database);
        var (nodes, key) = (cluster.Nodes, cluster.Key);
        using var api = cluster.First.CreateClient(key);
        object Call(string id) => new { id, type = "action", action = new { type = "call_api", config = new { method = "POST", url = $"{peer.BaseUrl}/sched/{id}", timeoutSeconds = 60 } } };
        await api.PostForJsonAsync("/api/pipelines", new
        {
            id = "nightly",
            name = "nightly",
            nodes = new[] { Call("a"), Call("b") },
            edges = new[] { new { from = "a", to = "b" } },
        }, HttpStatusCode.Created);
        await api.CreateScheduleAsync(new
        {
            name = "run-nightly",
            action = new { type = "execute_pipeline", config = new { pipeline = "nightly" } },
            trigger = new { at = TimeProvider.System.GetUtcNow().AddSeconds(2).ToString("O", System.Globalization.CultureInfo.InvariantCulture) },
        });

        await peer.WaitForRequestsAsync("/sched/b", 1, TimeSpan.FromSeconds(30), includeInFlight: true);
        var ledger = (await api.RunsAsync("default.run-nightly")).Single();
        var victimId = ledger.GetProperty("node").GetString()!;
        var survivor = nodes.Single(n => n.Key != victimId);
        nodes[victimId].Kill();

        using var survivorApi = survivor.Value.CreateClient(key);
        var finished = await Poll.UntilAsync(() => survivorApi.RunsAsync("default.run-nightly"), r => r.Count == 1 && r[0].Status() is "succeeded" or "failed",
            TimeSpan.FromSeconds(60), "the recovered firing to finish the pipeline");
        var dump = await DatabaseDump.QuartzAndLedgerAsync(database);
        Assert.That(finished[0].Status(), Is.EqualTo("succeeded"), finished[0] + "\n" + dump);
        Assert.That(finished[0].GetProperty("triggeredBy").GetString(), Is.EqualTo("recovery"));
        var pipelineRunId = finished[0].GetProperty("result").GetProperty("pipelineRunId").GetString();
        var detail = await survivorApi.GetFromJsonAsync<JsonElement>($"/api/pipeline-runs/{pipelineRunId}");
        Assert.That(detail.GetProperty("run").GetProperty("attempt").GetInt32(), Is.EqualTo(2), "the same pipeline run, resumed");
        Assert.That(peer.RequestsTo("/sched/a"), Has.Count.EqualTo(1), "A is not called again");
        Assert.That(peer.RequestsTo("/sched/b"), Has.Count.EqualTo(2));
        Assert.That(peer.RequestsTo("/sched/b").Select(r => r.IdempotencyKey).Distinct().Count(), Is.EqualTo(1));
        var b = detail.GetProperty("nodes").EnumerateArray().Single(n => n.GetProperty("nodeId").GetString() == "b");
        Assert.That(b.GetProperty("attempts").GetInt32(), Is.EqualTo(2));
    }

    [Test]
    public async Task Cancelling_through_one_node_interrupts_a_pipeline_run_executing_on_another()
    {
        await using var peer = await RecordingHttpServer.StartAsync();
        peer.Configure("/xcancel/slow", new RecordingHttpServer.Behaviour(TimeSpan.FromSeconds(60)));
        var database = await TestPostgres.CreateDatabaseAsync("pipexcancel");
        await using var cluster = await TwoNodes.StartAsync(database);
        var (nodes, key) = (cluster.Nodes, cluster.Key);
        using var api = cluster.First.CreateClient(key);
        object Call(string id) => new { id, type = "action", action = new { type = "call_api", config = new { method = "POST", url = $"{peer.BaseUrl}/xcancel/{id}", timeoutSeconds = 120 } } };
        await api.PostForJsonAsync("/api/pipelines", new
        {
            id = "far",
            name = "far",
            nodes = new[] { Call("first"), Call("slow"), Call("later") },
            edges = new[] { new { from = "first", to = "slow" }, new { from = "slow", to = "later" } },
        }, HttpStatusCode.Created);
        var runId = (await api.PostForJsonAsync("/api/pipelines/far/run", new { inputs = new { } }, HttpStatusCode.Accepted)).GetProperty("id").GetString();
        await peer.WaitForRequestsAsync("/xcancel/slow", 1, TimeSpan.FromSeconds(30), includeInFlight: true);
        var runner = (await api.GetFromJsonAsync<JsonElement>($"/api/pipeline-runs/{runId}")).GetProperty("run").GetProperty("node").GetString()!;
        using var other = nodes.Single(n => n.Key != runner).Value.CreateClient(key);

        // No executor polls for it: the cancel reaches the runner through Quartz's interrupt of the run's firing.
        await other.PostForJsonAsync($"/api/pipeline-runs/{runId}/cancel", null, HttpStatusCode.Accepted);
        var done = await Poll.UntilAsync(() => other.GetFromJsonAsync<JsonElement>($"/api/pipeline-runs/{runId}"),
            d => d.GetProperty("run").GetProperty("status").GetString() is not ("running" or "pending"), TimeSpan.FromSeconds(20), "the run on the other node to be cancelled");
        var dump = await DatabaseDump.QuartzAndLedgerAsync(database);
        string Status(string id) => done.GetProperty("nodes").EnumerateArray().Single(n => n.GetProperty("nodeId").GetString() == id).GetProperty("status").GetString()!;

        Assert.That(done.GetProperty("run").GetProperty("status").GetString(), Is.EqualTo("cancelled"), done + "\n" + dump);
        Assert.That(done.GetProperty("run").GetProperty("node").GetString(), Is.EqualTo(runner), "it was cancelled where it ran");
        Assert.That(Status("first"), Is.EqualTo("succeeded"));
        Assert.That(Status("slow"), Is.EqualTo("cancelled"));
        Assert.That(Status("later"), Is.EqualTo("skipped"));
        Assert.That(peer.RequestsTo("/xcancel/later"), Is.Empty);
    }

    [Test]
    public async Task Cancelling_a_sub_pipeline_run_on_another_node_cancels_only_it_and_a_later_cancel_of_its_parent_still_arrives()
    {
        await using var peer = await RecordingHttpServer.StartAsync();
        peer.Configure("/subcancel/inner", new RecordingHttpServer.Behaviour(TimeSpan.FromSeconds(60)));
        peer.Configure("/subcancel/sibling", new RecordingHttpServer.Behaviour(TimeSpan.FromSeconds(60)));
        var database = await TestPostgres.CreateDatabaseAsync("pipesubcancel");
        await using var cluster = await TwoNodes.StartAsync(database);
        var (nodes, key) = (cluster.Nodes, cluster.Key);
        using var api = cluster.First.CreateClient(key);
        object Call(string id) => new { id, type = "action", action = new { type = "call_api", config = new { method = "POST", url = $"{peer.BaseUrl}/subcancel/{id}", timeoutSeconds = 120 } } };
        await api.PostForJsonAsync("/api/pipelines", new { id = "inner", name = "inner", nodes = new[] { Call("inner") }, edges = Array.Empty<object>() }, HttpStatusCode.Created);
        await api.PostForJsonAsync("/api/pipelines", new
        {
            id = "outer",
            name = "outer",
            failurePolicy = "continue",
            nodes = new object[] { new { id = "child", type = "pipeline", pipeline = "inner", inputs = new { } }, Call("sibling") },
            edges = Array.Empty<object>(),
        }, HttpStatusCode.Created);
        var runId = (await api.PostForJsonAsync("/api/pipelines/outer/run", new { inputs = new { } }, HttpStatusCode.Accepted)).GetProperty("id").GetString();
        await peer.WaitForRequestsAsync("/subcancel/inner", 1, TimeSpan.FromSeconds(30), includeInFlight: true);
        await peer.WaitForRequestsAsync("/subcancel/sibling", 1, TimeSpan.FromSeconds(30), includeInFlight: true);
        var running = await api.GetFromJsonAsync<JsonElement>($"/api/pipeline-runs/{runId}");
        var runner = running.GetProperty("run").GetProperty("node").GetString()!;
        // A node's row names its child run when the node ends; while it runs, the child is the inner pipeline's one run.
        var childRunId = (await api.GetFromJsonAsync<JsonElement>("/api/pipelines/inner/runs")).GetProperty("items").EnumerateArray().Single().GetProperty("id").GetString();
        using var other = nodes.Single(n => n.Key != runner).Value.CreateClient(key);

        await other.PostForJsonAsync($"/api/pipeline-runs/{childRunId}/cancel", null, HttpStatusCode.Accepted);
        var child = await Poll.UntilAsync(() => other.GetFromJsonAsync<JsonElement>($"/api/pipeline-runs/{childRunId}"),
            d => d.GetProperty("run").GetProperty("status").GetString() is not ("running" or "pending"), TimeSpan.FromSeconds(20), "the sub-pipeline run to be cancelled");
        Assert.That(child.GetProperty("run").GetProperty("status").GetString(), Is.EqualTo("cancelled"), child + "\n" + await DatabaseDump.QuartzAndLedgerAsync(database));
        var parent = await other.GetFromJsonAsync<JsonElement>($"/api/pipeline-runs/{runId}");
        Assert.That(parent.GetProperty("run").GetProperty("status").GetString(), Is.EqualTo("running"), "the parent was not cancelled with it");

        // Quartz interrupts a firing once; the parent's cancel, through the same firing, must arrive all the same.
        await other.PostForJsonAsync($"/api/pipeline-runs/{runId}/cancel", null, HttpStatusCode.Accepted);
        var done = await Poll.UntilAsync(() => other.GetFromJsonAsync<JsonElement>($"/api/pipeline-runs/{runId}"),
            d => d.GetProperty("run").GetProperty("status").GetString() is not ("running" or "pending"), TimeSpan.FromSeconds(20), "the parent run to be cancelled");
        string Status(string id) => done.GetProperty("nodes").EnumerateArray().Single(n => n.GetProperty("nodeId").GetString() == id).GetProperty("status").GetString()!;
        Assert.That(done.GetProperty("run").GetProperty("status").GetString(), Is.EqualTo("cancelled"), done + "\n" + await DatabaseDump.QuartzAndLedgerAsync(database));
        Assert.That(Status("child"), Is.EqualTo("failed"), "its sub-pipeline had been cancelled on its own");
        Assert.That(Status("sibling"), Is.EqualTo("cancelled"));
    }

    /// <summary>
    /// A cancel of a sub-pipeline run on another node reaches its runner after that node's next check-in. When the
    /// sub-run ended in between, the interrupt found no pending or running request and was read as "cancel the whole
    /// firing": the parent run was cancelled. Check-ins 10 s apart make the window wide: the sub-run's call is released
    /// right after the cancel is asked for, and the interrupt arrives while the parent's sibling still runs.
    /// </summary>
    [Test]
    public async Task A_sub_pipeline_cancel_that_arrives_after_the_sub_run_ended_does_not_cancel_the_parent()
    {
        await using var peer = await RecordingHttpServer.StartAsync();
        var innerDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var siblingDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        peer.Configure("/latecancel/inner", new RecordingHttpServer.Behaviour(TimeSpan.Zero, Hold: innerDone.Task));
        peer.Configure("/latecancel/sibling", new RecordingHttpServer.Behaviour(TimeSpan.Zero, Hold: siblingDone.Task));
        var database = await TestPostgres.CreateDatabaseAsync("piplatecancel");
        await using var cluster = await TwoNodes.StartAsync(database, new Dictionary<string, string?>
        {
            ["Orchestrator__Cluster__CheckinInterval"] = "00:00:10",
            ["Orchestrator__Cluster__CheckinMisfireThreshold"] = "00:00:30",
        });
        var (nodes, key) = (cluster.Nodes, cluster.Key);
        using var api = cluster.First.CreateClient(key);
        object Call(string id) => new { id, type = "action", action = new { type = "call_api", config = new { method = "POST", url = $"{peer.BaseUrl}/latecancel/{id}", timeoutSeconds = 120 } } };
        await api.PostForJsonAsync("/api/pipelines", new { id = "inner", name = "inner", nodes = new[] { Call("inner") }, edges = Array.Empty<object>() }, HttpStatusCode.Created);
        await api.PostForJsonAsync("/api/pipelines", new
        {
            id = "outer",
            name = "outer",
            failurePolicy = "continue",
            nodes = new object[] { new { id = "child", type = "pipeline", pipeline = "inner", inputs = new { } }, Call("sibling") },
            edges = Array.Empty<object>(),
        }, HttpStatusCode.Created);
        var runId = (await api.PostForJsonAsync("/api/pipelines/outer/run", new { inputs = new { } }, HttpStatusCode.Accepted)).GetProperty("id").GetString();
        await peer.WaitForRequestsAsync("/latecancel/inner", 1, TimeSpan.FromSeconds(30), includeInFlight: true);
        await peer.WaitForRequestsAsync("/latecancel/sibling", 1, TimeSpan.FromSeconds(30), includeInFlight: true);
        var runner = (await api.GetFromJsonAsync<JsonElement>($"/api/pipeline-runs/{runId}")).GetProperty("run").GetProperty("node").GetString()!;
        var childRunId = (await api.GetFromJsonAsync<JsonElement>("/api/pipelines/inner/runs")).GetProperty("items").EnumerateArray().Single().GetProperty("id").GetString();
        using var other = nodes.Single(n => n.Key != runner).Value.CreateClient(key);

        await other.PostForJsonAsync($"/api/pipeline-runs/{childRunId}/cancel", null, HttpStatusCode.Accepted);
        innerDone.SetResult();
        await Poll.UntilAsync(() => other.GetFromJsonAsync<JsonElement>($"/api/pipeline-runs/{childRunId}"),
            d => d.GetProperty("run").GetProperty("status").GetString() is not ("running" or "pending"), TimeSpan.FromSeconds(20), "the sub-pipeline run to end");

        // Past the runner's next check-in: the interrupt has been delivered by now.
        await Task.Delay(TimeSpan.FromSeconds(12));
        siblingDone.SetResult();
        var done = await Poll.UntilAsync(() => other.GetFromJsonAsync<JsonElement>($"/api/pipeline-runs/{runId}"),
            d => d.GetProperty("run").GetProperty("status").GetString() is not ("running" or "pending"), TimeSpan.FromSeconds(30), "the parent run to end");
        string Status(string id) => done.GetProperty("nodes").EnumerateArray().Single(n => n.GetProperty("nodeId").GetString() == id).GetProperty("status").GetString()!;
        Assert.That(done.GetProperty("run").GetProperty("status").GetString(), Is.Not.EqualTo("cancelled"), done + "\n" + await DatabaseDump.QuartzAndLedgerAsync(database));
        Assert.That(Status("sibling"), Is.EqualTo("succeeded"), "the parent's other node ran to its end");
    }

    /// <summary>Two server processes on one database, by scheduler instance id, so a test can kill whichever runs the work.</summary>
    private sealed class TwoNodes : IAsyncDisposable
    {
        public required ServerProcess First { get; init; }

        public required ServerProcess Second { get; init; }

        public required string Key { get; init; }

        public required Dictionary<string, ServerProcess> Nodes { get; init; }

        public static async Task<TwoNodes> StartAsync(string database, IReadOnlyDictionary<string, string?>? settings = null)
        {
            var extra = new Dictionary<string, string?> { ["Orchestrator__Outbound__AllowedHosts__0"] = "127.0.0.1" };
            foreach (var (name, value) in settings ?? new Dictionary<string, string?>())
            {
                extra[name] = value;
            }

            var environment = PostgresNode.Environment(database, extra);
            var first = ServerProcess.Start(environment);
            await first.WaitUntilReadyAsync();
            var key = first.PrintedAdminKey!;
            var second = ServerProcess.Start(environment);
            await second.WaitUntilReadyAsync();
            return new TwoNodes
            {
                First = first,
                Second = second,
                Key = key,
                Nodes = new()
                {
                    [await InstanceIdAsync(first.CreateClient(key))] = first,
                    [await InstanceIdAsync(second.CreateClient(key))] = second,
                },
            };
        }

        public async ValueTask DisposeAsync()
        {
            await First.DisposeAsync();
            await Second.DisposeAsync();
        }

        private static async Task<string> InstanceIdAsync(HttpClient http)
        {
            var nodes = await http.GetFromJsonAsync<JsonElement>("/api/cluster/nodes");
            return nodes.EnumerateArray().Single(n => n.GetProperty("isThisNode").GetBoolean()).GetProperty("instanceId").GetString()!;
        }
    }
}
