using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Schedules;

[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class BackfillAndRetentionTests
{
    private static string Iso(DateTimeOffset t) => t.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);

    /// <summary>
    /// A call_api schedule firing every minute, started half an hour ago and paused, so past fire times exist and only
    /// a backfill runs them ('skip', so creating it does not fire for the times already gone). Returns the current
    /// whole minute.
    /// </summary>
    private static async Task<DateTimeOffset> CreatePausedMinuteScheduleAsync(HttpClient api, string name, string url)
    {
        var now = TimeProvider.System.GetUtcNow();
        var minute = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, now.Minute, 0, TimeSpan.Zero);
        await api.CreateScheduleAsync(new
        {
            name,
            action = new { type = "call_api", config = new { url } },
            trigger = new { cron = "0 * * * * ?", startAt = Iso(minute.AddMinutes(-30)) },
            misfire = new { policy = "skip" },
        });
        await api.PostAsync($"/api/schedules/default.{name}/pause", null);
        return minute;
    }

    [Test]
    public async Task Backfill_runs_every_past_fire_time_in_the_range_once_each_marked_as_backfill()
    {
        await using var peer = await RecordingHttpServer.StartAsync();
        var database = await TestPostgres.CreateDatabaseAsync("backfill");
        await using var server = InProcessServer.Start(PostgresNode.Environment(database, new Dictionary<string, string?> { ["Orchestrator__Outbound__AllowedHosts__0"] = "127.0.0.1" }));
        await server.WaitUntilReadyAsync();
        using var api = server.CreateClient(server.PrintedAdminKey);

        var minute = await CreatePausedMinuteScheduleAsync(api, "hourly-report", peer.BaseUrl + "/report");

        var from = minute.AddMinutes(-10);
        var to = minute.AddMinutes(-7); // [from, to) holds the fire times at -10, -9 and -8 minutes
        var result = await api.PostForJsonAsync("/api/schedules/default.hourly-report/backfill", new { from = Iso(from), to = Iso(to) }, HttpStatusCode.OK);
        Assert.That(result.GetProperty("scheduled").GetInt32(), Is.EqualTo(3), result.ToString());

        var runs = await Poll.UntilAsync(() => api.RunsAsync("default.hourly-report", "succeeded"), r => r.Count == 3, TimeSpan.FromSeconds(20), "three backfilled runs");
        Assert.That(runs.Select(r => r.GetProperty("triggeredBy").GetString()), Is.All.EqualTo("backfill"));
        Assert.That(runs.Select(r => r.GetProperty("scheduledFireTime").GetDateTimeOffset()).Order(),
            Is.EqualTo(new[] { from, from.AddMinutes(1), from.AddMinutes(2) }));
        Assert.That(peer.RequestsTo("/report").Select(r => r.IdempotencyKey).Distinct().Count(), Is.EqualTo(3));

        // The same range again schedules nothing new: those fire times already have backfill triggers or runs.
        var again = await api.PostForJsonAsync("/api/schedules/default.hourly-report/backfill", new { from = Iso(from), to = Iso(to) }, HttpStatusCode.OK);
        await Poll.NothingHappensFor(TimeSpan.FromSeconds(2), async () => (await api.RunsAsync("default.hourly-report")).Count != 3, "a fourth run " + again);
    }

    [Test]
    public async Task A_repeated_backfill_reports_fire_times_that_already_ran_as_already_scheduled_not_scheduled()
    {
        // The same range again answered "scheduled: 4, alreadyScheduled: 0" though the ledger then skipped all four.
        await using var peer = await RecordingHttpServer.StartAsync();
        var database = await TestPostgres.CreateDatabaseAsync("backfillagain");
        await using var server = InProcessServer.Start(PostgresNode.Environment(database, new Dictionary<string, string?> { ["Orchestrator__Outbound__AllowedHosts__0"] = "127.0.0.1" }));
        await server.WaitUntilReadyAsync();
        using var api = server.CreateClient(server.PrintedAdminKey);
        var minute = await CreatePausedMinuteScheduleAsync(api, "again", peer.BaseUrl + "/again");

        var from = minute.AddMinutes(-10);
        var to = minute.AddMinutes(-6); // four fire times: -10 … -7
        var first = await api.PostForJsonAsync("/api/schedules/default.again/backfill", new { from = Iso(from), to = Iso(to) }, HttpStatusCode.OK);
        Assert.That(first.GetProperty("scheduled").GetInt32(), Is.EqualTo(4), first.ToString());
        await Poll.UntilAsync(() => api.RunsAsync("default.again", "succeeded"), r => r.Count == 4, TimeSpan.FromSeconds(20), "four backfilled runs");

        var again = await api.PostForJsonAsync("/api/schedules/default.again/backfill", new { from = Iso(from), to = Iso(to) }, HttpStatusCode.OK);
        Assert.That(again.GetProperty("slotsFound").GetInt32(), Is.EqualTo(4), again.ToString());
        Assert.That(again.GetProperty("scheduled").GetInt32(), Is.EqualTo(0), again.ToString());
        Assert.That(again.GetProperty("alreadyScheduled").GetInt32(), Is.EqualTo(4), again.ToString());

        // A wider range schedules only the fire times around those that ran: -12, -11 and -6.
        var wider = await api.PostForJsonAsync("/api/schedules/default.again/backfill", new { from = Iso(from.AddMinutes(-2)), to = Iso(to.AddMinutes(1)) }, HttpStatusCode.OK);
        Assert.That((wider.GetProperty("slotsFound").GetInt32(), wider.GetProperty("scheduled").GetInt32(), wider.GetProperty("alreadyScheduled").GetInt32()),
            Is.EqualTo((7, 3, 4)), wider.ToString());
        Assert.That(wider.GetProperty("firstSlot").GetDateTimeOffset(), Is.EqualTo(from.AddMinutes(-2)));
        Assert.That(wider.GetProperty("lastSlot").GetDateTimeOffset(), Is.EqualTo(to));
        var runs = await Poll.UntilAsync(() => api.RunsAsync("default.again", "succeeded"), r => r.Count == 7, TimeSpan.FromSeconds(20), "seven runs");
        Assert.That(runs.Select(r => r.GetProperty("attempt").GetInt32()), Is.All.EqualTo(1), "no fire time ran twice");
        Assert.That(peer.RequestsTo("/again"), Has.Count.EqualTo(7));
    }

    [Test]
    public async Task A_backfill_of_a_fire_time_whose_run_is_still_running_does_not_run_it_a_second_time()
    {
        await using var peer = await RecordingHttpServer.StartAsync();
        peer.Configure("/long", new RecordingHttpServer.Behaviour(TimeSpan.FromSeconds(6)));
        var database = await TestPostgres.CreateDatabaseAsync("backfillrunning");
        await using var server = InProcessServer.Start(PostgresNode.Environment(database, new Dictionary<string, string?> { ["Orchestrator__Outbound__AllowedHosts__0"] = "127.0.0.1" }));
        await server.WaitUntilReadyAsync();
        using var api = server.CreateClient(server.PrintedAdminKey);

        await api.CreateScheduleAsync(new
        {
            name = "long-call",
            action = new { type = "call_api", config = new { url = peer.BaseUrl + "/long" } },
            trigger = new { intervalSeconds = 3600, startAt = Iso(TimeProvider.System.GetUtcNow().AddSeconds(2)) },
            // 'allow': Quartz itself would not hold the backfilled firing back while the first one runs.
            concurrency = "allow",
        });
        var running = await Poll.UntilAsync(() => api.RunsAsync("default.long-call"), r => r.Count == 1 && r[0].Status() == "running", TimeSpan.FromSeconds(15), "the scheduled run");
        var slot = running[0].GetProperty("scheduledFireTime").GetDateTimeOffset();
        var key = running[0].GetProperty("idempotencyKey").GetString();
        await Poll.UntilAsync(() => Task.FromResult(TimeProvider.System.GetUtcNow()), now => now > slot.AddSeconds(1.2), TimeSpan.FromSeconds(5), "the slot to be in the past");

        var result = await api.PostForJsonAsync("/api/schedules/default.long-call/backfill", new { from = Iso(slot), to = Iso(slot.AddSeconds(1)) }, HttpStatusCode.OK);
        Assert.That(result.GetProperty("scheduled").GetInt32(), Is.EqualTo(1), result.ToString());

        var runs = await Poll.UntilAsync(() => api.RunsAsync("default.long-call"), r => r.Count == 1 && r[0].Status() != "running", TimeSpan.FromSeconds(20), "the run to finish");
        await Poll.NothingHappensFor(TimeSpan.FromSeconds(1), () => Task.FromResult(peer.RequestsTo("/long").Count(r => r.IdempotencyKey == key) > 1), "a second call for the fire time");
        Assert.That(peer.RequestsTo("/long").Count(r => r.IdempotencyKey == key), Is.EqualTo(1), "one call for the fire time, not one per firing");
        Assert.That(peer.MaxInFlight, Is.EqualTo(1));
        Assert.That(runs[0].Status(), Is.EqualTo("succeeded"), runs[0].ToString());
        Assert.That(runs[0].GetProperty("attempt").GetInt32(), Is.EqualTo(1), "the backfilled firing did not take the running row over");
        Assert.That(server.Output, Does.Contain("still running on live node"), "the duplicate firing is logged");
    }

    [Test]
    public async Task A_row_left_running_by_a_live_node_whose_firing_has_ended_is_taken_over_by_the_next_firing()
    {
        // As another live node leaves a row when its firing ended but the completing UPDATE failed (a database blip):
        // the node is alive, its firing is not. The next firing of that fire time must run it, not skip it as a
        // duplicate. The other node is a check-in row of a node that is alive for the next hour and runs nothing.
        await using var peer = await RecordingHttpServer.StartAsync();
        var database = await TestPostgres.CreateDatabaseAsync("backfillstale");
        await using var server = InProcessServer.Start(PostgresNode.Environment(database, new Dictionary<string, string?> { ["Orchestrator__Outbound__AllowedHosts__0"] = "127.0.0.1" }));
        await server.WaitUntilReadyAsync();
        using var api = server.CreateClient(server.PrintedAdminKey);

        var minute = await CreatePausedMinuteScheduleAsync(api, "stale-row", peer.BaseUrl + "/stale");
        const string Node = "live-but-idle-node";
        var slot = minute.AddMinutes(-5);
        await using (var connection = new NpgsqlConnection(database))
        {
            await connection.OpenAsync();
            await using (var checkIn = new NpgsqlCommand(
                "INSERT INTO qrtz_scheduler_state (sched_name, instance_name, last_checkin_time, checkin_interval, quartz_version) " +
                "SELECT sched_name, @node, (extract(epoch FROM now()) * 10000000)::bigint + 621355968000000000, 3600000, quartz_version FROM qrtz_scheduler_state LIMIT 1", connection))
            {
                checkIn.Parameters.AddWithValue("node", Node);
                Assert.That(await checkIn.ExecuteNonQueryAsync(), Is.EqualTo(1));
            }

            await using var insert = new NpgsqlCommand(
                "INSERT INTO runs (id, schedule_id, project_id, action_type, status, triggered_by, scheduled_fire_time, started_at, node, fire_instance_id, attempt, idempotency_key, version) " +
                "VALUES (@id, 'default.stale-row', 'default', 'call_api', 'Running', 'Schedule', @fire, @fire, @node, 'ended-long-ago', 1, 'stale-key', 0)", connection);
            insert.Parameters.AddWithValue("id", Guid.NewGuid());
            insert.Parameters.AddWithValue("fire", slot);
            insert.Parameters.AddWithValue("node", Node);
            await insert.ExecuteNonQueryAsync();
        }

        var other = (await api.GetFromJsonAsync<JsonElement>("/api/cluster/nodes")).EnumerateArray().Single(n => n.GetProperty("instanceId").GetString() == Node);
        Assert.That(other.GetProperty("state").GetString(), Is.EqualTo("alive"), "the row's node counts as alive");
        await api.PostForJsonAsync("/api/schedules/default.stale-row/backfill", new { from = Iso(slot), to = Iso(slot.AddSeconds(1)) }, HttpStatusCode.OK);
        var runs = await Poll.UntilAsync(() => api.RunsAsync("default.stale-row"), r => r.Count == 1 && r[0].Status() == "succeeded", TimeSpan.FromSeconds(20), "the stale row to be run");
        Assert.That(runs[0].GetProperty("attempt").GetInt32(), Is.EqualTo(2), runs[0].ToString());
        Assert.That(peer.RequestsTo("/stale").Select(r => r.IdempotencyKey), Is.EqualTo(new[] { "stale-key" }), "run once, with the row's key");
        Assert.That(server.Output, Does.Not.Contain("still running on live node"));
    }

    [Test]
    public async Task Housekeeping_purges_finished_runs_older_than_the_retention_and_keeps_the_rest()
    {
        var database = await TestPostgres.CreateDatabaseAsync("retention");
        await using var server = InProcessServer.Start(PostgresNode.Environment(database, new Dictionary<string, string?>
        {
            ["Orchestrator__Runs__Retention"] = "1.00:00:00",
            ["Orchestrator__Runs__HousekeepingInterval"] = "00:00:10",
        }));
        await server.WaitUntilReadyAsync();

        var now = TimeProvider.System.GetUtcNow();
        using var api = server.CreateClient(server.PrintedAdminKey);
        await api.PostForJsonAsync("/api/pipelines", new { id = "kept", name = "kept", nodes = new[] { new { id = "a", type = "action", action = new { type = "noop", config = new { } } } } }, HttpStatusCode.Created);
        var pipelineRuns = new Dictionary<string, Guid> { ["old"] = Guid.NewGuid(), ["recent"] = Guid.NewGuid(), ["old-interrupted"] = Guid.NewGuid() };
        await using (var connection = new NpgsqlConnection(database))
        {
            await connection.OpenAsync();
            foreach (var (name, finishedDaysAgo, status) in new[] { ("old", 3.0, "Succeeded"), ("recent", 0.5, "Failed"), ("old-interrupted", -1.0, "Interrupted") })
            {
                await using var insert = new NpgsqlCommand(
                    "INSERT INTO pipeline_runs (id, pipeline_id, version, project_id, status, triggered_by, inputs, created_at, finished_at, attempt, cancel_requested) " +
                    "VALUES (@id, 'kept', 1, 'default', @status, 'api', '{}', @created, @finished, 1, false);" +
                    "INSERT INTO pipeline_node_runs (pipeline_run_id, node_id, status, attempts, idempotency_key) VALUES (@id, 'a', 'Succeeded', 1, @key)", connection);
                insert.Parameters.AddWithValue("id", pipelineRuns[name]);
                insert.Parameters.AddWithValue("status", status);
                insert.Parameters.AddWithValue("created", now.AddDays(-4));
                insert.Parameters.AddWithValue("finished", finishedDaysAgo < 0 ? DBNull.Value : now.AddDays(-finishedDaysAgo));
                insert.Parameters.AddWithValue("key", $"{pipelineRuns[name]:N}.a");
                await insert.ExecuteNonQueryAsync();
            }

            // A negative age is a run that never finished; a pending one never started either (a run-now whose firing never came).
            foreach (var (name, finishedDaysAgo, status) in new[]
            {
                ("old-done", 3.0, "Succeeded"), ("old-failed", 2.0, "Failed"), ("recent", 0.5, "Succeeded"), ("old-running", -1.0, "Running"),
                ("old-pending", -3.0, "Pending"), ("recent-pending", -0.5, "Pending"),
            })
            {
                await using var insert = new NpgsqlCommand(
                    "INSERT INTO runs (id, schedule_id, project_id, action_type, status, triggered_by, scheduled_fire_time, started_at, finished_at, attempt, idempotency_key, version) " +
                    "VALUES (@id, @schedule, 'default', 'call_api', @status, 'Schedule', @fire, @started, @finished, 1, @key, 0)", connection);
                insert.Parameters.AddWithValue("id", Guid.NewGuid());
                insert.Parameters.AddWithValue("schedule", "default." + name);
                insert.Parameters.AddWithValue("status", status);
                insert.Parameters.AddWithValue("fire", now.AddDays(-Math.Abs(finishedDaysAgo) - 0.1));
                insert.Parameters.AddWithValue("started", status == "Pending" ? DBNull.Value : now.AddDays(-Math.Abs(finishedDaysAgo) - 0.1));
                insert.Parameters.AddWithValue("finished", finishedDaysAgo < 0 ? DBNull.Value : now.AddDays(-finishedDaysAgo));
                insert.Parameters.AddWithValue("key", "seed-" + name);
                await insert.ExecuteNonQueryAsync();
            }
        }

        async Task<List<string>> Schedules() =>
            [.. (await api.GetFromJsonAsync<JsonElement>("/api/runs?pageSize=50")).GetProperty("items").EnumerateArray().Select(r => r.GetProperty("scheduleId").GetString()!).Order()];
        var remaining = await Poll.UntilAsync(Schedules, s => s.Count == 3, TimeSpan.FromSeconds(40), "the housekeeping pass");
        Assert.That(remaining, Is.EqualTo(new[] { "default.old-running", "default.recent", "default.recent-pending" }));
        Assert.That((await api.GetAsync($"/api/pipeline-runs/{pipelineRuns["old"]}")).StatusCode, Is.EqualTo(HttpStatusCode.NotFound), "an old finished pipeline run is purged");
        Assert.That((await api.GetAsync($"/api/pipeline-runs/{pipelineRuns["recent"]}")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await api.GetAsync($"/api/pipeline-runs/{pipelineRuns["old-interrupted"]}")).StatusCode, Is.EqualTo(HttpStatusCode.OK), "an interrupted run is still to be resumed");
        await using var check = new NpgsqlConnection(database);
        await check.OpenAsync();
        await using var count = new NpgsqlCommand("SELECT count(*) FROM pipeline_node_runs", check);
        Assert.That(await count.ExecuteScalarAsync(), Is.EqualTo(2L), "the purged run's node runs went with it");
    }
}
