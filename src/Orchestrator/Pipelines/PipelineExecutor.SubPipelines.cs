using System.Data.Common;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Orchestrator.Data;

namespace Orchestrator.Pipelines;

/// <summary>Sub-pipelines: a <c>pipeline</c> node starts (or finds) a child run and runs it in place.</summary>
public sealed partial class PipelineExecutor
{
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
            var finished = await RunAsync(childId.Value, instance, parent.FireInstanceId!, limit.Token, retryFailed: true);
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
}
