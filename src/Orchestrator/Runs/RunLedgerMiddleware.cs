using System.Globalization;
using Orchestrator.Actions;
using Orchestrator.Cluster;
using Orchestrator.Schedules;
using Orchestrator.Telemetry;
using Quartz;

namespace Orchestrator.Runs;

/// <summary>
/// The run ledger around every <see cref="ILedgeredJob"/>: asks the ledger whether the firing runs (and as which
/// attempt), runs the job only when it does, records the outcome, and reports a <see cref="JobRunReport"/> so Quartz's
/// execution history tells a firing the ledger skipped (a duplicate, a fire time already done) from one that ran.
/// A failed action is thrown as <see cref="JobExecutionException"/> after it is recorded, so Quartz's retry policy
/// sees it exactly as when the job threw it.
/// </summary>
/// <remarks>
/// Built once from the root container (Quartz's rule for middleware), so the scoped ledger comes from a scope opened
/// per firing. Other jobs (housekeeping, the runs of pipelines started through the API) pass through untouched.
/// </remarks>
public sealed partial class RunLedgerMiddleware(
    IServiceScopeFactory scopes, FaultPoints faults, TimeProvider time, NodeShutdown shutdown, RunTelemetry telemetry, ILogger<RunLedgerMiddleware> logger)
    : IJobExecutionMiddleware
{
    public async ValueTask Invoke(IJobExecutionContext context, JobExecutionDelegate next, CancellationToken cancellationToken)
    {
        if (context.JobInstance is not ILedgeredJob job)
        {
            await next(context, cancellationToken);
            return;
        }

        await using var scope = scopes.CreateAsyncScope();
        var ledger = scope.ServiceProvider.GetRequiredService<RunLedger>();
        var data = context.MergedJobDataMap;
        var key = context.JobDetail.Key;
        var scheduleId = ScheduleIds.Of(key);
        var pendingRunId = Guid.TryParse(data.GetString(JobDataKeys.RunId), out var id) ? id : (Guid?)null;

        var (fireTime, triggeredBy) = WhatFired(context, pendingRunId);
        // The run's span (a child of Quartz's firing span) covers the ledger's decision as well as the action.
        using var firing = telemetry.BeginFiring(context, scheduleId, job.ActionType, triggeredBy);
        var claim = await ledger.BeginAsync(
            new RunStart(scheduleId, key.Group, job.ActionType, fireTime, triggeredBy, context.Recovering,
                context.Scheduler.SchedulerInstanceId, context.FireInstanceId, data.GetString(JobDataKeys.Config) ?? "{}", pendingRunId),
            cancellationToken);
        firing.Decided(claim);
        if (!claim.ShouldRun)
        {
            // Not an ordinary success: the history records it as skipped, with the ledger's reason.
            context.Result = JobRunReport.Skipped(claim.SkipReason);
            return;
        }

        var run = claim.Run!;
        faults.Hit(FaultPoints.BeforeAction);
        RunResult result;
        try
        {
            // Cancelled while its row was being written: the row is there, running; it is completed as cancelled below.
            cancellationToken.ThrowIfCancellationRequested();
            using (LedgeredRun.Enter(run, out var admitted))
            {
                await next(context, cancellationToken);
                result = admitted.Result ?? new RunResult(false, "{}", $"{context.JobInstance.GetType().Name} reported no outcome");
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Interrupted: a cancel request, or a shutdown that gave up waiting. Recorded, not lost.
            var shuttingDown = shutdown.IsStopping || context.Scheduler.Status is SchedulerStatus.ShuttingDown or SchedulerStatus.Shutdown;
            var reason = shuttingDown ? "interrupted by shutdown" : await CancelReasonAsync(context);
            await ledger.CompleteAsync(run, shuttingDown ? RunStatus.Interrupted : RunStatus.Cancelled, null, reason);
            firing.Finished(shuttingDown ? RunStatus.Interrupted : RunStatus.Cancelled, reason);
            LogStopped(logger, scheduleId, run.Id, run.Attempt, reason);
            // The history records the firing as cancelled (its token was signalled); the summary says which run and why.
            context.Result = Report(JobRunReport.Failed($"run {run.Id} {reason}"), run);
            if (shuttingDown && job.ResumesAfterShutdown)
            {
                // Stopping by the shutdown's token is what makes Quartz store a recovery trigger for the firing
                // (RecoverFiringsCancelledByShutdown); the recovered firing takes the interrupted row over.
                throw;
            }

            return;
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A bug or an unexpected I/O error must not leave the ledger row 'running' forever.
            LogUnexpected(logger, scheduleId, run.Id, ex);
            result = new RunResult(false, "{}", $"unexpected {ex.GetType().Name}: {ex.Message}");
        }

        await ledger.CompleteAsync(run, result.Succeeded ? RunStatus.Succeeded : RunStatus.Failed, result.Result, result.Error);
        firing.Finished(result.Succeeded ? RunStatus.Succeeded : RunStatus.Failed, result.Error);
        if (result.Succeeded)
        {
            context.Result = Report(JobRunReport.Succeeded($"run {run.Id} attempt {run.Attempt} succeeded"), run);
            // The window the ledger exists for: the effect happened, Quartz has not yet recorded completion.
            faults.Hit(FaultPoints.AfterSuccess);
            return;
        }

        context.Result = Report(JobRunReport.Failed($"run {run.Id} attempt {run.Attempt} failed: {result.Error}"), run);
        // Thrown so Quartz's retry policy and execution history see the failure. The job logged it as one warning:
        // JobRunShell's own report of a JobExecutionException, an error with a stack trace, is dropped
        // (SchedulerHosting.QuietHandledJobFailures).
        throw new JobExecutionException(result.Error ?? "The action failed.");
    }

    /// <summary>
    /// Why a firing was cancelled: by a newer firing of its own trigger under the <c>cancel_previous</c> overlap policy
    /// (Quartz interrupts the running firing once it has recorded the new one, so the new one is listed by then, on
    /// whichever node it runs), or else by a cancel request.
    /// </summary>
    private static async Task<string> CancelReasonAsync(IJobExecutionContext context)
    {
        if (context.Trigger.OverlapPolicy != OverlapPolicy.CancelPrevious)
        {
            return "cancelled";
        }

        var firings = await context.Scheduler.QueryFireInstances(
            new FireInstanceQuery
            {
                TriggerName = NameMatcher<TriggerKey>.NameEquals(context.Trigger.Key.Name),
                TriggerGroup = GroupMatcher<TriggerKey>.GroupEquals(context.Trigger.Key.Group),
                Take = PagedQuery.All,
            },
            CancellationToken.None);
        var mine = context.ScheduledFireTimeUtc ?? context.FireTimeUtc;
        var newer = firings.Items
            .Where(f => f.FireInstanceId != context.FireInstanceId && (f.ScheduledFireTimeUtc ?? f.FireTimeUtc) > mine)
            .Select(f => f.ScheduledFireTimeUtc ?? f.FireTimeUtc)
            .Order()
            .FirstOrDefault();
        return newer == default
            ? "cancelled"
            : $"cancelled: overlap policy cancel_previous, superseded by the firing due at {newer.ToUniversalTime():O}";
    }

    private static JobRunReport Report(JobRunReport report, RunRecord run) =>
        report.With("runId", run.Id).With("attempt", run.Attempt);

    /// <summary>The fire time the ledger row is keyed on, and why this firing happened.</summary>
    private (DateTimeOffset FireTime, RunTrigger TriggeredBy) WhatFired(IJobExecutionContext context, Guid? pendingRunId)
    {
        if (pendingRunId is not null)
        {
            return (context.FireTimeUtc, RunTrigger.Manual);
        }

        // A schedule with jitter fires its offset after each nominal fire time; the occurrence is the nominal one.
        var jitter = ScheduleJitter.OffsetOf(context.MergedJobDataMap);
        if (context.Recovering)
        {
            // The recovery trigger fires at its own (new) time; the original occurrence, which keys the ledger row,
            // is in its data map, written by Quartz as an invariant-culture DateTimeOffset.
            var original = context.MergedJobDataMap.GetString(SchedulerConstants.FailedJobOriginalTriggerScheduledFireTime);
            var fireTime = DateTimeOffset.TryParse(original, CultureInfo.InvariantCulture, DateTimeStyles.None, out var parsed)
                ? parsed.ToUniversalTime()
                : context.ScheduledFireTimeUtc ?? context.FireTimeUtc;
            return (fireTime - jitter, RunTrigger.Recovery);
        }

        if (context.GetBackfillSlot() is { } slot)
        {
            return (slot - jitter, RunTrigger.Backfill);
        }

        return (context.ScheduledFireTimeUtc is { } scheduled ? scheduled - jitter : time.GetUtcNow(), RunTrigger.Schedule);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Schedule {ScheduleId} run {RunId} failed unexpectedly")]
    private static partial void LogUnexpected(ILogger logger, string scheduleId, Guid runId, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Schedule {ScheduleId} run {RunId} attempt {Attempt} {Reason}")]
    private static partial void LogStopped(ILogger logger, string scheduleId, Guid runId, int attempt, string reason);
}
