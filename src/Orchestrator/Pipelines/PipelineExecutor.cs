using System.Collections.Concurrent;
using System.Data.Common;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Orchestrator.Actions;
using Orchestrator.Data;
using Orchestrator.Hosting;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace Orchestrator.Pipelines;

/// <summary>
/// Runs a pipeline run to its end. One coordinator loop owns the run's state: it starts a node when every input is
/// done (up to <c>maxParallelism</c> at once), records each node's state in the database before the node acts and
/// whenever it changes, feeds outputs to later nodes through templates, and applies the failure policy. Started again
/// on a run that a dead node left behind, it resumes: succeeded nodes keep their output and are not run again; a node
/// that was running runs again as its next attempt with the same idempotency key.
/// </summary>
public sealed partial class PipelineExecutor(
    IServiceScopeFactory scopes, ActionDispatcher dispatcher, ActionCatalog actions, TimeProvider time, ILogger<PipelineExecutor> logger)
{
    public const int MaxOutputChars = 64 * 1024;
    private static readonly TimeSpan CancelPollInterval = TimeSpan.FromSeconds(1);

    private readonly ConcurrentDictionary<Guid, CancellationTokenSource> runningHere = new();
    private readonly ConcurrentDictionary<Guid, bool> cancelRequested = new();

    private DateTimeOffset Now => time.GetUtcNow();

    /// <summary>Cancels a run executing in this process at once; other nodes see the database flag within a second.</summary>
    public void CancelLocally(Guid runId)
    {
        if (runningHere.TryGetValue(runId, out var cancel))
        {
            cancelRequested[runId] = true;
            cancel.Cancel();
        }
    }

    public async Task<PipelineRun> RunAsync(Guid runId, string instance, CancellationToken cancellationToken)
    {
        PipelineRun run;
        PipelineDefinition definition;
        List<NodeRun> nodeRuns;
        await using (var scope = scopes.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>();
            run = await db.PipelineRuns.FirstAsync(r => r.Id == runId, cancellationToken);
            if (run.Status is not (PipelineRunStatus.Pending or PipelineRunStatus.Running))
            {
                return run;
            }

            definition = PipelineDefinition.FromJson(await db.PipelineVersions.AsNoTracking()
                .Where(v => v.PipelineId == run.PipelineId && v.Version == run.Version).Select(v => v.Definition).FirstAsync(cancellationToken));
            nodeRuns = await db.NodeRuns.Where(n => n.PipelineRunId == runId).ToListAsync(cancellationToken);
            foreach (var node in definition.Nodes.Where(n => nodeRuns.All(r => r.NodeId != n.Id)))
            {
                var fresh = new NodeRun { PipelineRunId = runId, NodeId = node.Id, Status = NodeRunStatus.Pending, IdempotencyKey = $"{runId:N}.{node.Id}" };
                db.NodeRuns.Add(fresh);
                nodeRuns.Add(fresh);
            }

            if (run.CancelRequested)
            {
                run.Status = PipelineRunStatus.Cancelled;
                run.FinishedAt = time.GetUtcNow();
                run.Error = "cancelled before it started";
                await db.SaveChangesAsync(cancellationToken);
                return run;
            }

            run.Status = PipelineRunStatus.Running;
            run.Attempt += 1;
            run.StartedAt ??= time.GetUtcNow();
            run.Node = instance;
            await db.SaveChangesAsync(cancellationToken);
        }

        if (run.Attempt > 1)
        {
            var succeeded = nodeRuns.Count(n => n.Status == NodeRunStatus.Succeeded);
            LogResuming(logger, run.Id, run.Attempt, succeeded);
        }

        using var cancel = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        runningHere[runId] = cancel;
        using var stopWatching = new CancellationTokenSource();
        var watcher = WatchForCancelAsync(runId, cancel, stopWatching.Token);
        try
        {
            var coordinator = new Coordinator(this, run, definition, nodeRuns, instance, cancel);
            var (status, error) = await coordinator.RunAsync(cancellationToken);
            run.Status = status;
            run.Error = error;
            run.FinishedAt = time.GetUtcNow();
            await UpdateRunAsync(run.Id, status, error, run.FinishedAt.Value);
            return run;
        }
        finally
        {
            runningHere.TryRemove(runId, out _);
            cancelRequested.TryRemove(runId, out _);
            await stopWatching.CancelAsync();
            await watcher;
        }
    }

    /// <summary>A cancel requested through another node reaches this one through the run's row.</summary>
    private async Task WatchForCancelAsync(Guid runId, CancellationTokenSource cancel, CancellationToken stop)
    {
        try
        {
            while (!stop.IsCancellationRequested && !cancel.IsCancellationRequested)
            {
                await Task.Delay(CancelPollInterval, time, stop);
                await using var scope = scopes.CreateAsyncScope();
                var db = scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>();
                if (await db.PipelineRuns.AnyAsync(r => r.Id == runId && r.CancelRequested, stop))
                {
                    cancelRequested[runId] = true;
                    await cancel.CancelAsync();
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception ex) when (ex is DbException or InvalidOperationException)
        {
            // Losing the watcher only delays a remote cancel; the run itself goes on.
            LogWatcherFailed(logger, runId, ex);
        }
    }

    private async Task UpdateRunAsync(Guid runId, PipelineRunStatus status, string? error, DateTimeOffset finishedAt)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>();
        await db.PipelineRuns.Where(r => r.Id == runId).ExecuteUpdateAsync(s => s
            .SetProperty(r => r.Status, status).SetProperty(r => r.Error, error).SetProperty(r => r.FinishedAt, finishedAt), CancellationToken.None);
    }

    /// <summary>Writes one node's state change; every write is its own statement, so node tasks may call it concurrently.</summary>
    private async Task UpdateNodeAsync(Guid runId, string nodeId, NodeRunStatus status, int attempts, DateTimeOffset? startedAt, DateTimeOffset? finishedAt,
        string? output, string? error, string? instance)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>();
        await db.NodeRuns.Where(n => n.PipelineRunId == runId && n.NodeId == nodeId).ExecuteUpdateAsync(s =>
        {
            s.SetProperty(n => n.Status, status).SetProperty(n => n.Attempts, attempts);
            if (startedAt is not null)
            {
                s.SetProperty(n => n.StartedAt, startedAt).SetProperty(n => n.Node, instance);
            }

            if (finishedAt is not null)
            {
                s.SetProperty(n => n.FinishedAt, finishedAt).SetProperty(n => n.Output, output).SetProperty(n => n.Error, error);
            }
        }, CancellationToken.None);
    }

    private sealed record NodeResult(string NodeId, NodeRunStatus Status, JsonNode? Output, string? Error, int Attempts);

    /// <summary>The state of one run while it executes; only its loop touches it, node tasks report back through their results.</summary>
    private sealed class Coordinator
    {
        private readonly PipelineExecutor executor;
        private readonly PipelineRun run;
        private readonly PipelineDefinition definition;
        private readonly string instance;
        private readonly CancellationTokenSource cancel;
        private readonly Dictionary<string, NodeRunStatus> status = new(StringComparer.Ordinal);
        private readonly Dictionary<string, int> attempts = new(StringComparer.Ordinal);
        private readonly Dictionary<string, string> keys = new(StringComparer.Ordinal);
        private readonly Dictionary<string, bool> branch = new(StringComparer.Ordinal);
        private readonly Dictionary<string, List<EdgeDefinition>> incoming;
        private readonly JsonObject context;
        private readonly JsonObject nodesContext = [];

        public Coordinator(PipelineExecutor executor, PipelineRun run, PipelineDefinition definition, List<NodeRun> nodeRuns, string instance, CancellationTokenSource cancel)
        {
            this.executor = executor;
            this.run = run;
            this.definition = definition;
            this.instance = instance;
            this.cancel = cancel;
            incoming = definition.Nodes.ToDictionary(n => n.Id, n => definition.Edges.Where(e => e.To == n.Id).ToList(), StringComparer.Ordinal);
            context = new JsonObject
            {
                ["inputs"] = JsonNode.Parse(run.Inputs),
                ["run"] = new JsonObject { ["id"] = run.Id.ToString(), ["pipelineId"] = run.PipelineId, ["version"] = run.Version, ["project"] = run.ProjectId },
                ["nodes"] = nodesContext,
            };
            foreach (var nodeRun in nodeRuns)
            {
                // A node that was running when its executor died runs again, as its next attempt.
                status[nodeRun.NodeId] = nodeRun.Status == NodeRunStatus.Running ? NodeRunStatus.Pending : nodeRun.Status;
                attempts[nodeRun.NodeId] = nodeRun.Attempts;
                keys[nodeRun.NodeId] = nodeRun.IdempotencyKey;
                if (nodeRun.Status is NodeRunStatus.Succeeded or NodeRunStatus.Skipped or NodeRunStatus.Failed or NodeRunStatus.Cancelled)
                {
                    Record(nodeRun.NodeId, nodeRun.Status, nodeRun.Output is null ? null : JsonNode.Parse(nodeRun.Output));
                }
            }
        }

        public async Task<(PipelineRunStatus Status, string? Error)> RunAsync(CancellationToken hostToken)
        {
            using var siblings = CancellationTokenSource.CreateLinkedTokenSource(cancel.Token);
            var running = new Dictionary<Task<NodeResult>, string>();
            string? stopReason = null;
            while (true)
            {
                foreach (var node in definition.Nodes)
                {
                    if (status[node.Id] != NodeRunStatus.Pending || running.ContainsValue(node.Id)
                        || incoming[node.Id].Any(e => !IsDone(status[e.From])))
                    {
                        continue;
                    }

                    var skip = cancel.IsCancellationRequested ? "the run was cancelled"
                        : stopReason is not null ? $"the run stopped: {stopReason}"
                        : incoming[node.Id].FirstOrDefault(e => status[e.From] is NodeRunStatus.Failed or NodeRunStatus.Cancelled) is { } failed ? $"upstream node '{failed.From}' did not succeed"
                        : incoming[node.Id].Count > 0 && !incoming[node.Id].Any(IsActive) ? "no incoming branch was taken"
                        : null;
                    if (skip is not null)
                    {
                        await FinishAsync(new NodeResult(node.Id, NodeRunStatus.Skipped, null, skip, attempts[node.Id]));
                        continue;
                    }

                    if (running.Count >= definition.MaxParallelism)
                    {
                        continue;
                    }

                    if (node.Type == NodeDefinition.Condition)
                    {
                        await FinishAsync(Evaluate(node));
                        continue;
                    }

                    attempts[node.Id] += 1;
                    status[node.Id] = NodeRunStatus.Running;
                    // Recorded before the node acts: whoever resumes this run knows the node may have had an effect.
                    await executor.UpdateNodeAsync(run.Id, node.Id, NodeRunStatus.Running, attempts[node.Id], executor.Now, null, null, null, instance);
                    running[StartNode(node, siblings.Token)] = node.Id;
                }

                if (running.Count == 0)
                {
                    break;
                }

                var done = await Task.WhenAny(running.Keys);
                running.Remove(done);
                var result = await done;
                await FinishAsync(result);
                if (result.Status == NodeRunStatus.Failed && definition.FailurePolicy == PipelineDefinition.Stop && stopReason is null)
                {
                    // Stop: running siblings are cancelled, nothing new starts.
                    stopReason = $"node '{result.NodeId}' failed";
                    await siblings.CancelAsync();
                }
            }

            var failedNodes = status.Where(s => s.Value == NodeRunStatus.Failed).Select(s => s.Key).ToList();
            if (cancel.IsCancellationRequested)
            {
                // Asked for (API, another node) is a cancel; the host's token alone (shutdown, a job interrupt) is an interruption.
                return executor.cancelRequested.ContainsKey(run.Id) || !hostToken.IsCancellationRequested
                    ? (PipelineRunStatus.Cancelled, "cancelled")
                    : (PipelineRunStatus.Interrupted, "interrupted");
            }

            return failedNodes.Count == 0
                ? (PipelineRunStatus.Succeeded, null)
                : (PipelineRunStatus.Failed, $"node{(failedNodes.Count > 1 ? "s" : "")} {string.Join(", ", failedNodes.Select(n => $"'{n}'"))} failed");
        }

        private static bool IsDone(NodeRunStatus s) => s is NodeRunStatus.Succeeded or NodeRunStatus.Failed or NodeRunStatus.Skipped or NodeRunStatus.Cancelled;

        private bool IsActive(EdgeDefinition edge) =>
            status[edge.From] == NodeRunStatus.Succeeded && (edge.When is not { } when || (branch.TryGetValue(edge.From, out var taken) && taken == when));

        private NodeResult Evaluate(NodeDefinition node)
        {
            attempts[node.Id] += 1;
            try
            {
                var result = Condition.Parse(node.Expression!).IsTrue(context);
                return new NodeResult(node.Id, NodeRunStatus.Succeeded, new JsonObject { ["result"] = result }, null, attempts[node.Id]);
            }
            catch (ExpressionException ex)
            {
                return new NodeResult(node.Id, NodeRunStatus.Failed, null, ex.Message, attempts[node.Id]);
            }
        }

        private async Task FinishAsync(NodeResult result)
        {
            var output = result.Output is null ? null : Truncate(result.Output.ToJsonString());
            await executor.UpdateNodeAsync(run.Id, result.NodeId, result.Status, result.Attempts,
                status[result.NodeId] == NodeRunStatus.Running ? null : executor.Now, executor.Now, output, result.Error, instance);
            status[result.NodeId] = result.Status;
            attempts[result.NodeId] = result.Attempts;
            // Outputs are read back from their JSON text, so later templates and conditions see plain JSON values.
            Record(result.NodeId, result.Status, output is null ? null : JsonNode.Parse(output));
        }

        private void Record(string nodeId, NodeRunStatus nodeStatus, JsonNode? output)
        {
            if (output is JsonObject { } o && o.TryGetPropertyValue("result", out var r) && r is JsonValue v && v.GetValueKind() is JsonValueKind.True or JsonValueKind.False
                && definition.Nodes.Any(n => n.Id == nodeId && n.Type == NodeDefinition.Condition))
            {
                branch[nodeId] = v.GetValue<bool>();
            }

            nodesContext[nodeId] = new JsonObject { ["status"] = nodeStatus.ToString().ToLowerInvariant(), ["output"] = output };
        }

        private static string Truncate(string json) =>
            json.Length <= MaxOutputChars ? json : new JsonObject { ["truncated"] = true, ["preview"] = json[..MaxOutputChars] }.ToJsonString();

        private Task<NodeResult> StartNode(NodeDefinition node, CancellationToken token)
        {
            // Templates are filled here, on the coordinator, from the outputs known now; the task gets plain values.
            JsonElement config;
            try
            {
                var source = node.Type == NodeDefinition.SubPipeline ? node.Inputs ?? JsonDocument.Parse("{}").RootElement : node.Config!.Value;
                config = JsonSerializer.SerializeToElement(PipelineTemplates.Render(source, context));
            }
            catch (ExpressionException ex)
            {
                return Task.FromResult(new NodeResult(node.Id, NodeRunStatus.Failed, null, ex.Message, attempts[node.Id]));
            }

            var firstAttempt = attempts[node.Id];
            var key = keys[node.Id];
            return Task.Run(() => node.Type == NodeDefinition.SubPipeline
                ? executor.RunChildAsync(run, node, config, instance, firstAttempt, token)
                : executor.RunActionAsync(run, node, config, key, firstAttempt, token), CancellationToken.None);
        }
    }

    private async Task<NodeResult> RunActionAsync(PipelineRun run, NodeDefinition node, JsonElement config, string key, int firstAttempt, CancellationToken token)
    {
        var attempt = firstAttempt;
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            actions.TryGet(node.ActionType!, out var action);
            // The filled-in config is checked like a schedule's (schema, address policy) before anything is sent.
            var errors = new FieldErrors();
            await action!.ValidateAsync(config, "config", errors, token, run.ProjectId);
            if (errors.Any)
            {
                return new NodeResult(node.Id, NodeRunStatus.Failed, null, $"the filled-in config is not valid: {errors.Summary}", attempt);
            }

            var pipeline = BuildResilience(node, run.Id, () => ++attempt);
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
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            LogNodeCrashed(logger, run.Id, node.Id, ex);
            return new NodeResult(node.Id, NodeRunStatus.Failed, null, $"unexpected {ex.GetType().Name}: {ex.Message}", attempt);
        }
    }

    /// <summary>Per node: a timeout per attempt inside a retry with backoff and jitter; each new attempt is recorded as it starts.</summary>
    private ResiliencePipeline<ActionOutcome> BuildResilience(NodeDefinition node, Guid runId, Func<int> nextAttempt)
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
                OnRetry = async _ =>
                {
                    var attempt = nextAttempt();
                    await UpdateNodeAsync(runId, node.Id, NodeRunStatus.Running, attempt, time.GetUtcNow(), null, null, null, null);
                },
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
        try
        {
            Guid childId;
            await using (var scope = scopes.CreateAsyncScope())
            {
                var db = scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>();
                // A resumed parent finds the child it started before, and the child resumes in turn.
                var existing = await db.PipelineRuns.Where(r => r.ParentRunId == parent.Id && r.ParentNodeId == node.Id).Select(r => (Guid?)r.Id).FirstOrDefaultAsync(token);
                if (existing is { } id)
                {
                    childId = id;
                }
                else
                {
                    var pipeline = await db.Pipelines.AsNoTracking().FirstOrDefaultAsync(p => p.Id == node.Pipeline, token);
                    if (pipeline is null)
                    {
                        return new NodeResult(node.Id, NodeRunStatus.Failed, null, $"sub-pipeline '{node.Pipeline}' no longer exists", attempt);
                    }

                    var child = new PipelineRun
                    {
                        Id = Guid.CreateVersion7(time.GetUtcNow()),
                        PipelineId = pipeline.Id,
                        Version = pipeline.Version,
                        ProjectId = pipeline.ProjectId,
                        Status = PipelineRunStatus.Pending,
                        TriggeredBy = "pipeline",
                        ParentRunId = parent.Id,
                        ParentNodeId = node.Id,
                        Inputs = inputs.GetRawText(),
                        CreatedAt = time.GetUtcNow(),
                    };
                    db.PipelineRuns.Add(child);
                    await db.SaveChangesAsync(token);
                    childId = child.Id;
                }
            }

            var finished = await RunAsync(childId, instance, token);
            var output = new JsonObject { ["runId"] = childId.ToString(), ["status"] = finished.Status.ToString().ToLowerInvariant() };
            return finished.Status == PipelineRunStatus.Succeeded
                ? new NodeResult(node.Id, NodeRunStatus.Succeeded, output, null, attempt)
                : new NodeResult(node.Id, token.IsCancellationRequested ? NodeRunStatus.Cancelled : NodeRunStatus.Failed, output, $"sub-pipeline run {childId} {output["status"]}: {finished.Error}", attempt);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            return new NodeResult(node.Id, NodeRunStatus.Cancelled, null, "cancelled", attempt);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Resuming pipeline run {RunId} as attempt {Attempt}; {Succeeded} node(s) already succeeded and will not run again")]
    private static partial void LogResuming(ILogger logger, Guid runId, int attempt, int succeeded);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Cancel watcher for pipeline run {RunId} stopped")]
    private static partial void LogWatcherFailed(ILogger logger, Guid runId, Exception exception);

    [LoggerMessage(Level = LogLevel.Error, Message = "Pipeline run {RunId} node {NodeId} failed unexpectedly")]
    private static partial void LogNodeCrashed(ILogger logger, Guid runId, string nodeId, Exception exception);
}
