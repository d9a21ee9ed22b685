using System.Data.Common;
using Microsoft.EntityFrameworkCore;
using Orchestrator.Data;

namespace Orchestrator.Pipelines;

/// <summary>
/// Cancellation through Quartz's interrupt. A cancel is first recorded on the run (<see cref="PipelineRun.CancelRequested"/>,
/// the durable request an executor that has not claimed the run yet, or resumes it after a crash, honours), then
/// delivered: at once to a run executing in this process, otherwise by interrupting the Quartz firing that executes it
/// (<see cref="PipelineRun.FireInstanceId"/>), which a clustered Quartz 4.7.3 store hands to the node running it after
/// that node's next check-in. The firing's token is a signal to look, not the cancel itself: a firing executes its run
/// and the sub-pipeline runs under it, and the flags say which of them was asked for.
/// </summary>
public sealed partial class PipelineExecutor
{
    /// <summary>How often a firing whose one interrupt was spent on a sub-pipeline reads its runs' cancel requests.</summary>
    private static readonly TimeSpan SpentInterruptPollInterval = TimeSpan.FromSeconds(1);

    /// <summary>Cancels a run executing in this process at once; returns whether it was here.</summary>
    public bool CancelLocally(Guid runId)
    {
        cancelRequested[runId] = true;
        if (!runningHere.TryGetValue(runId, out var cancel))
        {
            return false;
        }

        try
        {
            cancel.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The run finished in the meantime.
        }

        return true;
    }

    /// <summary>Delivers a recorded cancel request to the executor of the run, on this node or on another.</summary>
    public async Task CancelAsync(Guid runId, CancellationToken cancellationToken)
    {
        if (runningHere.ContainsKey(runId))
        {
            CancelLocally(runId);
            return;
        }

        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>();
        // A pending run has no firing yet; its claim refuses a run with a cancel request and ends it cancelled.
        if (await db.PipelineRuns.AsNoTracking().Where(r => r.Id == runId).Select(r => r.FireInstanceId).FirstOrDefaultAsync(cancellationToken) is { } firing)
        {
            var scheduler = await schedulers.GetScheduler(cancellationToken);
            await scheduler.InterruptFireInstance(firing, cancellationToken);
        }
    }

    /// <summary>
    /// Runs (or resumes) a run as the Quartz firing <paramref name="fireInstanceId"/>, whose token
    /// <paramref name="firingToken"/> Quartz cancels on an interrupt: a shutdown's interrupt stops the run (it is
    /// handed back as interrupted), any other interrupt cancels what the run's cancel requests name, or the whole run
    /// when none does (an operator's interrupt of the ledger run, a schedule's time limit).
    /// </summary>
    public async Task<PipelineRun> RunFiringAsync(Guid runId, string instance, string fireInstanceId, CancellationToken firingToken, bool retryFailed = false)
    {
        using var firing = new CancellationTokenSource();
        using var finished = new CancellationTokenSource();
        var interrupted = Task.CompletedTask;
        var registration = firingToken.Register(() => interrupted = OnInterruptedAsync(fireInstanceId, firing, finished.Token));
        try
        {
            return await RunAsync(runId, instance, fireInstanceId, firing.Token, retryFailed);
        }
        finally
        {
            // Disposing waits for a callback in flight, so the task read below is the one it started.
            await registration.DisposeAsync();
            await finished.CancelAsync();
            await interrupted;
        }
    }

    private Task OnInterruptedAsync(string fireInstanceId, CancellationTokenSource firing, CancellationToken finished)
    {
        if (ShuttingDown)
        {
            // Synchronously, as Quartz's own token would: the run is handed back as interrupted and resumed later.
            firing.Cancel();
            return Task.CompletedTask;
        }

        // Off Quartz's thread: reading the requests is a database round trip.
        return Task.Run(() => DeliverCancelRequestsAsync(fireInstanceId, firing, finished), CancellationToken.None);
    }

    private async Task DeliverCancelRequestsAsync(string fireInstanceId, CancellationTokenSource firing, CancellationToken finished)
    {
        try
        {
            var requested = await CancelRequestsAsync(fireInstanceId, finished);
            if (requested.Count == 0 || requested.Any(r => r.ParentRunId is null))
            {
                // The firing's own run was asked for, or no run was (an interrupt not made through a pipeline cancel).
                // A sub-pipeline asked for counts whatever its status: its interrupt arrives after the next check-in,
                // and a sub-run that ended in between leaves a request that is delivered to nothing, not to the firing.
                CancelFiring(requested, firing);
                return;
            }

            CancelSubPipelines(requested);

            // Quartz delivers one interrupt per firing (a firing whose token is cancelled is passed over), and this one
            // went to a sub-pipeline: later cancels of this firing's runs are found by reading their requests.
            // A shutdown's interrupt is passed over the same way, so it is watched for here too.
            while (!firing.IsCancellationRequested)
            {
                await Task.Delay(SpentInterruptPollInterval, time, finished);
                if (ShuttingDown)
                {
                    CancelFiring([], firing);
                    return;
                }

                requested = await CancelRequestsAsync(fireInstanceId, finished);
                if (requested.Any(r => r.ParentRunId is null))
                {
                    CancelFiring(requested, firing);
                    return;
                }

                CancelSubPipelines(requested);
            }
        }
        catch (OperationCanceledException) when (finished.IsCancellationRequested)
        {
            // The run ended.
        }
        catch (ObjectDisposedException)
        {
            // The run ended.
        }
        catch (Exception ex) when (ex is DbException or InvalidOperationException)
        {
            // The interrupt was asked for; without the requests, stopping the whole firing is what Quartz would do.
            LogInterruptUnread(logger, fireInstanceId, ex);
            CancelFiring([], firing);
        }
    }

    private void CancelFiring(List<CancelRequest> requested, CancellationTokenSource firing)
    {
        foreach (var run in requested.Where(r => r.Active))
        {
            cancelRequested[run.Id] = true;
        }

        try
        {
            firing.Cancel();
        }
        catch (ObjectDisposedException)
        {
            // The run ended.
        }
    }

    private void CancelSubPipelines(List<CancelRequest> requested)
    {
        // A run that has ended has nothing left to cancel.
        foreach (var run in requested.Where(r => r.Active))
        {
            CancelLocally(run.Id);
        }
    }

    /// <summary>A cancel asked for one of a firing's runs; <paramref name="Active"/> when that run has not ended.</summary>
    private sealed record CancelRequest(Guid Id, Guid? ParentRunId, bool Active);

    /// <summary>
    /// The runs this firing executes that a cancel was asked for, ended or not: which runs were asked for decides
    /// what an interrupt means, and only the runs that have not ended are cancelled.
    /// </summary>
    private async Task<List<CancelRequest>> CancelRequestsAsync(string fireInstanceId, CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>();
        return await db.PipelineRuns.AsNoTracking()
            .Where(r => r.FireInstanceId == fireInstanceId && r.CancelRequested)
            .Select(r => new CancelRequest(r.Id, r.ParentRunId, r.Status == PipelineRunStatus.Pending || r.Status == PipelineRunStatus.Running))
            .ToListAsync(cancellationToken);
    }
}
