using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Orchestrator.Actions;
using Orchestrator.Data;
using Orchestrator.Hosting;
using Orchestrator.Runs;
using Quartz;

namespace Orchestrator.Schedules;

/// <summary>Reads schedules back from Quartz (definition, state, fire times) with their last run from the ledger.</summary>
public sealed class ScheduleReader(ISchedulerFactory schedulers, OrchestratorDbContext db, ActionCatalog actions)
{
    /// <summary>Jobs in groups starting with '_' are the server's own (housekeeping), never listed as schedules.</summary>
    public const string SystemGroupPrefix = "_";

    public async Task<JsonObject?> ReadAsync(JobKey key, CancellationToken ct)
    {
        var scheduler = await schedulers.GetScheduler(ct);
        var job = await scheduler.GetJobDetail(key, ct);
        if (job is null || key.Group.StartsWith(SystemGroupPrefix, StringComparison.Ordinal))
        {
            return null;
        }

        var document = JsonNode.Parse(job.JobDataMap.GetString(JobDataKeys.Schedule) ?? "{}")!.AsObject();
        var trigger = await scheduler.GetTrigger(new TriggerKey(key.Name, key.Group), ct);
        var state = trigger is null ? TriggerState.Complete : await scheduler.GetTriggerState(trigger.Key, ct);
        document["enabled"] = state != TriggerState.Paused;
        document["state"] = StateName(state);
        document["nextFireTime"] = trigger?.NextFireTimeUtc;
        document["previousFireTime"] = trigger?.PreviousFireTimeUtc;

        var scheduleId = ScheduleIds.Of(key);
        var last = await db.Runs.AsNoTracking().Where(r => r.ScheduleId == scheduleId)
            .OrderByDescending(r => r.ScheduledFireTime).FirstOrDefaultAsync(ct);
        document["lastRun"] = last is null
            ? null
            : new JsonObject { ["id"] = last.Id, ["status"] = RunResponse.Name(last.Status), ["scheduledFireTime"] = last.ScheduledFireTime, ["finishedAt"] = last.FinishedAt };
        return document;
    }

    public async Task<(IReadOnlyList<JsonObject> Items, int Total)> ListAsync(string? project, string? actionType, string? state, Paging paging, CancellationToken ct)
    {
        var scheduler = await schedulers.GetScheduler(ct);
        var jobs = await scheduler.QueryJobs(new JobQuery { Take = PagedQuery.All }, ct);
        var keys = jobs.Items
            .Where(j => !j.Key.Group.StartsWith(SystemGroupPrefix, StringComparison.Ordinal))
            .Where(j => project is null || j.Key.Group == project)
            .Where(j => actionType is null || actions.TypeOfJob(j.JobTypeName) == actionType)
            .Select(j => j.Key)
            // Quartz pages in this order already; a job key is unique, so a page never skips or repeats a schedule.
            .OrderBy(k => k.Group, StringComparer.Ordinal).ThenBy(k => k.Name, StringComparer.Ordinal)
            .ToList();

        var matching = new List<JsonObject>();
        if (state is null)
        {
            // Only the requested page is read in full.
            foreach (var key in keys.Skip(paging.Skip).Take(paging.Size))
            {
                if (await ReadAsync(key, ct) is { } schedule)
                {
                    matching.Add(schedule);
                }
            }

            return (matching, keys.Count);
        }

        foreach (var key in keys)
        {
            if (await ReadAsync(key, ct) is { } schedule && schedule["state"]?.GetValue<string>() == state)
            {
                matching.Add(schedule);
            }
        }

        return ([.. matching.Skip(paging.Skip).Take(paging.Size)], matching.Count);
    }

    private static string StateName(TriggerState state) => state switch
    {
        TriggerState.Normal => "active",
        TriggerState.Paused => "paused",
        TriggerState.Blocked => "running",
        TriggerState.Complete => "complete",
        TriggerState.Error => "error",
        _ => state.ToString().ToLowerInvariant(),
    };
}
