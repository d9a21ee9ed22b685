using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Orchestrator.Data;
using Orchestrator.Runs;
using Quartz;

namespace Orchestrator.Schedules;

/// <summary>
/// One pause of a schedule, from when it was paused to when it was resumed (null while it is paused). Quartz keeps only
/// the current pause (<see cref="IScheduler.GetTriggerPause"/>) and forgets it at the resume; these rows keep every
/// pause, so a due time that passed during a pause that has since ended is still known to have been paused.
/// </summary>
public sealed class SchedulePause
{
    /// <summary>The source of an interval written at a resume from Quartz's own pause record (a pause made before
    /// intervals were stored, or one Quartz made itself, such as retries exhausted).</summary>
    public const string FromQuartz = "quartz";

    /// <summary>Who "resumed" an open interval closed as stale (housekeeping, or the next pause): nobody did, Quartz was
    /// not paused then, so its end is no resume and the paused-firing veto holds nothing by it.</summary>
    public const string ClosedAsStale = "system (stale)";

    public long Id { get; set; }

    /// <summary>The schedule's id, <c>{project}.{name}</c>.</summary>
    public required string ScheduleId { get; set; }

    public DateTimeOffset PausedAt { get; set; }

    /// <summary>Null while the schedule is paused.</summary>
    public DateTimeOffset? ResumedAt { get; set; }

    public string? Reason { get; set; }

    /// <summary>Who paused it (the API key's name, <c>schedule:{id}</c> for a tool in a run, <c>system</c>).</summary>
    public required string PausedBy { get; set; }

    public string? ResumedBy { get; set; }

    /// <summary>Where the pause came from: one of <see cref="Audit.AuditLog.Sources"/>, or <see cref="FromQuartz"/>.</summary>
    public required string Source { get; set; }
}

internal sealed class SchedulePauseConfiguration : IEntityTypeConfiguration<SchedulePause>
{
    public void Configure(EntityTypeBuilder<SchedulePause> builder)
    {
        builder.ToTable("schedule_pauses");
        builder.HasKey(p => p.Id);
        builder.Property(p => p.Id).HasColumnName("id").ValueGeneratedOnAdd();
        builder.Property(p => p.ScheduleId).HasColumnName("schedule_id").HasMaxLength(400).IsRequired();
        builder.Property(p => p.PausedAt).HasColumnName("paused_at");
        builder.Property(p => p.ResumedAt).HasColumnName("resumed_at");
        builder.Property(p => p.Reason).HasColumnName("reason").HasMaxLength(PauseDetails.MaxReasonLength);
        builder.Property(p => p.PausedBy).HasColumnName("paused_by").HasMaxLength(Audit.AuditEntry.MaxActorLength).IsRequired();
        builder.Property(p => p.ResumedBy).HasColumnName("resumed_by").HasMaxLength(Audit.AuditEntry.MaxActorLength);
        builder.Property(p => p.Source).HasColumnName("source").HasMaxLength(16).IsRequired();

        // At most one open pause per schedule: two pauses of an active schedule at once cannot both open one.
        builder.HasIndex(p => p.ScheduleId).IsUnique().HasFilter("resumed_at IS NULL").HasDatabaseName("ux_schedule_pauses_open");
        builder.HasIndex(p => new { p.ScheduleId, p.PausedAt }).HasDatabaseName("ix_schedule_pauses_schedule");
        builder.HasIndex(p => p.ResumedAt).HasDatabaseName("ix_schedule_pauses_resumed");
    }
}

