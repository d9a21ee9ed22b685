using Microsoft.EntityFrameworkCore;
using Orchestrator.Data;

namespace Orchestrator.Projects;

/// <summary>Makes sure the <c>default</c> project exists, rooted at <c>{first workspace root}/default</c>.</summary>
public sealed class DefaultProjectSeeder(OrchestratorDbContext db, WorkspaceRoots roots, TimeProvider time)
{
    public async Task EnsureAsync(CancellationToken cancellationToken)
    {
        var existing = await db.Projects.AsNoTracking().FirstOrDefaultAsync(p => p.Id == Project.DefaultId, cancellationToken);
        if (existing is not null)
        {
            Directory.CreateDirectory(existing.RootPath);
            return;
        }

        var root = Path.Combine(roots.Roots[0], Project.DefaultId);
        Directory.CreateDirectory(root);
        var now = time.GetUtcNow();
        db.Projects.Add(new Project { Id = Project.DefaultId, Name = "Default", RootPath = root, CreatedAt = now, UpdatedAt = now });
        try
        {
            await db.SaveChangesAsync(cancellationToken);
        }
        catch (DbUpdateException)
        {
            // Another node seeded it at the same moment.
        }
    }
}
