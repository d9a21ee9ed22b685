using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Orchestrator.Actions;
using Orchestrator.Data;
using Orchestrator.Hosting;
using Orchestrator.Projects;
using Orchestrator.Security;
using Quartz;

namespace Orchestrator.Pipelines;

public sealed record RunPipelineRequest(JsonElement? Inputs);

public sealed record PipelineResponse(string Id, string Name, string Project, string? Description, int Version, int MaxParallelism, string FailurePolicy,
    IReadOnlyList<NodeDefinition> Nodes, IReadOnlyList<EdgeDefinition> Edges, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public static PipelineResponse From(Pipeline p, int version, PipelineDefinition d) =>
        new(p.Id, p.Name, p.ProjectId, p.Description, version, d.MaxParallelism, d.FailurePolicy, d.Nodes, d.Edges, p.CreatedAt, p.UpdatedAt);
}

public sealed record PipelineRunResponse(Guid Id, string PipelineId, int Version, string Project, string Status, string TriggeredBy, Guid? LedgerRunId,
    Guid? ParentRunId, string? ParentNodeId, JsonNode? Inputs, DateTimeOffset CreatedAt, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt,
    string? Node, int Attempt, bool CancelRequested, string? Error)
{
    public static PipelineRunResponse From(PipelineRun r) => new(r.Id, r.PipelineId, r.Version, r.ProjectId, r.Status.ToString().ToLowerInvariant(), r.TriggeredBy,
        r.LedgerRunId, r.ParentRunId, r.ParentNodeId, JsonNode.Parse(r.Inputs), r.CreatedAt, r.StartedAt, r.FinishedAt, r.Node, r.Attempt, r.CancelRequested, r.Error);
}

public sealed record NodeRunResponse(string NodeId, string Status, int Attempts, string IdempotencyKey, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt,
    JsonNode? Output, string? Error, string? Node, Guid? ChildRunId)
{
    public static NodeRunResponse From(NodeRun n) => new(n.NodeId, n.Status.ToString().ToLowerInvariant(), n.Attempts, n.IdempotencyKey, n.StartedAt, n.FinishedAt,
        n.Output is null ? null : JsonNode.Parse(n.Output), n.Error, n.Node, n.ChildRunId);
}

/// <summary>One run with its node runs and the definition it ran (nodes and edges), enough to draw it.</summary>
public sealed record PipelineRunDetail(PipelineRunResponse Run, IReadOnlyList<NodeRunResponse> Nodes, IReadOnlyList<NodeDefinition> Definition, IReadOnlyList<EdgeDefinition> Edges);

/// <summary>Pipelines: versioned definitions (validated on save), runs through the cluster, run details with node runs, cancel.</summary>
public static class PipelineEndpoints
{
    public static IServiceCollection AddPipelines(this IServiceCollection services)
    {
        services.AddScoped<PipelineValidator>();
        services.AddSingleton<PipelineExecutor>();
        services.AddSingleton<ActionDefinition, ExecutePipelineAction>();
        return services;
    }

    public static IEndpointRouteBuilder MapPipelines(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/pipelines").WithTags("Pipelines").RequireAuthorization(Policies.Viewer);
        group.MapGet("/", ListPipelines).WithName("ListPipelines").WithSummary("Pipelines (filter project; paging).");
        group.MapPost("/", CreatePipeline).WithName("CreatePipeline").WithSummary("Create a pipeline (version 1) after validating its definition.").RequireAuthorization(Policies.Admin);
        group.MapPost("/validate", ValidatePipeline).WithName("ValidatePipeline").WithSummary("Validate a definition without saving it.");
        group.MapGet("/{id}", GetPipeline).WithName("GetPipeline").WithSummary("One pipeline with its current definition (or ?version=N).");
        group.MapPut("/{id}", ReplacePipeline).WithName("ReplacePipeline").WithSummary("Save a new version; runs keep the version they started with.").RequireAuthorization(Policies.Admin);
        group.MapDelete("/{id}", DeletePipeline).WithName("DeletePipeline").WithSummary("Delete a pipeline no other pipeline uses; its runs are kept.").RequireAuthorization(Policies.Admin);
        group.MapPost("/{id}/run", RunPipeline).WithName("RunPipeline").WithSummary("Start a run with {inputs}; any node of the cluster executes it.").RequireAuthorization(Policies.Operator);
        group.MapGet("/{id}/runs", ListRuns).WithName("ListPipelineRuns").WithSummary("Runs of one pipeline, newest first.");

        var runs = app.MapGroup("/api/pipeline-runs").WithTags("Pipelines").RequireAuthorization(Policies.Viewer);
        runs.MapGet("/{runId:guid}", GetRun).WithName("GetPipelineRun").WithSummary("One run with its node runs and the definition it ran.");
        runs.MapPost("/{runId:guid}/cancel", CancelRun).WithName("CancelPipelineRun").WithSummary("Cancel a run: running nodes are cancelled, the rest skipped.")
            .RequireAuthorization(Policies.Operator);
        return app;
    }