/// <summary>
/// The pause intervals of schedules: opened and closed by <see cref="ScheduleService"/> next to every pause and resume
/// (tracked on the caller's context, saved with its audit entry), read by the occurrences and the deadline checker,
/// purged with the runs (<c>Runs:Retention</c>) and deleted with the schedule.
/// </summary>
public static class SchedulePauses
{
    /// <summary>How long an open interval of a trigger that is not paused is left alone by housekeeping: a pause saves
    /// its interval just before Quartz pauses the trigger, so a young one may be a pause in progress.</summary>
    public static readonly TimeSpan StaleAfter = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Opens an interval at <paramref name="at"/> for each schedule of <paramref name="ids"/> that has none open (a
    /// schedule already paused keeps the interval it has). Tracked only: the caller's save writes it. The value is the
    /// intervals added.
    /// </summary>
    public static async Task<IReadOnlyList<SchedulePause>> OpenAsync(
        OrchestratorDbContext db, IReadOnlyCollection<string> ids, DateTimeOffset at, string? reason, string by, string source, CancellationToken ct)
    {
        if (ids.Count == 0)
        {
            return [];
        }

        var open = await OpenIdsAsync(db, ids, ct);
        var added = ids.Distinct(StringComparer.Ordinal).Where(id => !open.Contains(id)).Select(id => new SchedulePause
        {
            ScheduleId = id,
            PausedAt = at,
            Reason = reason,
            PausedBy = Cut(by),
            Source = source,
        }).ToList();
        db.Set<SchedulePause>().AddRange(added);
        return added;
    }

    /// <summary>
    /// <see cref="OpenAsync(OrchestratorDbContext, IReadOnlyCollection{string}, DateTimeOffset, string?, string, string, CancellationToken)"/>
    /// for schedules Quartz is about to pause: an open interval of one whose trigger is not paused is stale (a pause
    /// that lost a race with a resume, or a node that died between saving it and pausing Quartz), so it is closed at
    /// <paramref name="at"/> first rather than taken for this pause.
    /// </summary>
    public static async Task<IReadOnlyList<SchedulePause>> OpenAsync(
        OrchestratorDbContext db, IScheduler scheduler, IReadOnlyCollection<string> ids, DateTimeOffset at, string? reason, string by, string source, CancellationToken ct)
    {
        await CloseStaleAsync(db, scheduler, ids, at, at, ct);
        return await OpenAsync(db, ids, at, reason, by, source, ct);
    }

    /// <summary>
    /// Closes, at <paramref name="now"/>, every open interval older than <see cref="StaleAfter"/> whose trigger is not
    /// paused (housekeeping): nothing else would ever end it, and the schedule is running. The value is how many.
    /// </summary>
    public static async Task<int> CloseStaleAsync(OrchestratorDbContext db, IScheduler scheduler, DateTimeOffset now, CancellationToken ct)
    {
        var ids = await db.Set<SchedulePause>().AsNoTracking().Where(p => p.ResumedAt == null).Select(p => p.ScheduleId).ToListAsync(ct);
        return await CloseStaleAsync(db, scheduler, ids, now - StaleAfter, now, ct);
    }

    /// <summary>Closes at <paramref name="at"/> the open intervals of <paramref name="ids"/> that began before
    /// <paramref name="before"/> and whose trigger is not paused; written at once, not with the caller's save.</summary>
    private static async Task<int> CloseStaleAsync(
        OrchestratorDbContext db, IScheduler scheduler, IReadOnlyCollection<string> ids, DateTimeOffset before, DateTimeOffset at, CancellationToken ct)
    {
        var list = ids.Distinct(StringComparer.Ordinal).ToList();
        var open = await db.Set<SchedulePause>().AsNoTracking()
            .Where(p => list.Contains(p.ScheduleId) && p.ResumedAt == null && p.PausedAt <= before)
            .Select(p => new { p.Id, p.ScheduleId }).ToListAsync(ct);
        var closed = 0;
        foreach (var row in open)
        {
            var key = ScheduleIds.Parse(row.ScheduleId);
            if (await scheduler.GetTriggerState(new TriggerKey(key.Name, key.Group), ct) == TriggerState.Paused)
            {
                continue;
            }

            // Conditional: a resume that closed it meanwhile keeps its own end.
            closed += await db.Set<SchedulePause>().Where(p => p.Id == row.Id && p.ResumedAt == null)
                .ExecuteUpdateAsync(s => s.SetProperty(p => p.ResumedAt, at).SetProperty(p => p.ResumedBy, SchedulePause.ClosedAsStale), ct);
        }

        return closed;
    }

    /// <summary>
    /// Takes back what <see cref="OpenAsync(OrchestratorDbContext, IScheduler, IReadOnlyCollection{string}, DateTimeOffset, string?, string, string, CancellationToken)"/>
    /// or <see cref="CloseAsync"/> saved when Quartz then refused the pause or resume: the intervals it added are
    /// deleted, the ones it closed are open again. Only what this context saved (a row the save dropped in a conflict
    /// was another pause's).
    /// </summary>
    public static async Task UndoAsync(OrchestratorDbContext db, PauseChange change, CancellationToken ct)
    {
        foreach (var pause in change.Added.Where(p => db.Entry(p).State == EntityState.Unchanged))
        {
            db.Remove(pause);
        }

        foreach (var pause in change.Closed.Where(p => db.Entry(p).State == EntityState.Unchanged))
        {
            pause.ResumedAt = null;
            pause.ResumedBy = null;
        }

        await SaveAsync(db, ct);
    }

    /// <summary>
    /// What a resume needs to know before Quartz forgets it: for each of <paramref name="keys"/> paused with no open
    /// interval (paused before intervals were stored, or by Quartz itself), Quartz's record of that pause.
    /// </summary>
    public static async Task<Dictionary<string, PauseInfo>> UnrecordedAsync(OrchestratorDbContext db, IScheduler scheduler, IReadOnlyCollection<JobKey> keys, CancellationToken ct)
    {
        var open = await OpenIdsAsync(db, [.. keys.Select(ScheduleIds.Of)], ct);
        var records = new Dictionary<string, PauseInfo>(StringComparer.Ordinal);
        foreach (var key in keys.Where(k => !open.Contains(ScheduleIds.Of(k))))
        {
            if (await scheduler.GetTriggerPause(new TriggerKey(key.Name, key.Group), ct) is { } record)
            {
                records[ScheduleIds.Of(key)] = record;
            }
        }

        return records;
    }

    /// <summary>
    /// Closes the open interval of each of <paramref name="ids"/> at <paramref name="at"/>; one with none open but with
    /// Quartz's record of its pause (<see cref="UnrecordedAsync"/>, read before the resume) is stored ended. Tracked only.
    /// </summary>
    public static async Task<PauseChange> CloseAsync(
        OrchestratorDbContext db, IReadOnlyCollection<string> ids, IReadOnlyDictionary<string, PauseInfo> unrecorded, DateTimeOffset at, string by, CancellationToken ct)
    {
        var list = ids.Distinct(StringComparer.Ordinal).ToList();
        var open = await db.Set<SchedulePause>().Where(p => list.Contains(p.ScheduleId) && p.ResumedAt == null).ToListAsync(ct);
        foreach (var pause in open)
        {
            pause.ResumedAt = at;
            pause.ResumedBy = Cut(by);
        }

        var closed = open.Select(p => p.ScheduleId).ToHashSet(StringComparer.Ordinal);
        var added = list.Where(id => !closed.Contains(id) && unrecorded.ContainsKey(id)).Select(id => new SchedulePause
        {
            ScheduleId = id,
            PausedAt = unrecorded[id].PausedAtUtc,
            ResumedAt = at,
            Reason = unrecorded[id].Reason,
            PausedBy = Cut(unrecorded[id].RequestedBy ?? Audit.AuditLog.SystemActor),
            ResumedBy = Cut(by),
            Source = SchedulePause.FromQuartz,
        }).ToList();
        db.Set<SchedulePause>().AddRange(added);
        return new PauseChange(added, open);
    }

    /// <summary>
    /// Writes <paramref name="resumedAt"/> into the job data of each schedule trigger of <paramref name="keys"/> as the
    /// latest end of its pauses (<see cref="PausedFiringVeto.ResumedAtKey"/>), through Quartz's
    /// <see cref="IScheduler.UpdateTriggerDetails"/> (fire times and state kept). Called after the interval's end is
    /// saved and before Quartz resumes: the paused-firing veto then asks the stored intervals only of a firing due before
    /// it, and a firing on any node reads it with the trigger. A later mark already there is kept.
    /// </summary>
    public static async Task MarkResumedAsync(IScheduler scheduler, IEnumerable<JobKey> keys, DateTimeOffset resumedAt, CancellationToken ct)
    {
        foreach (var key in keys)
        {
            var triggerKey = new TriggerKey(key.Name, key.Group);
            if (await scheduler.GetTrigger(triggerKey, ct) is not { } trigger
                || PausedFiringVeto.EndedAt(trigger.JobDataMap) is { } marked && marked >= resumedAt)
            {
                continue;
            }

            var data = new JobDataMap((IDictionary<string, object?>)trigger.JobDataMap)
            {
                [PausedFiringVeto.ResumedAtKey] = resumedAt.UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture),
            };
            await scheduler.UpdateTriggerDetails(triggerKey, new TriggerDetailsUpdate().WithJobDataMap(data), ct);
        }
    }

