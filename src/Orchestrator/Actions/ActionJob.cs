using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Hosting;
using Orchestrator.Runs;
using Orchestrator.Schedules;
using Quartz;

namespace Orchestrator.Actions;

/// <summary>
/// What every action job does around its executor: ask the ledger whether to run (and as which attempt),
/// enforce the schedule's timeout, record the outcome, and let Quartz's retry policy see a failure.
/// The concrete jobs are one line each (STYLE §3).
/// </summary>
/// <summary>What every action job needs besides its executor.</summary>
public sealed record ActionJobServices(RunLedger Ledger, FaultPoints Faults, TimeProvider Time, NodeShutdown Shutdown, ILogger<ActionJob> Logger);

public abstract partial class ActionJob(ActionJobServices services) : IJob
{
    private readonly RunLedger ledger = services.Ledger;
    private readonly FaultPoints faults = services.Faults;
    private readonly TimeProvider time = services.Time;
    private readonly ILogger logger = services.Logger;

    protected abstract string ActionType { get; }

    protected abstract Task<ActionOutcome> ExecuteActionAsync(ActionInvocation invocation, CancellationToken cancellationToken);

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        var data = context.MergedJobDataMap;
        var key = context.JobDetail.Key;
        var scheduleId = ScheduleIds.Of(key);
        var configJson = data.GetString(JobDataKeys.Config) ?? "{}";
        var pendingRunId = Guid.TryParse(data.GetString(JobDataKeys.RunId), out var id) ? id : (Guid?)null;

        var (fireTime, triggeredBy) = WhatFired(context, pendingRunId);
        var claim = await ledger.BeginAsync(
            new RunStart(scheduleId, key.Group, ActionType, fireTime, triggeredBy, context.Recovering,
                context.Scheduler.SchedulerInstanceId, context.FireInstanceId, configJson, pendingRunId),
            cancellationToken);
        if (!claim.ShouldRun)
        {
            context.Result = claim.SkipReason;
            return;
        }

        var run = claim.Run!;
        faults.Hit(FaultPoints.BeforeAction);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (int.TryParse(data.GetString(JobDataKeys.TimeoutSeconds), CultureInfo.InvariantCulture, out var seconds))
        {
            timeout.CancelAfter(TimeSpan.FromSeconds(seconds));
        }

        ActionOutcome outcome;
        try
        {
            using var config = JsonDocument.Parse(configJson);
            outcome = await ExecuteActionAsync(
                new ActionInvocation(run.Id, scheduleId, key.Name, key.Group, run.Attempt, run.IdempotencyKey, run.ScheduledFireTime, config.RootElement),
                timeout.Token);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Interrupted: a cancel request, or a shutdown that gave up waiting. Recorded, not lost.
            var shuttingDown = services.Shutdown.IsStopping || context.Scheduler.Status is SchedulerStatus.ShuttingDown or SchedulerStatus.Shutdown;
            var reason = shuttingDown ? "interrupted by shutdown" : "cancelled";
            await ledger.CompleteAsync(run, shuttingDown ? RunStatus.Interrupted : RunStatus.Cancelled, null, reason, CancellationToken.None);
            LogStopped(logger, scheduleId, run.Id, run.Attempt, reason);
            return;
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested)
        {
            outcome = new ActionOutcome(false, [], $"timed out after {seconds} s");
        }
        catch (ActionFailedException ex)
        {
            outcome = new ActionOutcome(false, ex.Result ?? [], ex.Message);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // A bug or an unexpected I/O error must not leave the ledger row 'running' forever.
            LogUnexpected(logger, scheduleId, run.Id, ex);
            outcome = new ActionOutcome(false, [], $"unexpected {ex.GetType().Name}: {ex.Message}");
        }

        await ledger.CompleteAsync(run, outcome.Succeeded ? RunStatus.Succeeded : RunStatus.Failed,
            outcome.Result.ToJsonString(), outcome.Error, CancellationToken.None);
        context.Result = run.Id.ToString();

        if (outcome.Succeeded)
        {
            // The window the ledger exists for: the effect happened, Quartz has not yet recorded completion.
            faults.Hit(FaultPoints.AfterSuccess);
            return;
        }

        LogFailed(logger, scheduleId, run.Id, run.Attempt, outcome.Error ?? "failed");
        // Thrown so Quartz's retry policy and execution history see the failure. The line above is its log entry:
        // JobRunShell's own report of a JobExecutionException, an error with this method's stack trace, is dropped
        // (SchedulerHosting.QuietHandledJobFailures).
        throw new JobExecutionException(outcome.Error ?? "The action failed.");
    }

    /// <summary>The fire time the ledger row is keyed on, and why this firing happened.</summary>
    private (DateTimeOffset FireTime, RunTrigger TriggeredBy) WhatFired(IJobExecutionContext context, Guid? pendingRunId)
    {
        if (pendingRunId is not null)
        {
            return (context.FireTimeUtc, RunTrigger.Manual);
        }

        if (context.Recovering)
        {
            // The recovery trigger fires at its own (new) time; the original occurrence, which keys the ledger row,
            // is in its data map, written by Quartz as an invariant-culture DateTimeOffset.
            var original = context.MergedJobDataMap.GetString(SchedulerConstants.FailedJobOriginalTriggerScheduledFireTime);
            var fireTime = DateTimeOffset.TryParse(original, CultureInfo.InvariantCulture, DateTimeStyles.None, out var parsed)
                ? parsed.ToUniversalTime()
                : context.ScheduledFireTimeUtc ?? context.FireTimeUtc;
            return (fireTime, RunTrigger.Recovery);
        }

        if (context.GetBackfillSlot() is { } slot)
        {
            return (slot, RunTrigger.Backfill);
        }

        return (context.ScheduledFireTimeUtc ?? time.GetUtcNow(), RunTrigger.Schedule);
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Schedule {ScheduleId} run {RunId} failed unexpectedly")]
    private static partial void LogUnexpected(ILogger logger, string scheduleId, Guid runId, Exception exception);

    [LoggerMessage(Level = LogLevel.Information, Message = "Schedule {ScheduleId} run {RunId} attempt {Attempt} {Reason}")]
    private static partial void LogStopped(ILogger logger, string scheduleId, Guid runId, int attempt, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Schedule {ScheduleId} run {RunId} attempt {Attempt} failed: {Error}")]
    private static partial void LogFailed(ILogger logger, string scheduleId, Guid runId, int attempt, string error);
}
