using Microsoft.AspNetCore.Http.HttpResults;
using Orchestrator.Api;
using Orchestrator.Security;

namespace Orchestrator.Stats;

/// <summary>
/// The figures the dashboard's home page opens with, as one route: <c>GET /api/stats</c> (viewer; a project-scoped key
/// counts only its projects).
/// </summary>
public static class StatsEndpoints
{
    public static IServiceCollection AddStats(this IServiceCollection services)
    {
        services.AddScoped<StatsQueries>();
        return services;
    }

    public static IEndpointRouteBuilder MapStats(this IEndpointRouteBuilder app)
    {
        app.MapGroup("/api/stats").WithTags("Stats").RequireAuthorization(Policies.Viewer)
            .MapGet("/", GetStats).WithName("GetStats")
            .WithSummary("Counters (schedules active and paused, runs running now, outcomes in the last hour and day, late starts in the last hour) and hourly buckets of outcomes and lateness over the last `hours` (1–168, default 24): clock hours of `timeZone` (an IANA id, default UTC), the last one the current hour, partial; `lateSeconds` (default 1) is how long after its due time a start counts as late.")
            // 400: hours or lateSeconds not a number (BadRequestExceptionHandler); 422: out of range.
            .ProducesValidationProblem(StatusCodes.Status400BadRequest)
            .ProducesValidationProblem(StatusCodes.Status422UnprocessableEntity);
        return app;
    }

    public static async Task<Results<Ok<StatsResponse>, ProblemHttpResult>> GetStats(StatsQueries stats, int? hours, int? lateSeconds, string? timeZone, CancellationToken ct)
    {
        var outcome = await stats.GetAsync(hours, lateSeconds, timeZone, ct);
        return outcome.Succeeded ? TypedResults.Ok(outcome.Value) : outcome.Problem.ToProblemResult();
    }
}
