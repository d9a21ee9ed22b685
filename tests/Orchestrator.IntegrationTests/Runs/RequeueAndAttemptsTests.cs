using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Runs;

/// <summary>
/// <c>POST /api/runs/{id}/requeue</c> runs a finished run again as a new manual run with the original's config snapshot
/// (not the schedule's edited config), audited; a running, unknown or orphaned run is refused. <c>GET
/// /api/runs/{id}/attempts</c> lists each attempt of a retried run with its own error, from Quartz's history.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class RequeueAndAttemptsTests : ServerWithPeerFixture
{
    protected override string DatabaseName => "requeue";

    private object CallPeer(string name, string path, int attempts = 1) => new
    {
        name,
        action = new { type = "call_api", config = new { url = Peer.BaseUrl + path } },
        trigger = new { cron = "0 0 3 * * ?", timeZone = "UTC" },
        retry = new { maxAttempts = attempts, backoff = "fixed", initialDelaySeconds = 1 },
    };

    private async Task<JsonElement> FinishedAsync(string runId, string status) =>
        await Poll.UntilAsync(() => Admin.GetFromJsonAsync<JsonElement>($"/api/runs/{runId}"), r => r.Status() == status, TimeSpan.FromSeconds(30), $"run {runId} {status}");

    [Test]
    public async Task A_finished_run_is_requeued_as_a_new_manual_run_with_its_own_config_and_audited()
    {
        await Admin.CreateScheduleAsync(CallPeer("again", "/again-before"));
        var first = (await Admin.PostForJsonAsync("/api/schedules/default.again/run", null, HttpStatusCode.Accepted)).GetProperty("id").GetString()!;
        await FinishedAsync(first, "succeeded");

        // The schedule now calls somewhere else; the requeued run repeats the call the original made.
        using (var edit = await Admin.PutAsJsonAsync("/api/schedules/default.again", CallPeer("again", "/again-after")))
        {
            Assert.That(edit.StatusCode, Is.EqualTo(HttpStatusCode.OK), await edit.Content.ReadAsStringAsync());
        }

        var requeued = await Admin.PostForJsonAsync($"/api/runs/{first}/requeue", null, HttpStatusCode.Accepted);
        var second = requeued.GetProperty("id").GetString()!;
        Assert.That(second, Is.Not.EqualTo(first));
        Assert.That(requeued.GetProperty("triggeredBy").GetString(), Is.EqualTo("manual"));
        Assert.That(requeued.GetProperty("scheduleId").GetString(), Is.EqualTo("default.again"));
        var done = await FinishedAsync(second, "succeeded");
        Assert.That(done.GetProperty("configSnapshot").GetProperty("url").GetString(), Does.EndWith("/again-before"));
        Assert.That(Peer.RequestsTo("/again-before"), Has.Count.EqualTo(2), "the original call, made again");
        Assert.That(Peer.RequestsTo("/again-after"), Is.Empty);
        Assert.That((await Admin.GetFromJsonAsync<JsonElement>($"/api/runs/{first}")).Status(), Is.EqualTo("succeeded"), "the original run is left as it was");

        // The runs list narrows by trigger and action type; an unknown trigger is refused naming the field.
        Assert.That((await Admin.GetFromJsonAsync<JsonElement>("/api/runs?scheduleId=default.again&triggeredBy=manual&actionType=call_api")).GetProperty("total").GetInt32(), Is.EqualTo(2));
        Assert.That((await Admin.GetFromJsonAsync<JsonElement>("/api/runs?scheduleId=default.again&actionType=noop")).GetProperty("total").GetInt32(), Is.Zero);
        Assert.That((await Admin.GetFromJsonAsync<JsonElement>("/api/runs?scheduleId=default.again&triggeredBy=schedule")).GetProperty("total").GetInt32(), Is.Zero);
        var refused = await ApiAssertions.AssertProblemAsync(await Admin.GetAsync("/api/runs?triggeredBy=someone"), HttpStatusCode.UnprocessableEntity);
        Assert.That(refused.GetProperty("errors").TryGetProperty("triggeredBy", out _), Is.True);

        var audit = await Admin.GetFromJsonAsync<JsonElement>("/api/audit?action=run.requeue");
        var entry = audit.GetProperty("items").EnumerateArray().Single();
        Assert.That(entry.GetProperty("resourceId").GetString(), Is.EqualTo(first));
        Assert.That(entry.GetProperty("reason").GetString(), Does.Contain(second));

        // A viewer may read runs but not requeue them.
        var viewer = await Admin.PostForJsonAsync("/api/keys", new { name = "requeue-viewer", role = "viewer" }, HttpStatusCode.Created);
        using var readOnly = Server.CreateClient(viewer.GetProperty("key").GetString());
        await ApiAssertions.AssertProblemAsync(await readOnly.PostAsync($"/api/runs/{first}/requeue", null), HttpStatusCode.Forbidden);
    }

    /// <summary>
    /// The pending row is committed before the firing is scheduled; when the scheduler refuses the firing (here the
    /// database refuses the trigger row, as a failing job store would), the row must not be left pending with nothing to
    /// start it: it is completed as failed with the reason, and the client gets a 503 saying nothing runs.
    /// </summary>
    [Test]
    public async Task A_requeue_the_scheduler_cannot_schedule_leaves_no_pending_run_and_answers_503()
    {
        // A noop: calls to the peer here would count toward its host's circuit breaker, which the other tests share.
        await Admin.CreateScheduleAsync(new { name = "refused", action = new { type = "noop", config = new { } }, trigger = new { cron = "0 0 3 * * ?", timeZone = "UTC" } });
        var first = (await Admin.PostForJsonAsync("/api/schedules/default.refused/run", null, HttpStatusCode.Accepted)).GetProperty("id").GetString()!;
        await FinishedAsync(first, "succeeded");

        await using (var connection = new NpgsqlConnection(Database))
        {
            await connection.OpenAsync();
            await using var refuse = new NpgsqlCommand(
                """
                CREATE FUNCTION refuse_requeue_trigger() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN RAISE EXCEPTION 'trigger rows for this job are refused by the test'; END $$;
                CREATE TRIGGER refuse_requeue BEFORE INSERT ON qrtz_triggers FOR EACH ROW
                WHEN (NEW.job_name = 'refused') EXECUTE FUNCTION refuse_requeue_trigger();
                """, connection);
            await refuse.ExecuteNonQueryAsync();
        }

        try
        {
            var problem = await ApiAssertions.AssertProblemAsync(await Admin.PostAsync($"/api/runs/{first}/requeue", null), HttpStatusCode.ServiceUnavailable);
            Assert.That(problem.GetProperty("detail").GetString(), Does.Contain("not requeued").And.Contain("nothing runs"));
        }
        finally
        {
            await using var connection = new NpgsqlConnection(Database);
            await connection.OpenAsync();
            await using var allow = new NpgsqlCommand("DROP TRIGGER refuse_requeue ON qrtz_triggers; DROP FUNCTION refuse_requeue_trigger();", connection);
            await allow.ExecuteNonQueryAsync();
        }

        var runs = (await Admin.GetFromJsonAsync<JsonElement>("/api/runs?scheduleId=default.refused")).GetProperty("items").EnumerateArray().ToList();
        Assert.That(runs.Select(r => r.Status()), Has.None.EqualTo("pending").And.None.EqualTo("running"), "no run left for a firing that was never scheduled");
        var refusedRun = runs.Single(r => r.GetProperty("id").GetString() != first);
        Assert.That(refusedRun.Status(), Is.EqualTo("failed"));
        Assert.That(refusedRun.GetProperty("error").GetString(), Does.Contain("not scheduled"));

        // Once the scheduler takes firings again, the same requeue goes through and runs.
        var again = (await Admin.PostForJsonAsync($"/api/runs/{first}/requeue", null, HttpStatusCode.Accepted)).GetProperty("id").GetString()!;
        await FinishedAsync(again, "succeeded");
        Assert.That((await FinishedAsync(refusedRun.GetProperty("id").GetString()!, "failed")).GetProperty("startedAt").ValueKind, Is.EqualTo(JsonValueKind.Null),
            "the refused run never started, and is still failed after the next firing");
    }

    [Test]
    public async Task Requeue_refuses_a_running_run_an_unknown_one_and_one_whose_schedule_is_gone()
    {
        Peer.Configure("/requeue-slow", new RecordingHttpServer.Behaviour(TimeSpan.FromSeconds(30)));
        await Admin.CreateScheduleAsync(CallPeer("slow-again", "/requeue-slow"));
        var running = (await Admin.PostForJsonAsync("/api/schedules/default.slow-again/run", null, HttpStatusCode.Accepted)).GetProperty("id").GetString()!;
        await FinishedAsync(running, "running");
        var before = (await Admin.GetFromJsonAsync<JsonElement>("/api/runs?scheduleId=default.slow-again")).GetProperty("total").GetInt32();
        var conflict = await ApiAssertions.AssertProblemAsync(await Admin.PostAsync($"/api/runs/{running}/requeue", null), HttpStatusCode.Conflict);
        Assert.That(conflict.GetProperty("detail").GetString(), Does.Contain("running"));
        Assert.That((await Admin.GetFromJsonAsync<JsonElement>("/api/runs?scheduleId=default.slow-again")).GetProperty("total").GetInt32(), Is.EqualTo(before), "nothing was queued");
        await Admin.PostForJsonAsync($"/api/runs/{running}/cancel", null, HttpStatusCode.Accepted);
        await FinishedAsync(running, "cancelled");

        await ApiAssertions.AssertProblemAsync(await Admin.PostAsync($"/api/runs/{Guid.CreateVersion7()}/requeue", null), HttpStatusCode.NotFound);
        await ApiAssertions.AssertProblemAsync(await Admin.PostAsync("/api/runs/not-a-run/requeue", null), HttpStatusCode.NotFound);

        // The cancelled run can be requeued while its schedule exists; once the schedule is deleted it cannot.
        await Admin.CreateScheduleAsync(new { name = "gone", action = new { type = "noop", config = new { } }, trigger = new { cron = "0 0 3 * * ?", timeZone = "UTC" } });
        var orphan = (await Admin.PostForJsonAsync("/api/schedules/default.gone/run", null, HttpStatusCode.Accepted)).GetProperty("id").GetString()!;
        await FinishedAsync(orphan, "succeeded");
        using (var deleted = await Admin.DeleteAsync("/api/schedules/default.gone"))
        {
            Assert.That(deleted.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        }

        var gone = await ApiAssertions.AssertProblemAsync(await Admin.PostAsync($"/api/runs/{orphan}/requeue", null), HttpStatusCode.Conflict);
        Assert.That(gone.GetProperty("detail").GetString(), Does.Contain("no longer exists"));
    }

    [Test]
    public async Task A_retried_run_lists_each_attempt_with_its_own_error()
    {
        Peer.Configure("/attempts-broken", new RecordingHttpServer.Behaviour(TimeSpan.Zero, Status: 503));
        await Admin.CreateScheduleAsync(CallPeer("thrice", "/attempts-broken", attempts: 3));
        var runId = (await Admin.PostForJsonAsync("/api/schedules/default.thrice/run", null, HttpStatusCode.Accepted)).GetProperty("id").GetString()!;
        var run = await Poll.UntilAsync(() => Admin.GetFromJsonAsync<JsonElement>($"/api/runs/{runId}"),
            r => r.Status() == "failed" && r.GetProperty("attempt").GetInt32() == 3, TimeSpan.FromSeconds(40), "three failed attempts");

        // Quartz writes its history a moment after each execution (write-behind).
        var attempts = await Poll.UntilAsync(() => Admin.GetFromJsonAsync<JsonElement>($"/api/runs/{runId}/attempts"), a => a.GetArrayLength() == 3,
            TimeSpan.FromSeconds(15), "three recorded attempts");
        Assert.That(attempts.EnumerateArray().Select(a => a.GetProperty("attempt").GetInt32()), Is.EqualTo(new[] { 1, 2, 3 }));
        Assert.That(attempts.EnumerateArray().Select(a => a.GetProperty("result").GetString()), Is.All.EqualTo("failed"));
        Assert.That(attempts.EnumerateArray().Select(a => a.GetProperty("error").GetString()), Is.All.Contain("503"));
        Assert.That(attempts.EnumerateArray().Select(a => a.GetProperty("retryScheduled").GetBoolean()), Is.EqualTo(new[] { true, true, false }));
        Assert.That(attempts[2].GetProperty("firedAt").GetDateTimeOffset(), Is.GreaterThan(attempts[0].GetProperty("firedAt").GetDateTimeOffset()));
        Assert.That(run.GetProperty("triggeredBy").GetString(), Is.EqualTo("retry"));

        // Another run of the same schedule does not borrow these attempts.
        var other = (await Admin.PostForJsonAsync("/api/schedules/default.thrice/run", null, HttpStatusCode.Accepted)).GetProperty("id").GetString()!;
        await Poll.UntilAsync(() => Admin.GetFromJsonAsync<JsonElement>($"/api/runs/{other}/attempts"), a => a.GetArrayLength() == 3, TimeSpan.FromSeconds(40), "the second run's attempts");
        var first = await Admin.GetFromJsonAsync<JsonElement>($"/api/runs/{runId}/attempts");
        Assert.That(first.GetArrayLength(), Is.EqualTo(3));
        await ApiAssertions.AssertProblemAsync(await Admin.GetAsync($"/api/runs/{Guid.CreateVersion7()}/attempts"), HttpStatusCode.NotFound);
    }
}
