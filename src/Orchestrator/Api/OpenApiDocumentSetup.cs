using Microsoft.OpenApi;
using Orchestrator.Cluster;

namespace Orchestrator.Api;

/// <summary>
/// The OpenAPI document served at <c>/openapi/v1.json</c>: response schemas come from the routes' typed results and
/// <c>Produces…</c> metadata; this adds what the routes do not say themselves (the key scheme, each operation's role and
/// the key check's problem responses, the health probes that are not minimal-API routes).
/// </summary>
public static class OpenApiDocumentSetup
{
    public static IServiceCollection AddOrchestratorOpenApi(this IServiceCollection services)
    {
        services.AddOpenApi(o =>
        {
            o.AddDocumentTransformer((document, _, _) =>
            {
                document.Info = new OpenApiInfo { Title = "Orchestrator", Version = "v1", Description = "Clustered job orchestration on Quartz.NET." };
                document.Components ??= new OpenApiComponents();
                document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
                document.Components.SecuritySchemes[RoleOperationTransformer.SecuritySchemeName] = new OpenApiSecurityScheme
                {
                    Type = SecuritySchemeType.Http,
                    Scheme = "bearer",
                    Description = "An API key: 'Authorization: Bearer <key>' (or 'X-Api-Key: <key>'). Its role (viewer, operator, admin) "
                        + "is what each operation's requirement lists; a higher role may do what a lower one may.",
                };
                // No document-wide requirement: every operation states its own (RoleOperationTransformer), so an
                // anonymous one (a probe) is not shown as needing a key.
                document.Security = null;
                HealthEndpoints.DescribeProbes(document);
                return Task.CompletedTask;
            });
            o.AddOperationTransformer<RoleOperationTransformer>();
            o.AddOperationTransformer<PagingOperationTransformer>();
        });
        return services;
    }
}
