using Microsoft.AspNetCore.Http.HttpResults;
using Orchestrator.Actions;
using Orchestrator.Api;
using Orchestrator.Security;

namespace Orchestrator.Pipelines;

/// <summary>Pipelines over HTTP: each route maps to a <see cref="PipelineService"/> use case and a typed result.</summary>
public static class PipelineEndpoints
{
    public static IServiceCollection AddPipelines(this IServiceCollection services)
    {
        services.AddScoped<PipelineValidator>();
        services.AddScoped<PipelineService>();
        services.AddSingleton<PipelineExecutor>();
        return services;
    }

    public static IEndpointRouteBuilder MapPipelines(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/pipelines").WithTags("Pipelines").RequireAuthorization(Policies.Viewer);
        group.MapGet("/", ListPipelines).WithName("ListPipelines").WithSummary("Pipelines (filter project; paging).").WithPaging(PagingRule.Standard)
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPost("/", CreatePipeline).WithName("CreatePipeline").WithSummary("Create a pipeline (version 1) after validating its definition.")
            .ProducesValidationProblem(StatusCodes.Status422UnprocessableEntity).ProducesProblem(StatusCodes.Status409Conflict)
            .RequireAuthorization(Policies.Admin);
        group.MapPost("/validate", ValidatePipeline).WithName("ValidatePipeline").WithSummary("Validate a definition without saving it.")
            .ProducesValidationProblem(StatusCodes.Status422UnprocessableEntity);
        group.MapGet("/{id}", GetPipeline).WithName("GetPipeline").WithSummary("One pipeline with its current definition (or ?version=N).")
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPut("/{id}", ReplacePipeline).WithName("ReplacePipeline").WithSummary("Save a new version; runs keep the version they started with.")
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesValidationProblem(StatusCodes.Status422UnprocessableEntity).ProducesProblem(StatusCodes.Status409Conflict)
            .RequireAuthorization(Policies.Admin);
        group.MapDelete("/{id}", DeletePipeline).WithName("DeletePipeline").WithSummary("Delete a pipeline no other pipeline uses; its runs are kept.")
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict)
            .RequireAuthorization(Policies.Admin);
        group.MapPost("/{id}/run", RunPipeline).WithName("RunPipeline").WithSummary("Start a run with {inputs}; any node of the cluster executes it.")
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesValidationProblem(StatusCodes.Status422UnprocessableEntity)
            .RequireAuthorization(Policies.Operator);
        group.MapGet("/{id}/runs", ListRuns).WithName("ListPipelineRuns").WithSummary("Runs of one pipeline, newest first.").WithPaging(PagingRule.Standard)
            .ProducesProblem(StatusCodes.Status404NotFound);