    /// <summary>
    /// Saves the caller's unit of work (the intervals and the audit entries of a pause or resume). Two pauses of the same
    /// schedule at once both pass the "none open" check; the second save then breaks the unique open interval, and is
    /// saved again without its interval: the first one's is the pause.
    /// </summary>
    public static async Task SaveAsync(OrchestratorDbContext db, CancellationToken ct)
    {
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateException)
        {
            var added = db.ChangeTracker.Entries<SchedulePause>().Where(e => e.State == EntityState.Added).ToList();
            if (added.Count == 0)
            {
                throw;
            }

            var ids = added.Select(e => e.Entity.ScheduleId).ToList();
            var open = await OpenIdsAsync(db, ids, ct);
            foreach (var entry in added.Where(e => open.Contains(e.Entity.ScheduleId)))
            {
                entry.State = EntityState.Detached;
            }

            await db.SaveChangesAsync(ct);
        }
    }

    /// <summary>
    /// Since when the schedule is paused, or null when it is not (Quartz's trigger state says whether): the open stored
    /// interval; else Quartz's own record of the pause; else (a pause that recorded nothing) just after the latest start
    /// of a run of its trigger, the latest instant it can have begun by what is stored, as a paused trigger starts
    /// nothing — <see cref="DateTimeOffset.MinValue"/> when it never ran. The one answer the occurrences and the deadline
    /// checker both use.
    /// </summary>
    public static async Task<DateTimeOffset?> PausedSinceAsync(OrchestratorDbContext db, IScheduler scheduler, JobKey key, CancellationToken ct) =>
        (await CurrentAsync(db, scheduler, key, ct))?.From;

    /// <summary>
    /// The pauses of the schedule that overlap [<paramref name="from"/>, <paramref name="to"/>), oldest first: the stored
    /// intervals, and the current pause (<see cref="PausedSinceAsync"/>) when none of them is open.
    /// </summary>
    public static async Task<IReadOnlyList<OccurrencePause>> OverlappingAsync(
        OrchestratorDbContext db, IScheduler scheduler, JobKey key, DateTimeOffset from, DateTimeOffset to, CancellationToken ct)
    {
        var id = ScheduleIds.Of(key);
        var stored = await db.Set<SchedulePause>().AsNoTracking()
            .Where(p => p.ScheduleId == id && p.PausedAt < to && (p.ResumedAt == null || p.ResumedAt > from))
            .OrderBy(p => p.PausedAt)
            .ToListAsync(ct);
        var pauses = stored
            .Where(p => p.ResumedAt is not null)
            .Select(p => new OccurrencePause(p.PausedAt, p.ResumedAt, p.PausedBy, p.Reason))
            .ToList();
        if (await CurrentAsync(db, scheduler, key, ct) is { } current && current.From < to)
        {
            pauses.Add(current);
        }

        return pauses;
    }

    /// <summary>
    /// Whether <paramref name="at"/> falls inside one of <paramref name="pauses"/> (from its start to its end, both
    /// included; an open one to the end of time): a due time the schedule was not to run.
    /// </summary>
    public static bool Covers(IEnumerable<OccurrencePause> pauses, DateTimeOffset at) =>
        pauses.Any(p => p.From <= at && (p.To is not { } to || at <= to));

    /// <summary>Deletes every interval of the schedules: deleted, or created anew under the id of a deleted one.</summary>
    public static Task<int> ForgetAsync(OrchestratorDbContext db, IReadOnlyCollection<string> scheduleIds, CancellationToken ct)
    {
        var ids = scheduleIds.Distinct(StringComparer.Ordinal).ToList();
        return db.Set<SchedulePause>().Where(p => ids.Contains(p.ScheduleId)).ExecuteDeleteAsync(ct);
    }

    /// <summary>Deletes the intervals that ended before <paramref name="cutoff"/> (<c>Runs:Retention</c>); the value is how many.</summary>
    public static Task<int> PurgeAsync(OrchestratorDbContext db, DateTimeOffset cutoff, CancellationToken ct) =>
        db.Set<SchedulePause>().Where(p => p.ResumedAt != null && p.ResumedAt < cutoff).ExecuteDeleteAsync(ct);

    /// <summary>The schedule's intervals as they are, for an undo (<see cref="RestoreAsync"/>).</summary>
    public static async Task<List<SchedulePause>> SnapshotAsync(OrchestratorDbContext db, string scheduleId, CancellationToken ct) =>
        await db.Set<SchedulePause>().AsNoTracking().Where(p => p.ScheduleId == scheduleId).ToListAsync(ct);

    /// <summary>Puts the schedule's intervals back as <see cref="SnapshotAsync"/> read them (apply undoing a step).</summary>
    public static async Task RestoreAsync(OrchestratorDbContext db, string scheduleId, IReadOnlyList<SchedulePause> snapshot, CancellationToken ct)
    {
        foreach (var entry in db.ChangeTracker.Entries<SchedulePause>().Where(e => e.Entity.ScheduleId == scheduleId).ToList())
        {
            entry.State = EntityState.Detached;
        }

        // One transaction: an undo that failed half-way must not leave the schedule with no intervals at all.
        await using var transaction = db.Database.CurrentTransaction is null ? await db.Database.BeginTransactionAsync(ct) : null;
        await ForgetAsync(db, [scheduleId], ct);
        db.Set<SchedulePause>().AddRange(snapshot.Select(p => new SchedulePause
        {
            ScheduleId = p.ScheduleId,
            PausedAt = p.PausedAt,
            ResumedAt = p.ResumedAt,
            Reason = p.Reason,
            PausedBy = p.PausedBy,
            ResumedBy = p.ResumedBy,
            Source = p.Source,
        }));
        await db.SaveChangesAsync(ct);
        if (transaction is not null)
        {
            await transaction.CommitAsync(ct);
        }
    }

    private static async Task<OccurrencePause?> CurrentAsync(OrchestratorDbContext db, IScheduler scheduler, JobKey key, CancellationToken ct)
    {
        var triggerKey = new TriggerKey(key.Name, key.Group);
        if (await scheduler.GetTriggerState(triggerKey, ct) != TriggerState.Paused)
        {
            return null;
        }

        var id = ScheduleIds.Of(key);
        if (await db.Set<SchedulePause>().AsNoTracking().Where(p => p.ScheduleId == id && p.ResumedAt == null).FirstOrDefaultAsync(ct) is { } open)
        {
            return new OccurrencePause(open.PausedAt, null, open.PausedBy, open.Reason);
        }

        if (await scheduler.GetTriggerPause(triggerKey, ct) is { } record)
        {
            return new OccurrencePause(record.PausedAtUtc, null, record.RequestedBy, record.Reason);
        }

        // A run-now, a pipeline's run or a backfill runs while the trigger is paused; only the trigger's own runs tell.
        var lastStart = await db.Runs.AsNoTracking()
            .Where(r => r.ScheduleId == id && r.TriggeredBy != RunTrigger.Manual && r.TriggeredBy != RunTrigger.Pipeline && r.TriggeredBy != RunTrigger.Backfill && r.StartedAt != null)
            .OrderByDescending(r => r.StartedAt).Select(r => r.StartedAt).FirstOrDefaultAsync(ct);
        return new OccurrencePause(lastStart?.AddTicks(1) ?? DateTimeOffset.MinValue, null, null, null);
    }

    private static async Task<HashSet<string>> OpenIdsAsync(OrchestratorDbContext db, IReadOnlyCollection<string> ids, CancellationToken ct)
    {
        var list = ids.Distinct(StringComparer.Ordinal).ToList();
        return (await db.Set<SchedulePause>().AsNoTracking().Where(p => list.Contains(p.ScheduleId) && p.ResumedAt == null).Select(p => p.ScheduleId).ToListAsync(ct))
            .ToHashSet(StringComparer.Ordinal);
    }

    private static string Cut(string text) => text.Length <= Audit.AuditEntry.MaxActorLength ? text : text[..Audit.AuditEntry.MaxActorLength];
}

/// <summary>What a pause or resume wrote to the intervals before Quartz acted: undone if Quartz refuses (<see cref="SchedulePauses.UndoAsync"/>).</summary>
public sealed record PauseChange(IReadOnlyList<SchedulePause> Added, IReadOnlyList<SchedulePause> Closed)
{
    public static PauseChange Opened(IReadOnlyList<SchedulePause> added) => new(added, []);
}
