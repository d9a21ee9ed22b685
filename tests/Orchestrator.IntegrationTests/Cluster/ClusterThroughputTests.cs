using System.Diagnostics;
using System.Globalization;
using Npgsql;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Cluster;

/// <summary>
/// Two server processes on one database under a steady load: 100 call_api schedules firing every second, 50 times each,
/// 5,000 firings in about a minute. Every fire time must be one ledger row with its own idempotency key and one call to
/// the endpoint (the ledger alone could not show a double firing: its unique key would fold it away), and both nodes
/// must have taken their share.
/// </summary>
[TestFixture]
[Category("Cluster")]
[NonParallelizable]
public sealed class ClusterThroughputTests
{
    private const int Schedules = 100;
    private const int RunsEach = 50;
    private const int Firings = Schedules * RunsEach;

    [Test]
    public async Task Two_nodes_share_5000_firings_each_run_once_with_its_own_idempotency_key()
    {
        await using var peer = await RecordingHttpServer.StartAsync();
        var database = await TestPostgres.CreateDatabaseAsync("throughput");
        var environment = PostgresNode.Environment(database, new Dictionary<string, string?> { ["Orchestrator__Outbound__AllowedHosts__0"] = "127.0.0.1" });
        await using var first = ServerProcess.Start(environment);
        await first.WaitUntilReadyAsync();
        await using var second = ServerProcess.Start(environment);
        await second.WaitUntilReadyAsync();
        using var api = first.CreateClient(first.PrintedAdminKey);

        // All start on one whole second a little ahead, so every second brings a burst of 100 fire times to share out.
        var now = TimeProvider.System.GetUtcNow();
        var start = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, now.Minute, now.Second, TimeSpan.Zero).AddSeconds(10);
        await Parallel.ForEachAsync(Enumerable.Range(0, Schedules), new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (i, _) =>
            await api.CreateScheduleAsync(new
            {
                name = $"load-{i:000}",
                action = new { type = "call_api", config = new { method = "POST", url = $"{peer.BaseUrl}/load/{i:000}" } },
                trigger = new { intervalSeconds = 1, maxRuns = RunsEach, startAt = start.ToString("O", CultureInfo.InvariantCulture) },
                // Late is fine, lost is not: a node falling behind under load still runs every fire time.
                misfire = new { policy = "catch_up" },
            }));

        var clock = Stopwatch.StartNew();
        long finished;
        try
        {
            finished = await Poll.UntilAsync(() => ScalarAsync(database, "SELECT count(*) FROM runs WHERE finished_at IS NOT NULL"), n => n >= Firings,
                TimeSpan.FromMinutes(4), $"{Firings} finished runs");
        }
        catch (AssertionException)
        {
            await TestContext.Out.WriteLineAsync(await DatabaseDump.QuartzAndLedgerAsync(database));
            throw;
        }

        var took = clock.Elapsed;
        // Anything still on its way (a second call for a fire time) has a moment to show up.
        await Poll.NothingHappensFor(TimeSpan.FromSeconds(2), async () => await ScalarAsync(database, "SELECT count(*) FROM runs") != Firings || peer.Requests.Count != Firings,
            "a firing or a call beyond the 5,000");

        var dump = await DatabaseDump.QuartzAndLedgerAsync(database);
        var calls = peer.Requests;
        var keysCalledTwice = calls.GroupBy(c => c.IdempotencyKey).Where(g => g.Count() > 1).Select(g => g.Key).ToList();
        var ledgerKeys = await ColumnAsync(database, "SELECT idempotency_key FROM runs");
        await Assert.MultipleAsync(async () =>
        {
            Assert.That(finished, Is.EqualTo(Firings), "finished runs\n" + dump);
            Assert.That(ledgerKeys.Distinct().Count(), Is.EqualTo(Firings), "distinct idempotency keys in the ledger = firings\n" + dump);
            Assert.That(await ScalarAsync(database, "SELECT count(*) FROM runs WHERE status <> 'Succeeded' OR attempt <> 1"), Is.Zero, "every run succeeded at its first attempt\n" + dump);
            Assert.That(await ScalarAsync(database, "SELECT count(DISTINCT (schedule_id, scheduled_fire_time)) FROM runs"), Is.EqualTo(Firings), "one run per fire time\n" + dump);
            Assert.That(calls, Has.Count.EqualTo(Firings), "one call per firing");
            Assert.That(keysCalledTwice, Is.Empty, "no run ran twice");
            Assert.That(calls.Select(c => c.IdempotencyKey).ToHashSet().SetEquals(ledgerKeys), Is.True, "each call carried its run's key");
            Assert.That(await ScalarAsync(database, "SELECT count(DISTINCT node) FROM runs"), Is.EqualTo(2), "both nodes took part\n" + dump);
        });
        await TestContext.Out.WriteLineAsync($"{Firings} firings on two nodes finished {took.TotalSeconds:0} s after the schedules were created.");
    }

    private static async Task<long> ScalarAsync(string database, string sql)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    private static async Task<List<string>> ColumnAsync(string database, string sql)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync();
        var values = new List<string>();
        while (await reader.ReadAsync())
        {
            values.Add(reader.GetString(0));
        }

        return values;
    }
}
