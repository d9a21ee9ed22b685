using System.Collections.Concurrent;
using System.Globalization;
using Quartz;
using Quartz.Extensibility;

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
public sealed class OccurrenceListener(OrchestratorMetrics metrics, IServiceScopeFactory scopes, TimeProvider time) : ITriggerListener, IJobListener
{
    /// <summary>How many of a trigger's latest misfires a late firing reads to find its own.</summary>
    private const int RecentMisfires = 8;

    /// <summary>
    /// The first attempts running on this node, by fire instance, with the outcome each is when it is over: Quartz's
    /// execution context carries no per-firing slot for it, and the listener hears the end of every firing it admitted.
    /// </summary>
    private readonly ConcurrentDictionary<string, string> firstAttempts = new(StringComparer.Ordinal);

    /// <summary>
    /// The last misfire counted, by trigger: its first due time missed. Quartz handles a misfire inside a store
    /// transaction that it rolls back and retries on failure, and this listener hears it again then; the retry names the
    /// same first due time (a misfire handled moves the trigger past it), so it is not counted twice. Per node: a retry
    /// that another node makes after this one failed is counted again (Quartz raises no event after its commit). An entry
    /// goes when its trigger fires (a retry comes before that), so a later misfire with the same first due time (a trigger
    /// stored again from the same point) counts; a node that hears misfires of more triggers than
    /// <see cref="MaxRemembered"/> that then never fire here (deleted, or firing on other nodes) starts over.
    /// </summary>
    private readonly ConcurrentDictionary<TriggerKey, DateTimeOffset> counted = new();

    /// <summary>How many triggers' last misfire a node remembers at most (<see cref="counted"/>).</summary>
    internal const int MaxRemembered = 10_000;

    /// <summary>
    /// Set while this flow resumes schedules (<see cref="Resuming"/>): Quartz applies a resumed trigger's misfire inside
    /// the resume call, on the caller's flow, so a misfire heard then is of due times that came while it was paused.
    /// </summary>
    private static readonly AsyncLocal<bool> resuming = new();

    /// <summary>The per-firing mark (in its merged data map, never stored) of a catch-up (<see cref="IsCatchUp"/>).</summary>
    private const string CatchUpKey = "orchestrator.misfireCatchUp";

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

    /// <summary>
    /// Whether this firing is the <c>fire_once</c> catch-up of a misfire (or its recovery), whose due times were counted
    /// as coalesced when the misfire was handled: decided before the job runs (<see cref="TriggerFired"/>), on the node
    /// that fires it, from the firing and Quartz's shared misfire history, so any node and any restart agrees.
    /// </summary>
    internal static bool IsCatchUp(IJobExecutionContext context) => context.MergedJobDataMap.ContainsKey(CatchUpKey);

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
            if (counted.TryGetValue(trigger.Key, out var last) && last == firstMissed)
            {
                // The same misfire again: Quartz retrying a handling it rolled back.
                return ValueTask.CompletedTask;
            }

            if (counted.Count >= MaxRemembered)
            {
                // Bounded: forgetting risks only counting a rolled-back retry twice, never losing a misfire.
                counted.Clear();
            }

