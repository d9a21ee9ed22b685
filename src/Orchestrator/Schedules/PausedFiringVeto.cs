using System.Linq.Expressions;
using Microsoft.EntityFrameworkCore;
using Orchestrator.Data;
using Orchestrator.Telemetry;
using Quartz;

namespace Orchestrator.Schedules;

/// <summary>
/// Resuming a paused schedule never floods (SPEC §3 Lifecycle): a firing of the schedule's own trigger whose due time
/// came while it was paused is vetoed, unless its misfire policy runs it — <c>catch_up</c> runs every missed time,
/// <c>fire_once</c> the pause's last due time only, <c>skip</c> none.
/// </summary>
/// <remarks>
/// <para>
/// Quartz applies a trigger's misfire instruction at the resume only when its next fire time is older than the misfire
/// threshold; a shorter pause leaves the trigger on its past fire times, and Quartz fires each of them back to back. A
/// longer one is moved by the misfire instruction past the pause, so none of its firings is inside it and nothing is
/// vetoed here. Each node decides from the firing and the stored pause intervals (<see cref="SchedulePauses"/>), whose
/// end the resume writes before Quartz resumes, so a firing on any node after a resume on any other finds it.
/// </para>
/// <para>
/// Only a firing later than <see cref="LookAfter"/> looks, and only when its trigger's job data carries the end of the
/// schedule's latest pause (<see cref="ResumedAtKey"/>, written by every resume before Quartz resumes, read by Quartz
/// with the trigger it fires) after its due time: a firing after a resume is at least as late as the resume came after
/// its due time, an on-time firing asks nothing, and a late firing of a schedule never paused (or of a due time after
/// its latest resume: every firing at saturation) costs no query either. Only then one indexed query. A due time that passed less than
/// that before the resume fires as if it had not been paused (its run then stands in the occurrences, as a run does).
/// The veto is recorded by Quartz in its misfire history (reason vetoed); the occurrences route and the counter call it
/// skipped, paused (<see cref="IsPausedVeto"/>).
/// </para>
/// </remarks>
public sealed class PausedFiringVeto(IServiceScopeFactory scopes) : ITriggerListener
{
    /// <summary>How late a firing is before it may be a due time of an ended pause (and looks).</summary>
    public static readonly TimeSpan LookAfter = TimeSpan.FromMilliseconds(100);

    /// <summary>The per-firing mark (in the firing's merged data map, never stored) of a firing this listener vetoed.</summary>
    private const string VetoedKey = "orchestrator.vetoedAsPaused";

    /// <summary>
    /// In the schedule trigger's job data: the latest end of a pause of the schedule (ISO-8601, UTC), the latest
    /// <see cref="SchedulePause.ResumedAt"/> of its stored intervals (<see cref="SchedulePauses.MarkResumedAsync"/>). Kept
    /// in the trigger, not a node's memory, so a resume on any node is seen by a firing on every other: Quartz reads the
    /// trigger's row when it acquires it, which is after the resume that wrote this.
    /// </summary>
    public const string ResumedAtKey = "orchestrator.pauseEndedAt";

    public string Name => nameof(PausedFiringVeto);

    /// <summary>Whether the firing of <paramref name="context"/> was vetoed by this listener: its due time came while paused.</summary>
    public static bool IsPausedVeto(IJobExecutionContext context) => context.MergedJobDataMap.ContainsKey(VetoedKey);

