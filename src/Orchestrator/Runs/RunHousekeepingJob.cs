using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Orchestrator.Data;
using Orchestrator.Hosting;
using Quartz;

namespace Orchestrator.Runs;

/// <summary>
/// Purges finished runs older than <c>Orchestrator:Runs:Retention</c>: ledger rows (and pending rows that never
/// started), and pipeline runs with their node runs; and audit entries older than <c>Orchestrator:Audit:Retention</c>. One node runs it per interval (it is a clustered Quartz job).
/// </summary>
[DisallowConcurrentExecution]
public sealed partial class RunHousekeepingJob(OrchestratorDbContext db, IOptions<OrchestratorOptions> options, TimeProvider time, ILogger<RunHousekeepingJob> logger) : IJob
{
    public static readonly JobKey Key = new("run-housekeeping", "_system");

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        var cutoff = time.GetUtcNow() - options.Value.Runs.Retention;
        // Only finished runs: a run still pending or running is evidence the ledger needs for recovery.
        var purged = await db.Runs
            .Where(r => r.FinishedAt != null && r.FinishedAt < cutoff && r.Status != RunStatus.Running && r.Status != RunStatus.Pending)
            .ExecuteDeleteAsync(cancellationToken);

        // A pending row that never started past the retention is a run-now whose firing never came (its TriggerJob
        // failed, or the schedule was deleted first): nothing will ever claim it. A manual row's fire time is its request time.
        purged += await db.Runs
            .Where(r => r.Status == RunStatus.Pending && r.StartedAt == null && r.ScheduledFireTime < cutoff)
            .ExecuteDeleteAsync(cancellationToken);

        // Pipeline runs: finished ones only (an interrupted run has no finish time: it is still to be resumed).
        var oldPipelineRuns = db.PipelineRuns.Where(r => r.FinishedAt != null && r.FinishedAt < cutoff
            && r.Status != Pipelines.PipelineRunStatus.Running && r.Status != Pipelines.PipelineRunStatus.Pending);
        await db.NodeRuns.Where(n => oldPipelineRuns.Any(r => r.Id == n.PipelineRunId)).ExecuteDeleteAsync(cancellationToken);
        var purgedPipelineRuns = await oldPipelineRuns.ExecuteDeleteAsync(cancellationToken);
        // Agent steps go with their run: a schedule's run row or a pipeline run (its nodes' steps carry its id).
        await db.AgentSteps.Where(s => !db.Runs.Any(r => r.Id == s.RunId) && !db.PipelineRuns.Any(p => p.Id == s.RunId)).ExecuteDeleteAsync(cancellationToken);
        await Schedules.SchedulePauses.PurgeAsync(db, cutoff, cancellationToken);
        await Schedules.SchedulePauses.CloseStaleAsync(db, context.Scheduler, time.GetUtcNow(), cancellationToken);
        var purgedAudit = await Audit.AuditRetention.PurgeAsync(db, time.GetUtcNow() - options.Value.Audit.Retention, cancellationToken);
        // Quartz's history tells a pass that purged something from one that found nothing past the retention.
        var report = purged + purgedPipelineRuns + purgedAudit == 0
            ? JobRunReport.Skipped($"nothing finished before {cutoff:O}")
            : JobRunReport.Succeeded($"purged {purged} run(s) and {purgedPipelineRuns} pipeline run(s) finished before {cutoff:O}, {purgedAudit} audit entries past retention");
        context.Result = report.With("runs", purged).With("pipelineRuns", purgedPipelineRuns).With("auditEntries", purgedAudit);
        LogPurged(logger, purged, purgedPipelineRuns, cutoff);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Run housekeeping purged {Count} run(s) and {PipelineRuns} pipeline run(s) finished before {Cutoff:O}")]
    private static partial void LogPurged(ILogger logger, int count, int pipelineRuns, DateTimeOffset cutoff);
}
