using System.Globalization;
using System.Text.Json;
using Orchestrator.Runs;
using Orchestrator.Schedules;
using Quartz;

namespace Orchestrator.Actions;

/// <summary>What every action job needs besides its executor.</summary>
public sealed record ActionJobServices(ILogger<ActionJob> Logger);

/// <summary>
/// What every action job does: read its config, call its executor within the schedule's timeout, and report the
/// outcome. The run ledger around it — whether this firing runs, as which attempt, recording the outcome, the report
/// to Quartz's history and retry policy — is <see cref="RunLedgerMiddleware"/>. The concrete jobs are one line each
/// (STYLE §3).
/// </summary>
public abstract partial class ActionJob(ActionJobServices services) : IJob, ILedgeredJob
{
    private readonly ILogger logger = services.Logger;

    protected abstract string ActionType { get; }

    string ILedgeredJob.ActionType => ActionType;

    /// <summary>False: an action stopped by a shutdown is recorded interrupted and not run again.</summary>
    protected virtual bool ResumesAfterShutdown => false;

    bool ILedgeredJob.ResumesAfterShutdown => ResumesAfterShutdown;

    protected abstract Task<ActionOutcome> ExecuteActionAsync(ActionInvocation invocation, CancellationToken cancellationToken);

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        var ledgered = LedgeredRun.Current;
        var run = ledgered.Run;
        var data = context.MergedJobDataMap;
        var key = context.JobDetail.Key;
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        if (int.TryParse(data.GetString(JobDataKeys.TimeoutSeconds), CultureInfo.InvariantCulture, out var seconds))
        {
            timeout.CancelAfter(TimeSpan.FromSeconds(seconds));
        }

        ActionOutcome outcome;
        try
        {
            using var config = JsonDocument.Parse(data.GetString(JobDataKeys.Config) ?? "{}");
            outcome = await ExecuteActionAsync(
                new ActionInvocation(run.Id, ScheduleIds.Of(key), key.Name, key.Group, run.Attempt, run.IdempotencyKey, run.ScheduledFireTime, config.RootElement),
                timeout.Token);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            outcome = new ActionOutcome(false, [], $"timed out after {seconds} s");
        }
        catch (ActionFailedException ex)
        {
            outcome = new ActionOutcome(false, ex.Result ?? [], ex.Message);
        }

        if (!outcome.Succeeded)
        {
            // The failure's one log entry; the ledger middleware records it and throws it for Quartz's retry policy.
            LogFailed(logger, run.ScheduleId, run.Id, run.Attempt, outcome.Error ?? "failed");
        }

        ledgered.Report(new RunResult(outcome.Succeeded, outcome.Result.ToJsonString(), outcome.Error));
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Schedule {ScheduleId} run {RunId} attempt {Attempt} failed: {Error}")]
    private static partial void LogFailed(ILogger logger, string scheduleId, Guid runId, int attempt, string error);
}