    public async ValueTask<bool> VetoJobExecution(ITrigger trigger, IJobExecutionContext context, CancellationToken cancellationToken = default)
    {
        if (!OccurrenceOutcomes.IsScheduleTrigger(trigger.Key, context.JobDetail.Key)
            || context.Recovering
            || context.GetBackfillSlot() is not null
            || context.ScheduledFireTimeUtc is not { } scheduled
            || context.FireTimeUtc - scheduled <= LookAfter
            || !MayBeHeld(trigger.JobDataMap, scheduled)
            || OccurrenceOutcomes.ForMisfire(trigger) is not { } misfire)
        {
            return false;
        }

        var id = ScheduleIds.Of(context.JobDetail.Key);
        DateTimeOffset? resumedAt;
        await using (var scope = scopes.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>();
            // An ended pause that held the firing (as the occurrences route holds it: from its start, up to its end). An open
            // one does not: a firing while the pause is still being made is a run, which outranks the pause.
            resumedAt = await db.Set<SchedulePause>().AsNoTracking()
                .Where(Holding(id, scheduled))
                .Select(p => p.ResumedAt)
                .FirstOrDefaultAsync(cancellationToken);
        }

        // The trigger has been advanced past this firing already (Quartz's Triggered, calendar applied): its next fire time
        // tells whether more of the pause's due times are still to fire after this one. Not the grid's next time after the
        // scheduled one: when the pause outlasted the misfire threshold, Quartz's fire_once catch-up may carry the first
        // missed due time as its scheduled time, and the grid would call it "not the last" although it is the only one.
        if (resumedAt is not { } end || !Vetoes(misfire.Outcome, trigger.NextFireTimeUtc, end))
        {
            return false;
        }

        context.MergedJobDataMap[VetoedKey] = "true";
        return true;
    }

    /// <summary>
    /// How much earlier than a stored resume a due time must be to be held by it: the resume's instant is one node's
    /// clock and the firing's due time another's, so a due time this close to the resume fires as if not paused.
    /// </summary>
    public static readonly TimeSpan ClockSkew = TimeSpan.FromMilliseconds(500);

    /// <summary>
    /// Whether a pause can hold a firing due at <paramref name="scheduled"/>, by the trigger's data alone: only when the
    /// latest stored pause end (<see cref="ResumedAtKey"/>) is more than <see cref="ClockSkew"/> after it, as
    /// <see cref="Holding"/> asks of every interval. No mark: no pause has ended since marks were written.
    /// </summary>
    public static bool MayBeHeld(JobDataMap triggerData, DateTimeOffset scheduled) =>
        EndedAt(triggerData) is { } resumed && resumed > scheduled + ClockSkew;

    /// <summary>The latest pause end the trigger's data carries (<see cref="ResumedAtKey"/>), or null.</summary>
    public static DateTimeOffset? EndedAt(JobDataMap triggerData) =>
        triggerData.TryGetString(ResumedAtKey, out var text)
        && DateTimeOffset.TryParse(text, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.RoundtripKind, out var at)
            ? at
            : null;

    /// <summary>
    /// The stored pause intervals of <paramref name="scheduleId"/> that hold a firing due at <paramref name="scheduled"/>:
    /// begun by then, and ended by a resume more than <see cref="ClockSkew"/> after it. Not an open one (a firing while
    /// the pause is still being made is a run, which outranks the pause), nor one closed as stale
    /// (<see cref="SchedulePause.ClosedAsStale"/>): Quartz was not paused, and its late firings (a run released from
    /// <c>forbid</c>) are runs.
    /// </summary>
    public static Expression<Func<SchedulePause, bool>> Holding(string scheduleId, DateTimeOffset scheduled)
    {
        var heldUntil = scheduled + ClockSkew;
        return p => p.ScheduleId == scheduleId && p.PausedAt <= scheduled && p.ResumedAt != null && p.ResumedAt > heldUntil
            && (p.ResumedBy == null || p.ResumedBy != SchedulePause.ClosedAsStale);
    }

    /// <summary>
    /// Whether a firing whose due time came during a pause that ended at <paramref name="resumedAt"/> is vetoed, by the
    /// trigger's misfire policy (<see cref="OccurrenceOutcomes.ForMisfire"/>'s outcome): <c>skip</c> vetoes it,
    /// <c>fire_once</c> vetoes all but the pause's last due time (<paramref name="nextDueTime"/>, the trigger's next
    /// fire time once Quartz has advanced it past this firing, calendar applied, is not inside the pause), the one catch-up.
    /// </summary>
    public static bool Vetoes(string policy, DateTimeOffset? nextDueTime, DateTimeOffset resumedAt) =>
        policy != OccurrenceOutcomes.Coalesced || nextDueTime is { } next && next < resumedAt;
}
