using Orchestrator.Hosting;

namespace Orchestrator.Telemetry;

/// <summary>
/// Checks the telemetry settings before anything starts: the management port, and the standard <c>OTEL_*</c>
/// variables the OpenTelemetry SDK would otherwise reject late (an exporter that fails on every export) or ignore.
/// </summary>
public static class TelemetrySettings
{
    private const string Prefix = OrchestratorOptions.SectionName + ":";

    /// <summary>The OTLP endpoint variables: any one set turns the OTLP export of its signals on.</summary>
    public static readonly IReadOnlyList<string> OtlpEndpointVariables =
    [
        "OTEL_EXPORTER_OTLP_ENDPOINT",
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT",
        "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT",
    ];

    /// <summary>The protocols the .NET OTLP exporter speaks.</summary>
    public static readonly IReadOnlyList<string> OtlpProtocols = ["grpc", "http/protobuf"];

    /// <summary>The <c>Orchestrator:Metrics</c> and <c>Orchestrator:Logging</c> sections.</summary>
    public static IEnumerable<string> Check(OrchestratorOptions options)
    {
        if (options.Metrics.Port is { } port and (< 1 or > 65_535))
        {
            yield return $"{Prefix}Metrics:Port = {port} must be a TCP port between 1 and 65535, or unset to serve /metrics on the public port.";
        }
    }

    /// <summary>The settings outside the <c>Orchestrator</c> section: the <c>OTEL_*</c> variables and the public URLs.</summary>
    public static IEnumerable<string> Check(OrchestratorOptions options, IConfiguration configuration)
    {
        foreach (var variable in OtlpEndpointVariables)
        {
            if (configuration[variable] is { Length: > 0 } value
                && !(Uri.TryCreate(value, UriKind.Absolute, out var uri) && (uri.Scheme == Uri.UriSchemeHttp || uri.Scheme == Uri.UriSchemeHttps)))
            {
                yield return $"{variable} = '{value}' must be an absolute http:// or https:// URL, e.g. 'http://collector:4317' (gRPC) or 'http://collector:4318' (http/protobuf).";
            }
        }

        foreach (var variable in new[] { "OTEL_EXPORTER_OTLP_PROTOCOL", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL", "OTEL_EXPORTER_OTLP_METRICS_PROTOCOL", "OTEL_EXPORTER_OTLP_LOGS_PROTOCOL" })
        {
            if (configuration[variable] is { Length: > 0 } value && !OtlpProtocols.Contains(value))
            {
                yield return $"{variable} = '{value}' is not supported. Accepted values: {string.Join(", ", OtlpProtocols)}.";
            }
        }

        if (options.Metrics.Port is { } port && PublicUrls(configuration).FirstOrDefault(u => PortOf(u) == port) is { } clash)
        {
            yield return $"{Prefix}Metrics:Port = {port} is also the port of the public URL '{clash}'; " +
                         "choose another port for the management listener, or unset it to serve /metrics on the public port.";
        }
    }

    /// <summary>Whether any OTLP endpoint is configured.</summary>
    public static bool OtlpConfigured(IConfiguration configuration, string variable = "OTEL_EXPORTER_OTLP_ENDPOINT") =>
        !string.IsNullOrWhiteSpace(configuration[variable]);

    /// <summary>
    /// The URLs the server listens on as configured (<c>--urls</c>, <c>ASPNETCORE_URLS</c>, <c>urls</c>, or
    /// <c>ASPNETCORE_HTTP_PORTS</c>/<c>HTTPS_PORTS</c>), or ASP.NET Core's default when none is; as written, so
    /// they can be handed back to the host with the management URL added.
    /// </summary>
    public static IReadOnlyList<string> PublicUrls(IConfiguration configuration)
    {
        var urls = new List<string>();
        if (configuration["urls"] is { Length: > 0 } configured)
        {
            urls.AddRange(configured.Split(';', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries));
        }
        else
        {
            urls.AddRange(Ports(configuration["http_ports"]).Select(p => $"http://*:{p}"));
            urls.AddRange(Ports(configuration["https_ports"]).Select(p => $"https://*:{p}"));
        }

        return urls.Count == 0 ? ["http://localhost:5000"] : urls;
    }

    /// <summary>The port of a Kestrel URL (which may use the '*' and '+' wildcards Uri does not take as hosts).</summary>
    public static int? PortOf(string url)
    {
        var normal = url.Replace("://*", "://0.0.0.0", StringComparison.Ordinal).Replace("://+", "://0.0.0.0", StringComparison.Ordinal);
        return Uri.TryCreate(normal, UriKind.Absolute, out var uri) ? uri.Port : null;
    }

    private static string[] Ports(string? list) =>
        (list ?? "").Split([';', ','], StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
}
