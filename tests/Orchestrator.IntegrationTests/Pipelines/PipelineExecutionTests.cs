using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Pipelines;

/// <summary>Pipelines on a real server process and PostgreSQL, their action nodes calling a real local HTTP server that logs requests.</summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class PipelineExecutionTests : ServerWithPeerFixture
{
    protected override string DatabaseName => "pipelines";

    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Orchestrator__Pipelines__MaxNodes"] = "1000",
        ["Orchestrator__Pipelines__MaxDepth"] = "2",
    };

    private object Call(string id, string path, object? body = null, object? retry = null, int? timeoutSeconds = null, string method = "POST") => new
    {
        id,
        type = "action",
        action = new { type = "call_api", config = new { method, url = Peer.BaseUrl + path, body } },
        retry,
        timeoutSeconds,
    };

    private static object Edge(string from, string to, bool? when = null) => new { from, to, when };

    private async Task CreateAsync(string id, object[] nodes, object[] edges, string failurePolicy = "stop", int maxParallelism = 4) =>
        await Admin.PostForJsonAsync("/api/pipelines", new { id, name = id, nodes, edges, failurePolicy, maxParallelism }, HttpStatusCode.Created);

    private async Task<string> RunAsync(string id, object? inputs = null) =>
        (await Admin.PostForJsonAsync($"/api/pipelines/{id}/run", new { inputs = inputs ?? new { } }, HttpStatusCode.Accepted)).GetProperty("id").GetString()!;

    private Task<JsonElement> FinishedAsync(string runId, int seconds = 30) =>
        Poll.UntilAsync(() => Admin.GetFromJsonAsync<JsonElement>($"/api/pipeline-runs/{runId}"),
            d => d.GetProperty("run").GetProperty("status").GetString() is not ("pending" or "running"), TimeSpan.FromSeconds(seconds), $"pipeline run {runId} to finish");

    private static JsonElement Node(JsonElement detail, string id) => detail.GetProperty("nodes").EnumerateArray().Single(n => n.GetProperty("nodeId").GetString() == id);

    private static string Status(JsonElement detail, string id) => Node(detail, id).GetProperty("status").GetString()!;

    private static object Sub(string id, string pipeline, int? timeoutSeconds = null) => new { id, type = "pipeline", pipeline, timeoutSeconds };

    /// <summary>SQL against the server's database, for states the API cannot produce on purpose (a race, another node's claim); @id is the run.</summary>
    private async Task SqlAsync(string sql, string runId = "00000000-0000-0000-0000-000000000000")
    {
        await using var connection = new NpgsqlConnection(Database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        command.Parameters.AddWithValue("id", Guid.Parse(runId));
        await command.ExecuteNonQueryAsync();
    }

    /// <summary>
    /// Stores a new current version of <paramref name="id"/> without the save-time checks, as two saves racing each
    /// other can (each validated before the other committed). The definition is validated and stored as a draft pipeline
    /// through the API first, so it has exactly the shape a save writes.
    /// </summary>
    private async Task StoreVersionBehindTheValidatorsBackAsync(string id, object[] nodes)
    {
        await CreateAsync($"{id}-draft", nodes, []);
        await SqlAsync($"""
            INSERT INTO pipeline_versions (pipeline_id, version, definition, created_at)
            SELECT p.id, p.version + 1, d.definition, now() FROM pipelines p, pipeline_versions d WHERE p.id = '{id}' AND d.pipeline_id = '{id}-draft';
            UPDATE pipelines SET version = version + 1 WHERE id = '{id}';
            """);
    }

    private async Task<JsonElement> OnlyRunOfAsync(string pipeline)
    {
        var runs = await Admin.GetFromJsonAsync<JsonElement>($"/api/pipelines/{pipeline}/runs");
        Assert.That(runs.GetProperty("total").GetInt32(), Is.EqualTo(1), $"runs of {pipeline}: {runs}");
        return await Admin.GetFromJsonAsync<JsonElement>($"/api/pipeline-runs/{runs.GetProperty("items")[0].GetProperty("id").GetString()}");
    }

    [Test]
    public async Task A_diamond_runs_its_branches_in_parallel_and_feeds_both_outputs_to_the_join()
    {
        Peer.Configure("/diamond/b", new RecordingHttpServer.Behaviour(TimeSpan.FromSeconds(1), Body: """{"value":"from-b","items":[{"id":41}]}"""));
        Peer.Configure("/diamond/c", new RecordingHttpServer.Behaviour(TimeSpan.FromSeconds(1), Body: """{"value":"from-c"}"""));
        await CreateAsync("diamond",
        [
            Call("a", "/diamond/a"),
            Call("b", "/diamond/b"),
            Call("c", "/diamond/c"),
            Call("d", "/diamond/d", new { b = "{{nodes.b.output.body.value}}", c = "{{nodes.c.output.body.value}}", id = "{{nodes.b.output.body.items[0].id}}", region = "{{inputs.region}}" }),
        ], [Edge("a", "b"), Edge("a", "c"), Edge("b", "d"), Edge("c", "d")]);

        var detail = await FinishedAsync(await RunAsync("diamond", new { region = "eu-west" }));
        Assert.That(detail.GetProperty("run").GetProperty("status").GetString(), Is.EqualTo("succeeded"), detail.ToString());
        var b = Peer.RequestsTo("/diamond/b").Single();
        var c = Peer.RequestsTo("/diamond/c").Single();
        var d = Peer.RequestsTo("/diamond/d").Single();
        Assert.That(b.Started, Is.LessThan(c.Finished).And.GreaterThan(Peer.RequestsTo("/diamond/a").Single().Finished - TimeSpan.FromMilliseconds(1)));
        Assert.That(c.Started, Is.LessThan(b.Finished), "B and C were in flight at the same time");
        Assert.That(d.Started, Is.GreaterThan(b.Finished).And.GreaterThan(c.Finished), "D starts after both");
        var body = JsonDocument.Parse(d.Body).RootElement;
        Assert.That(body.GetProperty("b").GetString(), Is.EqualTo("from-b"));
        Assert.That(body.GetProperty("c").GetString(), Is.EqualTo("from-c"));
        Assert.That(body.GetProperty("id").GetInt32(), Is.EqualTo(41), "a whole-value template keeps the JSON type");
        Assert.That(body.GetProperty("region").GetString(), Is.EqualTo("eu-west"));
        Assert.That(d.IdempotencyKey, Does.EndWith(".d"));
    }

    [Test]
    public async Task A_condition_takes_the_true_branch_and_records_the_other_as_skipped()
    {
        Peer.Configure("/cond/check", new RecordingHttpServer.Behaviour(TimeSpan.Zero, Body: """{"healthy":true,"count":3}"""));
        await CreateAsync("branching",
        [
            Call("check", "/cond/check", method: "GET"),
            new { id = "decide", type = "condition", expression = "nodes.check.output.status == 200 && (nodes.check.output.body.count >= 3 || !nodes.check.output.body.healthy)" },
            Call("yes", "/cond/yes"),
            Call("no", "/cond/no"),
            Call("after-no", "/cond/after-no"),
        ], [Edge("check", "decide"), Edge("decide", "yes", true), Edge("decide", "no", false), Edge("no", "after-no")]);

        var detail = await FinishedAsync(await RunAsync("branching"));
        Assert.That(detail.GetProperty("run").GetProperty("status").GetString(), Is.EqualTo("succeeded"), detail.ToString());
        Assert.That(Status(detail, "decide"), Is.EqualTo("succeeded"));
        Assert.That(Node(detail, "decide").GetProperty("output").GetProperty("result").GetBoolean(), Is.True);
        Assert.That(Status(detail, "yes"), Is.EqualTo("succeeded"));
        Assert.That(Status(detail, "no"), Is.EqualTo("skipped"));
        Assert.That(Status(detail, "after-no"), Is.EqualTo("skipped"), "everything behind the branch not taken is skipped");
        Assert.That(Peer.RequestsTo("/cond/no"), Is.Empty);
        Assert.That(Peer.RequestsTo("/cond/yes"), Has.Count.EqualTo(1));
    }

    [Test]
    public async Task A_node_failing_twice_then_succeeding_ends_succeeded_with_three_attempts_and_one_key()
    {
        Peer.Configure("/flaky", new RecordingHttpServer.Behaviour(TimeSpan.Zero, FailFirst: 2));
        await CreateAsync("flaky", [Call("flaky", "/flaky", retry: new { maxAttempts = 3, backoff = "exponential", initialDelaySeconds = 0.2 })], []);
        var detail = await FinishedAsync(await RunAsync("flaky"));
        Assert.That(Status(detail, "flaky"), Is.EqualTo("succeeded"), detail.ToString());
        Assert.That(Node(detail, "flaky").GetProperty("attempts").GetInt32(), Is.EqualTo(3));
        var calls = Peer.RequestsTo("/flaky");
        Assert.That(calls, Has.Count.EqualTo(3));
        Assert.That(calls.Select(c => c.IdempotencyKey).Distinct().Count(), Is.EqualTo(1), "retries carry the node's one key");
        // Polly's exponential backoff with jitter (decorrelated jitter V2) may wait almost nothing before the first retry;
        // what it guarantees is the running total: two retries wait at least 1.377 × the initial delay (0.2 s) together.
        Assert.That(calls[2].Started - calls[0].Finished, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(270)), "backoff between attempts");
    }

    [Test]
    public async Task Exponential_backoff_grows_past_what_fixed_delays_could_add_up_to()
    {
        // Its own server: these failures must not count towards the per-host breaker of the shared peer.
        await using var failing = await RecordingHttpServer.StartAsync();
        failing.Configure("/grows", new RecordingHttpServer.Behaviour(TimeSpan.Zero, FailFirst: 5));
        await CreateAsync("grows", [new
        {
            id = "grows",
            type = "action",
            action = new { type = "call_api", config = new { method = "POST", url = failing.BaseUrl + "/grows" } },
            retry = new { maxAttempts = 6, backoff = "exponential", initialDelaySeconds = 0.05 },
        }], []);
        var detail = await FinishedAsync(await RunAsync("grows"));
        Assert.That(Status(detail, "grows"), Is.EqualTo("succeeded"), detail.ToString());
        var calls = failing.RequestsTo("/grows");
        Assert.That(calls, Has.Count.EqualTo(6));
        // After five retries the jittered exponential delays add up to at least 2^4·tanh(4)/1.4 ≈ 11.4 × the initial
        // delay, whatever the jitter drew; five fixed delays (±25 % jitter) could add up to 6.25 × at most.
        Assert.That(calls[5].Started - calls[0].Finished, Is.GreaterThanOrEqualTo(TimeSpan.FromSeconds(0.05 * 11)),
            string.Join(", ", calls.Zip(calls.Skip(1), (a, b) => $"{(b.Started - a.Finished).TotalMilliseconds:F0} ms")));
    }

    [Test]
    public async Task Under_stop_a_failure_past_its_retries_stops_the_run_and_under_continue_independent_branches_finish()
    {
        Peer.Configure("/policy/broken", new RecordingHttpServer.Behaviour(TimeSpan.Zero, Status: 500));
        Peer.Configure("/policy/slow-stop", new RecordingHttpServer.Behaviour(TimeSpan.FromSeconds(3)));
        object[] Nodes(string prefix) =>
        [
            Call("broken", "/policy/broken", retry: new { maxAttempts = 2, initialDelaySeconds = 0.1 }),
            Call("after-broken", $"/policy/{prefix}-after-broken"),
            Call("independent", $"/policy/slow-{prefix}"),
            Call("after-independent", $"/policy/{prefix}-after-independent"),
        ];
        object[] edges = [Edge("broken", "after-broken"), Edge("independent", "after-independent")];

        await CreateAsync("policy-stop", Nodes("stop"), edges, "stop");
        var stopped = await FinishedAsync(await RunAsync("policy-stop"));
        Assert.That(stopped.GetProperty("run").GetProperty("status").GetString(), Is.EqualTo("failed"));
        Assert.That(Status(stopped, "broken"), Is.EqualTo("failed"));
        Assert.That(Node(stopped, "broken").GetProperty("attempts").GetInt32(), Is.EqualTo(2));
        Assert.That(Status(stopped, "independent"), Is.EqualTo("cancelled"), "the running sibling is cancelled");
        Assert.That(Status(stopped, "after-broken"), Is.EqualTo("skipped"));
        Assert.That(Status(stopped, "after-independent"), Is.EqualTo("skipped"));
        Assert.That(Peer.RequestsTo("/policy/stop-after-independent"), Is.Empty);

        await CreateAsync("policy-continue", Nodes("continue"), edges, "continue");
        var continued = await FinishedAsync(await RunAsync("policy-continue"));
        Assert.That(continued.GetProperty("run").GetProperty("status").GetString(), Is.EqualTo("failed"), "a failed node fails the run");
        Assert.That(Status(continued, "after-broken"), Is.EqualTo("skipped"));
        Assert.That(Status(continued, "independent"), Is.EqualTo("succeeded"));
        Assert.That(Status(continued, "after-independent"), Is.EqualTo("succeeded"), "the independent branch finished");
    }

    [Test]
    public async Task After_ten_failures_to_one_host_the_breaker_fails_later_nodes_without_a_request()
    {
        // Its own server, so its own host:port: the breaker is per authority and shared by every caller in the process.
        await using var failing = await RecordingHttpServer.StartAsync();
        failing.Configure("/down", new RecordingHttpServer.Behaviour(TimeSpan.Zero, Status: 503));
        var nodes = Enumerable.Range(1, 14).Select(i => (object)new
        {
            id = $"n{i:00}",
            type = "action",
            action = new { type = "call_api", config = new { url = failing.BaseUrl + "/down" } },
        }).ToArray();
        // Independent nodes, one at a time, and 'continue': each runs whatever the others did.
        await CreateAsync("breaker", nodes, [], "continue", maxParallelism: 1);

        var detail = await FinishedAsync(await RunAsync("breaker"), 60);
        var errors = detail.GetProperty("nodes").EnumerateArray().Select(n => n.GetProperty("error").GetString()!).ToList();
        Assert.That(failing.RequestsTo("/down"), Has.Count.EqualTo(10), "the breaker opened after 10 failures:\n" + string.Join("\n", errors));
        Assert.That(errors.Count(e => e.Contains("not sent", StringComparison.Ordinal)), Is.EqualTo(4), string.Join("\n", errors));
    }

    [Test]
    public async Task A_hanging_node_times_out_and_cancelling_a_run_leaves_no_node_running()
    {
        Peer.Configure("/hang", new RecordingHttpServer.Behaviour(TimeSpan.FromSeconds(30)));
        await CreateAsync("hangs", [Call("hang", "/hang", timeoutSeconds: 1)], []);
        var timedOut = await FinishedAsync(await RunAsync("hangs"));
        Assert.That(Status(timedOut, "hang"), Is.EqualTo("failed"));
        Assert.That(Node(timedOut, "hang").GetProperty("error").GetString(), Does.Contain("timed out"));

        Peer.Configure("/cancel/slow", new RecordingHttpServer.Behaviour(TimeSpan.FromSeconds(30)));
        await CreateAsync("cancellable", [Call("first", "/cancel/first"), Call("slow", "/cancel/slow"), Call("later", "/cancel/later")],
            [Edge("first", "slow"), Edge("slow", "later")]);
        var runId = await RunAsync("cancellable");
        await Peer.WaitForRequestsAsync("/cancel/slow", 1, TimeSpan.FromSeconds(20), includeInFlight: true);
        await Admin.PostForJsonAsync($"/api/pipeline-runs/{runId}/cancel", null, HttpStatusCode.Accepted);
        var cancelled = await FinishedAsync(runId, 15);
        Assert.That(cancelled.GetProperty("run").GetProperty("status").GetString(), Is.EqualTo("cancelled"));
        Assert.That(cancelled.GetProperty("nodes").EnumerateArray().Select(n => n.GetProperty("status").GetString()), Has.None.EqualTo("running").And.None.EqualTo("pending"));
        Assert.That(Status(cancelled, "first"), Is.EqualTo("succeeded"));
        Assert.That(Status(cancelled, "slow"), Is.EqualTo("cancelled"));
        Assert.That(Status(cancelled, "later"), Is.EqualTo("skipped"));
        await ApiAssertions.AssertProblemAsync(await Admin.PostAsync($"/api/pipeline-runs/{runId}/cancel", null), HttpStatusCode.Conflict);
    }

    [Test]
    public async Task An_execute_pipeline_schedule_runs_the_pipeline_and_records_it_in_the_ledger()
    {
        await CreateAsync("scheduled", [Call("ping", "/scheduled/ping", new { region = "{{inputs.region}}" })], []);
        await Admin.CreateScheduleAsync(new
        {
            name = "run-scheduled",
            action = new { type = "execute_pipeline", config = new { pipeline = "scheduled", inputs = new { region = "ap-south" } } },
            trigger = new { at = TimeProvider.System.GetUtcNow().AddSeconds(1).ToString("O", CultureInfo.InvariantCulture) },
        });
        var runs = await Poll.UntilAsync(() => Admin.RunsAsync("default.run-scheduled"), r => r.Count == 1 && r[0].Status() is "succeeded" or "failed", TimeSpan.FromSeconds(20), "the schedule's run");
        Assert.That(runs[0].Status(), Is.EqualTo("succeeded"), runs[0].ToString());
        var pipelineRunId = runs[0].GetProperty("result").GetProperty("pipelineRunId").GetString();
        var detail = await Admin.GetFromJsonAsync<JsonElement>($"/api/pipeline-runs/{pipelineRunId}");
        Assert.That(detail.GetProperty("run").GetProperty("triggeredBy").GetString(), Is.EqualTo("schedule"));
        Assert.That(detail.GetProperty("run").GetProperty("ledgerRunId").GetString(), Is.EqualTo(runs[0].GetProperty("id").GetString()));
        Assert.That(Peer.RequestsTo("/scheduled/ping").Single().Body, Does.Contain("ap-south"));
    }

    [Test]
    public async Task Cancelling_an_execute_pipeline_run_after_one_of_its_sub_pipelines_was_cancelled_still_cancels_the_pipeline()
    {
        Peer.Configure("/twice/child-hold", new RecordingHttpServer.Behaviour(TimeSpan.FromSeconds(40)));
        Peer.Configure("/twice/outer-hold", new RecordingHttpServer.Behaviour(TimeSpan.FromSeconds(40)));
        await CreateAsync("twice-child", [Call("hold", "/twice/child-hold")], []);
        await CreateAsync("twice-outer", [Sub("sub", "twice-child"), Call("hold", "/twice/outer-hold")], [], failurePolicy: "continue");
        await Admin.CreateScheduleAsync(new
        {
            name = "run-twice-outer",
            action = new { type = "execute_pipeline", config = new { pipeline = "twice-outer" } },
            trigger = new { at = TimeProvider.System.GetUtcNow().AddSeconds(1).ToString("O", CultureInfo.InvariantCulture) },
        });
        await Peer.WaitForRequestsAsync("/twice/child-hold", 1, TimeSpan.FromSeconds(20), includeInFlight: true);
        await Peer.WaitForRequestsAsync("/twice/outer-hold", 1, TimeSpan.FromSeconds(20), includeInFlight: true);

        // The sub-pipeline's cancel takes the firing's one interrupt; the ledger run's cancel must still reach the pipeline.
        var child = await OnlyRunOfAsync("twice-child");
        var childId = child.GetProperty("run").GetProperty("id").GetString()!;
        await Admin.PostForJsonAsync($"/api/pipeline-runs/{childId}/cancel", null, HttpStatusCode.Accepted);
        Assert.That((await FinishedAsync(childId, 15)).GetProperty("run").GetProperty("status").GetString(), Is.EqualTo("cancelled"));

        var ledgerRun = (await Admin.RunsAsync("default.run-twice-outer")).Single();
        await Admin.PostForJsonAsync($"/api/runs/{ledgerRun.GetProperty("id").GetString()}/cancel", null, HttpStatusCode.Accepted);
        var outerId = (await OnlyRunOfAsync("twice-outer")).GetProperty("run").GetProperty("id").GetString()!;
        var outer = await FinishedAsync(outerId, 15);
        Assert.That(outer.GetProperty("run").GetProperty("status").GetString(), Is.EqualTo("cancelled"), outer.ToString());
        Assert.That(Status(outer, "hold"), Is.EqualTo("cancelled"));
    }

    [Test]
    public async Task A_sub_pipeline_node_runs_the_child_and_a_pipeline_cannot_reach_itself()
    {
        await CreateAsync("child", [Call("work", "/sub/work", new { from = "{{inputs.parent}}" })], []);
        await CreateAsync("parent", [new { id = "sub", type = "pipeline", pipeline = "child", inputs = new { parent = "{{run.pipelineId}}" } }], []);
        var detail = await FinishedAsync(await RunAsync("parent"));
        Assert.That(Status(detail, "sub"), Is.EqualTo("succeeded"), detail.ToString());
        Assert.That(Peer.RequestsTo("/sub/work").Single().Body, Does.Contain("\"from\":\"parent\""));

        // child → parent would close a loop: parent → child → parent.
        var loop = await Admin.PutAsync("/api/pipelines/child", ApiClient.Json(new { name = "child", nodes = new[] { new { id = "back", type = "pipeline", pipeline = "parent" } } }));
        var problem = await ApiAssertions.AssertProblemAsync(loop, HttpStatusCode.UnprocessableEntity);
        Assert.That(problem.GetProperty("errors").GetProperty("nodes.back.pipeline")[0].GetString(), Does.Contain("back to this pipeline"));
        var self = await Admin.PutAsync("/api/pipelines/child", ApiClient.Json(new { name = "child", nodes = new[] { new { id = "me", type = "pipeline", pipeline = "child" } } }));
        await ApiAssertions.AssertProblemAsync(self, HttpStatusCode.UnprocessableEntity);
        Assert.That((await Admin.GetFromJsonAsync<JsonElement>("/api/pipelines/child")).GetProperty("version").GetInt32(), Is.EqualTo(1), "nothing saved");
    }

    [Test]
    public async Task Every_save_is_a_new_version_and_a_run_keeps_the_version_it_started_with()
    {
        await CreateAsync("versions", [Call("v", "/versions/one")], []);
        var first = await RunAsync("versions");
        var replaced = await Admin.PutAsync("/api/pipelines/versions", ApiClient.Json(new { name = "versions", nodes = new[] { Call("v", "/versions/two") } }));
        Assert.That(replaced.StatusCode, Is.EqualTo(HttpStatusCode.OK), await replaced.Content.ReadAsStringAsync());
        var second = await RunAsync("versions");
        Assert.That((await FinishedAsync(first)).GetProperty("run").GetProperty("version").GetInt32(), Is.EqualTo(1));
        Assert.That((await FinishedAsync(second)).GetProperty("run").GetProperty("version").GetInt32(), Is.EqualTo(2));
        var v1 = await Admin.GetFromJsonAsync<JsonElement>("/api/pipelines/versions?version=1");
        Assert.That(v1.GetProperty("nodes")[0].GetProperty("config").GetProperty("url").GetString(), Does.EndWith("/versions/one"));

        // What each run called, by the node's idempotency key ({runId}.{nodeId}): the first run only version 1's endpoint.
        Assert.That(Peer.RequestsTo("/versions/one").Select(r => r.IdempotencyKey), Is.EqualTo(new[] { $"{Guid.Parse(first):N}.v" }));
        Assert.That(Peer.RequestsTo("/versions/two").Select(r => r.IdempotencyKey), Is.EqualTo(new[] { $"{Guid.Parse(second):N}.v" }));
    }

    [Test]
    public async Task Under_continue_nothing_downstream_of_a_failure_runs_even_when_another_input_succeeded()
    {
        Peer.Configure("/down/a", new RecordingHttpServer.Behaviour(TimeSpan.Zero, Status: 500));
        await CreateAsync("downstream", [Call("a", "/down/a"), Call("b", "/down/b"), Call("d", "/down/d"), Call("c", "/down/c")],
            [Edge("a", "b"), Edge("b", "c"), Edge("d", "c")], "continue");
        var detail = await FinishedAsync(await RunAsync("downstream"));
        Assert.That(Status(detail, "a"), Is.EqualTo("failed"));
        Assert.That(Status(detail, "b"), Is.EqualTo("skipped"));
        Assert.That(Status(detail, "d"), Is.EqualTo("succeeded"));
        Assert.That(Status(detail, "c"), Is.EqualTo("skipped"), Node(detail, "c").ToString());
        Assert.That(Node(detail, "c").GetProperty("error").GetString(), Does.Contain("'b'"));
        Assert.That(Peer.RequestsTo("/down/c"), Is.Empty);
    }

    [Test]
    public async Task Task_and_notification_nodes_run_through_the_same_executors_as_schedules()
    {
        await Admin.PostForJsonAsync("/api/channels", new { name = "pipe-hook", kind = "webhook", webhook = new { url = $"{Peer.BaseUrl}/pipe-hook" } }, HttpStatusCode.Created);
        await CreateAsync("tasks", [
            new { id = "write", type = "action", action = new { type = "run_task", config = new { tool = "files.write", arguments = new { path = "pipeline-out/{{run.id}}.txt", content = "from {{inputs.who}}" } } } },
            new { id = "tell", type = "action", action = new { type = "send_notification", config = new { channel = "pipe-hook", subject = "wrote", message = "size {{nodes.write.output.size}}" } } },
        ], [Edge("write", "tell")]);
        var runId = await RunAsync("tasks", new { who = "the pipeline" });
        var detail = await FinishedAsync(runId);
        Assert.That(detail.GetProperty("run").GetProperty("status").GetString(), Is.EqualTo("succeeded"), detail.ToString());
        var file = await Admin.GetAsync($"/api/projects/default/files/pipeline-out/{runId}.txt");
        Assert.That(await file.Content.ReadAsStringAsync(), Is.EqualTo("from the pipeline"), "the tool ran in the pipeline's project root");
        var hook = JsonDocument.Parse(Peer.RequestsTo("/pipe-hook").Single().Body).RootElement;
        Assert.That(hook.GetProperty("message").GetString(), Is.EqualTo($"size {"from the pipeline".Length}"), "the node read the tool's output");
        Assert.That(hook.GetProperty("idempotencyKey").GetString(), Does.EndWith(".tell"));
    }

    /// <summary>
    /// The issue-11 regression: '{{run.attempt}}' in a pipeline node's notification was accepted on save and failed the
    /// node when it ran ("refers to nothing in this run"). It is the node's attempt now, rendered when the message is sent,
    /// beside the pipeline's own data and a schedule's other notification placeholders.
    /// </summary>
    [Test]
    public async Task A_notification_node_renders_run_attempt_and_the_schedules_placeholders_with_the_pipelines_run_values()
    {
        await Admin.PostForJsonAsync("/api/channels", new { name = "attempt-hook", kind = "webhook", webhook = new { url = $"{Peer.BaseUrl}/attempt-hook" } }, HttpStatusCode.Created);
        Peer.Configure("/attempt-hook", new RecordingHttpServer.Behaviour(TimeSpan.Zero, FailFirst: 1));
        await CreateAsync("attempts", [
            new
            {
                id = "tell", type = "action",
                action = new
                {
                    type = "send_notification",
                    config = new
                    {
                        channel = "attempt-hook",
                        subject = "{{schedule.id}}/{{schedule.name}} in {{schedule.project}}",
                        message = "attempt {{run.attempt}} of {{run.id}} for {{inputs.who}} (v{{run.version}}, key {{run.idempotencyKey}})",
                    },
                },
                retry = new { maxAttempts = 2, backoff = "fixed", initialDelaySeconds = 0.1 },
            },
        ], []);
        var runId = await RunAsync("attempts", new { who = "ops" });
        var detail = await FinishedAsync(runId);
        Assert.That(detail.GetProperty("run").GetProperty("status").GetString(), Is.EqualTo("succeeded"), detail.ToString());
        Assert.That(Node(detail, "tell").GetProperty("attempts").GetInt32(), Is.EqualTo(2));
        var sent = Peer.RequestsTo("/attempt-hook").Select(r => JsonDocument.Parse(r.Body).RootElement).ToList();
        Assert.That(sent, Has.Count.EqualTo(2));
        var key = sent[1].GetProperty("idempotencyKey").GetString();
        Assert.That(sent.Select(h => h.GetProperty("message").GetString()),
            Is.EqualTo(new[] { $"attempt 1 of {runId} for ops (v1, key {key})", $"attempt 2 of {runId} for ops (v1, key {key})" }), "each attempt sends its own number");
        Assert.That(sent[1].GetProperty("subject").GetString(), Is.EqualTo("pipeline:attempts/tell in default"));
    }

    [Test]
    public async Task A_sub_pipeline_chain_edited_past_MaxDepth_is_refused_on_save_and_stopped_when_it_runs()
    {
        foreach (var id in new[] { "deep-0", "deep-1", "deep-2", "deep-3" })
        {
            await CreateAsync(id, [Call("work", $"/deep/{id}")], []);
        }

        // Edited from the top down, each save looks shallow from the pipeline being saved; the pipelines above count too.
        foreach (var (id, next) in new[] { ("deep-0", "deep-1"), ("deep-1", "deep-2") })
        {
            var saved = await Admin.PutAsync($"/api/pipelines/{id}", ApiClient.Json(new { name = id, nodes = new[] { Sub("next", next) } }));
            Assert.That(saved.StatusCode, Is.EqualTo(HttpStatusCode.OK), await saved.Content.ReadAsStringAsync());
        }

        var tooDeep = await Admin.PutAsync("/api/pipelines/deep-2", ApiClient.Json(new { name = "deep-2", nodes = new[] { Sub("next", "deep-3") } }));
        var problem = await ApiAssertions.AssertProblemAsync(tooDeep, HttpStatusCode.UnprocessableEntity);
        Assert.That(problem.GetProperty("errors").GetProperty("nodes.next.pipeline")[0].GetString(),
            Does.Contain("deeper than 2 levels").And.Contain("deep-0 → deep-1 → deep-2 → deep-3"));

        await StoreVersionBehindTheValidatorsBackAsync("deep-2", [Sub("next", "deep-3")]);
        var detail = await FinishedAsync(await RunAsync("deep-0"));
        Assert.That(detail.GetProperty("run").GetProperty("status").GetString(), Is.EqualTo("failed"), detail.ToString());
        var third = await OnlyRunOfAsync("deep-2");
        Assert.That(Status(third, "next"), Is.EqualTo("failed"));
        Assert.That(Node(third, "next").GetProperty("error").GetString(), Does.Contain("deeper than Orchestrator:Pipelines:MaxDepth (2)").And.Contain("deep-0 → deep-1 → deep-2 → deep-3"));
        var runs = await Admin.GetFromJsonAsync<JsonElement>("/api/pipelines/deep-3/runs");
        Assert.That(runs.GetProperty("total").GetInt32(), Is.Zero, "the level past the limit was not started");
        Assert.That(Peer.RequestsTo("/deep/deep-3"), Is.Empty);
    }

    [Test]
    public async Task Sub_pipelines_that_came_to_run_each_other_fail_the_run_instead_of_recursing()
    {
        await CreateAsync("cycle-b", [Call("work", "/cycle/b")], []);
        await CreateAsync("cycle-a", [Sub("b", "cycle-b")], []);
        // Saving cycle-b → cycle-a is refused; two saves at once (a → b, b → a) can both pass, so store it that way.
        await StoreVersionBehindTheValidatorsBackAsync("cycle-b", [Sub("a", "cycle-a")]);

        var detail = await FinishedAsync(await RunAsync("cycle-a"));
        Assert.That(detail.GetProperty("run").GetProperty("status").GetString(), Is.EqualTo("failed"), detail.ToString());
        var inner = await OnlyRunOfAsync("cycle-b");
        Assert.That(Node(inner, "a").GetProperty("error").GetString(), Does.Contain("'cycle-a' is already running above this node (cycle-a → cycle-b → cycle-a)"));
        await OnlyRunOfAsync("cycle-a");
    }

    [Test]
    public async Task An_executor_whose_claim_was_taken_over_writes_nothing_more()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Peer.Configure("/fence/held", new RecordingHttpServer.Behaviour(TimeSpan.Zero, Hold: release.Task));
        await CreateAsync("fenced", [Call("held", "/fence/held"), Call("after", "/fence/after")], [Edge("held", "after")]);
        var runId = await RunAsync("fenced");
        await Peer.WaitForRequestsAsync("/fence/held", 1, TimeSpan.FromSeconds(20), includeInFlight: true);

        // A recovery on another node claims the run and records its view of the node. The executor here learns of it at
        // its watcher's next poll (up to a second away), but its node finishes right now: its write must be refused.
        await SqlAsync("""
            UPDATE pipeline_runs SET attempt = attempt + 1, node = 'survivor' WHERE id = @id;
            UPDATE pipeline_node_runs SET error = 'written by the survivor' WHERE pipeline_run_id = @id AND node_id = 'held';
            """, runId);
        release.SetResult();
        await Peer.WaitForRequestsAsync("/fence/held", 1, TimeSpan.FromSeconds(10));
        await Poll.NothingHappensFor(TimeSpan.FromSeconds(2), async () =>
            Node(await Admin.GetFromJsonAsync<JsonElement>($"/api/pipeline-runs/{runId}"), "held").GetProperty("error").GetString() != "written by the survivor"
            || Peer.RequestsTo("/fence/after").Count > 0, "the superseded executor writing over the survivor or starting the next node");

        var detail = await Admin.GetFromJsonAsync<JsonElement>($"/api/pipeline-runs/{runId}");
        Assert.That(Node(detail, "held").GetProperty("error").GetString(), Is.EqualTo("written by the survivor"), detail.ToString());
        Assert.That(Status(detail, "held"), Is.EqualTo("running"));
        Assert.That(detail.GetProperty("run").GetProperty("status").GetString(), Is.EqualTo("running"));
        Assert.That(Peer.RequestsTo("/fence/after"), Is.Empty, "the superseded executor started nothing more");
        await SqlAsync("UPDATE pipeline_runs SET status = 'Failed', finished_at = now() WHERE id = @id", runId);
    }

    [Test]
    public async Task A_sub_pipeline_timing_out_while_its_child_starts_fails_only_that_node()
    {
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        Peer.Configure("/slow-start/gate", new RecordingHttpServer.Behaviour(TimeSpan.Zero, Hold: release.Task));
        await CreateAsync("slow-start-child", [Call("work", "/slow-start/work")], []);
        await CreateAsync("slow-start", [Call("gate", "/slow-start/gate"), Sub("sub", "slow-start-child", timeoutSeconds: 1), Call("beside", "/slow-start/beside")],
            [Edge("gate", "sub"), Edge("gate", "beside")], "continue");
        var runId = await RunAsync("slow-start");
        await Peer.WaitForRequestsAsync("/slow-start/gate", 1, TimeSpan.FromSeconds(20), includeInFlight: true);

        // The child's start-up reads its definition; holding that table makes the start-up outlast the node's 1 s limit.
        await using (var connection = new NpgsqlConnection(Database))
        {
            await connection.OpenAsync();
            await using var transaction = await connection.BeginTransactionAsync();
            await using (var command = new NpgsqlCommand("LOCK TABLE pipeline_versions IN ACCESS EXCLUSIVE MODE", connection, transaction))
            {
                await command.ExecuteNonQueryAsync();
            }

            release.SetResult();
            await Task.Delay(TimeSpan.FromSeconds(3));
            await transaction.RollbackAsync();
        }

        var detail = await FinishedAsync(runId);
        Assert.That(Status(detail, "sub"), Is.EqualTo("failed"), detail.ToString());
        Assert.That(Node(detail, "sub").GetProperty("error").GetString(), Does.Contain("timed out after 1 s"));
        Assert.That(Status(detail, "beside"), Is.EqualTo("succeeded"), "the parent run went on");
        Assert.That(detail.GetProperty("run").GetProperty("error").GetString(), Is.EqualTo("node 'sub' failed"));
        var child = await OnlyRunOfAsync("slow-start-child");
        Assert.That(child.GetProperty("run").GetProperty("status").GetString(), Is.EqualTo("failed"), "the child is not left running with nobody executing it");
    }

    [Test]
    public async Task An_interrupted_run_can_be_cancelled_and_then_stays_cancelled()
    {
        await CreateAsync("paused", [Call("first", "/paused/first"), Call("second", "/paused/second")], [Edge("first", "second")]);
        var runId = await RunAsync("paused");
        await FinishedAsync(runId);
        // As a node shutting down leaves a run: interrupted, waiting for its job to run again, 'second' not done.
        await SqlAsync("""
            UPDATE pipeline_runs SET status = 'Interrupted', finished_at = NULL WHERE id = @id;
            UPDATE pipeline_node_runs SET status = 'Pending', finished_at = NULL WHERE pipeline_run_id = @id AND node_id = 'second';
            """, runId);

        var accepted = await Admin.PostForJsonAsync($"/api/pipeline-runs/{runId}/cancel", null, HttpStatusCode.Accepted);
        Assert.That(accepted.GetProperty("status").GetString(), Is.EqualTo("cancelled"), accepted.ToString());
        Assert.That(accepted.GetProperty("cancelRequested").GetBoolean(), Is.True, "a resume that read it before the cancel cannot claim it");
        var detail = await Admin.GetFromJsonAsync<JsonElement>($"/api/pipeline-runs/{runId}");
        Assert.That(detail.GetProperty("run").GetProperty("finishedAt").ValueKind, Is.EqualTo(JsonValueKind.String));
        Assert.That(Status(detail, "second"), Is.EqualTo("skipped"));
        await ApiAssertions.AssertProblemAsync(await Admin.PostAsync($"/api/pipeline-runs/{runId}/cancel", null), HttpStatusCode.Conflict);
    }
}
