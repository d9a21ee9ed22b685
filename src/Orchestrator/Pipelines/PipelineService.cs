using System.Text.Json;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using Orchestrator.Actions;
using Orchestrator.Api;
using Orchestrator.Audit;
using Orchestrator.Data;
using Orchestrator.Definitions;
using Orchestrator.Projects;
using Orchestrator.Schedules;
using Orchestrator.Security;
using Quartz;

namespace Orchestrator.Pipelines;

/// <summary>
/// The pipeline use cases: versioned definitions (validated on save), runs handed to the cluster, run details, cancel.
/// The endpoints, and any other surface, call these; a refusal comes back as the problem each surface shows its own way.
/// </summary>
public sealed class PipelineService(
    OrchestratorDbContext db, PipelineValidator validator, PipelineExecutor executor, ISchedulerFactory schedulers, ProjectScope scope, ScopedKeyLimits limits, AuditLog audit, TimeProvider time)
{
    /// <summary>
    /// One page of pipelines. A <c>project</c> filter that names no project (defined, or holding a pipeline), or one a
    /// scoped key may not see, is a 404 naming it, as the runs and schedules lists answer, not an empty page.
    /// </summary>
    public async Task<Outcome<PagedList<PipelineSummary>>> ListAsync(string? project, Paging paging, CancellationToken ct)
    {
        if (project is not null && (!scope.Allows(project)
            || !(await db.Projects.AnyAsync(p => p.Id == project, ct) || await db.Pipelines.AnyAsync(p => p.ProjectId == project, ct))))
        {
            return Problems.NotFound("project", project);
        }

        var query = db.Pipelines.AsNoTracking().Where(p => project == null || p.ProjectId == project);
        if (scope.Projects is { } allowed)
        {
            query = query.Where(p => allowed.Contains(p.ProjectId));
        }

        var total = await query.CountAsync(ct);
        var items = await query.OrderBy(p => p.Id).Skip(paging.Skip).Take(paging.Size).ToListAsync(ct);
        return new PagedList<PipelineSummary>([.. items.Select(PipelineSummary.From)], paging.Number, paging.Size, total);
    }

    public async Task<Outcome<PipelineResponse>> CreateAsync(PipelineRequest request, CancellationToken ct)
    {
        // Before validation, which would otherwise tell a scoped key what exists in a project it cannot see.
        if (scope.RefuseOutside(request.Project ?? Project.DefaultId) is { } outside)
        {
            return outside;
        }

        if (await limits.CheckPipelineAsync(request, ct) is { } limited)
        {
            return limited;
        }

        var (definition, problems) = await validator.ValidateAsync(request, request.Id, ct);
        if (request.Id is null)
        {
            problems.Add("id", "is required: lowercase letters, digits and '-' (up to 63).");
        }

        if (definition is null || problems.Any)
        {
            return problems.ToProblemDetails();
        }

        if (await db.Pipelines.AnyAsync(p => p.Id == request.Id, ct))
        {
            return Problems.Conflict($"A pipeline with id '{request.Id}' already exists.", "id");
        }

        // Versions of a deleted pipeline with the same id are kept for their runs; numbering continues after them.
        var version = (await db.PipelineVersions.Where(v => v.PipelineId == request.Id).MaxAsync(v => (int?)v.Version, ct) ?? 0) + 1;
        var now = time.GetUtcNow();
        var pipeline = new Pipeline
        {
            Id = request.Id!,
            Name = request.Name!,
            ProjectId = request.Project ?? Project.DefaultId,
            Description = request.Description,
            Version = version,
            CreatedAt = now,
            UpdatedAt = now,
        };
        db.Pipelines.Add(pipeline);
        db.PipelineVersions.Add(new PipelineVersion { PipelineId = pipeline.Id, Version = version, Definition = definition.ToJson(), CreatedAt = now });
        audit.Add(new AuditChange("pipeline.create", "pipeline", pipeline.Id, pipeline.ProjectId, null, PipelineResponse.From(pipeline, version, definition)));
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException)
        {
            return Problems.Conflict($"A pipeline with id '{request.Id}' already exists.", "id");
        }

        if (definition.Deadline is not null)
        {
            await Deadlines.DeadlineWatches.WatchAsync(db, Deadlines.DeadlineBreach.Pipeline, pipeline.Id, now, ct);
        }

        return PipelineResponse.From(pipeline, version, definition);
    }

    public async Task<Outcome<PipelineValidationResponse>> ValidateAsync(PipelineRequest request, CancellationToken ct)
    {
        if (scope.RefuseOutside(request.Project ?? Project.DefaultId) is { } outside)
        {
            return outside;
        }

        var (definition, errors) = await validator.ValidateAsync(request, request.Id, ct);
        return definition is null
            ? errors.ToProblemDetails()
            : new PipelineValidationResponse(true, definition.Nodes.Count, definition.Edges.Count, [.. definition.Nodes.Select(n => n.Id)]);
    }

    public async Task<Outcome<PipelineResponse>> GetAsync(string id, int? version, CancellationToken ct)
    {
        var pipeline = await db.Pipelines.AsNoTracking().FirstOrDefaultAsync(p => p.Id == id, ct);
        if (pipeline is null || !scope.Allows(pipeline.ProjectId))
        {
            return Problems.NotFound("pipeline", id);
        }

        var wanted = version ?? pipeline.Version;
        var definition = await db.PipelineVersions.AsNoTracking().Where(v => v.PipelineId == id && v.Version == wanted).Select(v => v.Definition).FirstOrDefaultAsync(ct);
        return definition is null
            ? Problems.NotFound("pipeline version", $"{id} v{wanted}")
            : PipelineResponse.From(pipeline, wanted, PipelineDefinition.FromJson(definition));
    }

    public async Task<Outcome<PipelineResponse>> ReplaceAsync(string id, PipelineRequest request, CancellationToken ct, bool force = false)
    {
        var pipeline = await db.Pipelines.FirstOrDefaultAsync(p => p.Id == id, ct);
        if (pipeline is null || !scope.Allows(pipeline.ProjectId))
        {
            return Problems.NotFound("pipeline", id);
        }

        if (request.Project is { } moveTo && scope.RefuseOutside(moveTo) is { } outside)
        {
            return outside;
        }

        if (await ManagedMarks.RefuseUnlessForcedAsync(db, DefinitionKinds.Pipeline, id, force, ct) is { } managed)
        {
            return managed;
        }

        if (await limits.CheckPipelineAsync(request, ct) is { } limited)
        {
            return limited;
        }

        var (definition, errors) = await validator.ValidateAsync(request with { Project = request.Project ?? pipeline.ProjectId }, id, ct);
        if (request.Id is not null && request.Id != id)
        {
            errors.Add("id", $"must match the pipeline in the URL ('{id}').");
        }

        if (definition is null || errors.Any)
        {
            return errors.ToProblemDetails();
        }

        var before = (await GetAsync(id, null, ct)).Value;
        var now = time.GetUtcNow();
        pipeline.Version += 1;
        pipeline.Name = request.Name!;
        pipeline.Description = request.Description;
        pipeline.ProjectId = request.Project ?? pipeline.ProjectId;
        pipeline.UpdatedAt = now;
        db.PipelineVersions.Add(new PipelineVersion { PipelineId = id, Version = pipeline.Version, Definition = definition.ToJson(), CreatedAt = now });
        audit.Add(new AuditChange("pipeline.update", "pipeline", id, pipeline.ProjectId, before, PipelineResponse.From(pipeline, pipeline.Version, definition)));
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException)
        {
            return Problems.Conflict($"Pipeline '{id}' was changed by someone else at the same time; read it again and retry.");
        }

        if (definition.Deadline is not null)
        {
            await Deadlines.DeadlineWatches.WatchAsync(db, Deadlines.DeadlineBreach.Pipeline, id, now, ct);
        }

        return PipelineResponse.From(pipeline, pipeline.Version, definition);
    }

    /// <summary>Deletes a pipeline no other pipeline uses as a sub-pipeline; its versions and runs are kept.</summary>
    public async Task<Outcome<PipelineDeleted>> DeleteAsync(string id, CancellationToken ct, bool force = false)
    {
        var pipeline = await db.Pipelines.FirstOrDefaultAsync(p => p.Id == id, ct);
        if (pipeline is null || !scope.Allows(pipeline.ProjectId))
        {
            return Problems.NotFound("pipeline", id);
        }

        if (await ManagedMarks.RefuseUnlessForcedAsync(db, DefinitionKinds.Pipeline, id, force, ct) is { } managed)
        {
            return managed;
        }

        var users = new List<string>();
        var current = await (from p in db.Pipelines
                             join v in db.PipelineVersions on new { p.Id, p.Version } equals new { Id = v.PipelineId, v.Version }
                             where p.Id != id
                             select new { p.Id, v.Definition }).ToListAsync(ct);
        foreach (var other in current)
        {
            if (PipelineDefinition.FromJson(other.Definition).Nodes.Any(n => n.Type == NodeDefinition.SubPipeline && n.Pipeline == id))
            {
                users.Add(other.Id);
            }
        }

        if (users.Count > 0)
        {
            return Problems.Conflict($"Pipeline '{id}' is used as a sub-pipeline by {string.Join(", ", users.Select(u => $"'{u}'"))}.");
        }

        if (await ExecutedElsewhereAsync(id, ct) is { } inUse)
        {
            return inUse;
        }

        audit.Add(new AuditChange("pipeline.delete", "pipeline", id, pipeline.ProjectId, (await GetAsync(id, null, ct)).Value, null));
        db.Pipelines.Remove(pipeline);
        await db.SaveChangesAsync(ct);
        await ManagedMarks.ForgetAsync(db, DefinitionKinds.Pipeline, id, ct);
        return new PipelineDeleted(id);
    }

    /// <summary>
    /// The refusal while execute_pipeline schedules or pipeline nodes still run pipeline <paramref name="id"/>: each of
    /// their firings would fail on it.
    /// </summary>
    private async Task<ProblemDetails?> ExecutedElsewhereAsync(string id, CancellationToken ct)
    {
        var reference = new ActionReference(ExecutePipelineAction.TypeName, "pipeline", id);
        return InUseProblem.For($"Pipeline '{id}'",
            await ScheduleReferences.UsingAsync(schedulers, reference, ct),
            [.. (await PipelineReferences.UsingAsync(db, reference, ct)).Where(p => p != id)]);
    }

    /// <summary>Records a pending run of the current version and hands it to the cluster: whichever node acquires it runs it.</summary>
    public async Task<Outcome<PipelineRunResponse>> RunAsync(string id, JsonElement? inputs, CancellationToken ct)
    {
        var pipeline = await db.Pipelines.AsNoTracking().FirstOrDefaultAsync(p => p.Id == id, ct);
        if (pipeline is null || !scope.Allows(pipeline.ProjectId))
        {
            return Problems.NotFound("pipeline", id);
        }

        if (inputs is { } given && given.ValueKind != JsonValueKind.Object)
        {
            var errors = new FieldErrors();
            errors.Add("inputs", "must be a JSON object.");
            return errors.ToProblemDetails();
        }

        var run = PipelineRun.Pending(pipeline, "api", inputs?.GetRawText() ?? "{}", time.GetUtcNow());
        db.PipelineRuns.Add(run);
        audit.Add(new AuditChange("pipeline.run", "pipeline", id, pipeline.ProjectId, null, PipelineRunResponse.From(run)));
        await db.SaveChangesAsync(ct);
        await PipelineRunJob.StartAsync(schedulers, run.Id, ct);
        return PipelineRunResponse.From(run);
    }

    public async Task<Outcome<PagedList<PipelineRunResponse>>> ListRunsAsync(string id, Paging paging, CancellationToken ct)
    {
        var runs = db.PipelineRuns.AsNoTracking().Where(r => r.PipelineId == id);
        var pipelines = db.Pipelines.Where(p => p.Id == id);
        if (scope.Projects is { } allowed)
        {
            runs = runs.Where(r => allowed.Contains(r.ProjectId));
            pipelines = pipelines.Where(p => allowed.Contains(p.ProjectId));
        }

        if (!await pipelines.AnyAsync(ct) && !await runs.AnyAsync(ct))
        {
            return Problems.NotFound("pipeline", id);
        }

        var query = runs;
        var total = await query.CountAsync(ct);
        // Version 7 ids grow with creation time: newest first without sorting on a converted timestamp.
        var items = await query.OrderByDescending(r => r.Id).Skip(paging.Skip).Take(paging.Size).ToListAsync(ct);
        return new PagedList<PipelineRunResponse>([.. items.Select(PipelineRunResponse.From)], paging.Number, paging.Size, total);
    }

    public async Task<Outcome<PipelineRunDetail>> GetRunAsync(Guid runId, CancellationToken ct)
    {
        var run = await db.PipelineRuns.AsNoTracking().FirstOrDefaultAsync(r => r.Id == runId, ct);
        if (run is null || !scope.Allows(run.ProjectId))
        {
            return Problems.NotFound("pipeline run", runId.ToString());
        }

        var nodes = await db.NodeRuns.AsNoTracking().Where(n => n.PipelineRunId == runId).ToListAsync(ct);
        var definition = PipelineDefinition.FromJson(await db.PipelineVersions.AsNoTracking()
            .Where(v => v.PipelineId == run.PipelineId && v.Version == run.Version).Select(v => v.Definition).FirstAsync(ct));
        var order = definition.Nodes.Select((n, i) => (n.Id, i)).ToDictionary(p => p.Id, p => p.i, StringComparer.Ordinal);
        return new PipelineRunDetail(PipelineRunResponse.From(run),
            [.. nodes.OrderBy(n => order.GetValueOrDefault(n.NodeId, int.MaxValue)).Select(NodeRunResponse.From)], definition.Nodes, definition.Edges);
    }

    /// <summary>Cancels a pending, running or interrupted run: running nodes are cancelled, the rest skipped.</summary>
    public async Task<Outcome<PipelineRunResponse>> CancelRunAsync(Guid runId, CancellationToken ct)
    {
        var run = await db.PipelineRuns.AsNoTracking().FirstOrDefaultAsync(r => r.Id == runId, ct);
        if (run is null || !scope.Allows(run.ProjectId))
        {
            return Problems.NotFound("pipeline run", runId.ToString());
        }

        // An interrupted run has no executor: it is ended here, by a conditional update, and its resume finds it
        // cancelled (the claim requires the status it read and no cancel). If a resume claimed it first, it is running
        // and is cancelled like any running run.
        if (run.Status == PipelineRunStatus.Interrupted && await CancelInterruptedAsync(runId, time.GetUtcNow(), ct))
        {
            return await CancelledAsync(run, ct);
        }

        // The flag is the durable request: an executor that has not claimed the run yet, or one resuming it after a
        // crash, finds it and ends the run cancelled.
        if (await db.PipelineRuns.Where(r => r.Id == runId && (r.Status == PipelineRunStatus.Pending || r.Status == PipelineRunStatus.Running))
                .ExecuteUpdateAsync(s => s.SetProperty(r => r.CancelRequested, true), ct) == 0)
        {
            var status = await db.PipelineRuns.Where(r => r.Id == runId).Select(r => r.Status).FirstAsync(ct);
            return Problems.Conflict($"Pipeline run {run.Id} is {status.ToString().ToLowerInvariant()}; only pending, running or interrupted runs can be cancelled.");
        }

        await executor.CancelAsync(runId, ct);
        return await CancelledAsync(run, ct);
    }

    /// <summary>The run as its cancel left it, with the cancel recorded in the audit log.</summary>
    private async Task<PipelineRunResponse> CancelledAsync(PipelineRun before, CancellationToken ct)
    {
        var after = PipelineRunResponse.From(await db.PipelineRuns.AsNoTracking().FirstAsync(r => r.Id == before.Id, ct));
        await audit.RecordAsync(new AuditChange("pipeline-run.cancel", "pipeline-run", before.Id.ToString(), null, PipelineRunResponse.From(before), after), ct);
        return after;
    }

    /// <summary>Ends an interrupted run as cancelled, with its interrupted sub-pipeline runs (only their parent would have resumed them).</summary>
    private async Task<bool> CancelInterruptedAsync(Guid runId, DateTimeOffset now, CancellationToken ct)
    {
        const string Reason = "cancelled while interrupted";
        if (await db.PipelineRuns.Where(r => r.Id == runId && r.Status == PipelineRunStatus.Interrupted).ExecuteUpdateAsync(s => s
                .SetProperty(r => r.Status, PipelineRunStatus.Cancelled).SetProperty(r => r.CancelRequested, true)
                .SetProperty(r => r.FinishedAt, now).SetProperty(r => r.Error, Reason), ct) == 0)
        {
            return false;
        }

        foreach (var status in new[] { NodeRunStatus.Running, NodeRunStatus.Pending })
        {
            var becomes = status == NodeRunStatus.Running ? NodeRunStatus.Cancelled : NodeRunStatus.Skipped;
            await db.NodeRuns.Where(n => n.PipelineRunId == runId && n.Status == status)
                .ExecuteUpdateAsync(s => s.SetProperty(n => n.Status, becomes).SetProperty(n => n.Error, Reason).SetProperty(n => n.FinishedAt, now), ct);
        }

        foreach (var child in await db.PipelineRuns.Where(r => r.ParentRunId == runId && r.Status == PipelineRunStatus.Interrupted).Select(r => r.Id).ToListAsync(ct))
        {
            await CancelInterruptedAsync(child, now, ct);
        }

        return true;
    }
}
