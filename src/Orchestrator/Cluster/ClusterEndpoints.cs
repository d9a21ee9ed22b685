using System.ComponentModel;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using Orchestrator.Security;
using Orchestrator.Api;
using Quartz;
using Quartz.Extensibility;

namespace Orchestrator.Cluster;

public sealed record ClusterNodeResponse(
    [property: Description("The scheduler instance id this node checks in with.")] string InstanceId,
    [property: Description("When the node last checked in with the store; null when it never has.")] DateTimeOffset? LastCheckIn,
    [property: Description("How often the node checks in, in seconds; null when the store does not record it.")] double? CheckInIntervalSeconds,
    [property: Description("alive: checked in on time; overdue: late but not yet written off; failed: the cluster takes over its work.")]
    [property: JsonConverter(typeof(LowerCaseNodeStateConverter))]
    ClusterNodeState State,
    [property: Description("True for the node that answered this request.")] bool IsThisNode);

/// <summary>A fire time some schedule missed, with the schedule it belongs to.</summary>
public sealed record ClusterMisfire(
    [property: Description("The schedule's id, project.name.")] string Schedule,
    [property: Description("The fire time that was missed; null when the trigger had none left.")] DateTimeOffset? ScheduledFireTime,
    [property: Description("When a node noticed it.")] DateTimeOffset DetectedAt,
    [property: Description("The node that noticed it.")] string Node,
    [property: Description("How it was handled: Quartz's misfire reason.")] string Reason);

/// <summary>Quartz's node states as the API has always written them: <c>alive</c>, <c>overdue</c>, <c>failed</c>.</summary>
public sealed class LowerCaseNodeStateConverter() : JsonStringEnumConverter<ClusterNodeState>(JsonNamingPolicy.SnakeCaseLower, allowIntegerValues: false);

public static class ClusterEndpoints
{
    public static IEndpointRouteBuilder MapCluster(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/cluster").WithTags("Cluster").RequireAuthorization(Policies.Viewer);
        group.MapGet("/nodes", ListNodes).WithName("ListClusterNodes")
            .WithSummary("Scheduler instances sharing this store, with their last check-in; state is alive, overdue or failed.");
        group.MapGet("/misfires", ListMisfires).WithName("ListClusterMisfires")
            .WithSummary("The newest fire times any schedule missed, from Quartz's misfire history, in one query (pageSize 1 to 1000, default 100).")
            .WithPaging(PagingRule.NewestOnly)
            .ProducesValidationProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status400BadRequest);
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

    /// <summary>
    /// Every schedule's misfires, newest first, in one store query: the dashboard's cluster page asked each schedule in
    /// turn (up to 201 requests). The server's own jobs (groups starting with '_') are left out, as from every schedule route,
    /// and a project-scoped key sees only its projects' schedules (a job's group is its project).
    /// </summary>
    public static async Task<Results<Ok<NewestPage<ClusterMisfire>>, ProblemHttpResult>> ListMisfires(
        ISchedulerFactory schedulers, IExecutionHistoryStore history, ProjectScope scope, int? pageSize, CancellationToken ct)
    {
        var paging = PagingRule.NewestOnly.Read(null, pageSize);
        if (!paging.Succeeded)
        {
            return paging.Problem.ToProblemResult();
        }

        var scheduler = await schedulers.GetScheduler(ct);
        var take = paging.Value.Size;
        // System jobs' misfires, and for a project-scoped key other projects', are fetched and dropped: ask for more so a
        // page is still full after dropping them, and read on while the store has more and no row past the page is known
        // to be visible. HasMore then comes from rows this key may see: the store's own flag also counted rows of other
        // projects, and said "older misfires exist" to a key that could never see one.
        var query = new MisfireHistoryQuery { SchedulerName = scheduler.SchedulerName, Take = Math.Min(take * 2, 2000) };
        var visible = new List<MisfireHistoryEntry>();
        while (true)
        {
            var page = await history.QueryMisfires(query, ct);
            visible.AddRange(page.Items.Where(m => m.JobKey is { } key && !key.Group.StartsWith('_') && scope.Allows(key.Group)));
            if (visible.Count > take || !page.HasMore || page.Items.Count == 0)
            {
                break;
            }

            query = new MisfireHistoryQuery { SchedulerName = scheduler.SchedulerName, Skip = query.Skip + page.Items.Count, Take = 2000 };
        }

        visible = [.. visible.OrderByDescending(m => m.MisfiredAtUtc)];
        IReadOnlyList<ClusterMisfire> misfires =
        [
            .. visible
                .Take(take)
                .Select(m => new ClusterMisfire(Schedules.ScheduleIds.Of(m.JobKey!), m.ScheduledFireTimeUtc, m.MisfiredAtUtc, m.SchedulerInstanceId, m.Reason.ToString().ToLowerInvariant())),
        ];
        return TypedResults.Ok(new NewestPage<ClusterMisfire>(misfires, take, visible.Count > take));
    }
}
