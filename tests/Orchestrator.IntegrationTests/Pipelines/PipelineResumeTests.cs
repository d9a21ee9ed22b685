using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Pipelines;

/// <summary>A run whose node died, resumed by the next node on the same database (Quartz recovers the run's job).</summary>
[TestFixture]
[NonParallelizable]
public sealed class PipelineResumeTests
{
    private static object CallNode(RecordingHttpServer peer, string prefix, string id) =>
        new { id, type = "action", action = new { type = "call_api", config = new { method = "POST", url = $"{peer.BaseUrl}/{prefix}/{id}" } } };

    /// <summary>Starts a first node, saves the pipeline (its id is the definition's) and starts a run of it; the caller ends the node.</summary>
    private static async Task<(ServerProcess Server, string Key, string RunId)> StartRunAsync(IReadOnlyDictionary<string, string?> environment, object pipeline)
    {
        var server = ServerProcess.Start(environment);
        try
        {
            await server.WaitUntilReadyAsync();
            var key = server.PrintedAdminKey!;
            using var api = server.CreateClient(key);
            var saved = await api.PostForJsonAsync("/api/pipelines", pipeline, HttpStatusCode.Created);
            var run = await api.PostForJsonAsync($"/api/pipelines/{saved.GetProperty("id").GetString()}/run", new { inputs = new { } }, HttpStatusCode.Accepted);
            return (server, key, run.GetProperty("id").GetString()!);
        }
        catch
        {
            await server.DisposeAsync();
            throw;
        }
    }

    [Test]
    public async Task A_run_resumed_after_a_node_had_failed_under_stop_stays_stopped()
    {
        await using var peer = await RecordingHttpServer.StartAsync();
        var hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        peer.Configure("/resume/broken", new RecordingHttpServer.Behaviour(TimeSpan.Zero, Hold: hold.Task));
        peer.Configure("/resume/slow", new RecordingHttpServer.Behaviour(TimeSpan.Zero, Hold: hold.Task));
        var database = await TestPostgres.CreateDatabaseAsync("piperesume");
        var environment = PostgresNode.Environment(database, new Dictionary<string, string?> { ["Orchestrator__Outbound__AllowedHosts__0"] = "127.0.0.1" });
        object Call(string id) => CallNode(peer, "resume", id);

        var (first, key, runId) = await StartRunAsync(environment, new
        {
            id = "stopped",
            name = "stopped",
            failurePolicy = "stop",
            nodes = new[] { Call("broken"), Call("slow"), Call("after-slow") },
            edges = new[] { new { from = "slow", to = "after-slow" } },
        });
        await using (first)
        {
            await peer.WaitForRequestsAsync("/resume/broken", 1, TimeSpan.FromSeconds(30), includeInFlight: true);
            await peer.WaitForRequestsAsync("/resume/slow", 1, TimeSpan.FromSeconds(30), includeInFlight: true);
            first.Kill();
        }

        // Make 'broken' what it is when the node dies just after recording that it failed past its retries, under 'stop',
        // while 'slow' was still being cancelled: failed. Whatever runs again from here answers at once.
        hold.SetResult();
        await using (var connection = new NpgsqlConnection(database))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("""
                UPDATE pipeline_node_runs SET status = 'Failed', error = 'HTTP 500', finished_at = now() WHERE pipeline_run_id = @id AND node_id = 'broken';
                SELECT status FROM pipeline_runs WHERE id = @id;
                """, connection);
            command.Parameters.AddWithValue("id", Guid.Parse(runId));
            Assert.That(await command.ExecuteScalarAsync(), Is.EqualTo("Running"));
        }

        await using var second = ServerProcess.Start(environment);
        await second.WaitUntilReadyAsync();
        using var api2 = second.CreateClient(key);
        var finished = await Poll.UntilAsync(() => api2.GetFromJsonAsync<JsonElement>($"/api/pipeline-runs/{runId}"),
            d => d.GetProperty("run").GetProperty("status").GetString() is not ("pending" or "running"), TimeSpan.FromSeconds(60), "the resumed run to finish");
        JsonElement Node(string id) => finished.GetProperty("nodes").EnumerateArray().Single(n => n.GetProperty("nodeId").GetString() == id);

