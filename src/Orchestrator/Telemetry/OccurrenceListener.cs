using System.Collections.Concurrent;
using Quartz;

namespace Orchestrator.Telemetry;

/// <summary>
/// Counts the outcomes of schedules' due times (<c>orchestrator.occurrences</c>) that Quartz decides, as it decides
/// them, on the node that decides them: a misfire under <c>fire_once</c> (coalesced) or <c>skip</c> (skipped), a firing
/// the <c>skip</c> overlap policy dropped or a listener vetoed (skipped), and a first attempt that is its due time's last
/// word (on time or late, measured by the ledger, <see cref="FiringTelemetry"/>). Prometheus sums the nodes.
/// </summary>
/// <remarks>
/// Only the schedule's own trigger counts: a run-now, a backfill and a recovery trigger are no due times of it, as the
/// occurrences route has it. Quartz calls <see cref="TriggerMisfired"/> inside its misfire handling, under the job
/// store's lock, so it only reads the trigger it is handed and asks the scheduler nothing.
/// </remarks>
public sealed class OccurrenceListener(OrchestratorMetrics metrics, TimeProvider time) : ITriggerListener, IJobListener
{
    /// <summary>
    /// The first attempts running on this node, by fire instance, with the outcome each is when it is over: Quartz's
    /// execution context carries no per-firing slot for it, and the listener hears the end of every firing it admitted.
    /// </summary>
    private readonly ConcurrentDictionary<string, string> firstAttempts = new(StringComparer.Ordinal);

    /// <summary>
    /// The <c>fire_once</c> misfires this node handled, by trigger: the first due time missed and when. The catch-up
    /// Quartz then fires stands for the due times counted as coalesced, so it is not counted again. Quartz keys it on
    /// the first due time missed (a trigger released after a blocked run: the ledger row is that due time's), or fires it
    /// at the instant of the handling. Per node: a catch-up fired or recovered by another node, or after a restart, is
    /// counted again (the trigger's own data map is not stored back by this Quartz's misfire handling).
    /// </summary>
    private readonly ConcurrentDictionary<TriggerKey, (DateTimeOffset FirstMissed, DateTimeOffset HandledAt)> catchUps = new();

    /// <summary>
    /// Set while this flow resumes schedules (<see cref="Resuming"/>): Quartz applies a resumed trigger's misfire inside
    /// the resume call, on the caller's flow, so a misfire heard then is of due times that came while it was paused.
    /// </summary>
    private static readonly AsyncLocal<bool> resuming = new();

    public string Name => nameof(OccurrenceListener);

    /// <summary>
    /// Marks the calling flow as resuming schedules until disposed: the misfires Quartz applies to the resumed triggers
    /// count their due times as the pause's (<see cref="OccurrenceOutcomes.ForResume"/>). Call it around
    /// <see cref="IScheduler.ResumeJob"/> or <see cref="IScheduler.ResumeJobs"/>, from a synchronous statement.
    /// </summary>
    public static IDisposable Resuming()
    {
        resuming.Value = true;
        return new ResumeScope();
    }

    /// <summary>Whether the firing of <paramref name="trigger"/> due at <paramref name="fireTime"/> is the catch-up of a misfire this node handled.</summary>
    internal bool IsCatchUp(TriggerKey trigger, DateTimeOffset fireTime) =>
        catchUps.TryGetValue(trigger, out var misfire)
        && (fireTime == misfire.FirstMissed || Runs.RunLedger.KeyTime(fireTime) == Runs.RunLedger.KeyTime(misfire.HandledAt))
        && catchUps.TryRemove(new KeyValuePair<TriggerKey, (DateTimeOffset, DateTimeOffset)>(trigger, misfire));

    /// <summary>The ledger admitted a due time's first attempt (<see cref="FiringTelemetry"/>), on time or late as it started.</summary>
    internal void FirstAttemptAdmitted(string fireInstanceId, string outcome) => firstAttempts[fireInstanceId] = outcome;

    /// <summary>
    /// Quartz is about to apply the misfire instruction: <see cref="ITrigger.NextFireTimeUtc"/> is still the first due
    /// time missed, and every fire time of the trigger from it up to now is missed with it.
    /// </summary>
    public ValueTask TriggerMisfired(ITrigger trigger, IScheduler scheduler, CancellationToken cancellationToken = default)
    {
        if (OccurrenceOutcomes.IsScheduleTrigger(trigger.Key, trigger.JobKey)
            && trigger.NextFireTimeUtc is { } firstMissed
            && OccurrenceOutcomes.ForMisfire(trigger) is var (outcome, reason))
        {
            var now = time.GetUtcNow();
            var missed = OccurrenceOutcomes.DueTimesMissed(trigger, firstMissed, now);
            if (resuming.Value && OccurrenceOutcomes.ForResume(trigger, missed) is { } paused)
            {
                // The catch-up at a resume is keyed on the first due time missed and counted as it runs.
                foreach (var (pausedOutcome, pausedReason, count) in paused)
                {
                    metrics.RecordOccurrences(trigger.JobKey.Group, pausedOutcome, pausedReason, count);
                }
            }
            else
            {
                metrics.RecordOccurrences(trigger.JobKey.Group, outcome, reason, missed);
                if (outcome == OccurrenceOutcomes.Coalesced)
                {
                    catchUps[trigger.Key] = (firstMissed, now);
                }
            }
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>The <c>skip</c> overlap policy dropped the firing due at <see cref="ITrigger.NextFireTimeUtc"/>.</summary>
    public ValueTask TriggerSkipped(ITrigger trigger, IScheduler scheduler, CancellationToken cancellationToken = default)
    {
        if (OccurrenceOutcomes.IsScheduleTrigger(trigger.Key, trigger.JobKey))
        {
            metrics.RecordOccurrences(trigger.JobKey.Group, OccurrenceOutcomes.Skipped, OccurrenceOutcomes.OverlapReason);
        }

        return ValueTask.CompletedTask;
    }

    public ValueTask JobExecutionVetoed(IJobExecutionContext context, CancellationToken cancellationToken = default)
    {
        if (OccurrenceOutcomes.IsScheduleTrigger(context.Trigger.Key, context.JobDetail.Key) && !context.Recovering && context.GetBackfillSlot() is null)
        {
            metrics.RecordOccurrences(context.JobDetail.Key.Group, OccurrenceOutcomes.Skipped, OccurrenceOutcomes.VetoedReason);
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// A first attempt that is over, and not going to be retried, is its due time's outcome. One stopped by this node's
    /// shutdown is too, unless its job resumes after a shutdown: Quartz then hands it to a recovery, whose attempt makes
    /// the due time retried.
    /// </summary>
    public ValueTask JobWasExecuted(IJobExecutionContext context, JobExecutionException? jobException, CancellationToken cancellationToken = default)
    {
        if (firstAttempts.TryRemove(context.FireInstanceId, out var outcome)
            && !context.RetryScheduled
            && !OccurrenceOutcomes.WillBeRecovered(
                context.Scheduler.Status is SchedulerStatus.ShuttingDown or SchedulerStatus.Shutdown,
                context.JobInstance is Runs.ILedgeredJob { ResumesAfterShutdown: true }))
        {
            metrics.RecordOccurrences(context.JobDetail.Key.Group, outcome, null);
        }

        return ValueTask.CompletedTask;
    }

    private sealed class ResumeScope : IDisposable
    {
        public void Dispose() => resuming.Value = false;
    }
}
