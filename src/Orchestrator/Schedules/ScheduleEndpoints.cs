using Microsoft.AspNetCore.Http.HttpResults;
using Orchestrator.Api;
using Orchestrator.Runs;
using Orchestrator.Security;
using Quartz;

namespace Orchestrator.Schedules;

/// <summary>The schedule routes: each binds its input, calls <see cref="ScheduleService"/> and maps the outcome to a typed result.</summary>
public static class ScheduleEndpoints
{
    public static IServiceCollection AddSchedules(this IServiceCollection services)
    {
        services.AddScoped<ScheduleValidator>();
        services.AddScoped<ScheduleService>();
        services.AddScoped<ScheduleOccurrences>();
        services.AddScoped<ScheduleListQuery>();
        services.AddHostedService<ScheduleListIndexes>();
        services.AddScoped<ScheduleBatchService>();
        services.AddSingleton<PausedFiringVeto>();
        services.ConfigureAllQuartzSchedulers(q => q.AddTriggerListener(sp => sp.GetRequiredService<PausedFiringVeto>()));
        return services;
    }

    /// <summary>
    /// Each route declares the problems it can answer: 404 for an unknown schedule, 409 for a name taken, 422 with an
    /// 'errors' map for input that was read but is not valid, and 400 where a body or query value cannot be read at all.
    /// </summary>
    public static IEndpointRouteBuilder MapSchedules(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/schedules").WithTags("Schedules").RequireAuthorization(Policies.Viewer);
        group.MapGet("/", ListSchedules).WithName("ListSchedules")
            .WithSummary("List schedules (filters project, actionType, state, q; paging by page/pageSize with a total, or by 'cursor' = the previous page's nextCursor).")
            .WithPaging(PagingRule.NumberOrCursor)
            .ProducesValidationProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPost("/", CreateSchedule).WithName("CreateSchedule").WithSummary("Create a schedule: a Quartz job and its trigger.").RequireAuthorization(Policies.Admin)
            .ProducesProblem(StatusCodes.Status409Conflict).ProducesValidationProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status400BadRequest);
        group.MapPost("/batch", CreateSchedules).WithName("CreateSchedules")
            .WithSummary($"Create up to {ScheduleBatchService.MaxItems} schedules, all or nothing: every item is validated first and one 422 names items[i].field.")
            .RequireAuthorization(Policies.Admin)
            .ProducesProblem(StatusCodes.Status409Conflict).ProducesValidationProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status400BadRequest);
        group.MapPost("/preview", Preview).WithName("PreviewTrigger").WithSummary("Next fire times and a description of a trigger; nothing is saved.")
            .ProducesValidationProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status400BadRequest);
        group.MapGet("/{id}", GetSchedule).WithName("GetSchedule").WithSummary("One schedule with its state and next fire time.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPut("/{id}", ReplaceSchedule).WithName("ReplaceSchedule").WithSummary("Replace a schedule's definition; its run history is kept, an unchanged trigger keeps its timing, and an omitted 'enabled' keeps the paused/active state.").RequireAuthorization(Policies.Admin)
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesValidationProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status409Conflict);
        group.MapDelete("/{id}", DeleteSchedule).WithName("DeleteSchedule").WithSummary("Delete a schedule; its run history is kept until retention purges it.").RequireAuthorization(Policies.Admin)
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status409Conflict);
        group.MapPost("/{id}/pause", PauseSchedule).WithName("PauseSchedule").WithSummary("Stop firing until resumed; an optional {reason} is kept by Quartz with who paused it and when.").RequireAuthorization(Policies.Operator)
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesValidationProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status400BadRequest);
        group.MapPost("/pause", PauseSchedules).WithName("PauseSchedules").WithSummary("Bulk pause by {project, actionType, group, ids} (all given must match) with a reason; returns the ids paused.").RequireAuthorization(Policies.Operator)
            .ProducesValidationProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status400BadRequest);
        group.MapPost("/resume", ResumeSchedules).WithName("ResumeSchedules").WithSummary("Bulk resume by {project, actionType, group, ids} (all given must match); returns the ids resumed.").RequireAuthorization(Policies.Operator)
            .ProducesValidationProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status400BadRequest);
        group.MapPost("/{id}/resume", ResumeSchedule).WithName("ResumeSchedule").WithSummary("Resume firing; missed times follow the misfire policy.").RequireAuthorization(Policies.Operator)
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPost("/{id}/run", RunNow).WithName("RunScheduleNow").WithSummary("Run now; returns the (pending) run.").RequireAuthorization(Policies.Operator)
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesProblem(StatusCodes.Status503ServiceUnavailable);
        group.MapPost("/{id}/backfill", Backfill).WithName("BackfillSchedule").WithSummary("Run every fire time of the schedule in [from, to).").RequireAuthorization(Policies.Operator)
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesValidationProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status400BadRequest);
        group.MapGet("/{id}/runs", ListScheduleRuns).WithName("ListScheduleRuns").WithSummary("Run history of one schedule.").WithPaging(PagingRule.Standard)
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesValidationProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status400BadRequest);
        group.MapGet("/{id}/misfires", ListMisfires).WithName("ListScheduleMisfires").WithSummary("Fire times this schedule missed, from Quartz's misfire history.")
            .WithPaging(PagingRule.NewestOnly)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status400BadRequest);
        group.MapGet("/{id}/occurrences", ListOccurrences).WithName("ListScheduleOccurrences")
            .WithSummary("Every due time of the schedule in [from, to) (default: the last 24 hours; at most 10,000) with its outcome and reason.")
            .ProducesProblem(StatusCodes.Status404NotFound).ProducesValidationProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status400BadRequest);
        return app;
    }

    public static async Task<Results<Created<ScheduleResponse>, ProblemHttpResult>> CreateSchedule(ScheduleRequest request, ScheduleService schedules, CancellationToken ct)
    {
        var created = await schedules.CreateAsync(request, ct);
        return created.Succeeded ? TypedResults.Created($"/api/schedules/{created.Value.Id}", created.Value) : created.Problem.ToProblemResult();
    }

    public static async Task<Results<Ok<ScheduleResponse>, ProblemHttpResult>> ReplaceSchedule(string id, ScheduleRequest request, ScheduleService schedules, bool? force, CancellationToken ct) =>
        Ok(await schedules.ReplaceAsync(id, request, ct, force == true));

    public static async Task<Results<Ok<SchedulePage>, ProblemHttpResult>> ListSchedules(
        ScheduleService schedules, string? project, string? actionType, string? state, string? q, int? page, int? pageSize, string? cursor, CancellationToken ct) =>
        Ok(await schedules.PageAsync(new ScheduleListRequest(project, actionType, state, q, page, pageSize, cursor), ct, unknownProjectNotFound: true));

    public static async Task<Results<Created<ScheduleBatchResult>, ProblemHttpResult>> CreateSchedules(
        ScheduleBatchRequest request, ScheduleBatchService batches, CancellationToken ct)
    {
        var created = await batches.CreateAsync(request, ct);
        return created.Succeeded ? TypedResults.Created("/api/schedules", created.Value) : created.Problem.ToProblemResult();
    }

    public static async Task<Results<Ok<ScheduleResponse>, ProblemHttpResult>> GetSchedule(string id, ScheduleService schedules, CancellationToken ct) =>
        Ok(await schedules.GetAsync(id, ct));

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteSchedule(string id, ScheduleService schedules, bool? force, CancellationToken ct) =>
        await schedules.DeleteAsync(id, ct, force == true) is { Problem: { } problem } ? problem.ToProblemResult() : TypedResults.NoContent();

    public static async Task<Results<Ok<ScheduleResponse>, ProblemHttpResult>> PauseSchedule(string id, PauseRequest? request, ScheduleService schedules, CancellationToken ct) =>
        Ok(await schedules.PauseAsync(id, request?.Reason, ct));

    public static async Task<Results<Ok<BulkScheduleResult>, ProblemHttpResult>> PauseSchedules(BulkScheduleRequest request, ScheduleService schedules, CancellationToken ct) =>
        Ok(await schedules.PauseManyAsync(request, ct));

    public static async Task<Results<Ok<BulkScheduleResult>, ProblemHttpResult>> ResumeSchedules(BulkScheduleRequest request, ScheduleService schedules, CancellationToken ct) =>
        Ok(await schedules.ResumeManyAsync(request, ct));

    public static async Task<Results<Ok<ScheduleResponse>, ProblemHttpResult>> ResumeSchedule(string id, ScheduleService schedules, CancellationToken ct) =>
        Ok(await schedules.ResumeAsync(id, ct));

    public static async Task<Results<Accepted<RunResponse>, ProblemHttpResult>> RunNow(string id, ScheduleService schedules, CancellationToken ct)
    {
        var run = await schedules.RunNowAsync(id, ct);
        return run.Succeeded ? TypedResults.Accepted($"/api/runs/{run.Value.Id}", run.Value) : run.Problem.ToProblemResult();
    }

    public static async Task<Results<Ok<BackfillSummary>, ProblemHttpResult>> Backfill(string id, BackfillRequest request, ScheduleService schedules, CancellationToken ct) =>
        Ok(await schedules.BackfillAsync(id, request, ct));

    public static async Task<Results<Ok<PagedList<RunResponse>>, ProblemHttpResult>> ListScheduleRuns(
        string id, ScheduleService schedules, string? status, int? page, int? pageSize, CancellationToken ct) =>
        Ok(await schedules.RunsAsync(id, status, page, pageSize, ct));

    public static async Task<Results<Ok<NewestPage<ScheduleMisfire>>, ProblemHttpResult>> ListMisfires(string id, ScheduleService schedules, int? pageSize, CancellationToken ct)
    {
        var paging = PagingRule.NewestOnly.Read(null, pageSize);
        return paging.Succeeded ? Ok(await schedules.MisfiresAsync(id, paging.Value.Size, ct)) : paging.Problem.ToProblemResult();
    }

    public static async Task<Results<Ok<OccurrenceList>, ProblemHttpResult>> ListOccurrences(
        string id, ScheduleOccurrences occurrences, string? from, string? to, CancellationToken ct) =>
        Ok(await occurrences.ListAsync(id, from, to, ct));

    public static async Task<Results<Ok<TriggerPreview>, ProblemHttpResult>> Preview(PreviewRequest request, ScheduleService schedules, CancellationToken ct) =>
        Ok(await schedules.PreviewAsync(request, ct));

    private static Results<Ok<T>, ProblemHttpResult> Ok<T>(Outcome<T> outcome) =>
        outcome.Succeeded ? TypedResults.Ok(outcome.Value) : outcome.Problem.ToProblemResult();
}
