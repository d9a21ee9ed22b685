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
            // A misspelled name ("backof", "timeoutSecond", "dryRun") is refused with the names the record knows: skipped, it
            // was stored as the default the caller meant to change. JSON members (configs, inputs, arguments) take any name.
            o.SerializerOptions.UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow;
            // A name given twice is refused, in the record and in every JSON object under it (configs, arguments, schemas):
            // "last one wins" would let a reviewer read one value while the server stores another.
            o.SerializerOptions.AllowDuplicateProperties = false;
            // A number is a JSON number: "60" for intervalSeconds is refused naming the field (the web defaults would read
            // it), so what a client sends is what the documented schema says, and the OpenAPI types are plain integers.
            o.SerializerOptions.NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.Strict;
        });
        services.AddOrchestratorOpenApi();
        services.AddSingleton<QueryParameterRule>();
        return services;
    }
}
