using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Npgsql;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Runs;

/// <summary>
/// The database cost of the firing path, counted by PostgreSQL itself (issue 13, item 8): transactions from
/// <c>pg_stat_database</c> and statements from <c>pg_stat_statements</c> of the fixture's database, per finished
/// firing of a <c>noop</c> schedule. Counts do not depend on how busy the machine is, so the bounds hold on a loaded
/// two-core machine where time-based targets cannot. Everything the node does in the window is in the count —
/// acquisition, Quartz's firing and completion, the ledger, the history, cluster check-ins — spread over the firings.
/// </summary>
/// <remarks>
/// Measured on 2026-11-30 (20 schedules × 10 firings, every second, all due on one whole second; bench/README.md has
/// the table): before issue 13's items 2-3, forbid 4.63 transactions and 29.4 statements per firing, allow 4.38 and
/// 17.0; after them forbid 3.40-3.63 and 28.7-31.8, allow 3.09-3.50 and 14.8. On 2026-12-01, with the ledger's
/// completions group-committed as its begins are (RunLedgerWriter), the ledger's own statements fell from 1.22-1.29
/// to 0.52-0.55 per firing; allow 2.51 transactions and 15.2 statements, forbid 3.5 and 33 on a machine at a load
/// average above 40, where Quartz's forbid rounds re-acquire and release more (its share, not the ledger's). Quartz's
/// share varies between runs with how its firing rounds fall on a loaded machine (rounds per firing), so the bounds
/// leave that room; the ledger's own statements do not vary that way and are bounded tightly. In a full integration
/// run on the same machine while other builds ran (2026-12-01), allow measured 3.95 transactions and 18.8 statements:
/// Quartz took more, smaller rounds (BEGIN/COMMIT 2.26 per firing) while the ledger stayed at 0.63, so the bounds for
/// Quartz's share are set above that, and the ledger's stays tight. With Quartz's own PostgreSQL dialect (recovery
/// first by RecoveryFirstPromotion instead of a subclassed dialect, 2026-12-01) forbid measured 28.0 statements and 3.0
/// transactions (32.8 and 4.0 before, same machine, minutes apart), 29.3 in a longer filtered run under load, so its
/// statement bound came down from 36 to 32.
/// </remarks>
[TestFixture]
public sealed partial class FiringCostTests : ServerWithPeerFixture
{
    private const int Schedules = 20;
    private const int RunsEach = 10;
    private const int Firings = Schedules * RunsEach;

    /// <summary>Marks this test's own queries so they are left out of the statement count.</summary>
    private const string ProbeMark = "/* firing-cost probe */";

    protected override string DatabaseName => "firingcost";

    protected override async Task StartedAsync()
    {
        await using var connection = new NpgsqlConnection(Database);
        await connection.OpenAsync();
        await using var create = new NpgsqlCommand("CREATE EXTENSION IF NOT EXISTS pg_stat_statements", connection);
        await create.ExecuteNonQueryAsync();
    }