    public static async Task<Ok<PagedList<JsonObject>>> ListPipelines(OrchestratorDbContext db, string? project, int? page, int? pageSize, CancellationToken ct)
    {
        var paging = Paging.From(page, pageSize);
        var query = db.Pipelines.AsNoTracking().Where(p => project == null || p.ProjectId == project);
        var total = await query.CountAsync(ct);
        var items = await query.OrderBy(p => p.Id).Skip(paging.Skip).Take(paging.Size).ToListAsync(ct);
        return TypedResults.Ok(new PagedList<JsonObject>([.. items.Select(p => new JsonObject
        {
            ["id"] = p.Id, ["name"] = p.Name, ["project"] = p.ProjectId, ["description"] = p.Description, ["version"] = p.Version, ["updatedAt"] = p.UpdatedAt,
        })], paging.Number, paging.Size, total));
    }

    public static async Task<Results<Created<PipelineResponse>, ProblemHttpResult>> CreatePipeline(
        PipelineRequest request, PipelineValidator validator, OrchestratorDbContext db, TimeProvider time, CancellationToken ct)
    {
        var (definition, problems) = await validator.ValidateAsync(request, request.Id, ct);
        if (request.Id is null)
        {
            problems.Add("id", "is required: lowercase letters, digits and '-' (up to 63).");
        }

        if (definition is null || problems.Any)
        {
            return problems.ToProblem();
        }

        if (await db.Pipelines.AnyAsync(p => p.Id == request.Id, ct))
        {
            return ApiProblems.Conflict($"A pipeline with id '{request.Id}' already exists.");
        }

        // Versions of a deleted pipeline with the same id are kept for their runs; numbering continues after them.
        var version = (await db.PipelineVersions.Where(v => v.PipelineId == request.Id).MaxAsync(v => (int?)v.Version, ct) ?? 0) + 1;
        var now = time.GetUtcNow();
        var pipeline = new Pipeline
        {
            Id = request.Id!, Name = request.Name!, ProjectId = request.Project ?? Project.DefaultId, Description = request.Description,
            Version = version, CreatedAt = now, UpdatedAt = now,
        };
        db.Pipelines.Add(pipeline);
        db.PipelineVersions.Add(new PipelineVersion { PipelineId = pipeline.Id, Version = version, Definition = definition.ToJson(), CreatedAt = now });
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException)
        {
            return ApiProblems.Conflict($"A pipeline with id '{request.Id}' already exists.");
        }

