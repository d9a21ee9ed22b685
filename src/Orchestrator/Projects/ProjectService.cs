using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using Orchestrator.Api;
using Orchestrator.Audit;
using Orchestrator.Data;
using Orchestrator.Definitions;
using Orchestrator.Pipelines;
using Orchestrator.Schedules;
using Orchestrator.Security;
using Quartz;

namespace Orchestrator.Projects;

public sealed record ProjectRequest(string? Id, string? Name, string? RootPath);

public sealed record ProjectResponse(string Id, string Name, string RootPath, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public static ProjectResponse From(Project p) => new(p.Id, p.Name, p.RootPath, p.CreatedAt, p.UpdatedAt);
}

/// <summary>
/// The project use cases: list, read, create, replace, delete, and the lookup of a project's root that the files API,
/// tool invocations and the file tools share. Endpoints and built-in tools call this; none reads the projects table itself.
/// </summary>
public sealed partial class ProjectService(OrchestratorDbContext db, WorkspaceRoots roots, ISchedulerFactory schedulers, ProjectScope scope, AuditLog audit, TimeProvider time)
{
    private readonly Dictionary<string, string?> knownRoots = new(StringComparer.Ordinal);

    public async Task<PagedList<ProjectResponse>> ListAsync(Paging paging, CancellationToken cancellationToken)
    {
        var visible = scope.Projects is { } allowed ? db.Projects.Where(p => allowed.Contains(p.Id)) : db.Projects;
        var total = await visible.CountAsync(cancellationToken);
        var items = await visible.AsNoTracking().OrderBy(p => p.Id).Skip(paging.Skip).Take(paging.Size).ToListAsync(cancellationToken);
        return new PagedList<ProjectResponse>([.. items.Select(ProjectResponse.From)], paging.Number, paging.Size, total);
    }

    public async Task<Outcome<ProjectResponse>> GetAsync(string id, CancellationToken cancellationToken) =>
        scope.Allows(id) && await db.Projects.AsNoTracking().FirstOrDefaultAsync(p => p.Id == id, cancellationToken) is { } project
            ? ProjectResponse.From(project)
            : Problems.NotFound("project", id);

    /// <summary>
    /// The root directory of project <paramref name="id"/>, or null when there is no such project. Only a project id is
    /// looked up: anything else (a NUL, which the database cannot even compare) is no project. A project outside the
    /// caller's key scope is no project either, so the files API answers 404 for it.
    /// </summary>
    /// <remarks>
    /// Remembered for this service's scope (one request, one run): an agent run validates every tool call's paths against
    /// the root, and the root the run's tools work in was read once at its start anyway.
    /// </remarks>
    public async Task<string?> FindRootAsync(string id, CancellationToken cancellationToken)
    {
        if (!IsSlug(id) || !scope.Allows(id))
        {
            return null;
        }

        if (!knownRoots.TryGetValue(id, out var root))
        {
            root = await db.Projects.AsNoTracking().Where(p => p.Id == id).Select(p => p.RootPath).FirstOrDefaultAsync(cancellationToken);
            knownRoots[id] = root;
        }

        return root;
    }

    public async Task<Outcome<ProjectResponse>> CreateAsync(ProjectRequest request, CancellationToken cancellationToken)
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

        var rootPath = ValidateCommon(request, errors);
        if (errors.Any)
        {
            return errors.ToProblemDetails();
        }

        if (scope.RefuseOutside(request.Id!) is { } outside)
        {
            return outside;
        }

        if (await db.Projects.AnyAsync(p => p.Id == request.Id, cancellationToken))
        {
            return Problems.Conflict($"A project with id '{request.Id}' already exists.", "id");
        }

        if (await OverlapAsync(request.Id!, rootPath!, cancellationToken) is { } overlap)
        {
            return overlap;
        }

