using Microsoft.EntityFrameworkCore;
using Orchestrator.Data;

namespace Orchestrator.Audit;

/// <summary>The only deletion of audit entries there is: those older than <c>Orchestrator:Audit:Retention</c>.</summary>
public static class AuditRetention
{
    /// <summary>Deletes the entries recorded before <paramref name="cutoff"/>; the value is how many.</summary>
    public static Task<int> PurgeAsync(OrchestratorDbContext db, DateTimeOffset cutoff, CancellationToken cancellationToken) =>
        db.Set<AuditEntry>().Where(e => e.At < cutoff).ExecuteDeleteAsync(cancellationToken);
}
