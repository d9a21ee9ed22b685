using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Data;

[TestFixture]
[NonParallelizable]
public sealed class MigrationCommandTests
{
    private static Dictionary<string, string?> DeployStyle(string database) =>
        PostgresNode.Environment(database, new Dictionary<string, string?> { ["Orchestrator__Database__MigrateOnStart"] = null });

    [Test]
    public async Task On_postgres_the_server_refuses_an_unmigrated_database_and_says_to_run_migrate()
    {
        var database = await TestPostgres.CreateDatabaseAsync("unmigrated");
        await using var server = ServerProcess.Start(DeployStyle(database));
        var exitCode = await server.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Assert.That(exitCode, Is.Not.Zero);
        Assert.That(server.Output, Does.Contain("Orchestrator migrate"));
    }

    [Test]
    public async Task Migrate_command_prepares_the_database_then_the_server_starts_without_migrating()
    {
        var database = await TestPostgres.CreateDatabaseAsync("migrated");
        var workingDirectory = Directory.CreateTempSubdirectory("orchestrator-migrate-").FullName;

        // Two concurrent migrate runs, as two nodes deploying at once would: both must succeed.
        var runs = await Task.WhenAll(
            ServerProcess.RunCommandAsync(DeployStyle(database), workingDirectory, "migrate"),
            ServerProcess.RunCommandAsync(DeployStyle(database), workingDirectory, "migrate"));
        Assert.That(runs.Select(r => r.ExitCode), Is.All.Zero, string.Join("\n---\n", runs.Select(r => r.Output)));

        await using var server = ServerProcess.Start(DeployStyle(database));
        await server.WaitUntilReadyAsync();
        Assert.That(server.PrintedAdminKey, Is.Not.Null);
    }
}
