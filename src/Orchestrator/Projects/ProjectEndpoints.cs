using Microsoft.AspNetCore.Http.HttpResults;
using Orchestrator.Api;
using Orchestrator.Security;

namespace Orchestrator.Projects;

/// <summary>The projects API: HTTP mapped onto <see cref="ProjectService"/>.</summary>
public static class ProjectEndpoints
{
    public static IServiceCollection AddProjects(this IServiceCollection services)
    {
        services.AddSingleton<WorkspaceRoots>();
        services.AddScoped<DefaultProjectSeeder>();
        services.AddScoped<ProjectService>();
        services.AddScoped<WorkspaceFiles>();
        return services;
    }

    public static IEndpointRouteBuilder MapProjects(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/projects").WithTags("Projects").RequireAuthorization(Policies.Viewer);
        group.MapGet("/", ListProjects).WithName("ListProjects").WithSummary("List projects, paged.").WithPaging(PagingRule.Standard)
            .ProducesProblem(StatusCodes.Status400BadRequest);
        group.MapGet("/{id}", GetProject).WithName("GetProject").WithSummary("One project.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPost("/", CreateProject).WithName("CreateProject").WithSummary("Create a project with a root directory inside an allowed workspace root.")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesValidationProblem(StatusCodes.Status422UnprocessableEntity)
            .RequireAuthorization(Policies.Admin);
        group.MapPut("/{id}", ReplaceProject).WithName("ReplaceProject").WithSummary("Rename a project or move its root.")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesValidationProblem(StatusCodes.Status422UnprocessableEntity)
            .RequireAuthorization(Policies.Admin);
        group.MapDelete("/{id}", DeleteProject).WithName("DeleteProject").WithSummary("Delete a project (its files stay on disk).")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .RequireAuthorization(Policies.Admin);
        return app;
    }

    public static async Task<Results<Ok<PagedList<ProjectResponse>>, ProblemHttpResult>> ListProjects(ProjectService projects, int? page, int? pageSize, CancellationToken ct)
    {
        var paging = PagingRule.Standard.Read(page, pageSize);
        return paging.Succeeded ? TypedResults.Ok(await projects.ListAsync(paging.Value, ct)) : paging.Problem.ToProblemResult();
    }

    public static async Task<Results<Ok<ProjectResponse>, ProblemHttpResult>> GetProject(string id, ProjectService projects, CancellationToken ct)
    {
        var outcome = await projects.GetAsync(id, ct);
        return outcome.Succeeded ? TypedResults.Ok(outcome.Value) : outcome.Problem.ToProblemResult();
    }

    public static async Task<Results<Created<ProjectResponse>, ProblemHttpResult>> CreateProject(ProjectRequest request, ProjectService projects, CancellationToken ct)
    {
        var outcome = await projects.CreateAsync(request, ct);
        return outcome.Succeeded ? TypedResults.Created($"/api/projects/{outcome.Value.Id}", outcome.Value) : outcome.Problem.ToProblemResult();
    }

    public static async Task<Results<Ok<ProjectResponse>, ProblemHttpResult>> ReplaceProject(string id, ProjectRequest request, ProjectService projects, bool? force, CancellationToken ct)
    {
        var outcome = await projects.ReplaceAsync(id, request, ct, force == true);
        return outcome.Succeeded ? TypedResults.Ok(outcome.Value) : outcome.Problem.ToProblemResult();
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteProject(string id, ProjectService projects, bool? force, CancellationToken ct)
    {
        var outcome = await projects.DeleteAsync(id, ct, force == true);
        return outcome.Succeeded ? TypedResults.NoContent() : outcome.Problem.ToProblemResult();
    }

    /// <summary>Kept for the validators of other features, which check a project reference's form before looking it up.</summary>
    internal static bool IsSlug(string id) => ProjectService.IsSlug(id);
}
