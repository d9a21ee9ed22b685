using System.Globalization;
using System.Text.Json;
using Npgsql;
using Orchestrator.IntegrationTests.Infrastructure;
using Quartz;

namespace Orchestrator.IntegrationTests.Runs;

/// <summary>
/// Quartz's execution history tells the truth about what the run ledger decided: a firing the ledger skipped used to
/// be recorded as an ordinary success. The ledger middleware now reports each firing as skipped (with the ledger's
/// reason), succeeded or failed, naming the run.
/// </summary>
[TestFixture]
public sealed class LedgerExecutionHistoryTests : ServerWithPeerFixture
{
    protected override string DatabaseName => "ledgerhistory";

    private sealed record HistoryRow(int? Result, bool Succeeded, string? Summary, string? Metrics);

    /// <summary>A whole second a few seconds ahead: the fire time of a one-time trigger, exactly as the ledger keys it.</summary>
    private static DateTimeOffset WholeSecondAhead(int seconds)
    {
        var now = TimeProvider.System.GetUtcNow().AddSeconds(seconds);
        return new DateTimeOffset(now.Ticks - (now.Ticks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
    }

    private static string Iso(DateTimeOffset t) => t.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    private async Task<List<HistoryRow>> HistoryOfAsync(string name, string group = "default")
    {
        await using var connection = new NpgsqlConnection(Database);
        await connection.OpenAsync();
        await using var select = new NpgsqlCommand(
            "SELECT result, succeeded, summary, metrics FROM qrtz_execution_history WHERE job_group = @group AND job_name = @name", connection);
        select.Parameters.AddWithValue("group", group);
        select.Parameters.AddWithValue("name", name);
        await using var reader = await select.ExecuteReaderAsync();
        var rows = new List<HistoryRow>();
        while (await reader.ReadAsync())
        {
            rows.Add(new HistoryRow(
                reader.IsDBNull(0) ? null : reader.GetInt32(0), reader.GetBoolean(1),
                reader.IsDBNull(2) ? null : reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3)));
        }

        return rows;
    }

    private Task<List<HistoryRow>> OneHistoryRowOfAsync(string name) =>
        Poll.UntilAsync(() => HistoryOfAsync(name), rows => rows.Count >= 1, TimeSpan.FromSeconds(30), $"the execution history row of '{name}'");

    [Test]
    public async Task A_firing_the_ledger_skipped_is_recorded_as_skipped_not_as_a_success_that_ran()
    {
        // The fire time's run already succeeded (as after a node that crashed between the action and Quartz recording
        // its completion): the firing must not run it again, and the history must say it was skipped.
        var fireTime = WholeSecondAhead(4);
        var existing = Guid.NewGuid();
        await using (var connection = new NpgsqlConnection(Database))
        {
            await connection.OpenAsync();
            await using var insert = new NpgsqlCommand(
                "INSERT INTO runs (id, schedule_id, project_id, action_type, status, triggered_by, scheduled_fire_time, started_at, finished_at, attempt, idempotency_key, version) " +
                "VALUES (@id, 'default.done-before', 'default', 'noop', 'Succeeded', 'Schedule', @fire, @fire, @fire, 1, 'history-skip', 0)", connection);
            insert.Parameters.AddWithValue("id", existing);
            insert.Parameters.AddWithValue("fire", fireTime);
            await insert.ExecuteNonQueryAsync();
        }

        await Admin.CreateScheduleAsync(new { name = "done-before", action = new { type = "noop", config = new { } }, trigger = new { at = Iso(fireTime) } });

        var history = await OneHistoryRowOfAsync("done-before");
        Assert.That(history, Has.Count.EqualTo(1), "one firing");
        Assert.That(history[0].Result, Is.EqualTo((int)JobRunResult.Skipped), "recorded as skipped by the ledger, not as succeeded");
        Assert.That(history[0].Summary, Does.Contain($"run {existing} already succeeded"), "the ledger's reason");
        var runs = await Admin.RunsAsync("default.done-before");
        Assert.That(runs.Select(r => (r.GetProperty("id").GetGuid(), r.GetProperty("attempt").GetInt32())), Is.EqualTo(new[] { (existing, 1) }),
            "the action did not run again");
    }

    [Test]
    public async Task A_firing_that_ran_is_recorded_as_succeeded_naming_its_run()
    {
        await Admin.CreateScheduleAsync(new { name = "ran", action = new { type = "noop", config = new { } }, trigger = new { at = InOneSecond() } });

        var history = await OneHistoryRowOfAsync("ran");
        var runs = await Admin.RunsAsync("default.ran");
        Assert.That(runs, Has.Count.EqualTo(1));
        Assert.That(runs[0].Status(), Is.EqualTo("succeeded"));
        var runId = runs[0].GetProperty("id").GetString();
        Assert.That(history, Has.Count.EqualTo(1));
        Assert.That(history[0].Result, Is.EqualTo((int)JobRunResult.Succeeded));
        Assert.That(history[0].Summary, Is.EqualTo($"run {runId} attempt 1 succeeded"));
        using var metrics = JsonDocument.Parse(history[0].Metrics!);
        Assert.That(metrics.RootElement.GetProperty("runId").GetString(), Is.EqualTo(runId));
        Assert.That(metrics.RootElement.GetProperty("attempt").GetInt32(), Is.EqualTo(1));
    }

    [Test]
    public async Task A_firing_whose_action_failed_is_recorded_as_failed()
    {
        Peer.Configure("/history-failing", new RecordingHttpServer.Behaviour(TimeSpan.Zero, Status: 500));
        await Admin.CreateScheduleAsync(new
        {
            name = "ran-and-failed",
            action = new { type = "call_api", config = new { url = Peer.BaseUrl + "/history-failing" } },
            trigger = new { at = InOneSecond() },
        });

        var history = await OneHistoryRowOfAsync("ran-and-failed");
        var runs = await Admin.RunsAsync("default.ran-and-failed");
        Assert.That(runs.Select(r => r.Status()), Is.EqualTo(new[] { "failed" }));
        Assert.That(history, Has.Count.EqualTo(1));
        Assert.That((history[0].Result, history[0].Succeeded), Is.EqualTo(((int?)JobRunResult.Failed, false)));
        Assert.That(history[0].Summary, Does.StartWith($"run {runs[0].GetProperty("id").GetString()} attempt 1 failed"));
    }

    [Test]
    public async Task A_housekeeping_pass_with_nothing_past_the_retention_is_recorded_as_skipped()
    {
        // The housekeeping job fires at start; a new database has no run past the retention.
        var history = await Poll.UntilAsync(() => HistoryOfAsync("run-housekeeping", "_system"), rows => rows.Count >= 1, TimeSpan.FromSeconds(30), "a housekeeping pass");
        Assert.That(history[0].Result, Is.EqualTo((int)JobRunResult.Skipped));
        Assert.That(history[0].Summary, Does.StartWith("nothing finished before "));
        using var metrics = JsonDocument.Parse(history[0].Metrics!);
        Assert.That((metrics.RootElement.GetProperty("runs").GetInt32(), metrics.RootElement.GetProperty("pipelineRuns").GetInt32()), Is.EqualTo((0, 0)));
    }
}
