using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Data;

namespace Orchestrator.Pipelines;

/// <summary>Coordination: which nodes are ready, what the failure policy does, when the run is complete.</summary>
public sealed partial class PipelineExecutor
{
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
                // The write is fenced on the claim in the database; the lost-claim flag (a retry's fenced write saw it) only saves a round trip.
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
            return Task.Run(async () =>
            {
                // The node's span: a child of the run's (the ambient activity flows into the task), parent of its HTTP calls.
                var span = Telemetry.OrchestratorActivities.StartPipelineNode(run.Id, run.PipelineId, node.Id, node.Type, node.ActionType, attempt, instance);
                var result = await (node.Type == NodeDefinition.SubPipeline
                    ? executor.RunChildAsync(run, node, config, instance, attempt, token)
                    : executor.RunActionAsync(run, node, config, key, attempt, token));
                Telemetry.OrchestratorActivities.EndPipelineNode(span, result.Status.ToString().ToLowerInvariant(), result.Error);
                return result;
            }, CancellationToken.None);
        }
    }
}
