using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Orchestrator.Data;
using Orchestrator.Hosting;
using Orchestrator.Schedules;
using Orchestrator.Security;
using Quartz;

namespace Orchestrator.Runs;

public sealed record RunResponse(
    Guid Id, string ScheduleId, Guid? PipelineRunId, string ActionType, string Status, string TriggeredBy,
    DateTimeOffset ScheduledFireTime, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt, string? Node, int Attempt,
    string IdempotencyKey, JsonNode? Result, string? Error, JsonNode? ConfigSnapshot)
{
    public static RunResponse From(RunRecord r) => new(
        r.Id, r.ScheduleId, r.PipelineRunId, r.ActionType, Name(r.Status), r.TriggeredBy.ToString().ToLowerInvariant(),
        r.ScheduledFireTime, r.StartedAt, r.FinishedAt, r.Node, r.Attempt, r.IdempotencyKey,
        ParseOrNull(r.Result), r.Error, ParseOrNull(r.ConfigSnapshot));

    public static string Name(RunStatus status) => status.ToString().ToLowerInvariant();

    private static JsonNode? ParseOrNull(string? json) => json is null ? null : JsonNode.Parse(json);
}

public sealed record RunQuery(string? ScheduleId, string? Project, string? Status, string? From, string? To, int? Page, int? PageSize);

public static class RunQueries
{
    public static async Task<PagedList<RunResponse>?> QueryAsync(OrchestratorDbContext db, RunQuery query, FieldErrors errors, CancellationToken ct)
    {
        var runs = db.Runs.AsNoTracking();
        if (query.ScheduleId is not null)
        {
            var scheduleId = ScheduleIds.Of(ScheduleIds.Parse(query.ScheduleId));
            runs = runs.Where(r => r.ScheduleId == scheduleId);
        }

        if (query.Project is not null)
        {
            runs = runs.Where(r => r.ProjectId == query.Project);
        }

        if (query.Status is not null)
        {
            if (!Enum.TryParse<RunStatus>(query.Status, ignoreCase: true, out var status) || int.TryParse(query.Status, out _))
            {
                errors.Add("status", $"'{query.Status}' is not a run status; use {string.Join(", ", Enum.GetNames<RunStatus>().Select(n => n.ToLowerInvariant()))}.");
            }
            else
            {
                runs = runs.Where(r => r.Status == status);
            }
        }

        var from = ScheduleValidator.ParseInstant(query.From, "from", errors);
        var to = ScheduleValidator.ParseInstant(query.To, "to", errors);
        if (errors.Any)
        {
            return null;
        }

        if (from is not null)
        {
            runs = runs.Where(r => r.ScheduledFireTime >= from);
        }

        if (to is not null)
        {
            runs = runs.Where(r => r.ScheduledFireTime < to);
        }

        var paging = Paging.From(query.Page, query.PageSize);
        var total = await runs.CountAsync(ct);
        // Many rows share a fire time (every schedule due at 09:00, a backfill of several schedules): the id breaks the
        // tie, or the database may order tied rows differently for each page and skip or repeat some.
        var items = await runs.OrderByDescending(r => r.ScheduledFireTime).ThenByDescending(r => r.Id).Skip(paging.Skip).Take(paging.Size).ToListAsync(ct);
        return new PagedList<RunResponse>([.. items.Select(RunResponse.From)], paging.Number, paging.Size, total);
    }
}

public static class RunEndpoints
{
    public static IEndpointRouteBuilder MapRuns(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/runs").WithTags("Runs").RequireAuthorization(Policies.Viewer);
        group.MapGet("/", ListRuns).WithName("ListRuns").WithSummary("Query runs by schedule, project, status and scheduled time range, newest first.");
        group.MapGet("/{runId:guid}", GetRun).WithName("GetRun").WithSummary("One run.");
        group.MapPost("/{runId:guid}/cancel", CancelRun).WithName("CancelRun").WithSummary("Interrupt a running run on whichever node runs it.")
            .RequireAuthorization(Policies.Operator);
        return app;
    }

    public static async Task<Results<Ok<PagedList<RunResponse>>, ProblemHttpResult>> ListRuns(
        OrchestratorDbContext db, string? scheduleId, string? project, string? status, string? from, string? to, int? page, int? pageSize, CancellationToken ct)
    {
        var errors = new FieldErrors();
        var result = await RunQueries.QueryAsync(db, new RunQuery(scheduleId, project, status, from, to, page, pageSize), errors, ct);
        return result is null ? errors.ToProblem() : TypedResults.Ok(result);
    }

    public static async Task<Results<Ok<RunResponse>, ProblemHttpResult>> GetRun(Guid runId, OrchestratorDbContext db, CancellationToken ct)
    {
        var run = await db.Runs.AsNoTracking().FirstOrDefaultAsync(r => r.Id == runId, ct);
        return run is null ? ApiProblems.NotFound("run", runId.ToString()) : TypedResults.Ok(RunResponse.From(run));
    }

    public static async Task<Results<Accepted<RunResponse>, ProblemHttpResult>> CancelRun(
        Guid runId, OrchestratorDbContext db, ISchedulerFactory schedulers, TimeProvider time, CancellationToken ct)
    {
        var run = await db.Runs.FirstOrDefaultAsync(r => r.Id == runId, ct);
        if (run is null)
        {
            return ApiProblems.NotFound("run", runId.ToString());
        }

        switch (run.Status)
        {
            case RunStatus.Pending:
                run.Status = RunStatus.Cancelled;
                run.FinishedAt = time.GetUtcNow();
                run.Error = "cancelled before it started";
                run.Version += 1;
                await db.SaveChangesAsync(ct);
                return TypedResults.Accepted($"/api/runs/{run.Id}", RunResponse.From(run));
            case RunStatus.Running when run.FireInstanceId is not null:
                var scheduler = await schedulers.GetScheduler(ct);
                // Reaches the node running it: locally at once, elsewhere through the cluster's fired-trigger row.
                await scheduler.InterruptFireInstance(run.FireInstanceId, ct);
                return TypedResults.Accepted($"/api/runs/{run.Id}", RunResponse.From(run));
            default:
                return ApiProblems.Conflict($"Run {run.Id} is {RunResponse.Name(run.Status)}; only pending or running runs can be cancelled.");
        }
    }
}
