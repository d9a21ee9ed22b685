using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.Extensions.Options;
using Orchestrator.Api;
using Orchestrator.Security;
using Quartz;

namespace Orchestrator.Deadlines;

/// <summary>Deadlines and the dead man's switch: the checker job, its settings, and <c>GET /api/deadlines</c>.</summary>
public static class DeadlineEndpoints
{
    public static IServiceCollection AddDeadlines(this IServiceCollection services)
    {
        services.AddOptions<DeadlineOptions>()
            .BindConfiguration(DeadlineOptions.SectionName)
            .Validate(o => o.CheckSeconds is >= 1 and <= 3600, "Orchestrator:Deadlines:CheckSeconds must be between 1 and 3600 (default 5).")
            .Validate(o => o.MaxDueTimesPerCheck is >= 1 and <= 100_000, "Orchestrator:Deadlines:MaxDueTimesPerCheck must be between 1 and 100000 (default 1000).")
            .ValidateOnStart();
        services.AddScoped<DeadlineChecker>();
        services.AddScoped<DeadlineQueries>();
        services.ConfigureAllQuartzSchedulers(q => q.ScheduleJob<DeadlineCheckJob>(
            (sp, trigger) => trigger.WithIdentity(DeadlineCheckJob.Key.Name, DeadlineCheckJob.Key.Group)
                .StartNow()
                .WithSimpleSchedule(x => x.WithInterval(TimeSpan.FromSeconds(sp.GetRequiredService<IOptions<DeadlineOptions>>().Value.CheckSeconds))
                    // A check late because the cluster was down is not caught up check by check: the next one looks at everything.
                    .RepeatForever().WithMisfireInstruction(SimpleTriggerMisfireInstruction.NextWithRemainingCount)),
            (_, job) => job.WithIdentity(DeadlineCheckJob.Key)));
        return services;
    }

    public static IEndpointRouteBuilder MapDeadlines(this IEndpointRouteBuilder app)
    {
        app.MapGroup("/api/deadlines").WithTags("Deadlines").RequireAuthorization(Policies.Viewer)
            .MapGet("/", ListDeadlines).WithName("ListDeadlines")
            .WithSummary("Deadline breaches, newest first (filters scheduleId, pipelineId, project, kind, state open|recovered; paging).")
            .WithPaging(PagingRule.Standard)
            .ProducesValidationProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    public static async Task<Results<Ok<PagedList<DeadlineBreachResponse>>, ProblemHttpResult>> ListDeadlines(
        DeadlineQueries deadlines, string? scheduleId, string? pipelineId, string? project, string? kind, string? state, int? page, int? pageSize,
        CancellationToken ct)
    {
        var list = await deadlines.ListAsync(new DeadlineQuery(scheduleId, pipelineId, project, kind, state, page, pageSize), ct);
        return list.Succeeded ? TypedResults.Ok(list.Value) : list.Problem.ToProblemResult();
    }
}
