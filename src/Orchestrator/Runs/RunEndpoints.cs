using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using Orchestrator.Api;
using Orchestrator.Security;

namespace Orchestrator.Runs;

/// <summary>One run as the API shows it; <c>result</c> and <c>configSnapshot</c> are the JSON the ledger stored.</summary>
public sealed record RunResponse(
    Guid Id, string ScheduleId, Guid? PipelineRunId, string ActionType, string Status, string TriggeredBy,
    DateTimeOffset ScheduledFireTime, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, string? Node, int Attempt,
    string IdempotencyKey, JsonNode? Result, string? Error, JsonNode? ConfigSnapshot, RunUsage? Usage = null)
{
    public static RunResponse From(RunRecord r) => new(
        r.Id, r.ScheduleId, r.PipelineRunId, r.ActionType, Name(r.Status), r.TriggeredBy.ToString().ToLowerInvariant(),
        r.ScheduledFireTime, r.StartedAt, r.FinishedAt, r.Node, r.Attempt, r.IdempotencyKey,
        ParseOrNull(r.Result), r.Error, ParseOrNull(r.ConfigSnapshot),
        r.AgentSteps is { } steps ? new RunUsage(r.InputTokens ?? 0, r.OutputTokens ?? 0, r.TotalTokens ?? 0, steps) : null);

    public static string Name(RunStatus status) => status.ToString().ToLowerInvariant();

    private static JsonNode? ParseOrNull(string? json) => json is null ? null : JsonNode.Parse(json);
}

/// <summary>What an agent run spent: tokens over all its model turns and the steps (model turns and tool calls) it took.</summary>
public sealed record RunUsage(long InputTokens, long OutputTokens, long TotalTokens, int Steps);

public static class RunEndpoints
{
    public static IEndpointRouteBuilder MapRuns(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/runs").WithTags("Runs").RequireAuthorization(Policies.Viewer);
        group.MapGet("/", ListRuns).WithName("ListRuns").WithSummary("Query runs by schedule, project, status, action type, trigger (triggeredBy), lateness (late=true: a schedule's or recovery's start more than 1 s after its due time, as GET /api/stats counts late starts; late=false: every other run) and scheduled time range, newest first: by scheduled fire time, or with sort=created by when each run was written.")
            // 400: a filter that is not what its parameter reads (BadRequestExceptionHandler); 422: a filter or paging value refused.
            .WithPaging(PagingRule.Standard)
            .ProducesValidationProblem(StatusCodes.Status400BadRequest)
            .ProducesValidationProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapGet("/{runId}", GetRun).WithName("GetRun").WithSummary("One run.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPost("/{runId}/cancel", CancelRun).WithName("CancelRun").WithSummary("Interrupt a running run on whichever node runs it.")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .RequireAuthorization(Policies.Operator);
        group.MapPost("/{runId}/requeue", RequeueRun).WithName("RequeueRun")
            .WithSummary("Run a finished run's schedule again now: a new manual run with the original run's config snapshot, under the schedule's current retry, timeout and execution group.")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesProblem(StatusCodes.Status503ServiceUnavailable)
            .RequireAuthorization(Policies.Operator);
        group.MapGet("/{runId}/attempts", ListAttempts).WithName("ListRunAttempts")
            .WithSummary("A run's attempts, oldest first, from Quartz's execution history: node, fired at, duration, result, error, and whether a retry followed.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    public static async Task<Results<Ok<PagedList<RunResponse>>, ProblemHttpResult>> ListRuns(
        RunQueries runs, string? scheduleId, string? project, string? status, string? from, string? to, int? page, int? pageSize, string? sort,
        string? actionType, string? triggeredBy, bool? late, CancellationToken ct)
    {
        var outcome = await runs.ListAsync(new RunQuery(scheduleId, project, status, from, to, page, pageSize, sort, actionType, triggeredBy, late), ct);
        return outcome.Succeeded ? TypedResults.Ok(outcome.Value) : outcome.Problem.ToProblemResult();
    }

    // The id is read here, not by a route constraint: a constraint answered a malformed id with a bare "Not Found" and
    // no problem text, where a well-formed unknown one says which run it did not find.
    public static async Task<Results<Ok<RunResponse>, ProblemHttpResult>> GetRun(string runId, RunQueries runs, CancellationToken ct)
    {
        if (!Guid.TryParse(runId, out var id))
        {
            return ApiProblems.NotFound("run", runId);
        }

        var outcome = await runs.GetAsync(id, ct);
        return outcome.Succeeded ? TypedResults.Ok(outcome.Value) : outcome.Problem.ToProblemResult();
    }

    public static async Task<Results<Accepted<RunResponse>, ProblemHttpResult>> CancelRun(string runId, RunQueries runs, CancellationToken ct)
    {
        if (!Guid.TryParse(runId, out var id))
        {
            return ApiProblems.NotFound("run", runId);
        }

        var outcome = await runs.RequestCancelAsync(id, ct);
        return outcome.Succeeded ? TypedResults.Accepted($"/api/runs/{outcome.Value.Id}", outcome.Value) : outcome.Problem.ToProblemResult();
    }

    public static async Task<Results<Accepted<RunResponse>, ProblemHttpResult>> RequeueRun(string runId, RunQueries runs, CancellationToken ct)
    {
        if (!Guid.TryParse(runId, out var id))
        {
            return ApiProblems.NotFound("run", runId);
        }

        var outcome = await runs.RequeueAsync(id, ct);
        return outcome.Succeeded ? TypedResults.Accepted($"/api/runs/{outcome.Value.Id}", outcome.Value) : outcome.Problem.ToProblemResult();
    }

    public static async Task<Results<Ok<IReadOnlyList<RunAttempt>>, ProblemHttpResult>> ListAttempts(string runId, RunQueries runs, CancellationToken ct)
    {
        if (!Guid.TryParse(runId, out var id))
        {
            return ApiProblems.NotFound("run", runId);
        }

        var outcome = await runs.AttemptsAsync(id, ct);
        return outcome.Succeeded ? TypedResults.Ok(outcome.Value) : outcome.Problem.ToProblemResult();
    }
}
