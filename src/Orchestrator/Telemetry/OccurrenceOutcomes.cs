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

    /// <summary>A due time that came while its schedule was paused (its trigger's misfire applied at the resume).</summary>
    public const string PausedReason = "paused";

    /// <summary>
    /// The most due times one misfire is counted as: a trigger asleep for years (a schedule paused long ago, every
    /// second) is not counted further than the occurrences route would answer.
    /// </summary>
    public const int MaxFolded = ScheduleOccurrences.MaxOccurrences;

    /// <summary>
    /// The most fire times of a cron or calendar-interval trigger walked one by one for a misfire: the count runs inside
    /// Quartz's misfire handling, under the job store's lock, so past this the rest is counted in one step.
    /// </summary>
    public const int MaxWalked = 256;

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
    /// moves on to the first fire time after it). None when the first missed time is not past. A simple trigger's are
    /// counted by arithmetic; a cron or calendar trigger's are walked up to <see cref="MaxWalked"/>, and the rest are
    /// counted at the mean spacing of those walked. At most <see cref="MaxFolded"/>.
    /// </summary>
    public static int DueTimesMissed(ITrigger trigger, DateTimeOffset firstMissed, DateTimeOffset handledAt)
    {
        if (firstMissed > handledAt)
        {
            return 0;
        }

        if (trigger is ISimpleTrigger simple)
        {
            var last = simple.FinalFireTimeUtc is { } final && final < handledAt ? final : handledAt;
            if (simple.RepeatInterval <= TimeSpan.Zero || last < firstMissed)
            {
                return 1;
            }

            return (int)Math.Min(MaxFolded, (last - firstMissed).Ticks / simple.RepeatInterval.Ticks + 1);
        }

        var count = 1;
        var cursor = firstMissed;
        while (count < MaxWalked && trigger.GetFireTimeAfter(cursor) is { } next && next <= handledAt)
        {
            count++;
            cursor = next;
        }

        if (count < MaxWalked || trigger.GetFireTimeAfter(cursor) is not { } after || after > handledAt)
        {
            return count;
        }

        // More remain: the rest, at the mean spacing of the fire times walked, up to the trigger's final fire time.
        var end = trigger.FinalFireTimeUtc is { } finalTime && finalTime < handledAt ? finalTime : handledAt;
        var spacing = (cursor - firstMissed).Ticks / (count - 1);
        var rest = spacing > 0 ? (end - cursor).Ticks / spacing : MaxFolded;
        return (int)Math.Min(MaxFolded, count + rest);
    }

    /// <summary>
    /// What a misfire applied at a resume makes of the <paramref name="missed"/> due times that came while the schedule
    /// was paused, as the occurrences route has them: each skipped, paused, but under <c>fire_once</c> the first, which
    /// the catch-up at the resume runs (Quartz keys it on the first due time missed; it is counted as it runs, late);
    /// <see langword="null"/> for <c>catch_up</c>, whose missed times each still fire.
    /// </summary>
    public static IReadOnlyList<(string Outcome, string? Reason, int Count)>? ForResume(ITrigger trigger, int missed) => ForMisfire(trigger) switch
    {
        null => null,
        _ when missed == 0 => [],
        (Coalesced, _) => [(Skipped, PausedReason, missed - 1)],
        _ => [(Skipped, PausedReason, missed)],
    };

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
    /// counted as coalesced when the misfire was handled, and is no due time of its own). A pure rule on the firing, so
    /// every node and every restart answers it alike. Quartz fires a cron or calendar-interval trigger's catch-up at
    /// "now", off its grid (<see cref="IsOnGrid"/>; a jittered trigger's grid is already moved by its offset). A simple
    /// trigger's catch-up under today's <c>NowWithRemainingCount</c> restarts its grid at "now", so it is on the new grid:
    /// it is told by being the firing at its start, with a fraction of a second (schedules fire on whole seconds), after
    /// it had fired before. A simple trigger whose catch-up keeps its phase (fires once now, then on the old grid) is off
    /// its grid like a cron trigger's.
    /// </summary>
    public static bool IsDueTime(ITrigger trigger, DateTimeOffset fireTime, DateTimeOffset? previousFireTime) =>
        IsOnGrid(trigger, fireTime)
        && !(trigger is ISimpleTrigger && fireTime == trigger.StartTimeUtc && previousFireTime is not null && fireTime.UtcTicks % TimeSpan.TicksPerSecond != 0);

    /// <summary>
    /// Whether <paramref name="fireTime"/> is a fire time the trigger computes (its grid), not an instant between two. A
    /// simple trigger's by arithmetic from its start: Quartz's <see cref="ITrigger.GetFireTimeAfter"/> answers none once
    /// the trigger has fired as often as it repeats, which its last firing (and a one-time trigger's only one) already has.
    /// </summary>
    public static bool IsOnGrid(ITrigger trigger, DateTimeOffset fireTime) => trigger is ISimpleTrigger simple
        ? fireTime >= simple.StartTimeUtc && (simple.RepeatInterval > TimeSpan.Zero
            ? (fireTime - simple.StartTimeUtc).Ticks % simple.RepeatInterval.Ticks == 0
            : fireTime == simple.StartTimeUtc)
        // From the whole second before, as ScheduleMapping.NextFireTimes steps: a calendar-interval trigger (every
        // interval schedule) compares its end with a second past the instant asked about, so from a tick before its
        // last fire time it would answer none.
        : trigger.GetFireTimeAfter(new DateTimeOffset(fireTime.UtcTicks - 1 - ((fireTime.UtcTicks - 1) % TimeSpan.TicksPerSecond), TimeSpan.Zero)) == fireTime;

    /// <summary>
    /// Whether a first attempt that ended while its node was <paramref name="shuttingDown"/> goes on in a recovery:
    /// only a job that resumes after a shutdown is handed to one (the ledger rethrows its cancellation); any other's
    /// interrupted attempt is its due time's last word.
    /// </summary>
    public static bool WillBeRecovered(bool shuttingDown, bool resumesAfterShutdown) => shuttingDown && resumesAfterShutdown;

    /// <summary>Whether <paramref name="trigger"/> is the schedule's own trigger (keyed as its job), not a run-now, backfill or system trigger.</summary>
    public static bool IsScheduleTrigger(TriggerKey trigger, JobKey job) =>
        trigger.Name == job.Name && trigger.Group == job.Group && !job.Group.StartsWith(ScheduleService.SystemGroupPrefix, StringComparison.Ordinal);
}
