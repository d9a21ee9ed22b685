using System.Globalization;
using Npgsql;

namespace Orchestrator.IntegrationTests.Infrastructure;

/// <summary>
/// The "no stack trace" assertions are only as good as <see cref="ServerLog.StackTraceLines"/>; the ones it replaced
/// looked for lines starting with three spaces and "at ", which this server's output never has, so they could not fail.
/// Here a real server logs a real exception from package code (EF Core and Npgsql, whose frames carry no file names),
/// and the helper must find it, and must find nothing in the same server's output before.
/// </summary>
[TestFixture]
public sealed class StackTraceDetectionTests
{
    [Test]
    public async Task The_helper_finds_the_stack_trace_of_a_database_error_a_real_server_logs_and_none_before_it()
    {
        var database = await TestPostgres.CreateDatabaseAsync("tracedetect");
        await using var server = ServerProcess.Start(PostgresNode.Environment(database, new Dictionary<string, string?> { ["Orchestrator__Outbound__AllowedHosts__0"] = "127.0.0.1" }));
        await server.WaitUntilReadyAsync();
        using var api = server.CreateClient(server.PrintedAdminKey);
        var beforeFault = server.Output;

        // A firing three seconds from now (creating it reads the ledger, so the table is still there).
        await api.CreateScheduleAsync(new
        {
            name = "doomed",
            action = new { type = "call_api", config = new { method = "POST", url = "http://127.0.0.1:9/never" } },
            trigger = new { at = TimeProvider.System.GetUtcNow().AddSeconds(3).ToString("O", CultureInfo.InvariantCulture) },
        });

        // The ledger's table disappears under the running server: the next firing's INSERT fails in Npgsql, and EF Core
        // logs the failed command with its exception.
        await using (var connection = new NpgsqlConnection(database))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand("ALTER TABLE runs RENAME TO runs_moved_away", connection);
            await command.ExecuteNonQueryAsync();
        }

        var output = await Poll.UntilAsync(() => Task.FromResult(server.Output), o => o.Contains("relation \"runs\" does not exist", StringComparison.Ordinal),
            TimeSpan.FromSeconds(30), "the firing's ledger INSERT to fail");
        await Poll.UntilSettledAsync(() => Task.FromResult(server.Output.Length), TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(10), "the server's output");
        output = server.Output[beforeFault.Length..];

        Assert.That(ServerLog.StackTraceLines(beforeFault), Is.Empty, "a healthy start logs no trace\n" + beforeFault);
        var trace = ServerLog.StackTraceLines(output);
        Assert.Multiple(() =>
        {
            Assert.That(trace, Has.Some.Match(@"^\s*at Npgsql\."), "a package frame, which names no file\n" + output);
            Assert.That(trace, Has.Some.Match(@"^\s*at Microsoft\.EntityFrameworkCore\."), output);
            Assert.That(trace, Has.Some.Match(@"^\s*(---> )?Npgsql\.PostgresException \(0x[0-9A-F]+\): 42P01"), "the exception's own line\n" + output);
            // What the replaced checks looked for: none of it is in output that plainly holds a trace.
            Assert.That(output.Split('\n').Where(l => l.StartsWith("   at ", StringComparison.Ordinal)), Is.Empty, "the console formatter's indentation changed\n" + output);
        });
    }
}