    [TestCase("forbid", 4.2, 32.0)]
    [TestCase("allow", 4.2, 20.0)]
    public async Task A_noop_firing_costs_at_most_the_stated_transactions_and_statements(string concurrency, double maxTransactions, double maxStatements)
    {
        // Far enough ahead for the creation to finish on a loaded machine, before the window opens.
        var now = TimeProvider.System.GetUtcNow().AddSeconds(20);
        var start = new DateTimeOffset(now.Ticks - (now.Ticks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
        await Parallel.ForEachAsync(Enumerable.Range(0, Schedules), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, _) =>
            await Admin.CreateScheduleAsync(new
            {
                name = $"cost-{concurrency}-{i:00}",
                action = new { type = "noop", config = new { } },
                trigger = new { intervalSeconds = 1, maxRuns = RunsEach, startAt = start.ToString("O", CultureInfo.InvariantCulture) },
                concurrency,
                // A busy machine makes firings late, not lost: every one of them is in the count.
                misfire = new { policy = "catch_up" },
            }));
        var untilStart = start - TimeProvider.System.GetUtcNow() - TimeSpan.FromSeconds(1);
        if (untilStart <= TimeSpan.FromSeconds(1))
        {
            await Parallel.ForEachAsync(Enumerable.Range(0, Schedules), async (i, token) => await Admin.DeleteAsync($"/api/schedules/default.cost-{concurrency}-{i:00}", token));
            Assert.Fail("the schedules were not all created 2 s before their first fire time (a very loaded machine): the window would count their creation");
        }

        // Backends report their counters to pg_stat_database about a second after they go idle: the creation's are in by now.
        await Task.Delay(untilStart);

        await using var probe = new NpgsqlConnection(Database);
        await probe.OpenAsync();
        var before = await CountersAsync(probe);
        // The snapshot above is two transactions (its two reads), both committed after it read the transaction count.
        var probeTransactions = 2;
        var finished = 0L;
        var deadline = TimeProvider.System.GetUtcNow().AddSeconds(RunsEach + 90);
        while (finished < Firings && TimeProvider.System.GetUtcNow() < deadline)
        {
            await Task.Delay(TimeSpan.FromSeconds(1));
            finished = await FinishedAsync(probe, concurrency);
            probeTransactions++;
        }

        // The schedules are done (maxRuns); deleted all the same, so a failure here leaves nothing firing in the next case.
        await Parallel.ForEachAsync(Enumerable.Range(0, Schedules), async (i, token) => await Admin.DeleteAsync($"/api/schedules/default.cost-{concurrency}-{i:00}", token));
        Assert.That(finished, Is.EqualTo(Firings), "every firing finished");
        // Let the node's backends go idle and report their last transactions.
        await Task.Delay(TimeSpan.FromSeconds(2.5));
        var after = await CountersAsync(probe);

        var transactions = after.Transactions - before.Transactions - probeTransactions;
        var statements = after.Statements.Sum(s => s.Value.Calls - (before.Statements.TryGetValue(s.Key, out var b) ? b.Calls : 0));
        // The ledger's own statements (every statement on its table): one begin and one completion per firing at most,
        // fewer when the begins of firings that start together share a statement, and so do the completions of those
        // that finish together (RunLedgerWriter): in a burst of 20 that is about half a statement per firing.
        var ledgerStatements = after.Statements
            .Where(s => LedgerStatement().IsMatch(s.Value.Text))
            .Sum(s => s.Value.Calls - (before.Statements.TryGetValue(s.Key, out var b) ? b.Calls : 0));
        var perFiringLedgerStatements = (double)ledgerStatements / Firings;
        var perFiringTransactions = (double)transactions / Firings;
        var perFiringStatements = (double)statements / Firings;
        await TestContext.Out.WriteLineAsync(string.Create(CultureInfo.InvariantCulture,
            $"{concurrency}: {Firings} firings, {transactions} transactions ({perFiringTransactions:0.00}/firing), {statements} statements ({perFiringStatements:0.00}/firing), of which the ledger's {perFiringLedgerStatements:0.00}/firing"));
        await TestContext.Out.WriteLineAsync(Breakdown(before, after));

        Assert.Multiple(() =>
        {
            Assert.That(perFiringTransactions, Is.LessThanOrEqualTo(maxTransactions), "transactions per firing");
            Assert.That(perFiringStatements, Is.LessThanOrEqualTo(maxStatements), "statements per firing");
            Assert.That(perFiringLedgerStatements, Is.LessThanOrEqualTo(1.0), "the ledger: begins and completions of a burst share statements, no reads");
        });
    }

    [GeneratedRegex(@"\bruns\b", RegexOptions.IgnoreCase)]
    private static partial Regex LedgerStatement();

    private sealed record Statement(long Calls, string Text);

    private sealed record Counters(long Transactions, Dictionary<long, Statement> Statements);

    private static async Task<Counters> CountersAsync(NpgsqlConnection connection)
    {
        await using var transactions = new NpgsqlCommand(
            "SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()", connection);
        var count = Convert.ToInt64(await transactions.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
        var statements = new Dictionary<long, Statement>();
        // Its own queries (the counters' and the probe's) are left out by their text; pg_stat_statements keeps comments.
        await using var select = new NpgsqlCommand(
            "SELECT queryid, sum(calls)::bigint, min(query) FROM pg_stat_statements " +
            "WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) AND queryid IS NOT NULL " +
            "AND query NOT LIKE '%pg_stat_statements%' AND query NOT LIKE '%pg_stat_database%' AND query NOT LIKE '%firing-cost probe%' " +
            "GROUP BY queryid", connection);
        await using var reader = await select.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            statements[reader.GetInt64(0)] = new Statement(reader.GetInt64(1), reader.GetString(2));
        }

        return new Counters(count, statements);
    }

    private static async Task<long> FinishedAsync(NpgsqlConnection connection, string concurrency)
    {
        await using var select = new NpgsqlCommand(
            $"{ProbeMark} SELECT count(*) FROM runs WHERE schedule_id LIKE @prefix AND finished_at IS NOT NULL", connection);
        select.Parameters.AddWithValue("prefix", $"default.cost-{concurrency}-%");
        return Convert.ToInt64(await select.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    /// <summary>The statements of the window by calls, most first: where the cost went, for whoever has to cut it.</summary>
    private static string Breakdown(Counters before, Counters after)
    {
        var text = new StringBuilder();
        foreach (var (calls, statement) in after.Statements
            .Select(s => (Calls: s.Value.Calls - (before.Statements.TryGetValue(s.Key, out var b) ? b.Calls : 0), s.Value.Text))
            .Where(s => s.Calls > 0)
            .OrderByDescending(s => s.Calls))
        {
            var oneLine = string.Join(' ', statement.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries));
            text.AppendLine(CultureInfo.InvariantCulture, $"{((double)calls / Firings).ToString("0.00", CultureInfo.InvariantCulture),6}  {oneLine[..Math.Min(oneLine.Length, 200)]}");
        }

        return text.ToString();
    }
}