        var now = time.GetUtcNow();
        var project = new Project { Id = request.Id!, Name = request.Name!.Trim(), RootPath = rootPath!, CreatedAt = now, UpdatedAt = now };
        db.Projects.Add(project);
        audit.Add(new AuditChange("project.create", "project", project.Id, project.Id, null, ProjectResponse.From(project)));
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        knownRoots.Clear();
        }
        catch (DbUpdateException)
        {
            // Lost a race with a concurrent create of the same id.
            return Problems.Conflict($"A project with id '{request.Id}' already exists.", "id");
        }

        Directory.CreateDirectory(project.RootPath);
        return ProjectResponse.From(project);
    }

    public async Task<Outcome<ProjectResponse>> ReplaceAsync(string id, ProjectRequest request, CancellationToken cancellationToken, bool force = false)
    {
        var project = scope.Allows(id) ? await db.Projects.FirstOrDefaultAsync(p => p.Id == id, cancellationToken) : null;
        if (project is null)
        {
            return Problems.NotFound("project", id);
        }

        if (await ManagedMarks.RefuseUnlessForcedAsync(db, DefinitionKinds.Project, id, force, cancellationToken) is { } managed)
        {
            return managed;
        }

        var errors = new FieldErrors();
        if (request.Id is not null && request.Id != id)
        {
            errors.Add("id", $"must match the id in the URL ('{id}'); a project's id cannot be changed.");
        }

        var rootPath = ValidateCommon(request, errors);
        if (errors.Any)
        {
            return errors.ToProblemDetails();
        }

        // A scoped key's projects are confined to their roots; moving a root would move the confinement with it.
        if (scope.IsScoped && !SamePath(rootPath!, project.RootPath))
        {
            return ProjectScope.RefuseField(scope.Projects!, "rootPath", $"change a project's rootPath (it is '{project.RootPath}')");
        }

        if (await OverlapAsync(id, rootPath!, cancellationToken) is { } overlap)
        {
            return overlap;
        }

        var before = ProjectResponse.From(project);
        project.Name = request.Name!.Trim();
        project.RootPath = rootPath!;
        project.UpdatedAt = time.GetUtcNow();
        audit.Add(new AuditChange("project.update", "project", id, id, before, ProjectResponse.From(project)));
        await db.SaveChangesAsync(cancellationToken);
        knownRoots.Clear();
        Directory.CreateDirectory(project.RootPath);
        return ProjectResponse.From(project);
    }

    /// <summary>
    /// Deletes the project record (its files stay on disk); the value is the id deleted. A project that schedules or
    /// pipelines still belong to is refused: they would fail on every firing and a schedule could not even be replaced.
    /// </summary>
    public async Task<Outcome<string>> DeleteAsync(string id, CancellationToken cancellationToken, bool force = false)
    {
        if (id == Project.DefaultId)
        {
            return Problems.Conflict("The default project cannot be deleted; schedules without a project belong to it.");
        }

        if (!IsSlug(id) || !scope.Allows(id) || !await db.Projects.AnyAsync(p => p.Id == id, cancellationToken))
        {
            return Problems.NotFound("project", id);
        }

        if (await ManagedMarks.RefuseUnlessForcedAsync(db, DefinitionKinds.Project, id, force, cancellationToken) is { } managed)
        {
            return managed;
        }

        if (await InUseAsync(id, cancellationToken) is { } inUse)
        {
            return inUse;
        }

        // A schedule or pipeline created between the check and the delete is not seen; the check is for the person
        // cleaning up, and such a newcomer fails its firings just as before.
        var before = await db.Projects.AsNoTracking().Where(p => p.Id == id).Select(p => new ProjectResponse(p.Id, p.Name, p.RootPath, p.CreatedAt, p.UpdatedAt)).FirstOrDefaultAsync(cancellationToken);
        var deleted = await db.Projects.Where(p => p.Id == id).ExecuteDeleteAsync(cancellationToken);
        knownRoots.Clear();
        if (deleted == 0)
        {
            return Problems.NotFound("project", id);
        }

        await ManagedMarks.ForgetAsync(db, DefinitionKinds.Project, id, cancellationToken);
        await audit.RecordAsync(new AuditChange("project.delete", "project", id, id, before, null), cancellationToken);
        return id;
    }

    public static bool IsSlug(string id) => SlugPattern().IsMatch(id);

    /// <summary>
    /// The 422 when <paramref name="rootPath"/> is, contains or lies inside another project's root: that project's
    /// files would be this one's too, past every project check. Compared as written and with symlinks resolved. Every
    /// project is compared, whether or not the caller may see it (a scoped key cannot change a root anyway).
    /// </summary>
    private async Task<ProblemDetails?> OverlapAsync(string id, string rootPath, CancellationToken cancellationToken)
    {
        var others = await db.Projects.AsNoTracking().Where(p => p.Id != id).Select(p => new { p.Id, p.RootPath }).ToListAsync(cancellationToken);
        var real = WorkspaceRoots.RealPath(rootPath);
        foreach (var other in others.OrderBy(o => o.Id, StringComparer.Ordinal))
        {
            var otherFull = Path.TrimEndingDirectorySeparator(other.RootPath);
            var otherReal = WorkspaceRoots.RealPath(otherFull);
            var relation =
                SamePath(rootPath, otherFull) || SamePath(real, otherReal) ? "is the root of"
                : WorkspaceRoots.IsStrictlyInside(rootPath, otherFull) || WorkspaceRoots.IsStrictlyInside(real, otherReal) ? "lies inside the root of"
                : WorkspaceRoots.IsStrictlyInside(otherFull, rootPath) || WorkspaceRoots.IsStrictlyInside(otherReal, real) ? "contains the root of"
                : null;
            if (relation is not null)
            {
                var errors = new FieldErrors();
                errors.Add("rootPath", $"'{rootPath}' {relation} project '{other.Id}' ('{other.RootPath}'); project roots may not overlap.");
                return errors.ToProblemDetails();
            }
        }

        return null;
    }

    private static bool SamePath(string a, string b) =>
        string.Equals(Path.TrimEndingDirectorySeparator(a), Path.TrimEndingDirectorySeparator(b), OperatingSystem.IsWindows() ? StringComparison.OrdinalIgnoreCase : StringComparison.Ordinal);

    private async Task<ProblemDetails?> InUseAsync(string id, CancellationToken cancellationToken) =>
        InUseProblem.For($"Project '{id}'",
            await ScheduleReferences.InProjectAsync(schedulers, id, cancellationToken),
            await PipelineReferences.InProjectAsync(db, id, cancellationToken));

    private string? ValidateCommon(ProjectRequest request, FieldErrors errors)
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

    [GeneratedRegex("^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$", RegexOptions.CultureInvariant)]
    private static partial Regex SlugPattern();
}
