using Orchestrator.Schedules;
using Quartz;

namespace Orchestrator.Telemetry;

/// <summary>
/// The words of <c>orchestrator.occurrences</c> and the rules that pick one, free of I/O so each is a unit test. The
/// words and the on-time tolerance are <see cref="OccurrenceTimeline"/>'s, so the counter and
/// <c>GET /api/schedules/{id}/occurrences</c> say the same of a due time.
/// </summary>
public static class OccurrenceOutcomes
{
    public const string OnTime = "on_time";
    public const string Late = "late";
    public const string Retried = "retried";
    public const string Coalesced = "coalesced";
    public const string Skipped = "skipped";

    /// <summary>A skip by the <c>skip</c> misfire policy: missed by more than the misfire threshold, not run.</summary>
    public const string MisfirePolicyReason = "misfire_policy";

    /// <summary>A skip by the <c>skip</c> overlap policy: the previous firing was still running.</summary>
    public const string OverlapReason = "overlap";

    /// <summary>A firing a trigger listener vetoed.</summary>
    public const string VetoedReason = "vetoed";

    /// <summary>
    /// The most due times one misfire is counted as: a trigger asleep for years (a schedule paused long ago, every
    /// second) is not walked further than the occurrences route would answer.
    /// </summary>
    public const int MaxFolded = ScheduleOccurrences.MaxOccurrences;

    /// <summary>
    /// On time or late, by how long after the instant the trigger fired it the first attempt started: measured and
    /// rounded as <see cref="OccurrenceTimeline"/> measures a run (whole milliseconds, more than the tolerance is late).
    /// </summary>
    public static string ForLateness(TimeSpan lateBy) =>
        (long)Math.Max(0, lateBy.TotalMilliseconds) > OccurrenceTimeline.OnTimeTolerance.TotalMilliseconds ? Late : OnTime;

    /// <summary>
    /// How many due times of <paramref name="trigger"/> a misfire handled at <paramref name="handledAt"/> stands for:
    /// <paramref name="firstMissed"/> (the trigger's next fire time when Quartz noticed the misfire) and every later fire
    /// time of the trigger up to <paramref name="handledAt"/> (a <c>fire_once</c> catch-up fires then; a <c>skip</c>
    /// moves on to the first fire time after it). None when the first missed time is not past.
    /// </summary>
    public static int DueTimesMissed(ITrigger trigger, DateTimeOffset firstMissed, DateTimeOffset handledAt)
    {
        if (firstMissed > handledAt)
        {
            return 0;
        }

        var count = 1;
        var cursor = firstMissed;
        while (count < MaxFolded && trigger.GetFireTimeAfter(cursor) is { } next && next <= handledAt)
        {
            count++;
            cursor = next;
        }

        return count;
    }

    /// <summary>
    /// What a misfire of <paramref name="trigger"/> makes of the due times it missed, by the misfire instruction
    /// <see cref="ScheduleMapping"/> gave it for the schedule's policy: <c>fire_once</c> folds them into one catch-up
    /// (coalesced), <c>skip</c> leaves them (skipped, misfire_policy); <see langword="null"/> for <c>catch_up</c>, whose
    /// missed times each still fire (and are counted when they run, late).
    /// </summary>
    public static (string Outcome, string? Reason)? ForMisfire(ITrigger trigger) => trigger switch
    {
        ICronTrigger cron => cron.MisfireInstruction switch
        {
            CronTriggerMisfireInstruction.IgnoreMisfires => null,
            CronTriggerMisfireInstruction.DoNothing => (Skipped, MisfirePolicyReason),
            _ => (Coalesced, null),
        },
        ISimpleTrigger simple => simple.MisfireInstruction switch
        {
            SimpleTriggerMisfireInstruction.IgnoreMisfires => null,
            SimpleTriggerMisfireInstruction.NextWithRemainingCount or SimpleTriggerMisfireInstruction.NextWithExistingCount => (Skipped, MisfirePolicyReason),
            _ => (Coalesced, null),
        },
        ICalendarIntervalTrigger calendar => calendar.MisfireInstruction switch
        {
            CalendarIntervalTriggerMisfireInstruction.IgnoreMisfires => null,
            CalendarIntervalTriggerMisfireInstruction.DoNothing => (Skipped, MisfirePolicyReason),
            _ => (Coalesced, null),
        },
        _ => null,
    };

    /// <summary>
    /// Whether <paramref name="fireTime"/> is one of <paramref name="trigger"/>'s own fire times, rather than the
    /// instant a <c>fire_once</c> misfire was handled at (the catch-up fires then; it stands for the due times it folded,
    /// counted as coalesced when the misfire was handled, and is no due time of its own). Quartz fires such a catch-up
    /// at "now", off the whole seconds a schedule's fire times are on; an interval trigger is restarted there, so its
    /// catch-up is the firing at its (new) start after it had fired before.
    /// </summary>
    public static bool IsDueTime(ITrigger trigger, DateTimeOffset fireTime, DateTimeOffset? previousFireTime) =>
        trigger is ISimpleTrigger
            ? !(fireTime == trigger.StartTimeUtc && previousFireTime is not null && fireTime.UtcTicks % TimeSpan.TicksPerSecond != 0)
            : trigger.GetFireTimeAfter(fireTime.AddTicks(-1)) == fireTime;

    /// <summary>Whether <paramref name="trigger"/> is the schedule's own trigger (keyed as its job), not a run-now, backfill or system trigger.</summary>
    public static bool IsScheduleTrigger(TriggerKey trigger, JobKey job) =>
        trigger.Name == job.Name && trigger.Group == job.Group && !job.Group.StartsWith(ScheduleService.SystemGroupPrefix, StringComparison.Ordinal);
}
