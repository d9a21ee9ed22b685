using System.Net;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Telemetry;

/// <summary>
/// <c>Orchestrator:Metrics:Port</c> on a server process started as an operator starts it (<c>--urls</c> for the public
/// listener): <c>/metrics</c> answers on the management port only, the public port answers 404 for it, and the
/// management port serves nothing but the metrics and the health probes.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class ManagementPortTests
{
    [Test]
    public async Task Metrics_answer_only_on_the_management_port_which_serves_nothing_else_but_the_probes()
    {
        var managementPort = TestPostgres.FreePort();
        await using var server = ServerProcess.Start(new Dictionary<string, string?> { ["Orchestrator__Metrics__Port"] = managementPort.ToString(System.Globalization.CultureInfo.InvariantCulture) });
        await server.WaitUntilReadyAsync();
        using var management = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{managementPort}"), Timeout = TimeSpan.FromSeconds(10) };
        using var publicPort = server.CreateClient();
        using var admin = server.CreateClient(server.PrintedAdminKey);

        using (var metrics = await management.GetAsync("/metrics"))
        {
            Assert.That(metrics.StatusCode, Is.EqualTo(HttpStatusCode.OK), "anonymous, on the management port");
            Assert.That(await metrics.Content.ReadAsStringAsync(), Does.Contain("target_info"));
        }

        Assert.That((await publicPort.GetAsync("/metrics")).StatusCode, Is.EqualTo(HttpStatusCode.NotFound), "not on the public port");
        Assert.That((await admin.GetAsync("/metrics")).StatusCode, Is.EqualTo(HttpStatusCode.NotFound), "not on the public port, key or not");
        Assert.That((await admin.GetAsync("/api/schedules")).StatusCode, Is.EqualTo(HttpStatusCode.OK), "the API stays on the public port");

        Assert.That((await management.GetAsync("/healthz")).StatusCode, Is.EqualTo(HttpStatusCode.OK), "probes answer on the management port");
        using var adminOnManagement = new HttpClient { BaseAddress = management.BaseAddress };
        adminOnManagement.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", server.PrintedAdminKey);
        Assert.That((await adminOnManagement.GetAsync("/api/schedules")).StatusCode, Is.EqualTo(HttpStatusCode.NotFound), "no API on the management port");
        Assert.That((await management.GetAsync("/")).StatusCode, Is.EqualTo(HttpStatusCode.NotFound), "no dashboard on the management port");
    }

    [Test]
    public async Task A_bad_management_port_or_otlp_endpoint_stops_start_up_naming_each_setting()
    {
        await using var server = ServerProcess.Start(new Dictionary<string, string?>
        {
            ["Orchestrator__Metrics__Port"] = "70000",
            ["OTEL_EXPORTER_OTLP_ENDPOINT"] = "collector:4317",
            ["OTEL_EXPORTER_OTLP_PROTOCOL"] = "thrift",
        });
        var exitCode = await server.WaitForExitAsync(TimeSpan.FromSeconds(60));
        Assert.That(exitCode, Is.Not.Zero);
        Assert.That(server.Output, Does.Contain("Orchestrator:Metrics:Port = 70000")
            .And.Contain("OTEL_EXPORTER_OTLP_ENDPOINT = 'collector:4317'")
            .And.Contain("OTEL_EXPORTER_OTLP_PROTOCOL = 'thrift'").And.Contain("grpc, http/protobuf"));
    }
}
