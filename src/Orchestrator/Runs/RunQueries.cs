using System.Text.Json;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using Orchestrator.Actions;
using Orchestrator.Api;
using Orchestrator.Audit;
using Orchestrator.Data;
using Orchestrator.Pipelines;
using Orchestrator.Schedules;
using Orchestrator.Security;
using Quartz;
using Quartz.Extensibility;

namespace Orchestrator.Runs;

/// <summary>A query of the run ledger: each filter optional, as the API's query string gives it.</summary>
/// <remarks>
/// <see cref="Sort"/>: <c>scheduled</c> (the default) orders by scheduled fire time; <c>created</c> by when the ledger
/// wrote the run (its UUIDv7 id), so a backfill of last month or a manual run shows at the top, not under older times.
/// <see cref="Late"/>: <c>true</c> keeps the runs that started late by <see cref="RunLateness"/> (the home page's "late
/// starts" counter links to it), <c>false</c> every other run.
/// </remarks>
public sealed record RunQuery(
    string? ScheduleId, string? Project, string? Status, string? From, string? To, int? Page, int? PageSize, string? Sort = null,
    string? ActionType = null, string? TriggeredBy = null, bool? Late = null);

/// <summary>
/// One attempt of a run as Quartz's execution history recorded it: which node, when it fired, how long it took, its
/// result and error, and whether the retry policy answered it with another attempt.
/// </summary>
public sealed record RunAttempt(int Attempt, string? Node, DateTimeOffset FiredAt, long DurationMs, string Result, string? Error, bool RetryScheduled);