            counted[trigger.Key] = firstMissed;
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
            }
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Marks a <c>fire_once</c> catch-up (<see cref="IsCatchUp"/>) before the job runs. Quartz fires a cron or
    /// calendar-interval trigger's catch-up at the instant it handled the misfire, off the trigger's grid, and restarts
    /// a simple trigger there (<see cref="OccurrenceOutcomes.IsDueTime"/> tells both from the firing alone). A trigger
    /// released after a blocked run fires its first due time missed as the catch-up, on the grid: only a firing later
    /// than <see cref="Schedules.OccurrenceTimeline.OnTimeTolerance"/> under <c>fire_once</c> looks, in Quartz's misfire
    /// history (shared by the nodes), for the misfire of that due time. A recovery of a catch-up is one too: its original
    /// fire time is no due time of the original trigger, or that misfire's.
    /// </summary>
    public async ValueTask TriggerFired(ITrigger trigger, IJobExecutionContext context, CancellationToken cancellationToken = default)
    {
        var job = context.JobDetail.Key;
        // Fired: the misfire remembered for it was handled and committed, so it cannot be retried any more.
        counted.TryRemove(trigger.Key, out _);
        if (context.Recovering)
        {
            if (context.RecoveringTriggerKey is { } original && OccurrenceOutcomes.IsScheduleTrigger(original, job)
                && OriginalFireTime(context) is { } originalTime
                && await context.Scheduler.GetTrigger(original, cancellationToken) is { } originalTrigger
                && (!OccurrenceOutcomes.IsOnGrid(originalTrigger, originalTime) || await MisfiredAsync(originalTrigger, context.Scheduler, originalTime, cancellationToken)))
            {
                context.MergedJobDataMap[CatchUpKey] = "true";
            }

            return;
        }

        if (OccurrenceOutcomes.IsScheduleTrigger(trigger.Key, job)
            && context.ScheduledFireTimeUtc is { } scheduled
            && context.FireTimeUtc - scheduled > Schedules.OccurrenceTimeline.OnTimeTolerance
            && OccurrenceOutcomes.IsDueTime(trigger, scheduled, context.PreviousFireTimeUtc)
            && await MisfiredAsync(trigger, context.Scheduler, scheduled, cancellationToken))
        {
            context.MergedJobDataMap[CatchUpKey] = "true";
        }
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
            // A firing whose due time came while paused, vetoed so that the resume does not flood, is the pause's skip.
            metrics.RecordOccurrences(context.JobDetail.Key.Group, OccurrenceOutcomes.Skipped,
                Schedules.PausedFiringVeto.IsPausedVeto(context) ? OccurrenceOutcomes.PausedReason : OccurrenceOutcomes.VetoedReason);
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

    /// <summary>
    /// Whether Quartz's misfire history holds a <c>fire_once</c> misfire of <paramref name="trigger"/> at
    /// <paramref name="fireTime"/> (compared at whole seconds: a recovery's original fire time has no fractions).
    /// </summary>
    private async Task<bool> MisfiredAsync(ITrigger trigger, IScheduler scheduler, DateTimeOffset fireTime, CancellationToken ct)
    {
        if (OccurrenceOutcomes.ForMisfire(trigger) is not { Outcome: OccurrenceOutcomes.Coalesced })
        {
            return false;
        }

        await using var scope = scopes.CreateAsyncScope();
        var history = scope.ServiceProvider.GetRequiredService<IExecutionHistoryStore>();
        // Newest first: the catch-up fires just after its misfire, so the misfire is among the trigger's latest few.
        var misfires = await history.QueryMisfires(
            new MisfireHistoryQuery { SchedulerName = scheduler.SchedulerName, Trigger = trigger.Key, Reasons = [MisfireReason.Missed], Take = RecentMisfires }, ct);
        var key = Runs.RunLedger.KeyTime(fireTime);
        return misfires.Items.Any(m => m.ScheduledFireTimeUtc is { } missed && Runs.RunLedger.KeyTime(missed) == key);
    }

    /// <summary>The fire time a recovery's original firing had, as Quartz wrote it into the recovery's data.</summary>
    private static DateTimeOffset? OriginalFireTime(IJobExecutionContext context) =>
        DateTimeOffset.TryParse(context.MergedJobDataMap.GetString(SchedulerConstants.FailedJobOriginalTriggerScheduledFireTime),
            CultureInfo.InvariantCulture, DateTimeStyles.None, out var parsed)
            ? parsed.ToUniversalTime()
            : null;

    private sealed class ResumeScope : IDisposable
    {
        public void Dispose() => resuming.Value = false;
    }
}
