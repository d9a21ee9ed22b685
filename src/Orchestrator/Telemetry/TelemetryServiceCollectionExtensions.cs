using Microsoft.Extensions.Logging.Console;
using OpenTelemetry;
using OpenTelemetry.Exporter;
using OpenTelemetry.Logs;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;
using Orchestrator.Hosting;
using Quartz;
using Quartz.Diagnostics;

namespace Orchestrator.Telemetry;

public static class TelemetryServiceCollectionExtensions
{
    /// <summary>The paths probed every few seconds (or scraped): traced, they would bury the runs.</summary>
    private static readonly string[] UntracedPaths = ["/healthz", "/readyz", "/metrics"];

    /// <summary>
    /// OpenTelemetry for the server: the product's meter and activity source (<see cref="OrchestratorMetrics"/>,
    /// <see cref="OrchestratorActivities"/>) with Quartz's, ASP.NET Core's and HttpClient's, the Prometheus exporter
    /// behind <c>/metrics</c> (on the management port when <c>Orchestrator:Metrics:Port</c> is set), OTLP export when
    /// an <c>OTEL_EXPORTER_OTLP_*ENDPOINT</c> is set, and JSON console logs when <c>Orchestrator:Logging:Json</c> is on.
    /// </summary>
    /// <remarks>
    /// Metrics are always collected (<c>/metrics</c> reads them). Traces are recorded only when something exports them
    /// (an OTLP endpoint for traces, or a test's exporter), so a server nobody traces does not build a span per
    /// request; the sources and instrumentations are configured either way, for whichever exporter turns tracing on.
    /// </remarks>
    /// <summary>
    /// <see cref="OccurrenceListener"/> on the scheduler, as a trigger listener (misfires, overlap skips) and a job
    /// listener (vetoes, first attempts that are over): one instance for both.
    /// </summary>
    private static void AddOccurrenceCounting(this IServiceCollection services)
    {
        services.AddSingleton<OccurrenceListener>();
        services.ConfigureAllQuartzSchedulers(q =>
        {
            q.AddTriggerListener(sp => sp.GetRequiredService<OccurrenceListener>());
            q.AddJobListener(sp => sp.GetRequiredService<OccurrenceListener>());
        });
    }

    public static WebApplicationBuilder AddOrchestratorTelemetry(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        var services = builder.Services;
        services.AddSingleton<OrchestratorMetrics>();
        services.AddSingleton<RunTelemetry>();
        services.AddOccurrenceCounting();

        var otel = services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService(
                serviceName: configuration["OTEL_SERVICE_NAME"] is { Length: > 0 } name ? name : "orchestrator",
                serviceVersion: typeof(TelemetryServiceCollectionExtensions).Assembly.GetName().Version?.ToString()))
            .WithMetrics(metrics => metrics
                .AddMeter(OrchestratorMetrics.MeterName, QuartzInstrumentation.MeterName)
                .AddAspNetCoreInstrumentation()
                .AddHttpClientInstrumentation()
                .AddPrometheusExporter());

        services.ConfigureOpenTelemetryTracerProvider(tracing => tracing
            .AddSource(OrchestratorActivities.SourceName, QuartzInstrumentation.ActivitySourceName, MailKit.Telemetry.SmtpClient.ActivitySourceName)
            .AddAspNetCoreInstrumentation(aspnet => aspnet.Filter = context => !UntracedPaths.Any(p => context.Request.Path.StartsWithSegments(p)))
            .AddHttpClientInstrumentation());

        if (TelemetrySettings.OtlpConfigured(configuration))
        {
            // OTEL_EXPORTER_OTLP_ENDPOINT: every signal to one collector, each with the other OTEL_* settings (protocol,
            // headers, timeout, the per-signal endpoints and the exporters' batch and interval settings).
            otel.UseOtlpExporter();
        }
        else
        {
            // Only some signals have an endpoint of their own: only those are exported (the others would go to the
            // default localhost:4317 and fail on every export).
            if (TelemetrySettings.OtlpConfigured(configuration, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"))
            {
                otel.WithTracing(tracing => tracing.AddOtlpExporter());
            }

            if (TelemetrySettings.OtlpConfigured(configuration, "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"))
            {
                otel.WithMetrics(metrics => metrics.AddOtlpExporter());
            }

            if (TelemetrySettings.OtlpConfigured(configuration, "OTEL_EXPORTER_OTLP_LOGS_ENDPOINT"))
            {
                otel.WithLogging(logging => logging.AddOtlpExporter());
            }
        }

        builder.AddManagementPort();
        builder.AddJsonConsoleLogs();
        return builder;
    }

    /// <summary>
    /// <c>/metrics</c> in Prometheus text format, anonymous. With <c>Orchestrator:Metrics:Port</c> it answers only on
    /// that port, and the management port answers nothing else but the health probes: a request for anything else
    /// there is 404, as <c>/metrics</c> is on the public port (routing has no such route).
    /// </summary>
    /// <remarks>
    /// Before authentication, so a scraper needs no key. Which listener a request came in on is the connection's local
    /// port, which a client cannot choose the way it chooses a Host header.
    /// </remarks>
    public static WebApplication UseOrchestratorMetrics(this WebApplication app)
    {
        var port = app.Configuration.GetSection(OrchestratorOptions.SectionName + ":Metrics").Get<MetricsOptions>()?.Port;
        if (port is { } management)
        {
            app.Use((context, next) =>
            {
                var path = context.Request.Path;
                if (context.Connection.LocalPort != management || path == "/metrics" || path == "/healthz" || path == "/readyz")
                {
                    return next(context);
                }

                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return Task.CompletedTask;
            });
        }

        app.UseOpenTelemetryPrometheusScrapingEndpoint(context =>
            context.Request.Path == "/metrics" && (port is null || context.Connection.LocalPort == port));
        return app;
    }

    private static void AddManagementPort(this WebApplicationBuilder builder)
    {
        if (builder.Configuration.GetSection(OrchestratorOptions.SectionName + ":Metrics").Get<MetricsOptions>()?.Port is not { } port)
        {
            return;
        }

        if (builder.Configuration.GetSection("Kestrel:Endpoints").GetChildren().Any())
        {
            // Endpoints from configuration replace the URLs; a listener added in code is bound beside them.
            builder.WebHost.ConfigureKestrel(kestrel => kestrel.ListenAnyIP(port));
            return;
        }

        // Added to the URLs rather than as a Kestrel listener in code: a listener in code would make Kestrel ignore the
        // configured URLs (--urls, ASPNETCORE_URLS) and the public port with them.
        builder.WebHost.UseUrls([.. TelemetrySettings.PublicUrls(builder.Configuration), $"http://*:{port}"]);
    }

    private static void AddJsonConsoleLogs(this WebApplicationBuilder builder)
    {
        if (builder.Configuration.GetSection(OrchestratorOptions.SectionName + ":Logging").Get<LoggingOptions>()?.Json != true)
        {
            // Logging:Console:FormatterName=json (the standard setting) still works, with its own FormatterOptions.
            return;
        }

        builder.Services.Configure<ConsoleLoggerOptions>(console => console.FormatterName = ConsoleFormatterNames.Json);
        builder.Services.Configure<JsonConsoleFormatterOptions>(json =>
        {
            json.UseUtcTimestamp = true;
            json.TimestampFormat ??= "yyyy-MM-ddTHH:mm:ss.fffZ";
            // Scopes carry the TraceId and SpanId of the activity a line was written in, which joins a log line to its trace.
            json.IncludeScopes = true;
            json.JsonWriterOptions = json.JsonWriterOptions with { Indented = false };
        });
    }
}
