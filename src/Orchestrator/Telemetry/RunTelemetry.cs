using System.Diagnostics;
using Orchestrator.Runs;
using Quartz;

namespace Orchestrator.Telemetry;

/// <summary>
/// What the run ledger reports about each firing of a ledgered job: the firing, its lateness and recovery, the
/// ledger's decision, and the run's outcome, as metrics (<see cref="OrchestratorMetrics"/>) and as the run's span.
/// </summary>
public sealed class RunTelemetry(OrchestratorMetrics metrics, TimeProvider time)
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
        metrics.RecordFiring(project, actionType, trigger, now - (context.ScheduledFireTimeUtc ?? context.FireTimeUtc));
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
        return new FiringTelemetry(metrics, time, activity, project, actionType);
    }
}

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

    public void Dispose() => activity?.Dispose();
}
