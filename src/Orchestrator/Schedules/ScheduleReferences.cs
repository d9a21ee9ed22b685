using Orchestrator.Actions;
using Quartz;

namespace Orchestrator.Schedules;

/// <summary>
/// Which schedules still use a project or a name in their action config, for a delete to refuse while they do.
/// A schedule's config lives in its Quartz job data, which no query selects on, so this reads every schedule job;
/// deletes are rare and a full scan keeps Quartz the only store of schedules (nothing mirrors them for lookups).
/// </summary>
public static class ScheduleReferences
{
    /// <summary>The ids of the schedules of <paramref name="project"/> (its Quartz job group), in id order.</summary>
    public static async Task<IReadOnlyList<string>> InProjectAsync(ISchedulerFactory schedulers, string project, CancellationToken ct)
    {
        var scheduler = await schedulers.GetScheduler(ct);
        var keys = await scheduler.GetJobKeys(GroupMatcher<JobKey>.GroupEquals(project), ct);
        return [.. keys.Select(ScheduleIds.Of).Order(StringComparer.Ordinal)];
    }

    /// <summary>The ids of the schedules whose action is <paramref name="reference"/>, in id order.</summary>
    public static async Task<IReadOnlyList<string>> UsingAsync(ISchedulerFactory schedulers, ActionReference reference, CancellationToken ct)
    {
        var scheduler = await schedulers.GetScheduler(ct);
        var keys = await scheduler.GetJobKeys(GroupMatcher<JobKey>.AnyGroup(), ct);
        var users = new List<string>();
        foreach (var key in keys.Where(k => !k.Group.StartsWith(ScheduleService.SystemGroupPrefix, StringComparison.Ordinal)))
        {
            // A job deleted since the keys were read is no user.
            if (await scheduler.GetJobDetail(key, ct) is { } job
                && reference.IsIn(job.JobDataMap.GetString(JobDataKeys.ActionType), job.JobDataMap.GetString(JobDataKeys.Config)))
            {
                users.Add(ScheduleIds.Of(key));
            }
        }

        return [.. users.Order(StringComparer.Ordinal)];
    }
}
