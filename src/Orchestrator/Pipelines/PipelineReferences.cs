using Microsoft.EntityFrameworkCore;
using Orchestrator.Actions;
using Orchestrator.Data;

namespace Orchestrator.Pipelines;

/// <summary>
/// Which pipelines still use a project or, in a node of their current version, a name in an action config, for a
/// delete to refuse while they do. Older versions are kept only for their runs and are not looked at. Definitions are
/// JSON, so every current definition is read; deletes are rare.
/// </summary>
public static class PipelineReferences
{
    /// <summary>The ids of the pipelines of <paramref name="project"/>, in id order.</summary>
    public static Task<List<string>> InProjectAsync(OrchestratorDbContext db, string project, CancellationToken ct) =>
        db.Pipelines.AsNoTracking().Where(p => p.ProjectId == project).OrderBy(p => p.Id).Select(p => p.Id).ToListAsync(ct);

    /// <summary>The ids of the pipelines with an action node whose action is <paramref name="reference"/>, in id order.</summary>
    public static async Task<IReadOnlyList<string>> UsingAsync(OrchestratorDbContext db, ActionReference reference, CancellationToken ct)
    {
        var current = await (from p in db.Pipelines.AsNoTracking()
                             join v in db.PipelineVersions.AsNoTracking() on new { p.Id, p.Version } equals new { Id = v.PipelineId, v.Version }
                             orderby p.Id
                             select new { p.Id, v.Definition }).ToListAsync(ct);
        return [.. current
            .Where(c => PipelineDefinition.FromJson(c.Definition).Nodes.Any(n => n.Type == NodeDefinition.Action && reference.IsIn(n.ActionType, n.Config)))
            .Select(c => c.Id)];
    }
}
