using Microsoft.Extensions.Diagnostics.HealthChecks;
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
