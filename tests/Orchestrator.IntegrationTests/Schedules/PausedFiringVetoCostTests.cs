using System.Globalization;
using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Npgsql;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Schedules;

/// <summary>
/// What the paused-firing veto costs the database, counted by PostgreSQL itself (<c>pg_stat_statements</c>, as
/// <see cref="Runs.FiringCostTests"/> counts): a late firing of a schedule that was never paused asks nothing of the
/// stored pauses (the trigger's job data says no pause ended after its due time), while the late firings of a pause's
/// due times after a resume still ask, and are still held. Counts, not timings, so a loaded machine changes nothing.
/// </summary>
[TestFixture]
public sealed partial class PausedFiringVetoCostTests : ServerWithPeerFixture
{
    protected override string DatabaseName => "vetocost";

    protected override async Task StartedAsync()
    {
        await using var connection = new NpgsqlConnection(Database);
        await connection.OpenAsync();
        await using var create = new NpgsqlCommand("CREATE EXTENSION IF NOT EXISTS pg_stat_statements", connection);
        await create.ExecuteNonQueryAsync();
    }

    [Test]
    public async Task Late_firings_of_a_never_paused_schedule_ask_no_query_and_a_resumed_pauses_due_times_still_do()
    {
        await using var probe = new NpgsqlConnection(Database);
        await probe.OpenAsync();

        // Never paused, 20 due times in the past under catch_up with a threshold far above them: Quartz fires them back
        // to back, every one later than the veto's 100 ms, and each of them used to cost one query on the pauses.
        const string Late = "default.late-never-paused";
        var startAt = TimeProvider.System.GetUtcNow().AddSeconds(-20);
        var before = await VetoQueriesAsync(probe);
        await Admin.CreateScheduleAsync(new
        {
            name = "late-never-paused",
            action = new { type = "noop", config = new { } },
            trigger = new { intervalSeconds = 1, maxRuns = 20, startAt = startAt.ToString("O", CultureInfo.InvariantCulture) },
            misfire = new { policy = "catch_up", thresholdSeconds = 300 },
        });
        var runs = await Poll.UntilAsync(() => Admin.RunsAsync(Late), r => r.Count(x => x.Status() == "succeeded") >= 20, TimeSpan.FromSeconds(90), "the 20 runs");
        var late = runs.Count(r => r.GetProperty("startedAt").GetDateTimeOffset() - Scheduled(r) > TimeSpan.FromMilliseconds(100));
        // Backends report to pg_stat_statements when a statement ends; the firings' are in once their runs are.
        await Task.Delay(TimeSpan.FromSeconds(1));
        var afterLate = await VetoQueriesAsync(probe);
        Assert.Multiple(() =>
        {
            Assert.That(late, Is.GreaterThanOrEqualTo(15), "the firings were late (the premise)");
            Assert.That(afterLate - before, Is.Zero, "late firings of a never-paused schedule ask nothing of the stored pauses");
        });

        // The control: a pause and a resume shorter than the threshold. Quartz fires the pause's due times late at the
        // resume; the trigger carries the pause's end, so each of them asks, and skip runs none of them.
        const string Paused = "default.late-paused";
        await Admin.CreateScheduleAsync(new
        {
            name = "late-paused",
            action = new { type = "noop", config = new { } },
            trigger = new { cron = "0/2 * * * * ?" },
            misfire = new { policy = "skip", thresholdSeconds = 300 },
        });
        await Poll.UntilAsync(() => Admin.RunsAsync(Paused), r => r.Count >= 1, TimeSpan.FromSeconds(60), "a run before the pause");
        await Admin.PostForJsonAsync($"/api/schedules/{Paused}/pause", new { reason = "cost" }, HttpStatusCode.OK);
        var pausedBy = TimeProvider.System.GetUtcNow();
        await Task.Delay(TimeSpan.FromSeconds(7));
        var resumeFrom = TimeProvider.System.GetUtcNow();
        await Admin.PostForJsonAsync($"/api/schedules/{Paused}/resume", null, HttpStatusCode.OK);
        var resumedBy = TimeProvider.System.GetUtcNow();
        var pausedRuns = await Poll.UntilAsync(() => Admin.RunsAsync(Paused), r => r.Any(x => Scheduled(x) > resumedBy && x.Status() == "succeeded"), TimeSpan.FromSeconds(60), "a run after the resume");
        await Admin.PostForJsonAsync($"/api/schedules/{Paused}/pause", new { reason = "test over" }, HttpStatusCode.OK);
        await Task.Delay(TimeSpan.FromSeconds(1));
        var afterPause = await VetoQueriesAsync(probe);

        // Due times well inside the pause (a second from either end, for the clock skew the veto allows).
        var inside = pausedRuns.Select(Scheduled).Where(s => s > pausedBy.AddSeconds(1) && s < resumeFrom.AddSeconds(-1)).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(afterPause - afterLate, Is.GreaterThanOrEqualTo(1), "the pause's late firings asked the stored pauses");
            Assert.That(inside, Is.Empty, "skip ran none of the pause's due times: " + string.Join(", ", inside.Select(i => i.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture))));
        });
    }

    private static DateTimeOffset Scheduled(JsonElement run) => run.GetProperty("scheduledFireTime").GetDateTimeOffset();

    /// <summary>How many times the veto's query (the pauses holding a due time: its <c>resumed_by</c> condition) ran.</summary>
    private static async Task<long> VetoQueriesAsync(NpgsqlConnection connection)
    {
        await using var select = new NpgsqlCommand(
            "SELECT query, calls FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) " +
            "AND query NOT LIKE '%pg_stat_statements%'", connection);
        await using var reader = await select.ExecuteReaderAsync();
        var calls = 0L;
        while (await reader.ReadAsync())
        {
            if (VetoStatement().IsMatch(reader.GetString(0)))
            {
                calls += reader.GetInt64(1);
            }
        }

        return calls;
    }

    [GeneratedRegex(@"FROM\s+schedule_pauses\b.*\bWHERE\b.*\bresumed_by\s+IS\s+NULL\s+OR\b", RegexOptions.IgnoreCase | RegexOptions.Singleline)]
    private static partial Regex VetoStatement();
}
