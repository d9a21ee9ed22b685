using Microsoft.AspNetCore.Http.HttpResults;
using Quartz;
using Orchestrator.Security;

namespace Orchestrator.Cluster;

public sealed record ClusterNodeResponse(
    string InstanceId, DateTimeOffset? LastCheckIn, double? CheckInIntervalSeconds, string State, bool IsThisNode);

public static class ClusterEndpoints
{
    public static IEndpointRouteBuilder MapCluster(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/cluster").WithTags("Cluster").RequireAuthorization(Policies.Viewer);
        group.MapGet("/nodes", ListNodes).WithName("ListClusterNodes")
            .WithSummary("Scheduler instances sharing this store, with their last check-in; state is alive, overdue or failed.");
        return app;
    }

    public static async Task<Ok<IReadOnlyList<ClusterNodeResponse>>> ListNodes(ISchedulerFactory schedulers, CancellationToken ct)
    {
        var scheduler = await schedulers.GetScheduler(ct);
        var nodes = await scheduler.QueryClusterNodes(ct);
        IReadOnlyList<ClusterNodeResponse> response =
        [
            .. nodes.Select(n => new ClusterNodeResponse(
                n.InstanceId,
                n.LastCheckInUtc,
                n.CheckInInterval?.TotalSeconds,
                n.State.ToString().ToLowerInvariant(),
                n.IsCurrentNode)),
        ];
        return TypedResults.Ok(response);
    }
}
