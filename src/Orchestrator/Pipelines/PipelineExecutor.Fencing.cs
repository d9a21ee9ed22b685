using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Orchestrator.Data;

namespace Orchestrator.Pipelines;

/// <summary>Claim and fencing: every write of an executor re-asserts its claim on the run, and a lost claim stops it.</summary>
public sealed partial class PipelineExecutor
{
    /// <summary>
    /// Runs <paramref name="write"/> in one transaction that first re-asserts the executor's claim: a no-op update of
    /// the run's row where the attempt is still ours. It takes the row's lock, so a later claim waits until this write has
    /// committed, and after a later claim it matches nothing and nothing is written. This is what keeps an executor that
    /// was cut off (and not yet told) from overwriting the rows of the one that took over.
    /// </summary>
    private static async Task<bool> FencedAsync(OrchestratorDbContext db, Guid runId, int attempt, Func<Task> write)
    {
        await using var transaction = await db.Database.BeginTransactionAsync(CancellationToken.None);
        if (await db.PipelineRuns.Where(r => r.Id == runId && r.Attempt == attempt)
                .ExecuteUpdateAsync(s => s.SetProperty(r => r.Attempt, attempt), CancellationToken.None) == 0)
        {
            return false;
        }

        await write();
        await transaction.CommitAsync(CancellationToken.None);
        return true;
    }

    /// <summary>Another executor took the run over: stop this one now rather than at its next write.</summary>
    private void ClaimLost(Guid runId)
    {
        lostClaim[runId] = true;
        if (runningHere.TryGetValue(runId, out var cancel))
        {
            try
            {
                cancel.Cancel();
            }
            catch (ObjectDisposedException)
            {
                // The run finished in the meantime.
            }
        }
    }

    private async Task MarkFailedAsync(Guid runId, int attempt, string error)
    {
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>();
            var now = Now;
            await FencedAsync(db, runId, attempt, async () =>
            {
                await db.NodeRuns.Where(n => n.PipelineRunId == runId && (n.Status == NodeRunStatus.Running || n.Status == NodeRunStatus.Pending))
                    .ExecuteUpdateAsync(s => s.SetProperty(n => n.Status, NodeRunStatus.Skipped).SetProperty(n => n.Error, error).SetProperty(n => n.FinishedAt, now));
                await db.PipelineRuns.Where(r => r.Id == runId)
                    .ExecuteUpdateAsync(s => s.SetProperty(r => r.Status, PipelineRunStatus.Failed).SetProperty(r => r.Error, error).SetProperty(r => r.FinishedAt, now));
            });
        }
        catch (Exception ex) when (ex is DbException or InvalidOperationException)
        {
            // The database is gone: the run stays 'running' and is resumed when its job is recovered.
            LogRunCrashed(logger, runId, ex);
        }
    }

    /// <summary>A retry attempt starting, written by the node's task itself (its own context), so the attempt count is right if this node dies now.</summary>
    private async Task RecordAttemptAsync(PipelineRun run, string nodeId, int attempt)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>();
        var runId = run.Id;
        if (!await FencedAsync(db, runId, run.Attempt, () =>
                db.NodeRuns.Where(n => n.PipelineRunId == runId && n.NodeId == nodeId).ExecuteUpdateAsync(s => s.SetProperty(n => n.Attempts, attempt))))
        {
            ClaimLost(runId);
        }
    }
}
