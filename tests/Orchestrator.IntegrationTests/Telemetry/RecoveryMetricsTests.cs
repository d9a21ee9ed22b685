using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Telemetry;

/// <summary>
/// A node dies after the ledger claimed a firing and before the action ran (SIGKILL by a fault point); the node that
/// recovers the firing counts the recovery and the ledger's take-over in its <c>/metrics</c>, and the run's success.
/// </summary>
[TestFixture]
[Category("Cluster")]
[NonParallelizable]
public sealed class RecoveryMetricsTests
{
    [Test]
    public async Task The_survivor_counts_a_recovered_firing_and_the_ledger_taking_its_run_over()
    {
        var database = await TestPostgres.CreateDatabaseAsync("recoverymetrics");
        await using var doomed = ServerProcess.Start(PostgresNode.Environment(database, new Dictionary<string, string?>
        {
            ["ASPNETCORE_ENVIRONMENT"] = "Testing",
            ["Orchestrator__FaultPoints__Crash"] = "before-action",
        }));
        await doomed.WaitUntilReadyAsync();
        var key = doomed.PrintedAdminKey!;
        using (var api = doomed.CreateClient(key))
        {
            // Due far enough ahead that the create is answered before the fault point kills the node, even on a loaded machine.
            await api.CreateScheduleAsync(new
            {
                name = "recovered",
                action = new { type = "noop", config = new { } },
                trigger = new { at = TimeProvider.System.GetUtcNow().AddSeconds(8).ToString("O", System.Globalization.CultureInfo.InvariantCulture) },
            });
        }

        await doomed.WaitForExitAsync(TimeSpan.FromSeconds(30));
        Assert.That(doomed.Output, Does.Contain("Fault point 'before-action' reached"));

        await using var survivor = ServerProcess.Start(PostgresNode.Environment(database));
        await survivor.WaitUntilReadyAsync();
        using var survivorApi = survivor.CreateClient(key);
        var runs = await Poll.UntilAsync(() => survivorApi.RunsAsync("default.recovered", "succeeded"), r => r.Count == 1, TimeSpan.FromSeconds(45),
            "the survivor to run the recovered firing");
        Assert.That(runs[0].GetProperty("attempt").GetInt32(), Is.EqualTo(2));

        using var anonymous = survivor.CreateClient();
        var metrics = await Poll.UntilAsync(async () => PrometheusText.Parse(await anonymous.GetStringAsync("/metrics")),
            m => m.Sum("orchestrator_run_outcomes_total", ("action_type", "noop"), ("status", "succeeded")) >= 1, TimeSpan.FromSeconds(10), "the outcome in /metrics");
        Assert.Multiple(() =>
        {
            Assert.That(metrics.Sum("orchestrator_recoveries_total", ("project", "default"), ("action_type", "noop")), Is.EqualTo(1), metrics.Text);
            Assert.That(metrics.Sum("orchestrator_firings_total", ("project", "default"), ("action_type", "noop"), ("trigger", "recovery")), Is.EqualTo(1));
            Assert.That(metrics.Sum("orchestrator_ledger_decisions_total", ("decision", "taken_over"), ("reason", "take_over_as_recovery")), Is.EqualTo(1));
            Assert.That(metrics.Sum("orchestrator_ledger_decisions_total", ("decision", "ran")), Is.Zero, "the survivor ran no first attempt");
            Assert.That(metrics.Sum("orchestrator_run_outcomes_total", ("project", "default"), ("action_type", "noop"), ("status", "succeeded")), Is.EqualTo(1));
        });
    }
}
