using Orchestrator.Api;

namespace Orchestrator.Hosting;

public static class ServiceHosting
{
    /// <summary>Largest request body the API accepts; bigger bodies get 413 before any handler runs.</summary>
    public const long MaxRequestBodyBytes = 1024 * 1024;

    /// <summary>
    /// Console, Windows service or systemd (Type=notify) from the same binary: each integration is a no-op
    /// unless the process was started by that service manager.
    /// </summary>
    public static WebApplicationBuilder AddServiceHosting(this WebApplicationBuilder builder)
    {
        builder.Services.AddWindowsService(o => o.ServiceName = "Orchestrator");
        builder.Services.AddSystemd();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = MaxRequestBodyBytes;
            // The product and its version are nobody's business but the operator's.
            k.AddServerHeader = false;
            k.ConfigureEndpointDefaults(KestrelErrorBodies.Use);
        });
        builder.Services.AddSingleton(TimeProvider.System);
        return builder;
    }
}
