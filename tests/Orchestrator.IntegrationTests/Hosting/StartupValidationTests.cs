using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Hosting;

[TestFixture]
public sealed class StartupValidationTests
{
    private static async Task<(int ExitCode, string Output)> StartExpectingExit(Dictionary<string, string?> environment)
    {
        await using var server = ServerProcess.Start(environment);
        var exitCode = await server.WaitForExitAsync(TimeSpan.FromSeconds(60));
        return (exitCode, server.Output);
    }

    [Test]
    public async Task Unknown_database_provider_stops_start_up_naming_the_setting_and_accepted_values()
    {
        var (exitCode, output) = await StartExpectingExit(new() { ["Orchestrator__Database__Provider"] = "Oracle" });
        Assert.That(exitCode, Is.Not.Zero);
        Assert.That(output, Does.Contain("Orchestrator:Database:Provider").And.Contain("Oracle").And.Contain("Sqlite, Postgres"));
    }

    [Test]
    public async Task Clustering_on_sqlite_stops_start_up_saying_why_and_what_to_set()
    {
        var (exitCode, output) = await StartExpectingExit(new() { ["Orchestrator__Cluster__Enabled"] = "true" });
        Assert.That(exitCode, Is.Not.Zero);
        Assert.That(output, Does.Contain("Orchestrator:Cluster:Enabled").And.Contain("Postgres").And.Contain("SQLite"));
    }

    [Test]
    public async Task Postgres_without_a_connection_string_stops_start_up()
    {
        var (exitCode, output) = await StartExpectingExit(new() { ["Orchestrator__Database__Provider"] = "Postgres" });
        Assert.That(exitCode, Is.Not.Zero);
        Assert.That(output, Does.Contain("Orchestrator:Database:ConnectionString"));
    }

    [Test]
    public async Task A_duration_that_does_not_parse_stops_start_up_naming_the_key()
    {
        var (exitCode, output) = await StartExpectingExit(new() { ["Orchestrator__Cluster__CheckinInterval"] = "soon" });
        Assert.That(exitCode, Is.Not.Zero);
        Assert.That(output, Does.Contain("Orchestrator:Cluster:CheckinInterval").And.Contain("soon"));
    }

    [Test]
    public async Task Several_bad_settings_are_all_reported_at_once()
    {
        var (exitCode, output) = await StartExpectingExit(new()
        {
            ["Orchestrator__Scheduler__MaxConcurrency"] = "0",
            ["Orchestrator__Database__TablePrefix"] = "qrtz; drop table x",
        });
        Assert.That(exitCode, Is.Not.Zero);
        Assert.That(output, Does.Contain("Orchestrator:Scheduler:MaxConcurrency").And.Contain("Orchestrator:Database:TablePrefix"));
    }

    [Test]
    public async Task A_fault_point_is_refused_outside_development_and_testing()
    {
        var (exitCode, output) = await StartExpectingExit(new() { ["Orchestrator__FaultPoints__Crash"] = "after-success" });
        Assert.That(exitCode, Is.Not.Zero);
        Assert.That(output, Does.Contain("Orchestrator:FaultPoints:Crash").And.Contain("Production"));
    }
}
