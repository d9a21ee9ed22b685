using Npgsql;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Data;

/// <summary>The hand-written DBA script under quartz-sql/ and Quartz's own schema validation must agree.</summary>
[TestFixture]
[NonParallelizable]
public sealed class QuartzSchemaScriptTests
{
    private static string ScriptPath
    {
        get
        {
            var directory = new DirectoryInfo(AppContext.BaseDirectory);
            while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Orchestrator.sln")))
            {
                directory = directory.Parent;
            }

            return Path.Combine(directory!.FullName, "quartz-sql", "postgres", "quartz-4.7.3-postgres.sql");
        }
    }

    private static async Task ApplyScriptAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(await File.ReadAllTextAsync(ScriptPath), connection);
        await command.ExecuteNonQueryAsync();
    }

    private static Dictionary<string, string?> WithoutProvisioning(string database) =>
        PostgresNode.Environment(database, new Dictionary<string, string?> { ["Orchestrator__Database__ProvisionSchema"] = "false" });

    [Test]
    public async Task Server_passes_Quartz_schema_validation_on_a_database_made_by_the_script_alone()
    {
        var database = await TestPostgres.CreateDatabaseAsync("script");
        await ApplyScriptAsync(database);

        await using var server = ServerProcess.Start(WithoutProvisioning(database));
        await server.WaitUntilReadyAsync();
        Assert.That(server.Output, Does.Contain("Successfully validated presence of"));
        Assert.That(server.Output, Does.Not.Contain("Created the schema objects missing"), "Quartz must not have needed to create anything");
    }

    [Test]
    public async Task Without_the_script_and_without_provisioning_the_server_refuses_to_start()
    {
        // Proves the test above means something: validation really is on when provisioning is off.
        var database = await TestPostgres.CreateDatabaseAsync("noscript");
        await using var server = ServerProcess.Start(WithoutProvisioning(database));
        var exitCode = await server.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Assert.That(exitCode, Is.Not.Zero, server.Output);
    }

    [Test]
    public async Task Running_the_script_twice_is_harmless_and_keeps_existing_rows()
    {
        var database = await TestPostgres.CreateDatabaseAsync("rerun");
        await ApplyScriptAsync(database);
        await using (var connection = new NpgsqlConnection(database))
        {
            await connection.OpenAsync();
            await using var insert = new NpgsqlCommand("INSERT INTO qrtz_locks (sched_name, lock_name) VALUES ('probe', 'KEEP_ME')", connection);
            await insert.ExecuteNonQueryAsync();
        }

        await ApplyScriptAsync(database);

        await using (var connection = new NpgsqlConnection(database))
        {
            await connection.OpenAsync();
            await using var count = new NpgsqlCommand("SELECT count(*) FROM qrtz_locks WHERE lock_name = 'KEEP_ME'", connection);
            Assert.That(await count.ExecuteScalarAsync(), Is.EqualTo(1L));
        }
    }

    [Test]
    public async Task Provisioning_creates_the_same_tables_the_script_does()
    {
        var scripted = await TestPostgres.CreateDatabaseAsync("scripted");
        await ApplyScriptAsync(scripted);
        var provisioned = await TestPostgres.CreateDatabaseAsync("provisioned");
        await using (var server = ServerProcess.Start(PostgresNode.Environment(provisioned)))
        {
            await server.WaitUntilReadyAsync();
        }

        Assert.That(await QuartzColumnsAsync(scripted), Is.EquivalentTo(await QuartzColumnsAsync(provisioned)));
    }

    private static async Task<List<string>> QuartzColumnsAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(
            "SELECT table_name || '.' || column_name FROM information_schema.columns WHERE table_schema = 'public' AND table_name LIKE 'qrtz\\_%' ORDER BY 1",
            connection);
        var columns = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            columns.Add(reader.GetString(0));
        }

        return columns;
    }
}