/// <summary>
/// The run ledger's use cases for every surface (the runs endpoints, a schedule's runs): query, read one, and ask for
/// a run to be cancelled. Refusals come back as problem details the caller shows in its own way.
/// </summary>
public sealed class RunQueries(
    OrchestratorDbContext db, ISchedulerFactory schedulers, IExecutionHistoryStore history, RunLedger ledger, ProjectScope scope, AuditLog audit, TimeProvider time)
{
    /// <summary>How far either side of a run's own times its attempts' history rows are looked for (clocks of other nodes).</summary>
    private static readonly TimeSpan AttemptSlack = TimeSpan.FromMinutes(1);

    /// <summary>The most history rows of the run's schedule read in the run's time span to find its attempts.</summary>
    private const int MaxAttemptRows = 1000;

    /// <summary>Runs matching <paramref name="query"/>, newest scheduled fire time first; a 422 naming each bad filter.</summary>
    public async Task<Outcome<PagedList<RunResponse>>> ListAsync(RunQuery query, CancellationToken ct)
    {
        var errors = new FieldErrors();
        var runs = (query.Late is { } late ? Lateness(late) : db.Runs).AsNoTracking();
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
            // Another project's schedule answers as one that does not exist, in the same words: an empty page told a
            // scoped key nothing, but told everyone that a typo matched a schedule with no runs. A deleted schedule whose
            // runs the ledger still holds is there.
            if (!scope.Allows(key.Group)
                || !(await (await schedulers.GetScheduler(ct)).Exists(key, ct) || await db.Runs.AnyAsync(r => r.ScheduleId == scheduleId, ct)))
            {
                return Problems.NotFound("schedule", query.ScheduleId);
            }

            runs = runs.Where(r => r.ScheduleId == scheduleId);
        }

        if (query.Project is not null)
        {
            // The same for a project: one that is not the caller's, or that neither exists nor has runs, is not found.
            if (!scope.Allows(query.Project)
                || !(await db.Projects.AnyAsync(p => p.Id == query.Project, ct) || await db.Runs.AnyAsync(r => r.ProjectId == query.Project, ct)))
            {
                return Problems.NotFound("project", query.Project);
            }

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

        if (query.ActionType is not null)
        {
            runs = runs.Where(r => r.ActionType == query.ActionType);
        }

        if (query.TriggeredBy is not null)
        {
            if (!Enum.TryParse<RunTrigger>(query.TriggeredBy, ignoreCase: true, out var trigger) || int.TryParse(query.TriggeredBy, out _))
            {
                errors.Add("triggeredBy", $"'{query.TriggeredBy}' is not a run trigger; use {string.Join(", ", Enum.GetNames<RunTrigger>().Select(n => n.ToLowerInvariant()))}.");
            }
            else
            {
                runs = runs.Where(r => r.TriggeredBy == trigger);
            }
        }

        var byCreation = query.Sort == "created";
        if (query.Sort is not (null or "scheduled" or "created"))
        {
            errors.Add("sort", $"'{query.Sort}' is not a run order; use 'scheduled' (scheduled fire time, the default) or 'created' (when the run was written, newest first).");
        }

        var from = ScheduleValidator.ParseInstant(query.From, "from", errors);
        var to = ScheduleValidator.ParseInstant(query.To, "to", errors);
        var paging = PagingRule.Standard.Read(query.Page, query.PageSize, errors);
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

        var total = await runs.CountAsync(ct);
        // Many rows share a fire time (every schedule due at 09:00, a backfill of several schedules): the id breaks the
        // tie, or the database may order tied rows differently for each page and skip or repeat some.
        // Ids are UUIDv7, so their order is the order the ledger wrote them in, and unique.
        var ordered = byCreation ? runs.OrderByDescending(r => r.Id) : runs.OrderByDescending(r => r.ScheduledFireTime).ThenByDescending(r => r.Id);
        var items = await ordered.Skip(paging.Skip).Take(paging.Size).ToListAsync(ct);
        return new PagedList<RunResponse>([.. items.Select(RunResponse.From)], paging.Number, paging.Size, total);
    }

    /// <summary>
    /// The ledger's runs that started late (<paramref name="late"/>) or all the others, by <see cref="RunLateness"/>'s
    /// conditions, as a query the other filters compose onto.
    /// </summary>
    private IQueryable<RunRecord> Lateness(bool late)
    {
        var postgres = db is PostgresOrchestratorDbContext;
        var startedLate = $"{RunLateness.OfAStartedDueTime()} AND started_at IS NOT NULL AND {RunLateness.StartedLate(postgres, 0)}";
        var sql = late ? $"SELECT * FROM runs WHERE {startedLate}" : $"SELECT * FROM runs WHERE NOT ({startedLate})";
        return db.Runs.FromSqlRaw(sql, RunLateness.Tolerance(postgres, RunLateness.DefaultTolerance));
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

    /// <summary>
    /// A run's attempts, oldest first, from Quartz's execution history: the ledger keeps one row per occurrence (its
    /// latest attempt), Quartz a row per execution, which the ledger's report tags with the run's id and attempt. An
    /// attempt cut off by a node's death has no row (its node never reported it), nor has one still running.
    /// </summary>
    public async Task<Outcome<IReadOnlyList<RunAttempt>>> AttemptsAsync(Guid runId, CancellationToken ct)
    {
        var run = await db.Runs.AsNoTracking().FirstOrDefaultAsync(r => r.Id == runId, ct);
        if (run is null || !scope.Allows(run.ProjectId))
        {
            return Problems.NotFound("run", runId.ToString());
        }

        var scheduler = await schedulers.GetScheduler(ct);
        // The row is written as the first attempt starts (or as a run-now is asked for), so its UUIDv7 time is the
        // earliest any attempt fired; the last one fired before the run finished.
        var created = DateTimeOffset.FromUnixTimeMilliseconds(CreatedMilliseconds(run.Id));
        var page = await history.QueryExecutions(
            new ExecutionHistoryQuery
            {
                SchedulerName = scheduler.SchedulerName,
                Job = ScheduleIds.Parse(run.ScheduleId),
                FiredFrom = created - AttemptSlack,
                FiredBefore = (run.FinishedAt ?? time.GetUtcNow()) + AttemptSlack,
                Take = MaxAttemptRows,
            },
            ct);
        var attempts = new List<RunAttempt>();
        foreach (var entry in page.Items)
        {
            if (ReadTag(entry.MetricsJson) is not ({ } id, var attempt) || id != run.Id)
            {
                continue;
            }

            var result = entry.EffectiveResult.ToString().ToLowerInvariant();
            attempts.Add(new RunAttempt(attempt, entry.SchedulerInstanceId, entry.FiredAtUtc, (long)entry.Duration.TotalMilliseconds, result,
                entry.ExceptionMessage ?? (entry.Succeeded ? null : entry.Summary), entry.RetryScheduled));
        }

        return attempts.OrderBy(a => a.Attempt).ThenBy(a => a.FiredAt).ToList();
    }

    /// <summary>The run id and attempt the ledger middleware adds to its report (<c>runId</c>, <c>attempt</c>), if any.</summary>
    private static (Guid? RunId, int Attempt) ReadTag(string? metricsJson)
    {
        if (metricsJson is null)
        {
            return (null, 0);
        }

        try
        {
            using var metrics = JsonDocument.Parse(metricsJson);
            var root = metrics.RootElement;
            var id = root.TryGetProperty("runId", out var r) && Guid.TryParse(r.GetString(), out var parsed) ? parsed : (Guid?)null;
            var attempt = root.TryGetProperty("attempt", out var a) && a.ValueKind == JsonValueKind.Number ? a.GetInt32() : 0;
            return (id, attempt);
        }
        catch (JsonException)
        {
            return (null, 0);
        }
    }

    /// <summary>The Unix milliseconds a UUIDv7 carries in its first 48 bits.</summary>
    private static long CreatedMilliseconds(Guid id) => Convert.ToInt64(id.ToString("N")[..12], 16);

    /// <summary>
    /// Runs a finished run's schedule again now, as a new manual run with the config the original run used (its
    /// snapshot, so the same call as before even when the schedule was edited since), under the schedule's current
    /// retry policy, timeout and execution group. Refused (409) while the run is pending or running, for a run of a
    /// pipeline's node, and when the schedule is gone or now runs another action type; 404 for a run not found.
    /// </summary>
    public async Task<Outcome<RunResponse>> RequeueAsync(Guid runId, CancellationToken ct)
    {
        var run = await db.Runs.AsNoTracking().FirstOrDefaultAsync(r => r.Id == runId, ct);
        if (run is null || !scope.Allows(run.ProjectId))
        {
            return Problems.NotFound("run", runId.ToString());
        }

        if (run.Status is RunStatus.Pending or RunStatus.Running)
        {
            return Problems.Conflict($"Run {run.Id} is {RunResponse.Name(run.Status)}; requeue it once it has finished, or cancel it first.");
        }

        if (run.PipelineRunId is not null || run.TriggeredBy == RunTrigger.Pipeline)
        {
            return Problems.Conflict($"Run {run.Id} is a node of pipeline run {run.PipelineRunId}; run the pipeline again instead.");
        }

        var key = ScheduleIds.Parse(run.ScheduleId);
        var scheduler = await schedulers.GetScheduler(ct);
        var job = await scheduler.GetJobDetail(key, ct);
        if (job is null)
        {
            return Problems.Conflict($"Schedule '{run.ScheduleId}' no longer exists; run {run.Id} cannot be run again.");
        }

        var actionType = job.JobDataMap.GetString(JobDataKeys.ActionType);
        if (actionType != run.ActionType)
        {
            return Problems.Conflict($"Schedule '{run.ScheduleId}' now runs {actionType}, not {run.ActionType}; run {run.Id}'s config does not apply to it. Use run now instead.");
        }

        var config = run.ConfigSnapshot ?? job.JobDataMap.GetString(JobDataKeys.Config) ?? "{}";
        var scheduleTrigger = await scheduler.GetTrigger(new TriggerKey(key.Name, key.Group), ct);
        var defined = ScheduleDocument.Parse(job.JobDataMap.GetString(JobDataKeys.Schedule));
        var definedGroup = defined?.ExecutionGroup;
        var requeued = await ledger.CreatePendingAsync(run.ScheduleId, key.Group, run.ActionType, RunTrigger.Manual, config, ct);
        // The firing's data overrides the job's: the action reads this config, and the ledger records it as the snapshot.
        var trigger = ScheduleMapping.BuildRunNowTrigger(key, scheduleTrigger, definedGroup ?? run.ActionType,
            new JobDataMap { [JobDataKeys.RunId] = requeued.Id.ToString(), [JobDataKeys.Config] = config }, defined?.Retry);
        if (await ManualFiring.ScheduleAsync(scheduler, trigger, ledger, requeued, $"Run {run.Id} was not requeued") is { } refused)
        {
            return refused;
        }

        var response = RunResponse.From(requeued);
        await audit.RecordAsync(new AuditChange("run.requeue", "run", run.Id.ToString(), run.ProjectId, RunResponse.From(run), response, $"requeued as run {requeued.Id}"), ct);
        return response;
    }
}
