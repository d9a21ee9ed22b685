using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Orchestrator.Data;
using Orchestrator.Hosting;
using Orchestrator.Security;

namespace Orchestrator.Projects;

public sealed record ProjectRequest(string? Id, string? Name, string? RootPath);

public sealed record ProjectResponse(string Id, string Name, string RootPath, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public static ProjectResponse From(Project p) => new(p.Id, p.Name, p.RootPath, p.CreatedAt, p.UpdatedAt);
}

public static partial class ProjectEndpoints
{
    public static IServiceCollection AddProjects(this IServiceCollection services)
    {
        services.AddSingleton<WorkspaceRoots>();
        services.AddScoped<DefaultProjectSeeder>();
        return services;
    }

    public static IEndpointRouteBuilder MapProjects(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/projects").WithTags("Projects").RequireAuthorization(Policies.Viewer);
        group.MapGet("/", ListProjects).WithName("ListProjects").WithSummary("List projects, paged.");
        group.MapGet("/{id}", GetProject).WithName("GetProject").WithSummary("One project.");
        group.MapPost("/", CreateProject).WithName("CreateProject").WithSummary("Create a project with a root directory inside an allowed workspace root.")
            .RequireAuthorization(Policies.Admin);
        group.MapPut("/{id}", ReplaceProject).WithName("ReplaceProject").WithSummary("Rename a project or move its root.")
            .RequireAuthorization(Policies.Admin);
        group.MapDelete("/{id}", DeleteProject).WithName("DeleteProject").WithSummary("Delete a project (its files stay on disk).")
            .RequireAuthorization(Policies.Admin);
        return app;
    }

    public static async Task<Ok<PagedList<ProjectResponse>>> ListProjects(OrchestratorDbContext db, int? page, int? pageSize, CancellationToken ct)
    {
        var paging = Paging.From(page, pageSize);
        var total = await db.Projects.CountAsync(ct);
        var items = await db.Projects.AsNoTracking().OrderBy(p => p.Id).Skip(paging.Skip).Take(paging.Size).ToListAsync(ct);
        return TypedResults.Ok(new PagedList<ProjectResponse>([.. items.Select(ProjectResponse.From)], paging.Number, paging.Size, total));
    }

    public static async Task<Results<Ok<ProjectResponse>, ProblemHttpResult>> GetProject(string id, OrchestratorDbContext db, CancellationToken ct)
    {
        var project = await db.Projects.AsNoTracking().FirstOrDefaultAsync(p => p.Id == id, ct);
        return project is null ? ApiProblems.NotFound("project", id) : TypedResults.Ok(ProjectResponse.From(project));
    }

    public static async Task<Results<Created<ProjectResponse>, ProblemHttpResult>> CreateProject(
        ProjectRequest request, OrchestratorDbContext db, WorkspaceRoots roots, TimeProvider time, CancellationToken ct)
    {
        var errors = new FieldErrors();
        if (string.IsNullOrEmpty(request.Id))
        {
            errors.Add("id", "is required.");
        }
        else if (!IsSlug(request.Id))
        {
            errors.Add("id", "must be 1–63 lowercase letters, digits or hyphens, starting and ending with a letter or digit.");
        }

        var rootPath = ValidateCommon(request, roots, errors);
        if (errors.Any)
        {
            return errors.ToProblem();
        }

        if (await db.Projects.AnyAsync(p => p.Id == request.Id, ct))
        {
            return ApiProblems.Conflict($"A project with id '{request.Id}' already exists.");
        }

        var now = time.GetUtcNow();
        var project = new Project { Id = request.Id!, Name = request.Name!.Trim(), RootPath = rootPath!, CreatedAt = now, UpdatedAt = now };
        db.Projects.Add(project);
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException)
        {
            // Lost a race with a concurrent create of the same id.
            return ApiProblems.Conflict($"A project with id '{request.Id}' already exists.");
        }

        Directory.CreateDirectory(project.RootPath);
        return TypedResults.Created($"/api/projects/{project.Id}", ProjectResponse.From(project));
    }

    public static async Task<Results<Ok<ProjectResponse>, ProblemHttpResult>> ReplaceProject(
        string id, ProjectRequest request, OrchestratorDbContext db, WorkspaceRoots roots, TimeProvider time, CancellationToken ct)
    {
        var project = await db.Projects.FirstOrDefaultAsync(p => p.Id == id, ct);
        if (project is null)
        {
            return ApiProblems.NotFound("project", id);
        }

        var errors = new FieldErrors();
        if (request.Id is not null && request.Id != id)
        {
            errors.Add("id", $"must match the id in the URL ('{id}'); a project's id cannot be changed.");
        }

        var rootPath = ValidateCommon(request, roots, errors);
        if (errors.Any)
        {
            return errors.ToProblem();
        }

        project.Name = request.Name!.Trim();
        project.RootPath = rootPath!;
        project.UpdatedAt = time.GetUtcNow();
        await db.SaveChangesAsync(ct);
        Directory.CreateDirectory(project.RootPath);
        return TypedResults.Ok(ProjectResponse.From(project));
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteProject(string id, OrchestratorDbContext db, CancellationToken ct)
    {
        if (id == Project.DefaultId)
        {
            return ApiProblems.Conflict("The default project cannot be deleted; schedules without a project belong to it.");
        }

        var deleted = await db.Projects.Where(p => p.Id == id).ExecuteDeleteAsync(ct);
        return deleted == 0 ? ApiProblems.NotFound("project", id) : TypedResults.NoContent();
    }

    private static string? ValidateCommon(ProjectRequest request, WorkspaceRoots roots, FieldErrors errors)
    {
        if (string.IsNullOrWhiteSpace(request.Name))
        {
            errors.Add("name", "is required.");
        }
        else if (request.Name.Length > Project.MaxNameLength || request.Name.Any(char.IsControl))
        {
            errors.Add("name", $"must be at most {Project.MaxNameLength} printable characters.");
        }

        if (string.IsNullOrWhiteSpace(request.RootPath))
        {
            errors.Add("rootPath", $"is required: an absolute path inside one of {string.Join(", ", roots.Roots)}.");
            return null;
        }

        if (request.RootPath.Length > Project.MaxRootPathLength)
        {
            errors.Add("rootPath", $"must be at most {Project.MaxRootPathLength} characters.");
            return null;
        }

        var (path, error) = roots.Check(request.RootPath);
        if (error is not null)
        {
            errors.Add("rootPath", error);
        }

        return path;
    }

    internal static bool IsSlug(string id) => SlugPattern().IsMatch(id);

    [GeneratedRegex("^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$", RegexOptions.CultureInvariant)]
    private static partial Regex SlugPattern();
}
