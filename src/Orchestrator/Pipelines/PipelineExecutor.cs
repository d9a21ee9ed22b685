using System.Collections.Concurrent;
using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Orchestrator.Actions;
using Orchestrator.Cluster;
using Orchestrator.Data;
using Orchestrator.Hosting;
using Quartz;

namespace Orchestrator.Pipelines;

/// <summary>
/// Runs a pipeline run to its end. One coordinator loop owns the run's state: a node becomes ready when its last
/// input is done, up to <c>maxParallelism</c> nodes run at once, every node's state is written before it acts and when
/// it changes (the writes of one pass go to the database together), outputs feed later nodes through templates, and
/// the failure policy decides what happens after a failure. Started again on a run a dead node left behind, it
/// resumes: succeeded nodes keep their output and do not run again; a node that was running runs again as its next
/// attempt with the same idempotency key.
/// </summary>
public sealed partial class PipelineExecutor(
    IServiceScopeFactory scopes, ISchedulerFactory schedulers, ActionDispatcher dispatcher, ActionCatalog actions, NodeShutdown shutdown, IOptionsMonitor<OrchestratorOptions> options, TimeProvider time,
    ILogger<PipelineExecutor> logger)
{
    public const int MaxOutputChars = 64 * 1024;

    /// <summary>A run resumed this many times (each resume follows a crash or an interruption) is failed instead of resumed again.</summary>
    public const int MaxAttempts = 10;

    private readonly ConcurrentDictionary<Guid, CancellationTokenSource> runningHere = new();
    private readonly ConcurrentDictionary<Guid, bool> cancelRequested = new();
    private readonly ConcurrentDictionary<Guid, bool> lostClaim = new();

    private sealed class LostClaimException : Exception;

    private DateTimeOffset Now => time.GetUtcNow();

    private bool ShuttingDown => shutdown.IsStopping;

    /// <summary>
    /// Runs (or resumes) a run. With <paramref name="retryFailed"/> a run that ended failed or cancelled is opened
    /// again: its failed, cancelled and skipped nodes run again, its succeeded nodes do not (a schedule's retry).
    /// An interrupted run (a node shutting down) is always opened again.
    /// </summary>
    /// <param name="fireInstanceId">The Quartz firing executing it (a sub-pipeline runs in its parent's), recorded with the claim so a cancel can interrupt it.</param>
    private async Task<PipelineRun> RunAsync(Guid runId, string instance, string fireInstanceId, CancellationToken cancellationToken, bool retryFailed = false)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>();
        var run = await db.PipelineRuns.AsNoTracking().FirstAsync(r => r.Id == runId, cancellationToken);
        if (!Opens(run, retryFailed))
        {
            return run;
        }

        if (run.CancelRequested || run.Attempt >= MaxAttempts)
        {
            return await FinishUnstartedAsync(db, run, retryFailed, cancellationToken);
        }

        // A version's definition never changes, so it is read before the claim: nothing can fail between the claim and
        // the try below without the run being handed back or failed.
        var definition = await LoadDefinitionAsync(db, run, cancellationToken);

        // Claim the run: one executor per attempt, by a conditional update. Of two executors for the same run (a
        // recovery while the first is alive but cut off), the later claim wins; from then on the earlier one's writes
        // match nothing (they are fenced on the attempt). The claim also requires the status it was read with and no
        // cancel, so a cancel of an interrupted run that lands between the read and the claim is not resumed over.
        var seen = run.Attempt;
        var seenStatus = run.Status;
        var reopen = Reopens(run, retryFailed);
        var startedAt = run.StartedAt ?? Now;
        if (await db.PipelineRuns.Where(r => r.Id == runId && r.Attempt == seen && r.Status == seenStatus && !r.CancelRequested).ExecuteUpdateAsync(s => s
                .SetProperty(r => r.Attempt, seen + 1).SetProperty(r => r.Status, PipelineRunStatus.Running)
                .SetProperty(r => r.Node, instance).SetProperty(r => r.FireInstanceId, fireInstanceId).SetProperty(r => r.StartedAt, startedAt)
                .SetProperty(r => r.FinishedAt, (DateTimeOffset?)null).SetProperty(r => r.Error, (string?)null), cancellationToken) == 0)
        {
            var current = await db.PipelineRuns.AsNoTracking().FirstAsync(r => r.Id == runId, cancellationToken);
            // Cancelled between the read and the claim: end it here, or it would stay pending with nobody to finish it.
            return current.Attempt == seen && current.CancelRequested && Opens(current, retryFailed)
                ? await FinishUnstartedAsync(db, current, retryFailed, cancellationToken)
                : current;
        }

        run.Attempt = seen + 1;
        run.Status = PipelineRunStatus.Running;
        run.Node = instance;
        run.FireInstanceId = fireInstanceId;
        run.StartedAt = startedAt;
        run.FinishedAt = null;
        run.Error = null;

        // Read after the claim: an earlier executor can no longer change them. New and reopened rows are written by the
        // coordinator's first (fenced) pass.
        Dictionary<string, NodeRun> nodeRuns;
        try
        {
            nodeRuns = await LoadNodeRunsAsync(db, run.Id, definition, reopen, retryFailed, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Interrupted before any node started: handed back as interrupted (and so resumed), not left 'running'.
            var mine = run.Attempt;
            const string Reason = "interrupted before its nodes started; it resumes when its job runs again";
            await db.PipelineRuns.Where(r => r.Id == runId && r.Attempt == mine).ExecuteUpdateAsync(s => s
                .SetProperty(r => r.Status, PipelineRunStatus.Interrupted).SetProperty(r => r.Error, Reason), CancellationToken.None);
            run.Status = PipelineRunStatus.Interrupted;
            run.Error = Reason;
            return run;
        }
        catch (Exception ex) when (ex is DbException or InvalidOperationException)
        {
            LogRunCrashed(logger, run.Id, ex);
            await MarkFailedAsync(run.Id, run.Attempt, $"executor error: {ex.GetType().Name}: {ex.Message}");
            run.Status = PipelineRunStatus.Failed;
            return run;
        }

        if (run.Attempt > 1)
        {
            var succeeded = nodeRuns.Values.Count(n => n.Status == NodeRunStatus.Succeeded);
            LogResuming(logger, run.Id, run.Attempt, succeeded);
        }

        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        runningHere[runId] = cancel;
        if (cancelRequested.ContainsKey(runId))
        {
            // A cancel that reached this firing between the claim and the line above.
            await cancel.CancelAsync();
        }

        var coordinator = new Coordinator(this, db, run, definition, nodeRuns, instance, cancel);
        try
        {
            var (status, error) = await coordinator.RunAsync(cancellationToken);
            var finishedAt = status == PipelineRunStatus.Interrupted ? (DateTimeOffset?)null : Now;
            var mine = run.Attempt;
            await db.PipelineRuns.Where(r => r.Id == runId && r.Attempt == mine).ExecuteUpdateAsync(s => s
                .SetProperty(r => r.Status, status).SetProperty(r => r.Error, error).SetProperty(r => r.FinishedAt, finishedAt), CancellationToken.None);
            run.Status = status;
            run.Error = error;
            run.FinishedAt = finishedAt;
            return run;
        }
        catch (LostClaimException)
        {
            // Another executor owns the run now; it writes from here on.
            run.Status = PipelineRunStatus.Running;
            return run;
        }
        catch (Exception ex) when (ex is not LostClaimException && (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested))
        {
            // A database outage or a bug: the run must not stay 'running' with nobody executing it.
            LogRunCrashed(logger, run.Id, ex);
            await coordinator.AbandonAsync();
            await MarkFailedAsync(run.Id, run.Attempt, $"executor error: {ex.GetType().Name}: {ex.Message}");
            run.Status = PipelineRunStatus.Failed;
            return run;
        }
        finally
        {
            runningHere.TryRemove(runId, out _);
            cancelRequested.TryRemove(runId, out _);
            lostClaim.TryRemove(runId, out _);
        }
    }

    /// <summary>Whether an executor may take the run: pending or running (a dead executor's), or one it opens again.</summary>
    private static bool Opens(PipelineRun run, bool retryFailed) => run.Status is PipelineRunStatus.Pending or PipelineRunStatus.Running || Reopens(run, retryFailed);

    private static bool Reopens(PipelineRun run, bool retryFailed) =>
        run.Status == PipelineRunStatus.Interrupted || (retryFailed && run.Status is PipelineRunStatus.Failed or PipelineRunStatus.Cancelled);

    private static async Task<PipelineDefinition> LoadDefinitionAsync(OrchestratorDbContext db, PipelineRun run, CancellationToken cancellationToken) =>
        PipelineDefinition.FromJson(await db.PipelineVersions.AsNoTracking()
            .Where(v => v.PipelineId == run.PipelineId && v.Version == run.Version).Select(v => v.Definition).FirstAsync(cancellationToken));

    /// <summary>The run's node rows (tracked), with a pending row for every node that has none, and, for a reopened run, what did not succeed made pending again.</summary>
    private static async Task<Dictionary<string, NodeRun>> LoadNodeRunsAsync(OrchestratorDbContext db, Guid runId, PipelineDefinition definition, bool reopen, bool retryFailed,
        CancellationToken cancellationToken)
    {
        var nodeRuns = (await db.NodeRuns.Where(n => n.PipelineRunId == runId).ToListAsync(cancellationToken)).ToDictionary(n => n.NodeId, StringComparer.Ordinal);
        foreach (var node in definition.Nodes.Where(n => !nodeRuns.ContainsKey(n.Id)))
        {
            var fresh = new NodeRun { PipelineRunId = runId, NodeId = node.Id, Status = NodeRunStatus.Pending, IdempotencyKey = $"{runId:N}.{node.Id}" };
            db.NodeRuns.Add(fresh);
            nodeRuns[node.Id] = fresh;
        }

        if (reopen)
        {
            foreach (var nodeRun in nodeRuns.Values.Where(n => n.Status is NodeRunStatus.Cancelled or NodeRunStatus.Skipped || (retryFailed && n.Status == NodeRunStatus.Failed)))
            {
                nodeRun.Status = NodeRunStatus.Pending;
                nodeRun.Error = null;
                nodeRun.FinishedAt = null;
            }
        }

        return nodeRuns;
    }

    /// <summary>A run cancelled before an executor took it, or resumed too often: ended without running anything, unless someone claimed it meanwhile.</summary>
    private async Task<PipelineRun> FinishUnstartedAsync(OrchestratorDbContext db, PipelineRun run, bool retryFailed, CancellationToken cancellationToken)
    {
        var definition = await LoadDefinitionAsync(db, run, cancellationToken);
        var nodeRuns = await LoadNodeRunsAsync(db, run.Id, definition, Reopens(run, retryFailed), retryFailed, cancellationToken);
        var reason = run.CancelRequested ? "cancelled before it started" : $"resumed {run.Attempt} times without finishing; not resumed again";
        var status = run.CancelRequested ? PipelineRunStatus.Cancelled : PipelineRunStatus.Failed;
        var now = Now;
        foreach (var nodeRun in nodeRuns.Values.Where(n => n.Status is NodeRunStatus.Pending or NodeRunStatus.Running))
        {
            nodeRun.Error = reason;
            nodeRun.FinishedAt = now;
            nodeRun.Status = nodeRun.Status == NodeRunStatus.Running ? NodeRunStatus.Cancelled : NodeRunStatus.Skipped;
        }

        var attempt = run.Attempt;
        var written = await FencedAsync(db, run.Id, attempt, async () =>
        {
            await db.PipelineRuns.Where(r => r.Id == run.Id).ExecuteUpdateAsync(s => s
                .SetProperty(r => r.Status, status).SetProperty(r => r.FinishedAt, now).SetProperty(r => r.Error, reason), CancellationToken.None);
            await db.SaveChangesAsync(CancellationToken.None);
        });
        if (!written)
        {
            return await db.PipelineRuns.AsNoTracking().FirstAsync(r => r.Id == run.Id, cancellationToken);
        }

        run.Status = status;
        run.FinishedAt = now;
        run.Error = reason;
        return run;
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Resuming pipeline run {RunId} as attempt {Attempt}; {Succeeded} node(s) already succeeded and will not run again")]
    private static partial void LogResuming(ILogger logger, Guid runId, int attempt, int succeeded);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Pipeline firing {FireInstanceId} was interrupted but its cancel requests could not be read; the whole firing is cancelled")]
    private static partial void LogInterruptUnread(ILogger logger, string fireInstanceId, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Pipeline run {RunId} node {NodeId} failed unexpectedly")]
    private static partial void LogNodeCrashed(ILogger logger, Guid runId, string nodeId, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Pipeline run {RunId} stopped on an executor error")]
    private static partial void LogRunCrashed(ILogger logger, Guid runId, Exception exception);
}
