using System.Collections.Concurrent;
using System.Data.Common;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Orchestrator.Actions;
using Orchestrator.Data;
using Orchestrator.Hosting;
using Polly;
using Polly.Retry;
using Polly.Timeout;

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
    IServiceScopeFactory scopes, ActionDispatcher dispatcher, ActionCatalog actions, NodeShutdown shutdown, IOptionsMonitor<OrchestratorOptions> options, TimeProvider time,
    ILogger<PipelineExecutor> logger)
{
    public const int MaxOutputChars = 64 * 1024;

    /// <summary>A run resumed this many times (each resume follows a crash or an interruption) is failed instead of resumed again.</summary>
    public const int MaxAttempts = 10;

    private static readonly TimeSpan CancelPollInterval = TimeSpan.FromSeconds(1);

    private readonly ConcurrentDictionary<Guid, CancellationTokenSource> runningHere = new();
    private readonly ConcurrentDictionary<Guid, bool> cancelRequested = new();
    private readonly ConcurrentDictionary<Guid, bool> lostClaim = new();

    private sealed class LostClaimException : Exception;

    private DateTimeOffset Now => time.GetUtcNow();

    private bool ShuttingDown => shutdown.IsStopping;

    /// <summary>Cancels a run executing in this process at once; other nodes see the database flag within a second.</summary>
    public void CancelLocally(Guid runId)
    {
        if (runningHere.TryGetValue(runId, out var cancel))
        {
            cancelRequested[runId] = true;
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

    /// <summary>
    /// Runs (or resumes) a run. With <paramref name="retryFailed"/> a run that ended failed or cancelled is opened
    /// again: its failed, cancelled and skipped nodes run again, its succeeded nodes do not (a schedule's retry).
    /// An interrupted run (a node shutting down) is always opened again.
    /// </summary>
    public async Task<PipelineRun> RunAsync(Guid runId, string instance, CancellationToken cancellationToken, bool retryFailed = false)
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
                .SetProperty(r => r.Node, instance).SetProperty(r => r.StartedAt, startedAt)
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
        using var stopWatching = new CancellationTokenSource();
        var watcher = WatchAsync(runId, run.Attempt, cancel, stopWatching.Token);
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
            await stopWatching.CancelAsync();
            await watcher;
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

    /// <summary>
    /// Runs <paramref name="write"/> in one transaction that first re-asserts the executor's claim: a no-op update of
    /// the run's row where the attempt is still ours. It takes the row's lock, so a later claim waits until this write has
    /// committed, and after a later claim it matches nothing and nothing is written. This is what keeps an executor that
    /// was cut off (and not yet told by its watcher) from overwriting the rows of the one that took over.
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

    /// <summary>Another executor took the run over: stop this one now rather than at the watcher's next poll.</summary>
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

    /// <summary>
    /// Every second: a cancel asked for through another node reaches this one through the run's row, and an executor
    /// whose claim was taken over (its attempt is no longer the run's) stops.
    /// </summary>
    private async Task WatchAsync(Guid runId, int attempt, CancellationTokenSource cancel, CancellationToken stop)
    {
        while (!stop.IsCancellationRequested && !cancel.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(CancelPollInterval, time, stop);
                await using var scope = scopes.CreateAsyncScope();
                var db = scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>();
                var row = await db.PipelineRuns.AsNoTracking().Where(r => r.Id == runId).Select(r => new { r.CancelRequested, r.Attempt }).FirstAsync(stop);
                if (row.Attempt != attempt)
                {
                    lostClaim[runId] = true;
                    await cancel.CancelAsync();
                }
                else if (row.CancelRequested)
                {
                    cancelRequested[runId] = true;
                    await cancel.CancelAsync();
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception ex) when (ex is DbException or InvalidOperationException)
            {
                // A missed poll only delays a remote cancel; keep watching.
                LogWatcherFailed(logger, runId, ex);
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

    private sealed record NodeResult(string NodeId, NodeRunStatus Status, JsonNode? Output, string? Error, int Attempts, Guid? ChildRunId = null);

    /// <summary>The state of one run while it executes; only its loop touches it (and its context); node tasks report back through their results.</summary>
    private sealed class Coordinator
    {
        private readonly PipelineExecutor executor;
        private readonly OrchestratorDbContext db;
        private readonly PipelineRun run;
        private readonly PipelineDefinition definition;
        private readonly Dictionary<string, NodeRun> rows;
        private readonly string instance;
        private readonly CancellationTokenSource cancel;
        private readonly Dictionary<string, NodeDefinition> nodes;
        private readonly Dictionary<string, List<EdgeDefinition>> incoming;
        private readonly Dictionary<string, List<EdgeDefinition>> outgoing;
        private readonly Dictionary<string, int> inputsLeft = new(StringComparer.Ordinal);
        private readonly Dictionary<string, bool> branch = new(StringComparer.Ordinal);
        private readonly HashSet<string> failedUpstream = new(StringComparer.Ordinal);
        private readonly Queue<string> ready = new();
        private readonly Dictionary<Task<NodeResult>, string> running = [];
        private readonly CancellationTokenSource siblings;
        private readonly JsonObject context;
        private readonly JsonObject nodesContext = [];

        public Coordinator(PipelineExecutor executor, OrchestratorDbContext db, PipelineRun run, PipelineDefinition definition, Dictionary<string, NodeRun> rows,
            string instance, CancellationTokenSource cancel)
        {
            this.executor = executor;
            this.db = db;
            this.run = run;
            this.definition = definition;
            this.rows = rows;
            this.instance = instance;
            this.cancel = cancel;
            siblings = CancellationTokenSource.CreateLinkedTokenSource(cancel.Token);
            nodes = definition.Nodes.ToDictionary(n => n.Id, StringComparer.Ordinal);
            incoming = nodes.Keys.ToDictionary(id => id, _ => new List<EdgeDefinition>(), StringComparer.Ordinal);
            outgoing = nodes.Keys.ToDictionary(id => id, _ => new List<EdgeDefinition>(), StringComparer.Ordinal);
            foreach (var edge in definition.Edges)
            {
                incoming[edge.To].Add(edge);
                outgoing[edge.From].Add(edge);
            }

            context = new JsonObject
            {
                ["inputs"] = JsonNode.Parse(run.Inputs),
                ["run"] = new JsonObject { ["id"] = run.Id.ToString(), ["pipelineId"] = run.PipelineId, ["version"] = run.Version, ["project"] = run.ProjectId },
                ["nodes"] = nodesContext,
            };
            foreach (var row in rows.Values)
            {
                if (row.Status == NodeRunStatus.Running)
                {
                    // Running when its executor died: it runs again, as its next attempt.
                    row.Status = NodeRunStatus.Pending;
                }
                else if (IsDone(row.Status))
                {
                    Record(row.NodeId, row.Status, row.Output is null ? null : JsonNode.Parse(row.Output));
                    if (row.Status is NodeRunStatus.Failed or NodeRunStatus.Cancelled
                        || (row.Status == NodeRunStatus.Skipped && row.Error?.StartsWith(UpstreamFailed, StringComparison.Ordinal) == true))
                    {
                        failedUpstream.Add(row.NodeId);
                    }
                }
            }

            if (definition.FailurePolicy == PipelineDefinition.Stop && definition.Nodes.FirstOrDefault(n => rows[n.Id].Status == NodeRunStatus.Failed) is { } failedBefore)
            {
                // A node had failed past its retries before the executor died: under 'stop' the run stays stopped, so
                // nothing that had not finished runs now (what was running is skipped too) and the run ends failed.
                stopReason = $"node '{failedBefore.Id}' failed";
            }

            // Nodes are stored in topological order, so the ready queue starts in that order too.
            foreach (var node in definition.Nodes)
            {
                inputsLeft[node.Id] = incoming[node.Id].Count(e => !IsDone(rows[e.From].Status));
                if (rows[node.Id].Status == NodeRunStatus.Pending && inputsLeft[node.Id] == 0)
                {
                    ready.Enqueue(node.Id);
                }
            }
        }

        private const string UpstreamFailed = "upstream node";

        private string? stopReason;

        public async Task<(PipelineRunStatus Status, string? Error)> RunAsync(CancellationToken hostToken)
        {
            while (true)
            {
                var starting = new List<NodeDefinition>();
                while (ready.TryPeek(out var id))
                {
                    var node = nodes[id];
                    if (SkipReason(id) is { } reason)
                    {
                        ready.Dequeue();
                        Finish(new NodeResult(id, NodeRunStatus.Skipped, null, reason, rows[id].Attempts));
                        continue;
                    }

                    if (node.Type == NodeDefinition.Condition)
                    {
                        ready.Dequeue();
                        Finish(Evaluate(node));
                        continue;
                    }

                    if (running.Count + starting.Count >= definition.MaxParallelism)
                    {
                        break;
                    }

                    ready.Dequeue();
                    var row = rows[id];
                    row.Status = NodeRunStatus.Running;
                    row.Attempts += 1;
                    row.StartedAt = executor.Now;
                    row.Node = instance;
                    starting.Add(node);
                }

                // One write for the pass: the nodes about to start are recorded before they act, with the pass's finishes.
                // The write is fenced on the claim in the database; the watcher's flag only saves a round trip.
                if (executor.lostClaim.ContainsKey(run.Id)
                    || (db.ChangeTracker.HasChanges() && !await FencedAsync(db, run.Id, run.Attempt, () => db.SaveChangesAsync(CancellationToken.None))))
                {
                    await AbandonAsync();
                    throw new LostClaimException();
                }
                foreach (var node in starting)
                {
                    running[Start(node)] = node.Id;
                }

                if (running.Count == 0 && ready.Count == 0)
                {
                    break;
                }

                await Task.WhenAny(running.Keys);
                foreach (var done in running.Keys.Where(t => t.IsCompleted).ToList())
                {
                    running.Remove(done);
                    Finish(await done);
                }
            }

            var failed = rows.Values.Where(r => r.Status == NodeRunStatus.Failed).Select(r => r.NodeId).ToList();
            if (cancel.IsCancellationRequested)
            {
                // Asked for (the API, another node, a parent) is a cancel; a node shutting down is an interruption, resumed later.
                return executor.cancelRequested.GetValueOrDefault(run.Id) || !hostToken.IsCancellationRequested || !executor.ShuttingDown
                    ? (PipelineRunStatus.Cancelled, "cancelled")
                    : (PipelineRunStatus.Interrupted, "interrupted by a node shutting down; it resumes when its job runs again");
            }

            return failed.Count == 0
                ? (PipelineRunStatus.Succeeded, null)
                : (PipelineRunStatus.Failed, $"node{(failed.Count > 1 ? "s" : "")} {string.Join(", ", failed.Take(20).Select(n => $"'{n}'"))} failed");
        }

        /// <summary>After an unexpected error: stop what runs and wait for it, so no task outlives the run.</summary>
        public async Task AbandonAsync()
        {
            await siblings.CancelAsync();
            try
            {
                await Task.WhenAll(running.Keys).WaitAsync(TimeSpan.FromSeconds(30));
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Their results no longer matter.
            }
        }

        private string? SkipReason(string id)
        {
            if (cancel.IsCancellationRequested)
            {
                return "the run was cancelled";
            }

            if (stopReason is not null)
            {
                return $"the run stopped: {stopReason}";
            }

            if (incoming[id].FirstOrDefault(e => failedUpstream.Contains(e.From)) is { } failed)
            {
                // Passed on down the graph: under 'continue' nothing downstream of a failure runs, even if another input succeeded.
                failedUpstream.Add(id);
                return $"{UpstreamFailed} '{failed.From}' did not succeed";
            }

            return incoming[id].Count > 0 && !incoming[id].Any(IsActive) ? "no incoming branch was taken" : null;
        }

        private static bool IsDone(NodeRunStatus s) => s is NodeRunStatus.Succeeded or NodeRunStatus.Failed or NodeRunStatus.Skipped or NodeRunStatus.Cancelled;

        private bool IsActive(EdgeDefinition edge) =>
            rows[edge.From].Status == NodeRunStatus.Succeeded && (edge.When is not { } when || (branch.TryGetValue(edge.From, out var taken) && taken == when));

        private NodeResult Evaluate(NodeDefinition node)
        {
            var attempt = rows[node.Id].Attempts + 1;
            rows[node.Id].StartedAt = executor.Now;
            try
            {
                var result = Condition.Parse(node.Expression!).IsTrue(context);
                return new NodeResult(node.Id, NodeRunStatus.Succeeded, new JsonObject { ["result"] = result }, null, attempt);
            }
            catch (ExpressionException ex)
            {
                return new NodeResult(node.Id, NodeRunStatus.Failed, null, ex.Message, attempt);
            }
        }

        /// <summary>Applies a node's result to its row (written with the next pass), its output to the context, and readies what it unblocks.</summary>
        private void Finish(NodeResult result)
        {
            var row = rows[result.NodeId];
            var output = result.Output is null ? null : Truncate(result.Output.ToJsonString());
            row.Status = result.Status;
            row.Attempts = Math.Max(row.Attempts, result.Attempts);
            row.FinishedAt = executor.Now;
            row.Output = output;
            row.Error = result.Error;
            row.ChildRunId = result.ChildRunId ?? row.ChildRunId;
            if (result.Status != NodeRunStatus.Skipped)
            {
                row.Node = instance;
            }

            // Outputs are read back from their JSON text, so later templates and conditions see plain JSON values.
            Record(result.NodeId, result.Status, output is null ? null : JsonNode.Parse(output));
            if (result.Status is NodeRunStatus.Failed or NodeRunStatus.Cancelled)
            {
                failedUpstream.Add(result.NodeId);
            }

            if (result.Status == NodeRunStatus.Failed && definition.FailurePolicy == PipelineDefinition.Stop && stopReason is null)
            {
                // Stop: running siblings are cancelled, nothing new starts.
                stopReason = $"node '{result.NodeId}' failed";
                siblings.Cancel();
            }

            foreach (var edge in outgoing[result.NodeId])
            {
                if (--inputsLeft[edge.To] == 0 && rows[edge.To].Status == NodeRunStatus.Pending)
                {
                    ready.Enqueue(edge.To);
                }
            }
        }

        private void Record(string nodeId, NodeRunStatus status, JsonNode? output)
        {
            if (nodes[nodeId].Type == NodeDefinition.Condition && output is JsonObject o && o["result"] is JsonValue v && v.GetValueKind() is JsonValueKind.True or JsonValueKind.False)
            {
                branch[nodeId] = v.GetValue<bool>();
            }

            nodesContext[nodeId] = new JsonObject { ["status"] = status.ToString().ToLowerInvariant(), ["output"] = output };
        }

        private static string Truncate(string json) =>
            json.Length <= MaxOutputChars ? json : new JsonObject { ["truncated"] = true, ["preview"] = json[..MaxOutputChars] }.ToJsonString();

        private Task<NodeResult> Start(NodeDefinition node)
        {
            var attempt = rows[node.Id].Attempts;
            // Templates are filled here, on the coordinator, from the outputs known now; the task gets plain values.
            JsonElement config;
            try
            {
                var source = node.Type == NodeDefinition.SubPipeline ? node.Inputs ?? JsonDocument.Parse("{}").RootElement : node.Config!.Value;
                config = JsonSerializer.SerializeToElement(PipelineTemplates.Render(source, context));
            }
            catch (ExpressionException ex)
            {
                return Task.FromResult(new NodeResult(node.Id, NodeRunStatus.Failed, null, ex.Message, attempt));
            }

            var key = rows[node.Id].IdempotencyKey;
            var token = siblings.Token;
            return Task.Run(() => node.Type == NodeDefinition.SubPipeline
                ? executor.RunChildAsync(run, node, config, instance, attempt, token)
                : executor.RunActionAsync(run, node, config, key, attempt, token), CancellationToken.None);
        }
    }

    private async Task<NodeResult> RunActionAsync(PipelineRun run, NodeDefinition node, JsonElement config, string key, int firstAttempt, CancellationToken token)
    {
        var attempt = firstAttempt;
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            actions.TryGet(node.ActionType!, out var action);
            // The filled-in config is checked like a schedule's (schema, address policy, tool arguments) before anything is sent.
            var errors = new FieldErrors();
            await action!.ValidateAsync(config, "config", errors, token, run.ProjectId);
            if (errors.Any)
            {
                return new NodeResult(node.Id, NodeRunStatus.Failed, null, $"the filled-in config is not valid: {errors.Summary}", attempt);
            }

            var pipeline = BuildResilience(node, run, () => ++attempt);
            var outcome = await pipeline.ExecuteAsync(async ct =>
            {
                var invocation = new ActionInvocation(run.Id, $"pipeline:{run.PipelineId}", node.Id, run.ProjectId, attempt, key, run.CreatedAt, config);
                try
                {
                    return await dispatcher.ExecuteAsync(node.ActionType!, invocation, scope.ServiceProvider, ct);
                }
                catch (ActionFailedException ex)
                {
                    return new ActionOutcome(false, ex.Result ?? [], ex.Message);
                }
                catch (OperationCanceledException ex) when (!ct.IsCancellationRequested)
                {
                    // The action's own time limit (e.g. call_api's timeoutSeconds while reading the body): a failed attempt.
                    return new ActionOutcome(false, [], $"the action gave up: {ex.Message}");
                }
            }, token);
            return new NodeResult(node.Id, outcome.Succeeded ? NodeRunStatus.Succeeded : NodeRunStatus.Failed, Shape(outcome.Result), outcome.Error, attempt);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            return new NodeResult(node.Id, NodeRunStatus.Cancelled, null, "cancelled", attempt);
        }
        catch (TimeoutRejectedException)
        {
            return new NodeResult(node.Id, NodeRunStatus.Failed, null, $"timed out after {node.TimeoutSeconds} s (attempt {attempt})", attempt);
        }
        catch (Exception ex)
        {
            LogNodeCrashed(logger, run.Id, node.Id, ex);
            return new NodeResult(node.Id, NodeRunStatus.Failed, null, $"unexpected {ex.GetType().Name}: {ex.Message}", attempt);
        }
    }

    /// <summary>Per node: a timeout per attempt inside a retry with backoff and jitter; each new attempt is recorded as it starts.</summary>
    private ResiliencePipeline<ActionOutcome> BuildResilience(NodeDefinition node, PipelineRun run, Func<int> nextAttempt)
    {
        var builder = new ResiliencePipelineBuilder<ActionOutcome> { TimeProvider = time };
        if (node.Retry is { MaxAttempts: > 1 } retry)
        {
            builder.AddRetry(new RetryStrategyOptions<ActionOutcome>
            {
                MaxRetryAttempts = retry.MaxAttempts - 1,
                BackoffType = retry.Backoff == "fixed" ? DelayBackoffType.Constant : DelayBackoffType.Exponential,
                Delay = TimeSpan.FromSeconds(retry.InitialDelaySeconds),
                MaxDelay = TimeSpan.FromSeconds(Math.Max(retry.MaxDelaySeconds, retry.InitialDelaySeconds)),
                UseJitter = true,
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is TimeoutRejectedException || args.Outcome.Result is { Succeeded: false }),
                OnRetry = async _ => await RecordAttemptAsync(run, node.Id, nextAttempt()),
            });
        }

        if (node.TimeoutSeconds is { } seconds)
        {
            builder.AddTimeout(TimeSpan.FromSeconds(seconds));
        }

        return builder.Build();
    }

    /// <summary>An HTTP node's JSON body is offered as JSON, so later nodes can read <c>output.body.items[0].id</c>.</summary>
    private static JsonObject Shape(JsonObject result)
    {
        var output = JsonNode.Parse(result.ToJsonString())!.AsObject();
        if (output["body"] is JsonValue body && body.GetValueKind() == JsonValueKind.String && output["bodyTruncated"]?.GetValue<bool>() != true)
        {
            var text = body.GetValue<string>().TrimStart();
            if (text.StartsWith('{') || text.StartsWith('['))
            {
                try
                {
                    output["body"] = JsonNode.Parse(text);
                }
                catch (JsonException)
                {
                    // Not JSON after all: the text stays as it is.
                }
            }
        }

        return output;
    }

    private async Task<NodeResult> RunChildAsync(PipelineRun parent, NodeDefinition node, JsonElement inputs, string instance, int attempt, CancellationToken token)
    {
        Guid? childId = null;
        // The node's time limit covers the child's start-up (its database calls) as well as its run.
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(token);
        if (node.TimeoutSeconds is { } seconds)
        {
            limit.CancelAfter(TimeSpan.FromSeconds(seconds));
        }

        try
        {
            await using (var scope = scopes.CreateAsyncScope())
            {
                var db = scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>();
                // A resumed parent finds the child it started before, and the child resumes in turn.
                childId = await db.PipelineRuns.Where(r => r.ParentRunId == parent.Id && r.ParentNodeId == node.Id).Select(r => (Guid?)r.Id).FirstOrDefaultAsync(limit.Token);
                if (childId is null)
                {
                    if (await RefuseNestingAsync(db, parent, node.Pipeline!, limit.Token) is { } refused)
                    {
                        return new NodeResult(node.Id, NodeRunStatus.Failed, null, refused, attempt);
                    }

                    var pipeline = await db.Pipelines.AsNoTracking().FirstOrDefaultAsync(p => p.Id == node.Pipeline, limit.Token);
                    if (pipeline is null || pipeline.ProjectId != parent.ProjectId)
                    {
                        return new NodeResult(node.Id, NodeRunStatus.Failed, null, $"sub-pipeline '{node.Pipeline}' no longer exists in project '{parent.ProjectId}'", attempt);
                    }

                    var child = new PipelineRun
                    {
                        Id = Guid.CreateVersion7(Now),
                        PipelineId = pipeline.Id,
                        Version = pipeline.Version,
                        ProjectId = pipeline.ProjectId,
                        Status = PipelineRunStatus.Pending,
                        TriggeredBy = "pipeline",
                        ParentRunId = parent.Id,
                        ParentNodeId = node.Id,
                        Inputs = inputs.GetRawText(),
                        CreatedAt = Now,
                    };
                    db.PipelineRuns.Add(child);
                    await db.SaveChangesAsync(limit.Token);
                    childId = child.Id;
                }
            }

            // A retried parent node opens a failed child again: its succeeded nodes are kept.
            var finished = await RunAsync(childId.Value, instance, limit.Token, retryFailed: true);
            var output = new JsonObject { ["runId"] = childId.ToString(), ["status"] = finished.Status.ToString().ToLowerInvariant() };
            if (finished.Status == PipelineRunStatus.Succeeded)
            {
                return new NodeResult(node.Id, NodeRunStatus.Succeeded, output, null, attempt, childId);
            }

            var status = token.IsCancellationRequested ? NodeRunStatus.Cancelled : NodeRunStatus.Failed;
            var error = limit.IsCancellationRequested && !token.IsCancellationRequested
                ? TimedOut(node, childId)
                : $"sub-pipeline run {childId} {output["status"]}: {finished.Error}";
            return new NodeResult(node.Id, status, output, error, attempt, childId);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            return new NodeResult(node.Id, NodeRunStatus.Cancelled, null, "cancelled", attempt, childId);
        }
        catch (OperationCanceledException) when (limit.IsCancellationRequested)
        {
            // The time limit fired while the child was being created or was starting: this node timed out, the parent
            // run goes on. A child left pending or claimed has nobody running it now; it ends failed (a retry of the
            // parent opens it again).
            var error = TimedOut(node, childId);
            if (childId is { } id)
            {
                await AbandonChildAsync(id, error);
            }

            return new NodeResult(node.Id, NodeRunStatus.Failed, null, error, attempt, childId);
        }
        catch (Exception ex)
        {
            LogNodeCrashed(logger, parent.Id, node.Id, ex);
            return new NodeResult(node.Id, NodeRunStatus.Failed, null, $"unexpected {ex.GetType().Name}: {ex.Message}", attempt, childId);
        }
    }

    private static string TimedOut(NodeDefinition node, Guid? childId) =>
        $"sub-pipeline {(childId is null ? $"'{node.Pipeline}'" : $"run {childId}")} timed out after {node.TimeoutSeconds} s";

    /// <summary>
    /// Saving checks the sub-pipelines below a pipeline, but chains can still grow past the limit or close a loop
    /// (inner pipelines edited later, two saves at once), so a child is checked against the runs above it before it is
    /// created: none of them may run the same pipeline, and it may not sit deeper than Pipelines:MaxDepth.
    /// </summary>
    private async Task<string?> RefuseNestingAsync(OrchestratorDbContext db, PipelineRun parent, string childPipeline, CancellationToken cancellationToken)
    {
        var maxDepth = options.CurrentValue.Pipelines.MaxDepth;
        var above = new List<string> { parent.PipelineId };
        var next = parent.ParentRunId;
        while (next is { } id && above.Count <= maxDepth)
        {
            var row = await db.PipelineRuns.AsNoTracking().Where(r => r.Id == id).Select(r => new { r.PipelineId, r.ParentRunId }).FirstOrDefaultAsync(cancellationToken);
            if (row is null)
            {
                break;
            }

            above.Add(row.PipelineId);
            next = row.ParentRunId;
        }

        above.Reverse();
        var chain = $"{(next is null ? "" : "… → ")}{string.Join(" → ", above)} → {childPipeline}";
        if (above.Contains(childPipeline, StringComparer.Ordinal))
        {
            return $"sub-pipeline '{childPipeline}' is already running above this node ({chain}); a pipeline must not run itself, so it was not started";
        }

        return above.Count > maxDepth
            ? $"sub-pipeline '{childPipeline}' would nest deeper than Orchestrator:Pipelines:MaxDepth ({maxDepth}) levels ({chain}); it was not started"
            : null;
    }

    private async Task AbandonChildAsync(Guid childId, string error)
    {
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            var db = scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>();
            var now = Now;
            await db.NodeRuns.Where(n => n.PipelineRunId == childId && (n.Status == NodeRunStatus.Running || n.Status == NodeRunStatus.Pending))
                .ExecuteUpdateAsync(s => s.SetProperty(n => n.Status, NodeRunStatus.Skipped).SetProperty(n => n.Error, error).SetProperty(n => n.FinishedAt, now));
            await db.PipelineRuns.Where(r => r.Id == childId && (r.Status == PipelineRunStatus.Pending || r.Status == PipelineRunStatus.Running))
                .ExecuteUpdateAsync(s => s.SetProperty(r => r.Status, PipelineRunStatus.Failed).SetProperty(r => r.Error, error).SetProperty(r => r.FinishedAt, now));
        }
        catch (Exception ex) when (ex is DbException or InvalidOperationException)
        {
            LogRunCrashed(logger, childId, ex);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Resuming pipeline run {RunId} as attempt {Attempt}; {Succeeded} node(s) already succeeded and will not run again")]
    private static partial void LogResuming(ILogger logger, Guid runId, int attempt, int succeeded);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cancel watcher for pipeline run {RunId} missed a poll")]
    private static partial void LogWatcherFailed(ILogger logger, Guid runId, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Pipeline run {RunId} node {NodeId} failed unexpectedly")]
    private static partial void LogNodeCrashed(ILogger logger, Guid runId, string nodeId, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Pipeline run {RunId} stopped on an executor error")]
    private static partial void LogRunCrashed(ILogger logger, Guid runId, Exception exception);
}
