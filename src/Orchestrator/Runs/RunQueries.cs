using Microsoft.EntityFrameworkCore;
using Orchestrator.Api;
using Orchestrator.Audit;
using Orchestrator.Data;
using Orchestrator.Pipelines;
using Orchestrator.Schedules;
using Orchestrator.Security;
using Quartz;

namespace Orchestrator.Runs;

/// <summary>A query of the run ledger: each filter optional, as the API's query string gives it.</summary>
/// <remarks>
/// <see cref="Sort"/>: <c>scheduled</c> (the default) orders by scheduled fire time; <c>created</c> by when the ledger
/// wrote the run (its UUIDv7 id), so a backfill of last month or a manual run shows at the top, not under older times.
/// </remarks>
public sealed record RunQuery(string? ScheduleId, string? Project, string? Status, string? From, string? To, int? Page, int? PageSize, string? Sort = null);

/// <summary>
/// The run ledger's use cases for every surface (the runs endpoints, a schedule's runs): query, read one, and ask for
/// a run to be cancelled. Refusals come back as problem details the caller shows in its own way.
/// </summary>
public sealed class RunQueries(OrchestratorDbContext db, ISchedulerFactory schedulers, ProjectScope scope, AuditLog audit, TimeProvider time)
{
    /// <summary>Runs matching <paramref name="query"/>, newest scheduled fire time first; a 422 naming each bad filter.</summary>
    public async Task<Outcome<PagedList<RunResponse>>> ListAsync(RunQuery query, CancellationToken ct)
    {
        var errors = new FieldErrors();
        var runs = db.Runs.AsNoTracking();
        if (scope.Projects is { } allowed)
        {
            runs = runs.Where(r => r.ProjectId != null && allowed.Contains(r.ProjectId));
        }

        if (query.ScheduleId is not null)
        {
            var key = ScheduleIds.Parse(query.ScheduleId);
            if (key.Group.StartsWith(ScheduleService.SystemGroupPrefix, StringComparison.Ordinal))
            {
                // The server's own jobs are no schedules: not found, as /api/schedules/{id}/runs answers for them.
                return Problems.NotFound("schedule", query.ScheduleId);
            }

            var scheduleId = ScheduleIds.Of(key);
            runs = runs.Where(r => r.ScheduleId == scheduleId);
        }

        if (query.Project is not null)
        {
            runs = runs.Where(r => r.ProjectId == query.Project);
        }

        if (query.Status is not null)
        {
            if (!Enum.TryParse<RunStatus>(query.Status, ignoreCase: true, out var status) || int.TryParse(query.Status, out _))
            {
                errors.Add("status", $"'{query.Status}' is not a run status; use {string.Join(", ", Enum.GetNames<RunStatus>().Select(n => n.ToLowerInvariant()))}.");
            }
            else
            {
                runs = runs.Where(r => r.Status == status);
            }
        }

        var byCreation = query.Sort == "created";
        if (query.Sort is not (null or "scheduled" or "created"))
        {
            errors.Add("sort", $"'{query.Sort}' is not a run order; use 'scheduled' (scheduled fire time, the default) or 'created' (when the run was written, newest first).");
        }

        var from = ScheduleValidator.ParseInstant(query.From, "from", errors);
        var to = ScheduleValidator.ParseInstant(query.To, "to", errors);
        if (errors.Any)
        {
            return errors.ToProblemDetails();
        }

        if (from is not null)
        {
            runs = runs.Where(r => r.ScheduledFireTime >= from);
        }

        if (to is not null)
        {
            runs = runs.Where(r => r.ScheduledFireTime < to);
        }

        var paging = Paging.From(query.Page, query.PageSize);
        var total = await runs.CountAsync(ct);
        // Many rows share a fire time (every schedule due at 09:00, a backfill of several schedules): the id breaks the
        // tie, or the database may order tied rows differently for each page and skip or repeat some.
        // Ids are UUIDv7, so their order is the order the ledger wrote them in, and unique.
        var ordered = byCreation ? runs.OrderByDescending(r => r.Id) : runs.OrderByDescending(r => r.ScheduledFireTime).ThenByDescending(r => r.Id);
        var items = await ordered.Skip(paging.Skip).Take(paging.Size).ToListAsync(ct);
        return new PagedList<RunResponse>([.. items.Select(RunResponse.From)], paging.Number, paging.Size, total);
    }

    /// <summary>Whether the ledger holds any run of <paramref name="scheduleId"/>: a deleted schedule's runs stay listable.</summary>
    public Task<bool> AnyOfScheduleAsync(string scheduleId, CancellationToken ct) => db.Runs.AnyAsync(r => r.ScheduleId == scheduleId, ct);

