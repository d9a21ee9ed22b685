using System.Globalization;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Telemetry;

/// <summary>
/// OTLP export configured only by the standard <c>OTEL_*</c> variables, on a server process: a local HTTP receiver in
/// the collector's place gets the traces (with a run's span) and the metrics (with the product's meter) as
/// http/protobuf, under the service name the variables give.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class OtlpExportTests
{
    [Test]
    public async Task The_otel_variables_send_traces_and_metrics_to_the_collector()
    {
        await using var collector = await RecordingHttpServer.StartAsync();
        await using var server = ServerProcess.Start(new Dictionary<string, string?>
        {
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = collector.BaseUrl,
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "http/protobuf",
            ["OTEL_SERVICE_NAME"] = "orchestrator-otlp-test",
            // Short export intervals, so the test does not wait a minute for the first batch.
            ["OTEL_BSP_SCHEDULE_DELAY"] = "200",
            ["OTEL_METRIC_EXPORT_INTERVAL"] = "500",
        });
        await server.WaitUntilReadyAsync();
        using var admin = server.CreateClient(server.PrintedAdminKey);
        await admin.CreateScheduleAsync(new
        {
            name = "exported",
            action = new { type = "noop", config = new { } },
            trigger = new { at = TimeProvider.System.GetUtcNow().AddSeconds(1).ToString("O", CultureInfo.InvariantCulture) },
        });
        await Poll.UntilAsync(() => admin.RunsAsync("default.exported", "succeeded"), r => r.Count == 1, TimeSpan.FromSeconds(20), "the run");

        // Protobuf carries strings as UTF-8 bytes: the names are readable in the recorded body.
        var traces = await Poll.UntilAsync(() => Task.FromResult(collector.RequestsTo("/v1/traces")), r => r.Any(x => x.Body.Contains("run noop", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(20), "a trace export with the run's span");
        var withRun = traces.First(x => x.Body.Contains("run noop", StringComparison.Ordinal));
        Assert.That(withRun.Method, Is.EqualTo("POST"));
        Assert.That(withRun.Headers["Content-Type"], Is.EqualTo("application/x-protobuf"));
        Assert.That(withRun.Body, Does.Contain("orchestrator-otlp-test").And.Contain("orchestrator.schedule.id").And.Contain("default.exported"));

        await Poll.UntilAsync(() => Task.FromResult(collector.RequestsTo("/v1/metrics")), r => r.Any(x => x.Body.Contains("orchestrator.firings", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(20), "a metrics export with the product's meter");
    }
}
