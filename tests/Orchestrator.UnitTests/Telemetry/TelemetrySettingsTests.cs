using Microsoft.Extensions.Configuration;
using Orchestrator.Hosting;
using Orchestrator.Telemetry;

namespace Orchestrator.UnitTests.Telemetry;

public sealed class TelemetrySettingsTests
{
    private static IConfiguration Configuration(params (string Key, string Value)[] values) =>
        new ConfigurationBuilder().AddInMemoryCollection(values.Select(v => new KeyValuePair<string, string?>(v.Key, v.Value))).Build();

    [Test]
    public void Defaults_are_valid_and_export_nothing_over_otlp()
    {
        var options = new OrchestratorOptions();
        Assert.That(TelemetrySettings.Check(options), Is.Empty);
        Assert.That(TelemetrySettings.Check(options, Configuration()), Is.Empty);
        Assert.That(TelemetrySettings.OtlpConfigured(Configuration()), Is.False);
    }

    [TestCase(0)]
    [TestCase(65_536)]
    [TestCase(-1)]
    public void A_management_port_outside_the_tcp_range_is_refused_naming_the_setting(int port)
    {
        var failures = TelemetrySettings.Check(new OrchestratorOptions { Metrics = { Port = port } }).ToList();
        Assert.That(failures, Has.Count.EqualTo(1));
        Assert.That(failures[0], Does.StartWith($"Orchestrator:Metrics:Port = {port} must be a TCP port"));
    }

    [Test]
    public void The_options_validator_reports_the_telemetry_settings_with_the_others()
    {
        var failures = OrchestratorOptionsValidator.Check(new OrchestratorOptions { Metrics = { Port = 0 }, Scheduler = { MaxConcurrency = 0 } });
        Assert.That(failures, Has.Some.StartsWith("Orchestrator:Metrics:Port").And.Some.StartsWith("Orchestrator:Scheduler:MaxConcurrency"));
    }

    [TestCase("urls", "http://127.0.0.1:9464")]
    [TestCase("urls", "http://localhost:8080;http://*:9464")]
    [TestCase("http_ports", "9464")]
    public void A_management_port_that_is_also_a_public_port_is_refused(string key, string value)
    {
        var failures = TelemetrySettings.Check(new OrchestratorOptions { Metrics = { Port = 9464 } }, Configuration((key, value))).ToList();
        Assert.That(failures, Has.Count.EqualTo(1));
        Assert.That(failures[0], Does.Contain("Orchestrator:Metrics:Port = 9464 is also the port of the public URL"));
    }

    [Test]
    public void Without_configured_urls_the_public_port_is_aspnet_cores_default()
    {
        Assert.That(TelemetrySettings.PublicUrls(Configuration()), Is.EqualTo(new[] { "http://localhost:5000" }));
        Assert.That(TelemetrySettings.Check(new OrchestratorOptions { Metrics = { Port = 5000 } }, Configuration()), Is.Not.Empty);
        Assert.That(TelemetrySettings.PublicUrls(Configuration(("http_ports", "8080;8081"), ("https_ports", "8443"))),
            Is.EqualTo(new[] { "http://*:8080", "http://*:8081", "https://*:8443" }));
        Assert.That(TelemetrySettings.PortOf("http://+:9464"), Is.EqualTo(9464));
        Assert.That(TelemetrySettings.PortOf("https://[::]:443"), Is.EqualTo(443));
    }

    [TestCase("OTEL_EXPORTER_OTLP_ENDPOINT", "collector:4317")]
    [TestCase("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "ftp://collector/v1/traces")]
    [TestCase("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT", "/v1/metrics")]
    public void An_otlp_endpoint_that_is_not_an_absolute_http_url_is_refused_naming_the_variable(string variable, string value)
    {
        var failures = TelemetrySettings.Check(new OrchestratorOptions(), Configuration((variable, value))).ToList();
        Assert.That(failures, Has.Count.EqualTo(1));
        Assert.That(failures[0], Does.StartWith($"{variable} = '{value}' must be an absolute http:// or https:// URL"));
    }

    [Test]
    public void Otlp_endpoints_and_protocols_the_exporter_speaks_are_accepted()
    {
        var configuration = Configuration(
            ("OTEL_EXPORTER_OTLP_ENDPOINT", "http://collector:4318"),
            ("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf"),
            ("OTEL_EXPORTER_OTLP_LOGS_ENDPOINT", "https://logs.example.com/v1/logs"),
            ("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "grpc"));
        Assert.That(TelemetrySettings.Check(new OrchestratorOptions(), configuration), Is.Empty);
        Assert.That(TelemetrySettings.OtlpConfigured(configuration), Is.True);
    }

    [Test]
    public void An_otlp_protocol_the_exporter_does_not_speak_is_refused_with_the_accepted_values()
    {
        var failures = TelemetrySettings.Check(new OrchestratorOptions(), Configuration(("OTEL_EXPORTER_OTLP_PROTOCOL", "http/json"))).ToList();
        Assert.That(failures, Is.EqualTo(new[] { "OTEL_EXPORTER_OTLP_PROTOCOL = 'http/json' is not supported. Accepted values: grpc, http/protobuf." }));
    }
}
