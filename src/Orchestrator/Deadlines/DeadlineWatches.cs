using Microsoft.EntityFrameworkCore;
using Orchestrator.Data;

namespace Orchestrator.Deadlines;

/// <summary>
/// The list of what the checker looks at. A schedule lives in Quartz's tables, which cannot be searched by what its
/// job data holds, so saving a definition with a deadline adds it here; the checker reads the deadline itself from the
/// definition each time and forgets a target whose definition is gone or no longer has one.
/// </summary>
public static class DeadlineWatches
{
    /// <summary>
    /// Starts watching <paramref name="targetId"/> from <paramref name="now"/> (due times before it are not judged);
    /// a target already watched keeps its progress, so an edit neither re-judges nor skips a due time.
    /// </summary>
    public static async Task WatchAsync(OrchestratorDbContext db, string targetType, string targetId, DateTimeOffset now, CancellationToken ct)
    {
        if (await db.Set<DeadlineWatch>().AnyAsync(w => w.TargetType == targetType && w.TargetId == targetId, ct))
        {
            return;
        }

        db.Set<DeadlineWatch>().Add(new DeadlineWatch
        {
            TargetType = targetType,
            TargetId = targetId,
            WatchedSince = now,
            StartCheckedThrough = now,
            SucceedCheckedThrough = now,
            SilenceSince = now,
        });
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException)
        {
            // Two saves of the same definition at once: the other one's row is the same watch.
            db.ChangeTracker.Clear();
        }
    }

    /// <summary>
    /// Starts watching each of <paramref name="targetIds"/> from <paramref name="now"/> in one save (a batch of new
    /// definitions); ids already watched keep their progress.
    /// </summary>
    public static async Task WatchAllAsync(OrchestratorDbContext db, string targetType, IReadOnlyCollection<string> targetIds, DateTimeOffset now, CancellationToken ct)
    {
        if (targetIds.Count == 0)
        {
            return;
        }

        var ids = targetIds.Distinct(StringComparer.Ordinal).ToList();
        var watched = (await db.Set<DeadlineWatch>().Where(w => w.TargetType == targetType && ids.Contains(w.TargetId)).Select(w => w.TargetId).ToListAsync(ct))
            .ToHashSet(StringComparer.Ordinal);
        db.Set<DeadlineWatch>().AddRange(ids.Where(id => !watched.Contains(id)).Select(id => new DeadlineWatch
        {
            TargetType = targetType,
            TargetId = id,
            WatchedSince = now,
            StartCheckedThrough = now,
            SucceedCheckedThrough = now,
            SilenceSince = now,
        }));
        await db.SaveChangesAsync(ct);
    }

    /// <summary>
    /// The open breaches and the latest breach of each target, for the schedule and pipeline answers (one query).
    /// </summary>
    public static async Task<Dictionary<string, DeadlineStatusView>> StatusOfAsync(
        OrchestratorDbContext db, string targetType, IReadOnlyCollection<string> targetIds, CancellationToken ct)
    {
        if (targetIds.Count == 0)
        {
            return [];
        }

        var ids = targetIds.ToList();
        var rows = await db.Set<DeadlineBreach>().AsNoTracking()
            .Where(b => b.TargetType == targetType && ids.Contains(b.TargetId))
            .Where(b => b.RecoveredAt == null)
            .Select(b => new { b.Id, b.TargetId, b.Kind, b.Occurrence, b.DueAt, b.DetectedAt })
            .ToListAsync(ct);
        var latest = await db.Set<DeadlineBreach>().AsNoTracking()
            .Where(b => b.TargetType == targetType && ids.Contains(b.TargetId))
            .GroupBy(b => b.TargetId)
            .Select(g => new { TargetId = g.Key, Last = g.Max(b => b.Id) })
            .ToListAsync(ct);
        var lastIds = latest.Select(l => l.Last).ToList();
        var lastAt = await db.Set<DeadlineBreach>().AsNoTracking().Where(b => lastIds.Contains(b.Id))
            .Select(b => new { b.TargetId, b.DetectedAt }).ToListAsync(ct);
        return lastAt.ToDictionary(
            l => l.TargetId,
            l => new DeadlineStatusView(
                [.. rows.Where(r => r.TargetId == l.TargetId).OrderBy(r => r.Occurrence).ThenBy(r => r.Id)
                    .Select(r => new OpenBreachView(r.Id, r.Kind, r.Occurrence, r.DueAt, r.DetectedAt))],
                l.DetectedAt),
            StringComparer.Ordinal);
    }
}

/// <summary>A schedule's (or pipeline's) deadline state: its breaches not recovered yet, and when it last missed one.</summary>
public sealed record DeadlineStatusView(IReadOnlyList<OpenBreachView> Open, DateTimeOffset? LastBreachAt);

/// <summary>An open breach: which deadline, of which occurrence, due when, found when.</summary>
public sealed record OpenBreachView(long Id, string Kind, DateTimeOffset Occurrence, DateTimeOffset DueAt, DateTimeOffset DetectedAt);