        return TypedResults.Created($"/api/pipelines/{pipeline.Id}", PipelineResponse.From(pipeline, version, definition));
    }

    public static async Task<Results<Ok<JsonObject>, ProblemHttpResult>> ValidatePipeline(PipelineRequest request, PipelineValidator validator, CancellationToken ct)
    {
        var (definition, errors) = await validator.ValidateAsync(request, request.Id, ct);
        if (definition is null)
        {
            return errors.ToProblem();
        }

        var order = new JsonArray();
        foreach (var node in definition.Nodes)
        {
            order.Add(node.Id);
        }

        return TypedResults.Ok(new JsonObject { ["valid"] = true, ["nodes"] = definition.Nodes.Count, ["edges"] = definition.Edges.Count, ["order"] = order });
    }

    public static async Task<Results<Ok<PipelineResponse>, ProblemHttpResult>> GetPipeline(string id, int? version, OrchestratorDbContext db, CancellationToken ct)
    {
        var pipeline = await db.Pipelines.AsNoTracking().FirstOrDefaultAsync(p => p.Id == id, ct);
        if (pipeline is null)
        {
            return ApiProblems.NotFound("pipeline", id);
        }

        var wanted = version ?? pipeline.Version;
        var definition = await db.PipelineVersions.AsNoTracking().Where(v => v.PipelineId == id && v.Version == wanted).Select(v => v.Definition).FirstOrDefaultAsync(ct);
        return definition is null
            ? ApiProblems.NotFound("pipeline version", $"{id} v{wanted}")
            : TypedResults.Ok(PipelineResponse.From(pipeline, wanted, PipelineDefinition.FromJson(definition)));
    }

    public static async Task<Results<Ok<PipelineResponse>, ProblemHttpResult>> ReplacePipeline(
        string id, PipelineRequest request, PipelineValidator validator, OrchestratorDbContext db, TimeProvider time, CancellationToken ct)
    {
        var pipeline = await db.Pipelines.FirstOrDefaultAsync(p => p.Id == id, ct);
        if (pipeline is null)
        {
            return ApiProblems.NotFound("pipeline", id);
        }

        var (definition, errors) = await validator.ValidateAsync(request with { Project = request.Project ?? pipeline.ProjectId }, id, ct);
        if (request.Id is not null && request.Id != id)
        {
            errors.Add("id", $"must match the pipeline in the URL ('{id}').");
        }

        if (definition is null || errors.Any)
        {
            return errors.ToProblem();
        }

        var now = time.GetUtcNow();
        pipeline.Version += 1;
        pipeline.Name = request.Name!;
        pipeline.Description = request.Description;
        pipeline.ProjectId = request.Project ?? pipeline.ProjectId;
        pipeline.UpdatedAt = now;
        db.PipelineVersions.Add(new PipelineVersion { PipelineId = id, Version = pipeline.Version, Definition = definition.ToJson(), CreatedAt = now });
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException)
        {
            return ApiProblems.Conflict($"Pipeline '{id}' was changed by someone else at the same time; read it again and retry.");
        }

        return TypedResults.Ok(PipelineResponse.From(pipeline, pipeline.Version, definition));
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> DeletePipeline(string id, OrchestratorDbContext db, CancellationToken ct)
    {
        var pipeline = await db.Pipelines.FirstOrDefaultAsync(p => p.Id == id, ct);
        if (pipeline is null)
        {
            return ApiProblems.NotFound("pipeline", id);
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
            return ApiProblems.Conflict($"Pipeline '{id}' is used as a sub-pipeline by {string.Join(", ", users.Select(u => $"'{u}'"))}.");
        }

        db.Pipelines.Remove(pipeline);
        await db.SaveChangesAsync(ct);
        return TypedResults.NoContent();
    }

    public static async Task<Results<Accepted<PipelineRunResponse>, ProblemHttpResult>> RunPipeline(
        string id, RunPipelineRequest? request, OrchestratorDbContext db, ISchedulerFactory schedulers, TimeProvider time, CancellationToken ct)
    {
        var pipeline = await db.Pipelines.AsNoTracking().FirstOrDefaultAsync(p => p.Id == id, ct);
        if (pipeline is null)
        {
            return ApiProblems.NotFound("pipeline", id);
        }

        if (request?.Inputs is { } given && given.ValueKind != JsonValueKind.Object)
        {
            var errors = new FieldErrors();
            errors.Add("inputs", "must be a JSON object.");
            return errors.ToProblem();
        }

        var run = new PipelineRun
        {
            Id = Guid.CreateVersion7(time.GetUtcNow()),
            PipelineId = pipeline.Id,
            Version = pipeline.Version,
            ProjectId = pipeline.ProjectId,
            Status = PipelineRunStatus.Pending,
            TriggeredBy = "api",
            Inputs = request?.Inputs?.GetRawText() ?? "{}",
            CreatedAt = time.GetUtcNow(),
        };
        db.PipelineRuns.Add(run);
        await db.SaveChangesAsync(ct);
        await PipelineRunJob.StartAsync(schedulers, run.Id, ct);
        return TypedResults.Accepted($"/api/pipeline-runs/{run.Id}", PipelineRunResponse.From(run));
    }

    public static async Task<Results<Ok<PagedList<PipelineRunResponse>>, ProblemHttpResult>> ListRuns(
        string id, OrchestratorDbContext db, int? page, int? pageSize, CancellationToken ct)
    {
        if (!await db.Pipelines.AnyAsync(p => p.Id == id, ct) && !await db.PipelineRuns.AnyAsync(r => r.PipelineId == id, ct))
        {
            return ApiProblems.NotFound("pipeline", id);
        }

        var paging = Paging.From(page, pageSize);
        var query = db.PipelineRuns.AsNoTracking().Where(r => r.PipelineId == id);
        var total = await query.CountAsync(ct);
        // Version 7 ids grow with creation time: newest first without sorting on a converted timestamp.
        var items = await query.OrderByDescending(r => r.Id).Skip(paging.Skip).Take(paging.Size).ToListAsync(ct);
        return TypedResults.Ok(new PagedList<PipelineRunResponse>([.. items.Select(PipelineRunResponse.From)], paging.Number, paging.Size, total));
    }

    public static async Task<Results<Ok<PipelineRunDetail>, ProblemHttpResult>> GetRun(Guid runId, OrchestratorDbContext db, CancellationToken ct)
    {
        var run = await db.PipelineRuns.AsNoTracking().FirstOrDefaultAsync(r => r.Id == runId, ct);
        if (run is null)
        {
            return ApiProblems.NotFound("pipeline run", runId.ToString());
        }

        var nodes = await db.NodeRuns.AsNoTracking().Where(n => n.PipelineRunId == runId).ToListAsync(ct);
        var definition = PipelineDefinition.FromJson(await db.PipelineVersions.AsNoTracking()
            .Where(v => v.PipelineId == run.PipelineId && v.Version == run.Version).Select(v => v.Definition).FirstAsync(ct));
        var order = definition.Nodes.Select((n, i) => (n.Id, i)).ToDictionary(p => p.Id, p => p.i, StringComparer.Ordinal);
        return TypedResults.Ok(new PipelineRunDetail(PipelineRunResponse.From(run),
            [.. nodes.OrderBy(n => order.GetValueOrDefault(n.NodeId, int.MaxValue)).Select(NodeRunResponse.From)], definition.Nodes, definition.Edges));
    }

    public static async Task<Results<Accepted<PipelineRunResponse>, ProblemHttpResult>> CancelRun(
        Guid runId, OrchestratorDbContext db, PipelineExecutor executor, TimeProvider time, CancellationToken ct)
    {
        var run = await db.PipelineRuns.AsNoTracking().FirstOrDefaultAsync(r => r.Id == runId, ct);
        if (run is null)
        {
            return ApiProblems.NotFound("pipeline run", runId.ToString());
        }

        // An interrupted run has no executor: it is ended here, by a conditional update, and its resume finds it
        // cancelled (the claim requires the status it read and no cancel). If a resume claimed it first, it is running
        // and is cancelled like any running run.
        if (run.Status == PipelineRunStatus.Interrupted && await CancelInterruptedAsync(db, runId, time.GetUtcNow(), ct))
        {
            return TypedResults.Accepted($"/api/pipeline-runs/{run.Id}", PipelineRunResponse.From(await db.PipelineRuns.AsNoTracking().FirstAsync(r => r.Id == runId, ct)));
        }

        // The flag reaches the executor wherever it runs (it checks every second); here, it is cancelled at once.
        if (await db.PipelineRuns.Where(r => r.Id == runId && (r.Status == PipelineRunStatus.Pending || r.Status == PipelineRunStatus.Running))
                .ExecuteUpdateAsync(s => s.SetProperty(r => r.CancelRequested, true), ct) == 0)
        {
            var status = await db.PipelineRuns.Where(r => r.Id == runId).Select(r => r.Status).FirstAsync(ct);
            return ApiProblems.Conflict($"Pipeline run {run.Id} is {status.ToString().ToLowerInvariant()}; only pending, running or interrupted runs can be cancelled.");
        }

        executor.CancelLocally(run.Id);
        return TypedResults.Accepted($"/api/pipeline-runs/{run.Id}", PipelineRunResponse.From(await db.PipelineRuns.AsNoTracking().FirstAsync(r => r.Id == runId, ct)));
    }

    /// <summary>Ends an interrupted run as cancelled, with its interrupted sub-pipeline runs (only their parent would have resumed them).</summary>
    private static async Task<bool> CancelInterruptedAsync(OrchestratorDbContext db, Guid runId, DateTimeOffset now, CancellationToken ct)
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
            await CancelInterruptedAsync(db, child, now, ct);
        }

        return true;
    }
}
