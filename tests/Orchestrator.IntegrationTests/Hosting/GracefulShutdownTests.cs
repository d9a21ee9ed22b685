using System.Diagnostics;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Hosting;

[TestFixture]
[NonParallelizable]
public sealed class GracefulShutdownTests
{
    [Test]
    public async Task SIGTERM_waits_up_to_the_shutdown_timeout_then_interrupts_and_records_the_run_as_interrupted()
    {
        await using var peer = await RecordingHttpServer.StartAsync();
        peer.Configure("/stuck", new RecordingHttpServer.Behaviour(TimeSpan.FromSeconds(60)));
        var database = await TestPostgres.CreateDatabaseAsync("shutdown");
        var environment = PostgresNode.Environment(database, new Dictionary<string, string?>
        {
            ["Orchestrator__Outbound__AllowedHosts__0"] = "127.0.0.1",
            ["Orchestrator__Scheduler__ShutdownTimeout"] = "00:00:02",
        });
        string key;
        await using (var node = ServerProcess.Start(environment))
        {
            await node.WaitUntilReadyAsync();
            key = node.PrintedAdminKey!;
            using var api = node.CreateClient(key);
            await api.CreateScheduleAsync(new
            {
                name = "stuck",
                action = new { type = "call_api", config = new { url = peer.BaseUrl + "/stuck", timeoutSeconds = 120 } },
                trigger = new { at = TimeProvider.System.GetUtcNow().AddSeconds(1).ToString("O", System.Globalization.CultureInfo.InvariantCulture) },
            });
            await Poll.UntilAsync(() => api.RunsAsync("default.stuck"), r => r.Count == 1 && r[0].Status() == "running", TimeSpan.FromSeconds(15), "the run to start");

            var clock = Stopwatch.StartNew();
            var exitCode = await node.StopGracefullyAsync(TimeSpan.FromSeconds(30));
            Assert.That(exitCode, Is.Zero, node.Output);
            Assert.That(clock.Elapsed, Is.GreaterThan(TimeSpan.FromSeconds(1.5)), "running jobs get the shutdown timeout to finish");
            Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(20)), "and are interrupted after it, not waited for indefinitely");
        }

        await using var next = ServerProcess.Start(environment);
        await next.WaitUntilReadyAsync();
        using var api2 = next.CreateClient(key);
        var runs = await api2.RunsAsync("default.stuck");
        Assert.That(runs, Has.Count.EqualTo(1), await DatabaseDump.QuartzAndLedgerAsync(database));
        Assert.That(runs[0].Status(), Is.EqualTo("interrupted"));
        Assert.That(runs[0].GetProperty("error").GetString(), Does.Contain("shutdown"));
    }
}
