using System.Diagnostics;
using System.Globalization;
using Orchestrator.Runs;
using Quartz;

namespace Orchestrator.Telemetry;

/// <summary>
/// What the run ledger reports about each firing of a ledgered job: the firing, its lateness and recovery, the
/// ledger's decision, and the run's outcome, as metrics (<see cref="OrchestratorMetrics"/>) and as the run's span.
/// </summary>
public sealed class RunTelemetry(OrchestratorMetrics metrics, OccurrenceListener occurrences, TimeProvider time)
{
    /// <summary>
    /// Counts the firing and opens its run span. Called by the ledger middleware, inside Quartz's job-execution span,
    /// which is <see cref="Activity.Current"/> there: the run span becomes its child, and everything the run does —
    /// the ledger's queries, the action's HTTP calls — nests under the run span.
    /// </summary>
    public FiringTelemetry BeginFiring(IJobExecutionContext context, string scheduleId, string actionType, RunTrigger trigger)
    {
        var project = context.JobDetail.Key.Group;
        var now = time.GetUtcNow();
        metrics.RecordFiring(project, actionType, trigger, now - DueAt(context));
        if (context.Recovering)
        {
            metrics.RecordRecovery(project, actionType);
        }

        var activity = OrchestratorActivities.Source.StartActivity($"run {actionType}");
        activity?.SetTag(OrchestratorActivities.ScheduleId, scheduleId)
            .SetTag(OrchestratorActivities.Project, project)
            .SetTag(OrchestratorActivities.ActionType, actionType)
            .SetTag(OrchestratorActivities.Trigger, OrchestratorMetrics.TriggerName(trigger))
            .SetTag(OrchestratorActivities.Node, context.Scheduler.SchedulerInstanceId);
        return new FiringTelemetry(metrics, time, activity, project, actionType) { Occurrence = OccurrenceOf(context, trigger, occurrences) };
    }

    /// <summary>
    /// When the firing was due: for a recovery, the dead firing's scheduled time from its data map (as the ledger keys
    /// it, RunLedgerMiddleware), not the recovery trigger's own, which RecoveryFirstPromotion moves to jump the backlog.
    /// </summary>
    internal static DateTimeOffset DueAt(IJobExecutionContext context) =>
        context.Recovering
        && DateTimeOffset.TryParse(context.MergedJobDataMap.GetString(SchedulerConstants.FailedJobOriginalTriggerScheduledFireTime), CultureInfo.InvariantCulture, DateTimeStyles.None, out var original)
            ? original.ToUniversalTime()
            : context.ScheduledFireTimeUtc ?? context.FireTimeUtc;

    /// <summary>
    /// The due time of the schedule's own trigger this firing runs, if it runs one: a firing of that trigger (or its
    /// recovery) at one of its fire times. A run-now, a backfill, and a <c>fire_once</c> catch-up or its recovery (whose
    /// due times were counted as coalesced when its misfire was handled, <see cref="OccurrenceListener.IsCatchUp"/>) run none.
    /// </summary>
    private static FiringOccurrence? OccurrenceOf(IJobExecutionContext context, RunTrigger trigger, OccurrenceListener listener)
    {
        var job = context.JobDetail.Key;
        var jitter = Schedules.ScheduleJitter.OffsetOf(context.MergedJobDataMap);
        switch (trigger)
        {
            case RunTrigger.Schedule when OccurrenceOutcomes.IsScheduleTrigger(context.Trigger.Key, job)
                                          && context.ScheduledFireTimeUtc is { } scheduled && OccurrenceOutcomes.IsDueTime(context.Trigger, scheduled, context.PreviousFireTimeUtc)
                                          && !OccurrenceListener.IsCatchUp(context):
                return new FiringOccurrence(context, jitter, listener);
            case RunTrigger.Recovery when context.RecoveringTriggerKey is { } original && OccurrenceOutcomes.IsScheduleTrigger(original, job)
                                          && !OccurrenceListener.IsCatchUp(context):
                return new FiringOccurrence(context, jitter, listener);
            default:
                return null;
        }
    }
}

/// <summary>A firing that runs a due time of its schedule's trigger, and the schedule's jitter offset (the trigger fires that long after the nominal due time).</summary>
internal sealed record FiringOccurrence(IJobExecutionContext Context, TimeSpan Jitter, OccurrenceListener Listener);

/// <summary>One firing's telemetry, from the ledger's decision to the run's outcome; disposing it ends the run span.</summary>
public sealed class FiringTelemetry : IDisposable
{
    private readonly OrchestratorMetrics metrics;
    private readonly TimeProvider time;
    private readonly Activity? activity;
    private readonly string project;
    private readonly string actionType;
    private long admittedAt;

    internal FiringTelemetry(OrchestratorMetrics metrics, TimeProvider time, Activity? activity, string project, string actionType)
    {
        this.metrics = metrics;
        this.time = time;
        this.activity = activity;
        this.project = project;
        this.actionType = actionType;
    }

    /// <summary>The due time of the schedule's trigger this firing runs, or <see langword="null"/>.</summary>
    internal FiringOccurrence? Occurrence { get; init; }

    /// <summary>The span of the run (null when nothing listens), for a test or a caller that adds to it.</summary>
    public Activity? Activity => activity;

    /// <summary>The ledger's answer: the run and attempt it admitted, or why the firing does not run.</summary>
    public void Decided(RunClaim claim)
    {
        metrics.RecordLedgerDecision(claim.Decision);
        activity?.SetTag(OrchestratorActivities.LedgerDecision, OrchestratorMetrics.ReasonName(claim.Decision));
        if (claim.Run is { } run)
        {
            admittedAt = time.GetTimestamp();
            activity?.SetTag(OrchestratorActivities.RunId, run.Id.ToString()).SetTag(OrchestratorActivities.Attempt, run.Attempt);
            CountOccurrence(claim, run);
        }
        else
        {
            activity?.SetTag(OrchestratorActivities.Outcome, "skipped");
        }
    }

    /// <summary>The admitted run ended with <paramref name="status"/>; <paramref name="error"/> is the run's recorded (masked) error.</summary>
    public void Finished(RunStatus status, string? error)
    {
        metrics.RecordOutcome(project, actionType, status, time.GetElapsedTime(admittedAt));
        activity?.SetTag(OrchestratorActivities.Outcome, OrchestratorMetrics.StatusName(status));
        if (status != RunStatus.Succeeded)
        {
            activity?.SetStatus(ActivityStatusCode.Error, error);
        }
    }

    /// <summary>
    /// A due time's first attempt is on time or late, by when it started as the occurrences route measures it; the
    /// count waits for the attempt's end (<see cref="OccurrenceListener"/>), because a retry after it makes the due
    /// time retried instead. Its second attempt (a retry, or a recovery from a dead node) makes it retried, counted now
    /// and never again for that due time.
    /// </summary>
    private void CountOccurrence(RunClaim claim, RunRecord run)
    {
        if (Occurrence is not { } occurrence)
        {
            return;
        }

        if (claim.Decision == LedgerDecision.ClaimFirstAttempt && run.StartedAt is { } started)
        {
            occurrence.Listener.FirstAttemptAdmitted(occurrence.Context.FireInstanceId, OccurrenceOutcomes.ForLateness(started - (run.ScheduledFireTime + occurrence.Jitter)));
        }
        else if (claim.Decision is LedgerDecision.TakeOverAsRetry or LedgerDecision.TakeOverAsRecovery && run.Attempt == 2)
        {
            metrics.RecordOccurrences(project, OccurrenceOutcomes.Retried, null);
        }
    }

    public void Dispose() => activity?.Dispose();
}
