using System.ComponentModel;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Orchestrator.Api;
using Orchestrator.Data;
using Orchestrator.Security;

namespace Orchestrator.Agents;

/// <summary>One step of an agent run as <c>GET /api/runs/{runId}/steps</c> lists it: counts and timings, never content.</summary>
public sealed record AgentStepResponse(
    [property: Description("The step's number in the run, from 1.")] int Step,
    [property: Description("model (a model turn) or tool (a tool call).")] string Kind,
    [property: Description("The tool a tool step called; null for a model turn.")] string? Tool,
    [property: Description("running, succeeded, failed, refused (invalid arguments or a tool not offered; the reasons went back to the model) or cancelled.")] string Status,
    [property: Description("1, or more when the step ran again after a crash (a tool call with the same idempotency key).")] int Attempt,
    [property: Description("The idempotency key a tool call ran with: the run's key and the step number.")] string IdempotencyKey,
    long? InputTokens,
    long? OutputTokens,
    long? TotalTokens,
    DateTimeOffset StartedAt,
    DateTimeOffset? FinishedAt,
    long? DurationMs,
    string? Error);

/// <summary>The steps of an agent run, for every surface (the endpoint, the dashboard's run page).</summary>
public sealed class AgentStepQueries(OrchestratorDbContext db, AgentStepStore store, ProjectScope scope)
{
    /// <summary>The run's steps, oldest first (none for a run that is not an agent task); 404 for an unknown run.</summary>
    public async Task<Outcome<List<AgentStepResponse>>> ListAsync(Guid runId, CancellationToken ct)
    {
        // The run decides: a schedule's run, or a pipeline run (its agent nodes' steps carry its id). Unknown, or in a
        // project a scoped key may not see, is the same 404.
        var owner = await db.Runs.AsNoTracking().Where(r => r.Id == runId).Select(r => new { r.ProjectId }).FirstOrDefaultAsync(ct)
            ?? await db.PipelineRuns.AsNoTracking().Where(r => r.Id == runId).Select(r => new { ProjectId = (string?)r.ProjectId }).FirstOrDefaultAsync(ct);
        if (owner is null || !scope.Allows(owner.ProjectId))
        {
            return Problems.NotFound("run", runId.ToString());
        }

        var steps = await store.ListAsync(runId, ct);

        return steps.Select(s => new AgentStepResponse(
            s.Number, s.Kind.ToString().ToLowerInvariant(), s.ToolName, s.Status.ToString().ToLowerInvariant(), s.Attempt, s.IdempotencyKey,
            s.InputTokens, s.OutputTokens, s.TotalTokens, s.StartedAt, s.FinishedAt,
            s.FinishedAt is { } finished ? (long)(finished - s.StartedAt).TotalMilliseconds : null, s.Error)).ToList();
    }
}

public static class AgentStepEndpoints
{
    public static IEndpointRouteBuilder MapAgentSteps(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/runs").WithTags("Runs").RequireAuthorization(Policies.Viewer);
        group.MapGet("/{runId}/steps", ListRunSteps).WithName("ListRunSteps")
            .WithSummary("An agent run's steps: kind (model or tool), tool, status, attempt, tokens and timings; never prompts, replies or tool results.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    public static async Task<Results<Ok<List<AgentStepResponse>>, ProblemHttpResult>> ListRunSteps(string runId, AgentStepQueries steps, CancellationToken ct)
    {
        if (!Guid.TryParse(runId, out var id))
        {
            return ApiProblems.NotFound("run", runId);
        }

        var outcome = await steps.ListAsync(id, ct);
        return outcome.Succeeded ? TypedResults.Ok(outcome.Value) : outcome.Problem.ToProblemResult();
    }
}