    /// <summary>
    /// The last run (latest scheduled fire time) of each of <paramref name="scheduleIds"/> that has one: a page of
    /// schedules reads its last runs in one query, whatever the page size.
    /// </summary>
    public async Task<IReadOnlyDictionary<string, LastRunView>> LastRunsAsync(IReadOnlyCollection<string> scheduleIds, CancellationToken ct)
    {
        if (scheduleIds.Count == 0)
        {
            return new Dictionary<string, LastRunView>(StringComparer.Ordinal);
        }

        var ids = scheduleIds.Distinct(StringComparer.Ordinal).ToList();
        var last = await db.Runs.AsNoTracking()
            .Where(r => ids.Contains(r.ScheduleId))
            .GroupBy(r => r.ScheduleId)
            .Select(g => g.OrderByDescending(r => r.ScheduledFireTime)
                .Select(r => new { r.ScheduleId, r.Id, r.Status, r.ScheduledFireTime, r.FinishedAt })
                .First())
            .ToListAsync(ct);
        return last.ToDictionary(r => r.ScheduleId, r => new LastRunView(r.Id, RunResponse.Name(r.Status), r.ScheduledFireTime, r.FinishedAt), StringComparer.Ordinal);
    }

    /// <summary>
    /// The scheduled fire times in [<paramref name="from"/>, <paramref name="to"/>) of <paramref name="scheduleId"/>'s
    /// runs whose status is one of <paramref name="statuses"/> (a backfill leaves out the fire times that ran for good).
    /// </summary>
    public async Task<List<DateTimeOffset>> FireTimesAsync(
        string scheduleId, DateTimeOffset from, DateTimeOffset to, IReadOnlyCollection<RunStatus> statuses, CancellationToken ct) =>
        await db.Runs.AsNoTracking()
            .Where(r => r.ScheduleId == scheduleId && r.ScheduledFireTime >= from && r.ScheduledFireTime < to && statuses.Contains(r.Status))
            .Select(r => r.ScheduledFireTime)
            .ToListAsync(ct);

    public async Task<Outcome<RunResponse>> GetAsync(Guid runId, CancellationToken ct)
    {
        var run = await db.Runs.AsNoTracking().FirstOrDefaultAsync(r => r.Id == runId, ct);
        return run is null || !scope.Allows(run.ProjectId) ? Problems.NotFound("run", runId.ToString()) : RunResponse.From(run);
    }

    /// <summary>
    /// Cancels a pending run at once, or interrupts a running one on whichever node runs it (the run is recorded as
    /// cancelled when its firing stops); a finished run is a 409.
    /// </summary>
    public async Task<Outcome<RunResponse>> RequestCancelAsync(Guid runId, CancellationToken ct)
    {
        var run = await db.Runs.FirstOrDefaultAsync(r => r.Id == runId, ct);
        if (run is null || !scope.Allows(run.ProjectId))
        {
            return Problems.NotFound("run", runId.ToString());
        }

        switch (run.Status)
        {
            case RunStatus.Pending:
                var before = RunResponse.From(run);
                run.Status = RunStatus.Cancelled;
                run.FinishedAt = time.GetUtcNow();
                run.Error = "cancelled before it started";
                run.Version += 1;
                audit.Add(new AuditChange("run.cancel", "run", run.Id.ToString(), run.ProjectId, before, RunResponse.From(run)));
                await db.SaveChangesAsync(ct);
                return RunResponse.From(run);
            case RunStatus.Running when run.FireInstanceId is not null:
                // An execute_pipeline run: its pipeline run carries the durable request, so the executor reads the
                // interrupt as meant for that run even when one of its sub-pipelines was cancelled before.
                await db.PipelineRuns
                    .Where(p => p.LedgerRunId == run.Id && (p.Status == PipelineRunStatus.Pending || p.Status == PipelineRunStatus.Running))
                    .ExecuteUpdateAsync(u => u.SetProperty(p => p.CancelRequested, true), ct);
                var scheduler = await schedulers.GetScheduler(ct);
                // Reaches the node running it: locally at once, elsewhere through the cluster's fired-trigger row.
                await scheduler.InterruptFireInstance(run.FireInstanceId, ct);
                await audit.RecordAsync(new AuditChange("run.cancel", "run", run.Id.ToString(), run.ProjectId, RunResponse.From(run), null, "interrupt requested"), ct);
                return RunResponse.From(run);
            default:
                return Problems.Conflict($"Run {run.Id} is {RunResponse.Name(run.Status)}; only pending or running runs can be cancelled.");
        }
    }
}
