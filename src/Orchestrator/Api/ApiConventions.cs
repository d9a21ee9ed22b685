using System.Text.Json;
using Microsoft.AspNetCore.Http.Json;

namespace Orchestrator.Api;

/// <summary>What every API route shares: problem details, the JSON reading rules, the typed OpenAPI document.</summary>
public static class ApiConventions
{
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
