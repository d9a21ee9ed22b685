namespace Orchestrator.Telemetry;

/// <summary><c>Orchestrator:Metrics</c>: where the Prometheus scrape endpoint answers.</summary>
public sealed class MetricsOptions
{
    /// <summary>
    /// A separate management port for <c>/metrics</c>. Set, the server also listens on it (all interfaces), and
    /// <c>/metrics</c> answers only there: the public port answers 404. Unset, <c>/metrics</c> answers on the
    /// public port. Either way it is anonymous, so a Prometheus needs no API key; a separate port is how it is kept
    /// off the internet-facing listener (a firewall or a network policy opens the port to the scraper only).
    /// </summary>
    public int? Port { get; set; }
}

/// <summary><c>Orchestrator:Logging</c>: the shape of the console logs.</summary>
public sealed class LoggingOptions
{
    /// <summary>
    /// One JSON object per line on the console (the built-in <c>json</c> console formatter, UTC timestamps, scopes
    /// with the trace and span ids), for a log shipper. The same as <c>Logging:Console:FormatterName=json</c>.
    /// </summary>
    public bool Json { get; set; }
}
