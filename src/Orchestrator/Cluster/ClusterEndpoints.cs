using System.ComponentModel;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using Orchestrator.Security;
using Quartz;

namespace Orchestrator.Cluster;

public sealed record ClusterNodeResponse(
    [property: Description("The scheduler instance id this node checks in with.")] string InstanceId,
    [property: Description("When the node last checked in with the store; null when it never has.")] DateTimeOffset? LastCheckIn,
    [property: Description("How often the node checks in, in seconds; null when the store does not record it.")] double? CheckInIntervalSeconds,
    [property: Description("alive: checked in on time; overdue: late but not yet written off; failed: the cluster takes over its work.")]
    [property: JsonConverter(typeof(LowerCaseNodeStateConverter))]
    ClusterNodeState State,
    [property: Description("True for the node that answered this request.")] bool IsThisNode);

/// <summary>Quartz's node states as the API has always written them: <c>alive</c>, <c>overdue</c>, <c>failed</c>.</summary>
public sealed class LowerCaseNodeStateConverter() : JsonStringEnumConverter<ClusterNodeState>(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false);

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
            .. nodes.Select(n => new ClusterNodeResponse(n.InstanceId, n.LastCheckInUtc, n.CheckInInterval?.TotalSeconds, n.State, n.IsCurrentNode)),
        ];
        return TypedResults.Ok(response);
    }
}
