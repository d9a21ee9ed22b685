using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Orchestrator.Data;
using Orchestrator.Hosting;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Hosting;

/// <summary>
/// On PostgreSQL the server adds the pool settings a long-lived server wants to the operator's connection string
/// (issue 13: Npgsql's <c>DISCARD ALL</c> on every pool return was about 4.3 of 11.6 transactions per firing). Read
/// back from a running server: the string EF Core got, the log line, and what the database itself sees of the pool.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Self)]
public sealed class PostgresConnectionSettingsTests
{
    [Test]
    public async Task The_server_applies_its_pool_defaults_to_ef_core_and_quartz_and_logs_them()
    {
        var database = await TestPostgres.CreateDatabaseAsync("connsettings");
        await using var server = InProcessServer.Start(PostgresNode.Environment(database, new Dictionary<string, string?>
        {
            ["Orchestrator__Scheduler__MaxConcurrency"] = "150",
        }));
        await server.WaitUntilReadyAsync();

        await using var scope = server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>();
        var efCore = new NpgsqlConnectionStringBuilder(db.Database.GetConnectionString());
        Assert.Multiple(() =>
        {
            Assert.That(efCore.NoResetOnClose, Is.True);
            Assert.That(efCore.MaxAutoPrepare, Is.EqualTo(64));
            Assert.That(efCore.AutoPrepareMinUsages, Is.EqualTo(2));
            Assert.That(efCore.MaxPoolSize, Is.EqualTo(150 + 3 + 20), "150 Quartz workers + Quartz's own 3 + 20 for the API");
            Assert.That(db.Database.GetConnectionString(), Is.EqualTo(server.Services.GetRequiredService<StorageChoice>().ConnectionString),
                "EF Core and Quartz's store (which is given StorageChoice's string) share one string, so one pool");
            Assert.That(server.Output, Does.Contain("(No Reset On Close=True, Max Auto Prepare=64, Auto Prepare Min Usages=2, Maximum Pool Size=173)"));
        });

        // Auto-preparation is live on EF Core's connection: a statement run twice is prepared on the server.
        var connection = (NpgsqlConnection)db.Database.GetDbConnection();
        await connection.OpenAsync();
        for (var i = 0; i < 3; i++)
        {
            await using var repeated = new NpgsqlCommand("SELECT count(*) FROM projects", connection);
            await repeated.ExecuteScalarAsync();
        }

        await using var prepared = new NpgsqlCommand("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE '%FROM projects%'", connection);
        Assert.That((long)(await prepared.ExecuteScalarAsync())!, Is.GreaterThan(0), "the repeated statement was auto-prepared");
        await connection.CloseAsync();

        // No Reset On Close, observed in the database: session state set on a pooled connection is still there when
        // the pool hands the same connection out again, both in EF Core's pool and in the one Quartz's store opens.
        Assert.That(await SessionStateSurvivesReturnToPoolAsync(() => connection), Is.True, "EF Core's pool reset the session");
        var storage = server.Services.GetRequiredService<StorageChoice>();
        Assert.That(await SessionStateSurvivesReturnToPoolAsync(() => new NpgsqlConnection(storage.ConnectionString)), Is.True,
            "the pool of plain connections on the server's string (Quartz's store) reset the session");
    }

    [Test]
    public async Task An_operators_explicit_settings_are_kept_end_to_end()
    {
        var database = await TestPostgres.CreateDatabaseAsync("connexplicit");
        await using var server = InProcessServer.Start(PostgresNode.Environment(
            database + ";No Reset On Close=false;Max Auto Prepare=0;Maximum Pool Size=40"));
        await server.WaitUntilReadyAsync();

        await using var scope = server.Services.CreateAsyncScope();
        var efCore = new NpgsqlConnectionStringBuilder(scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>().Database.GetConnectionString());
        Assert.Multiple(() =>
        {
            Assert.That(efCore.NoResetOnClose, Is.False);
            Assert.That(efCore.MaxAutoPrepare, Is.Zero);
            Assert.That(efCore.AutoPrepareMinUsages, Is.EqualTo(2), "the keyword the operator left out still gets the default");
            Assert.That(efCore.MaxPoolSize, Is.EqualTo(40));
            Assert.That(server.Output, Does.Contain("(No Reset On Close=False, Max Auto Prepare=0, Auto Prepare Min Usages=2, Maximum Pool Size=40)"));
        });

        // The counter-check of the first test: with the reset kept, a returned connection comes back clean.
        var storage = server.Services.GetRequiredService<StorageChoice>();
        Assert.That(await SessionStateSurvivesReturnToPoolAsync(() => new NpgsqlConnection(storage.ConnectionString)), Is.False);
    }

    /// <summary>
    /// Opens connections from the pool until it hands out one it handed out before (its backend pid), setting a session
    /// variable on each new one; says whether that variable survived the return to the pool.
    /// </summary>
    private static async Task<bool> SessionStateSurvivesReturnToPoolAsync(Func<NpgsqlConnection> pooled)
    {
        var probed = new HashSet<int>();
        for (var attempt = 0; attempt < 200; attempt++)
        {
            var connection = pooled();
            await connection.OpenAsync();
            try
            {
                await using var read = new NpgsqlCommand("SELECT pg_backend_pid(), current_setting('orchestrator_test.probe', true)", connection);
                await using (var reader = await read.ExecuteReaderAsync())
                {
                    await reader.ReadAsync();
                    var pid = reader.GetInt32(0);
                    if (probed.Contains(pid))
                    {
                        return !reader.IsDBNull(1) && reader.GetString(1) == "kept";
                    }

                    probed.Add(pid);
                }

                await using var set = new NpgsqlCommand("SET SESSION orchestrator_test.probe = 'kept'", connection);
                await set.ExecuteNonQueryAsync();
            }
            finally
            {
                await connection.CloseAsync();
            }
        }

        Assert.Fail($"The pool never handed out a connection twice in 200 opens ({probed.Count} backends).");
        return false;
    }
}
