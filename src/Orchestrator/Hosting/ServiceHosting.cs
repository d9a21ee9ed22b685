using System.Text.Json;
using Microsoft.AspNetCore.Http.Json;
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

    public static IServiceCollection AddApiConventions(this IServiceCollection services)
    {
        services.AddProblemDetails();
        services.RemoveContentTypeEndpointSelection();
        services.AddExceptionHandler<NulCharacterExceptionHandler>();
        services.AddExceptionHandler<BadRequestExceptionHandler>();
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.Configure<JsonOptions>(o =>
        {
            o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.CamelCase;
            o.SerializerOptions.AllowTrailingCommas = false;
            o.SerializerOptions.UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Skip;
            // A name given twice is refused, in the record and in every JSON object under it (configs, arguments, schemas):
            // "last one wins" would let a reviewer read one value while the server stores another.
            o.SerializerOptions.AllowDuplicateProperties = false;
        });
        services.AddOrchestratorOpenApi();
        return services;
    }
}