        var runs = app.MapGroup("/api/pipeline-runs").WithTags("Pipelines").RequireAuthorization(Policies.Viewer);
        runs.MapGet("/{runId}", GetRun).WithName("GetPipelineRun").WithSummary("One run with its node runs and the definition it ran.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        runs.MapPost("/{runId}/cancel", CancelRun).WithName("CancelPipelineRun").WithSummary("Cancel a run: running nodes are cancelled, the rest skipped.")
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict)
            .RequireAuthorization(Policies.Operator);
        return app;
    }

    public static async Task<Results<Ok<PagedList<PipelineSummary>>, ProblemHttpResult>> ListPipelines(
        PipelineService pipelines, string? project, int? page, int? pageSize, CancellationToken ct)
    {
        var paging = PagingRule.Standard.Read(page, pageSize);
        if (!paging.Succeeded)
        {
            return paging.Problem.ToProblemResult();
        }

        var listed = await pipelines.ListAsync(project, paging.Value, ct);
        return listed.Succeeded ? TypedResults.Ok(listed.Value) : listed.Problem.ToProblemResult();
    }

    public static async Task<Results<Created<PipelineResponse>, ProblemHttpResult>> CreatePipeline(PipelineRequest request, PipelineService pipelines, CancellationToken ct)
    {
        var created = await pipelines.CreateAsync(request, ct);
        return created.Succeeded ? TypedResults.Created($"/api/pipelines/{created.Value.Id}", created.Value) : created.Problem.ToProblemResult();
    }

    public static async Task<Results<Ok<PipelineValidationResponse>, ProblemHttpResult>> ValidatePipeline(PipelineRequest request, PipelineService pipelines, CancellationToken ct)
    {
        var validated = await pipelines.ValidateAsync(request, ct);
        return validated.Succeeded ? TypedResults.Ok(validated.Value) : validated.Problem.ToProblemResult();
    }

    public static async Task<Results<Ok<PipelineResponse>, ProblemHttpResult>> GetPipeline(string id, int? version, PipelineService pipelines, CancellationToken ct)
    {
        var found = await pipelines.GetAsync(id, version, ct);
        return found.Succeeded ? TypedResults.Ok(found.Value) : found.Problem.ToProblemResult();
    }

    public static async Task<Results<Ok<PipelineResponse>, ProblemHttpResult>> ReplacePipeline(string id, PipelineRequest request, PipelineService pipelines, bool? force, CancellationToken ct)
    {
        var replaced = await pipelines.ReplaceAsync(id, request, ct, force == true);
        return replaced.Succeeded ? TypedResults.Ok(replaced.Value) : replaced.Problem.ToProblemResult();
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> DeletePipeline(string id, PipelineService pipelines, bool? force, CancellationToken ct)
    {
        var deleted = await pipelines.DeleteAsync(id, ct, force == true);
        return deleted.Succeeded ? TypedResults.NoContent() : deleted.Problem.ToProblemResult();
    }

    public static async Task<Results<Accepted<PipelineRunResponse>, ProblemHttpResult>> RunPipeline(
        string id, RunPipelineRequest? request, PipelineService pipelines, CancellationToken ct)
    {
        var started = await pipelines.RunAsync(id, request?.Inputs, ct);
        return started.Succeeded ? TypedResults.Accepted($"/api/pipeline-runs/{started.Value.Id}", started.Value) : started.Problem.ToProblemResult();
    }

    public static async Task<Results<Ok<PagedList<PipelineRunResponse>>, ProblemHttpResult>> ListRuns(
        string id, PipelineService pipelines, int? page, int? pageSize, CancellationToken ct)
    {
        var paging = PagingRule.Standard.Read(page, pageSize);
        if (!paging.Succeeded)
        {
            return paging.Problem.ToProblemResult();
        }

        var listed = await pipelines.ListRunsAsync(id, paging.Value, ct);
        return listed.Succeeded ? TypedResults.Ok(listed.Value) : listed.Problem.ToProblemResult();
    }

    // Read here, not by a route constraint, so a malformed id gets the same "No pipeline run with id …" as an unknown one.
    public static async Task<Results<Ok<PipelineRunDetail>, ProblemHttpResult>> GetRun(string runId, PipelineService pipelines, CancellationToken ct)
    {
        if (!Guid.TryParse(runId, out var id))
        {
            return ApiProblems.NotFound("pipeline run", runId);
        }

        var found = await pipelines.GetRunAsync(id, ct);
        return found.Succeeded ? TypedResults.Ok(found.Value) : found.Problem.ToProblemResult();
    }

    public static async Task<Results<Accepted<PipelineRunResponse>, ProblemHttpResult>> CancelRun(string runId, PipelineService pipelines, CancellationToken ct)
    {
        if (!Guid.TryParse(runId, out var id))
        {
            return ApiProblems.NotFound("pipeline run", runId);
        }

        var cancelled = await pipelines.CancelRunAsync(id, ct);
        return cancelled.Succeeded ? TypedResults.Accepted($"/api/pipeline-runs/{cancelled.Value.Id}", cancelled.Value) : cancelled.Problem.ToProblemResult();
    }
}
