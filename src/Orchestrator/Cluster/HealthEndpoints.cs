using System.Text.Json.Nodes;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Microsoft.OpenApi;
using Orchestrator.Api;
using Orchestrator.Data;
using Quartz;

namespace Orchestrator.Cluster;

public static class HealthEndpoints
{
    private const string ReadyTag = "ready";

    public static IServiceCollection AddHealth(this IServiceCollection services)
    {
        services.AddHealthChecks()
            .AddCheck<DatabaseHealthCheck>("database", tags: [ReadyTag])
            // Quartz's own check: running and its store answers. Standby is degraded by default (a 200), but a node
            // in standby is one that is shutting down (NodeShutdown) and must leave the load balancer's rotation.
            .AddQuartz(o =>
            {
                o.Name = "scheduler";
                o.Tags.Add(ReadyTag);
                o.StandbyStatus = HealthStatus.Unhealthy;
            });
        return services;
    }

    private static readonly string[] ReadMethods = [HttpMethods.Get, HttpMethods.Head];

    public static IEndpointRouteBuilder MapHealth(this IEndpointRouteBuilder app)
    {
        // Liveness answers from the process alone, so a slow database never gets a healthy node restarted.
        // MapHealthChecks answers every method; a probe only reads (405 with a problem body otherwise).
        app.MapHealthChecks("/healthz", new() { Predicate = _ => false }).WithTags("Health").WithMetadata(new HttpMethodMetadata(ReadMethods));
        app.MapHealthChecks("/readyz", new() { Predicate = c => c.Tags.Contains(ReadyTag) }).WithTags("Health").WithMetadata(new HttpMethodMetadata(ReadMethods));
        return app;
    }

    /// <summary>
    /// The probes in the OpenAPI document. Health-check endpoints are not minimal-API handlers, so the API explorer does
    /// not list them; they are described here, next to where they are mapped, with the bodies the health-check
    /// middleware writes (its plain-text status) and the anonymous access a load balancer needs.
    /// </summary>
    public static void DescribeProbes(OpenApiDocument document)
    {
        document.Paths ??= [];
        document.Tags ??= new HashSet<OpenApiTag>();
        document.Tags.Add(new OpenApiTag { Name = "Health", Description = "Probes for a load balancer or a service manager." });
        document.Paths["/healthz"] = Probe(
            document,
            "Liveness: the process answers. It checks nothing else, so a slow database never gets a healthy node restarted.",
            "GetLiveness", canFail: false);
        document.Paths["/readyz"] = Probe(
            document,
            "Readiness: the run ledger's database answers and the scheduler runs (a node in standby is shutting down).",
            "GetReadiness", canFail: true);
    }

    private static OpenApiPathItem Probe(OpenApiDocument document, string summary, string operationId, bool canFail)
    {
        static OpenApiResponse Status(string description, params string[] bodies) => new()
        {
            Description = description,
            Content = new Dictionary<string, OpenApiMediaType>
            {
                ["text/plain"] = new() { Schema = new OpenApiSchema { Type = JsonSchemaType.String, Enum = [.. bodies.Select(b => (JsonNode)JsonValue.Create(b))] } },
            },
        };

        // Liveness runs no check, so it can only ever be Healthy; readiness reports what its checks found.
        var responses = canFail
            ? new OpenApiResponses
            {
                ["200"] = Status("Healthy, or degraded but still serving.", "Healthy", "Degraded"),
                ["503"] = Status("Unhealthy: take the node out of rotation.", "Unhealthy"),
            }
            : new OpenApiResponses { ["200"] = Status("The process answers.", "Healthy") };

        var operation = new OpenApiOperation
        {
            Tags = new HashSet<OpenApiTagReference> { new("Health", document) },
            Summary = summary,
            Description = "HEAD answers the same status without a body.\n\nRequires no API key.",
            OperationId = operationId,
            Security = [],
            Extensions = new Dictionary<string, IOpenApiExtension>
            {
                [RoleOperationTransformer.RequiredRoleExtension] = new JsonNodeExtension(JsonValue.Create(RoleOperationTransformer.NoRole)),
            },
            Responses = responses,
        };
        return new OpenApiPathItem { Operations = new Dictionary<HttpMethod, OpenApiOperation> { [HttpMethod.Get] = operation } };
    }
}

/// <summary>
/// The run ledger's database through EF Core's own connection: Quartz's check probes only its job store.
/// </summary>
internal sealed class DatabaseHealthCheck(OrchestratorDbContext db) : IHealthCheck
{
    public async Task<HealthCheckResult> CheckHealthAsync(HealthCheckContext context, CancellationToken cancellationToken = default) =>
        await db.Database.CanConnectAsync(cancellationToken)
            ? HealthCheckResult.Healthy()
            : HealthCheckResult.Unhealthy("The database is not reachable.");
}
