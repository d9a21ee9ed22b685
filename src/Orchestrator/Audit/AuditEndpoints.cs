using Microsoft.AspNetCore.Http.HttpResults;
using Orchestrator.Api;
using Orchestrator.Security;

namespace Orchestrator.Audit;

/// <summary>The audit log's services and its one route, <c>GET /api/audit</c> (admin: the log shows every change and who made it).</summary>
public static class AuditEndpoints
{
    public static IServiceCollection AddAudit(this IServiceCollection services)
    {
        services.AddHttpContextAccessor();
        services.AddScoped<AuditScope>();
        services.AddScoped<AuditLog>();
        services.AddScoped<AuditQueries>();
        return services;
    }

    public static IEndpointRouteBuilder MapAudit(this IEndpointRouteBuilder app)
    {
        app.MapGroup("/api/audit").WithTags("Audit").RequireAuthorization(Policies.Admin)
            .MapGet("/", ListAudit).WithName("ListAudit")
            .WithSummary("Audit entries, newest first (filters actor, resource as type or type:id, action, project, from, to; cursor paging).")
            .WithPaging(PagingRule.CursorOnly)
            .ProducesValidationProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound);
        return app;
    }

    public static async Task<Results<Ok<AuditPage>, ProblemHttpResult>> ListAudit(
        AuditQueries audit, string? actor, string? resource, string? action, string? project, string? from, string? to, string? cursor, int? pageSize,
        CancellationToken ct)
    {
        var page = await audit.ListAsync(new AuditQuery(actor, resource, action, project, from, to, cursor, pageSize), ct);
        return page.Succeeded ? TypedResults.Ok(page.Value) : page.Problem.ToProblemResult();
    }
}
