using Npgsql;
using Orchestrator.IntegrationTests.Infrastructure;
using Orchestrator.Schedules;

namespace Orchestrator.IntegrationTests.Schedules;

/// <summary>
/// Building a schedule list index waits for transactions using Quartz's tables (CREATE INDEX CONCURRENTLY), while it
/// holds the advisory lock every node's build takes: the wait is bounded by <c>Database:ListIndexLockTimeout</c>, the
/// node says so in a warning, and the build is tried again (<c>Database:ListIndexRetryInterval</c>) once the
/// transaction has ended, instead of waiting behind it for as long as it runs.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class ScheduleListIndexWaitTests
{
    [Test]
    public async Task A_build_behind_a_long_transaction_gives_up_with_a_warning_and_is_built_when_retried()
    {
        var database = await TestPostgres.CreateDatabaseAsync("listindexwait");
        var environment = PostgresNode.Environment(database, new Dictionary<string, string?>
        {
            ["Orchestrator__Database__ListIndexLockTimeout"] = "00:00:01",
            ["Orchestrator__Database__ListIndexRetryInterval"] = "00:00:02",
        });
        var index = ScheduleListIndexes.ListIndexName("qrtz_");
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();

        async Task<bool?> ValidAsync()
        {
            await using var check = new NpgsqlCommand("SELECT i.indisvalid FROM pg_index i WHERE i.indexrelid = to_regclass(@name)", connection);
            check.Parameters.AddWithValue("name", index);
            return await check.ExecuteScalarAsync() as bool?;
        }

        // A first start creates Quartz's tables and the indexes; the list index is then dropped for the second start to build.
        await using (var first = InProcessServer.Start(environment))
        {
            await first.WaitUntilReadyAsync();
            await Poll.UntilAsync(ValidAsync, v => v == true, TimeSpan.FromSeconds(120), "the first start's list index");
        }

        await using (var drop = new NpgsqlCommand($"DROP INDEX {index}", connection))
        {
            await drop.ExecuteNonQueryAsync();
        }

        // A transaction holding a lock on the triggers table, as a long write would: the concurrent build waits for it.
        await using var holder = new NpgsqlConnection(database);
        await holder.OpenAsync();
        var transaction = await holder.BeginTransactionAsync();
        await using (var hold = new NpgsqlCommand("LOCK TABLE qrtz_triggers IN ROW EXCLUSIVE MODE", holder, transaction))
        {
            await hold.ExecuteNonQueryAsync();
        }

        await using var second = InProcessServer.Start(environment);
        await second.WaitUntilReadyAsync();
        await Poll.UntilAsync(() => Task.FromResult(second.Output), o => o.Contains($"Schedule list index {index} not built", StringComparison.Ordinal),
            TimeSpan.FromSeconds(120), "the build to give up behind the transaction with a warning");
        Assert.That(await ValidAsync(), Is.Not.True, "not built while the transaction holds the table");

        await transaction.CommitAsync();
        await transaction.DisposeAsync();
        await Poll.UntilAsync(ValidAsync, v => v == true, TimeSpan.FromSeconds(120), "the retried build once the transaction ended\n" + second.Output);
    }
}