        Assert.That(finished.GetProperty("run").GetProperty("status").GetString(), Is.EqualTo("failed"), finished.ToString());
        Assert.That(finished.GetProperty("run").GetProperty("attempt").GetInt32(), Is.EqualTo(2), "it was resumed");
        Assert.That(Node("slow").GetProperty("status").GetString(), Is.EqualTo("skipped"), finished.ToString());
        Assert.That(Node("slow").GetProperty("error").GetString(), Does.Contain("the run stopped: node 'broken' failed"));
        Assert.That(Node("after-slow").GetProperty("status").GetString(), Is.EqualTo("skipped"));
        Assert.That(peer.RequestsTo("/resume/slow"), Has.Count.EqualTo(1), "not started again after the stop");
        Assert.That(peer.RequestsTo("/resume/after-slow"), Is.Empty);
        Assert.That(peer.RequestsTo("/resume/broken"), Has.Count.EqualTo(1));
    }

    [Test]
    public async Task A_run_interrupted_by_a_graceful_shutdown_is_resumed_when_a_node_comes_back()
    {
        await using var peer = await RecordingHttpServer.StartAsync();
        var hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        peer.Configure("/handback/slow", new RecordingHttpServer.Behaviour(TimeSpan.Zero, Hold: hold.Task));
        var database = await TestPostgres.CreateDatabaseAsync("pipehandback");
        var environment = PostgresNode.Environment(database, new Dictionary<string, string?>
        {
            ["Orchestrator__Outbound__AllowedHosts__0"] = "127.0.0.1",
            ["Orchestrator__Scheduler__ShutdownTimeout"] = "00:00:01",
        });
        object Call(string id) => CallNode(peer, "handback", id);

        var (first, key, runId) = await StartRunAsync(environment, new
        {
            id = "handback",
            name = "handback",
            nodes = new[] { Call("first"), Call("slow"), Call("last") },
            edges = new[] { new { from = "first", to = "slow" }, new { from = "slow", to = "last" } },
        });
        await using (first)
        {
            await peer.WaitForRequestsAsync("/handback/slow", 1, TimeSpan.FromSeconds(30), includeInFlight: true);
            Assert.That(await first.StopGracefullyAsync(TimeSpan.FromSeconds(30)), Is.Zero, "SIGTERM is a clean shutdown");
        }

        // Whatever runs from here answers at once.
        hold.SetResult();
        await using var second = ServerProcess.Start(environment);
        await second.WaitUntilReadyAsync();
        using var api2 = second.CreateClient(key);
        var finished = await Poll.UntilAsync(() => api2.GetFromJsonAsync<JsonElement>($"/api/pipeline-runs/{runId}"),
            d => d.GetProperty("run").GetProperty("status").GetString() is "succeeded" or "failed" or "cancelled", TimeSpan.FromSeconds(60),
            "the run handed back at shutdown to be resumed by the restarted node");
        JsonElement Node(string id) => finished.GetProperty("nodes").EnumerateArray().Single(n => n.GetProperty("nodeId").GetString() == id);

        Assert.That(finished.GetProperty("run").GetProperty("status").GetString(), Is.EqualTo("succeeded"), finished.ToString());
        Assert.That(Node("slow").GetProperty("attempts").GetInt32(), Is.EqualTo(2), "the interrupted node runs again as its next attempt");
        Assert.That(peer.RequestsTo("/handback/first"), Has.Count.EqualTo(1), "a node that had succeeded is not run again");
        Assert.That(peer.RequestsTo("/handback/slow").Select(r => r.IdempotencyKey).Distinct().Count(), Is.EqualTo(1), "same key on both attempts");
        Assert.That(peer.RequestsTo("/handback/last"), Has.Count.EqualTo(1));
    }

    /// <summary>
    /// An execute_pipeline schedule's firing stopped by a graceful shutdown: the ledger recorded it interrupted and
    /// returned, so Quartz stored no recovery trigger and the pipeline run stayed interrupted, though the docs said it
    /// was handed back. Now the firing is handed back: the restarted node's recovered firing takes the same ledger row
    /// over and resumes the same pipeline run.
    /// </summary>
    [Test]
    public async Task An_execute_pipeline_firing_stopped_by_a_graceful_shutdown_is_handed_back_and_resumes_its_pipeline_run()
    {
        await using var peer = await RecordingHttpServer.StartAsync();
        var hold = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        peer.Configure("/schedhandback/slow", new RecordingHttpServer.Behaviour(TimeSpan.Zero, Hold: hold.Task));
        var database = await TestPostgres.CreateDatabaseAsync("pipeschedhandback");
        var environment = PostgresNode.Environment(database, new Dictionary<string, string?>
        {
            ["Orchestrator__Outbound__AllowedHosts__0"] = "127.0.0.1",
            ["Orchestrator__Scheduler__ShutdownTimeout"] = "00:00:01",
        });
        object Call(string id) => CallNode(peer, "schedhandback", id);

        var first = ServerProcess.Start(environment);
        string key;
        await using (first)
        {
            await first.WaitUntilReadyAsync();
            key = first.PrintedAdminKey!;
            using var api = first.CreateClient(key);
            await api.PostForJsonAsync("/api/pipelines", new
            {
                id = "nightly",
                name = "nightly",
                nodes = new[] { Call("first"), Call("slow") },
                edges = new[] { new { from = "first", to = "slow" } },
            }, HttpStatusCode.Created);
            await api.CreateScheduleAsync(new
            {
                name = "run-nightly",
                action = new { type = "execute_pipeline", config = new { pipeline = "nightly" } },
                trigger = new { at = TimeProvider.System.GetUtcNow().AddSeconds(1).ToString("O", System.Globalization.CultureInfo.InvariantCulture) },
            });
            await peer.WaitForRequestsAsync("/schedhandback/slow", 1, TimeSpan.FromSeconds(30), includeInFlight: true);
            Assert.That(await first.StopGracefullyAsync(TimeSpan.FromSeconds(30)), Is.Zero, "SIGTERM is a clean shutdown");
        }

        hold.SetResult();
        await using var second = ServerProcess.Start(environment);
        await second.WaitUntilReadyAsync();
        using var api2 = second.CreateClient(key);
        var finished = await Poll.UntilAsync(() => api2.RunsAsync("default.run-nightly"), r => r.Count == 1 && r[0].Status() is "succeeded" or "failed" or "cancelled",
            TimeSpan.FromSeconds(60), "the firing handed back at shutdown to be recovered by the restarted node");
        Assert.That(finished[0].Status(), Is.EqualTo("succeeded"), finished[0] + "\n" + await DatabaseDump.QuartzAndLedgerAsync(database));
        Assert.That(finished[0].GetProperty("triggeredBy").GetString(), Is.EqualTo("recovery"));
        var pipelineRunId = finished[0].GetProperty("result").GetProperty("pipelineRunId").GetString();
        var detail = await api2.GetFromJsonAsync<JsonElement>($"/api/pipeline-runs/{pipelineRunId}");
        Assert.That(detail.GetProperty("run").GetProperty("status").GetString(), Is.EqualTo("succeeded"));
        Assert.That(detail.GetProperty("run").GetProperty("attempt").GetInt32(), Is.EqualTo(2), "the same pipeline run, resumed");
        Assert.That((await api2.GetFromJsonAsync<JsonElement>("/api/pipelines/nightly/runs")).GetProperty("items").GetArrayLength(), Is.EqualTo(1), "no second pipeline run");
        Assert.That(peer.RequestsTo("/schedhandback/first"), Has.Count.EqualTo(1), "a node that had succeeded is not run again");
        Assert.That(peer.RequestsTo("/schedhandback/slow").Select(r => r.IdempotencyKey).Distinct().Count(), Is.EqualTo(1), "same key on both attempts");
    }
}
