using Quartz;
using Quartz.Impl.AdoJobStore;

namespace Orchestrator.Schedules;

/// <summary>
/// At start-up, before this node's scheduler starts firing (Quartz's hosted service waits for the application to have
/// started): every interval schedule still stored as a repeating simple trigger, as intervals were before they kept
/// their phase, is stored again as the calendar-interval trigger <see cref="ScheduleMapping"/> builds today
/// (<see cref="ScheduleMapping.PhaseKeeping"/>), from its next fire time, so its next misfire no longer moves its grid.
/// </summary>
/// <remarks>
/// A paused schedule is left as it is until it is next saved (<see cref="ScheduleMapping.ContinueTrigger"/>) or the
/// first start-up after its resume: storing its trigger again would replace Quartz's record of the pause (when, by whom,
/// why). Converting is idempotent (a converted trigger is no simple trigger), so nodes that start together at worst
/// store the same trigger twice.
/// </remarks>
public sealed partial class IntervalPhaseUpgrade(ISchedulerFactory schedulers, ILogger<IntervalPhaseUpgrade> logger) : IHostedService
{
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        var converted = await ConvertAsync(await schedulers.GetScheduler(cancellationToken), cancellationToken);
        if (converted > 0)
        {
            LogConverted(converted);
        }
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    /// <summary>Converts every schedule's repeating simple trigger that is not paused; the value is how many.</summary>
    public static async Task<int> ConvertAsync(IScheduler scheduler, CancellationToken ct)
    {
        var headers = await scheduler.QueryTriggers(new TriggerQuery { Take = PagedQuery.All }, ct);
        var candidates = headers.Items
            .Where(h => h.TriggerType == AdoConstants.TriggerTypeSimple && h.State != TriggerState.Paused
                && !h.Key.Group.StartsWith(ScheduleService.SystemGroupPrefix, StringComparison.Ordinal))
            .Select(h => h.Key)
            .ToList();
        var converted = 0;
        foreach (var batch in candidates.Chunk(500))
        {
            foreach (var trigger in await scheduler.GetTriggers(batch, ct))
            {
                // Only a schedule's own trigger (keyed as its job): a run-now or backfill trigger is one-shot anyway.
                if (trigger.Key.Name != trigger.JobKey.Name || trigger.Key.Group != trigger.JobKey.Group || ScheduleMapping.PhaseKeeping(trigger) is not { } kept)
                {
                    continue;
                }

                await scheduler.RescheduleJob(trigger.Key, kept, ct);
                converted++;
            }
        }

        return converted;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Stored {Count} interval schedules as calendar-interval triggers, so a misfire no longer moves their fire times.")]
    private partial void LogConverted(int count);
}
