using System.Globalization;
using System.Xml;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using Orchestrator.Actions;
using Orchestrator.Api;
using Orchestrator.Audit;
using Orchestrator.Data;
using Orchestrator.Definitions;
using Orchestrator.Projects;
using Orchestrator.Runs;
using Orchestrator.Security;
using Quartz;
using Quartz.Extensibility;

namespace Orchestrator.Schedules;

/// <summary>
/// The schedule use cases: what the schedule routes, the <c>schedules.*</c> tools and (later) the CLI do. A schedule is
/// a Quartz job and its trigger (Quartz owns the state); the ledger holds its runs.
/// </summary>
public sealed class ScheduleService(
    ISchedulerFactory schedulers,
    ActionCatalog actions,
    ScheduleValidator validator,
    RunLedger ledger,
    RunQueries runs,
    IExecutionHistoryStore history,
    ProjectScope scope,
    ScopedKeyLimits limits,
    OrchestratorDbContext db,
    AuditLog audit,
    TimeProvider time,
    ScheduleListQuery listing)
{
    public const int MaxPreviewCount = 100;

    /// <summary>Jobs in groups starting with '_' are the server's own (housekeeping, pipeline runs), never schedules.</summary>
    public const string SystemGroupPrefix = "_";

    public async Task<Outcome<ScheduleResponse>> CreateAsync(ScheduleRequest request, CancellationToken ct)
    {
        // Before validation, which would otherwise tell a scoped key what exists in a project it cannot see.
        if (scope.RefuseOutside(request.Project ?? Project.DefaultId) is { } outside)
        {
            return outside;
        }

        if (await limits.CheckScheduleAsync(request, ct) is { } limited)
        {
            return limited;
        }

        var (spec, errors) = await validator.ValidateAsync(request, null, null, ct);
        if (spec is null)
        {
            return errors.ToProblemDetails();
        }

        var scheduler = await schedulers.GetScheduler(ct);
        var key = new JobKey(spec.Name, spec.Project);
        if (await scheduler.Exists(key, ct))
        {
            return Problems.Conflict($"A schedule named '{spec.Name}' already exists in project '{spec.Project}'.", "name");
        }

        actions.TryGet(spec.ActionType, out var action);
        var now = time.GetUtcNow();
        var job = ScheduleMapping.BuildJob(spec, action!, ScheduleMapping.Document(spec, request, now), createdAt: now);
        var trigger = ScheduleMapping.BuildTrigger(spec, now);
        try
        {
            await scheduler.ScheduleJob(job, [trigger], new ScheduleJobOptions { Paused = !spec.Enabled }, ct);
        }
        catch (ObjectAlreadyExistsException)
        {
            return Problems.Conflict($"A schedule named '{spec.Name}' already exists in project '{spec.Project}'.", "name");
        }
        catch (SchedulerException ex) when (IsNeverFires(ex))
        {
            return NeverFiresProblem();
        }

        if (spec.Deadline is not null)
        {
            await Deadlines.DeadlineWatches.WatchAsync(db, Deadlines.DeadlineBreach.Schedule, spec.Id, now, ct);
        }

        var created = (await ReadAsync(key, ct))!;
        await SchedulePauses.ForgetAsync(db, [created.Id], ct);
        if (!spec.Enabled)
        {
            // Created disabled: paused from its creation, saved with the audit entry.
            await SchedulePauses.OpenAsync(db, [created.Id], now, null, audit.ActorName(), audit.SourceName(), ct);
        }

        await audit.RecordAsync(new AuditChange("schedule.create", "schedule", created.Id, created.Project, null, created), ct);
        return created;
    }

    public async Task<Outcome<ScheduleResponse>> ReplaceAsync(string id, ScheduleRequest request, CancellationToken ct, bool force = false)
    {
        if (ScheduleKey(id) is not { } key)
        {
            return Problems.NotFound("schedule", id);
        }
        var scheduler = await schedulers.GetScheduler(ct);
        if (!await scheduler.Exists(key, ct))
        {
            return Problems.NotFound("schedule", id);
        }

        if (await ManagedMarks.RefuseUnlessForcedAsync(db, DefinitionKinds.Schedule, ScheduleIds.Of(key), force, ct) is { } managed)
        {
            return managed;
        }

        if (await limits.CheckScheduleAsync(request, ct) is { } limited)
        {
            return limited;
        }

        var (spec, errors) = await validator.ValidateAsync(request, key.Name, key.Group, IsSameTrigger(await scheduler.GetJobDetail(key, ct), request.Trigger), ct);
        if (spec is null)
        {
            return errors.ToProblemDetails();
        }

        actions.TryGet(spec.ActionType, out var action);
        var now = time.GetUtcNow();
        var triggerKey = new TriggerKey(key.Name, key.Group);
        var existing = await scheduler.GetTrigger(triggerKey, ct);
        var paused = existing is not null && await scheduler.GetTriggerState(triggerKey, ct) == TriggerState.Paused;
        // A replace that leaves 'enabled' out keeps the schedule paused or active as it is.
        var options = new ScheduleJobOptions { Replace = true, Paused = request.Enabled is { } enabled ? !enabled : paused };
        var stored = await scheduler.GetJobDetail(key, ct);
        var before = await ReadAsync(key, ct);
        // Quartz forgets its record of a pause the replace ends: read first, for a pause with no stored interval.
        var unrecorded = paused ? await SchedulePauses.UnrecordedAsync(db, scheduler, [key], ct) : new Dictionary<string, PauseInfo>();
        // A changed jitter moves every fire time, so the trigger is built anew like a changed trigger.
        var sameTrigger = IsSameTrigger(stored, request.Trigger)
            && ScheduleDocument.Parse(stored?.JobDataMap.GetString(JobDataKeys.Schedule))?.JitterSeconds == spec.JitterSeconds;
        // An unchanged trigger goes on from where it started, so its description keeps that start's weekday and time.
        var document = ScheduleMapping.Document(spec, request, sameTrigger && existing is not null ? existing.StartTimeUtc : now);
        // The creation instant stays (a schedule stored before it was kept goes on without one: the occurrences fall back).
        var job = ScheduleMapping.BuildJob(spec, action!, document, stored is null ? null : ScheduleMapping.CreatedAtOf(stored.JobDataMap));
        // The pause this replace ended through Quartz's resume, closed and saved before it; null when it ended none that way.
        PauseChange? resumed = null;
        try
        {
            if (!sameTrigger)
            {
                await scheduler.ScheduleJob(job, [ScheduleMapping.NotBefore(ScheduleMapping.BuildTrigger(spec, now), now)], options, ct);
            }
            else if (existing is not null && paused && options.Paused && SameFiring(existing, ScheduleMapping.ContinueTrigger(existing, spec)))
            {
                // Paused and staying paused, with the same trigger and firing settings: nothing about the trigger changes,
                // so it is left as stored and only the definition (the job) is replaced. Storing the trigger again would
                // hand its passed next fire time to Quartz as a misfire, which moves it (fire_once to "now"), and the
                // pause would then resume from a time the edit made up.
                await scheduler.AddJob(job, AddJobOptions.Replacing, ct);
            }
            else if (existing is not null && paused && !options.Paused)
            {
                // Same trigger spec, and the replace ends the pause: the definition is replaced, the stored trigger is kept
                // (its firing settings changed in place), then resumed through Quartz, which hands what came due meanwhile
                // to the misfire policy exactly as POST …/resume does: skip none of the pause's due times, fire_once one,
                // catch_up every one (the paused-firing veto holding the rest). Storing the trigger anew (even paused, from
                // its next fire time) moved its passed next fire time to the first one from now: no catch-up ran at all.
                // A legacy simple trigger is converted (ContinueTrigger) and stored anew, paused, as before.
                var continued = ScheduleMapping.ContinueTrigger(existing, spec);
                if (ScheduleMapping.PhaseKeeping(existing) is null)
                {
                    await scheduler.AddJob(job, AddJobOptions.Replacing, ct);
                    if (!SameFiring(existing, continued))
                    {
                        await scheduler.UpdateTriggerDetails(triggerKey, FiringUpdate(existing, continued), ct);
                    }
                }
                else
                {
                    await scheduler.ScheduleJob(job, [continued], new ScheduleJobOptions { Replace = true, Paused = true }, ct);
                }

                // The pause's end is saved before Quartz resumes (as ResumeAsync does): the paused-firing veto on any node
                // holds the due times of the pause only once its end is stored, and a short pause's passed fire times fire
                // at once at the resume. 'now' was taken before the resume, so a catch-up that starts at once is after it.
                resumed = await SchedulePauses.CloseAsync(db, [ScheduleIds.Of(key)], unrecorded, now, audit.ActorName(), ct);
                await SchedulePauses.SaveAsync(db, ct);
                using var resumingOccurrences = Telemetry.OccurrenceListener.Resuming();
                // Not resumed by this call (false: a concurrent resume did it) leaves the schedule running, its end saved.
                _ = await QuartzOrUndoAsync(resumed, async () =>
                {
                    await SchedulePauses.MarkResumedAsync(scheduler, [key], now, ct);
                    await scheduler.ResumeTrigger(triggerKey, ct);
                    return true;
                }, ct);
            }
            else if (existing is not null)
            {
                // Same trigger spec: the schedule goes on where it was (next fire time, previous fire time, runs left).
                await scheduler.ScheduleJob(job, [ScheduleMapping.ContinueTrigger(existing, spec)], options, ct);
            }
            else
            {
                // Same trigger spec and the trigger has completed (a one-time schedule that ran, or maxRuns reached):
                // replacing the definition must not make it fire again.
                await scheduler.AddJob(job, AddJobOptions.Replacing, ct);
            }
        }
        catch (SchedulerException ex) when (IsNeverFires(ex))
        {
            // Quartz refuses before it stores anything, so the schedule is as it was.
            return NeverFiresProblem();
        }

        if (spec.Deadline is not null)
        {
            await Deadlines.DeadlineWatches.WatchAsync(db, Deadlines.DeadlineBreach.Schedule, spec.Id, now, ct);
        }

        var replaced = (await ReadAsync(key, ct))!;
        // 'enabled' flipped by the replace: a pause or a resume like any other, its interval saved with the audit entry.
        if (before?.State != "paused" && replaced.State == "paused")
        {
            await SchedulePauses.OpenAsync(db, [replaced.Id], now, null, audit.ActorName(), audit.SourceName(), ct);
        }
        else if (before?.State == "paused" && replaced.State != "paused" && resumed is null)
        {
            // 'now' was taken before Quartz resumed the trigger: a catch-up firing that starts at once is after it.
            await SchedulePauses.CloseAsync(db, [replaced.Id], unrecorded, now, audit.ActorName(), ct);
        }

        // Quartz has already changed: a concurrent pause's open interval must not fail this save (SaveAsync drops ours).
        audit.Add(new AuditChange("schedule.update", "schedule", replaced.Id, replaced.Project, before, replaced));
        await SchedulePauses.SaveAsync(db, ct);
        return replaced;
    }

    public async Task<Outcome<ScheduleResponse>> GetAsync(string id, CancellationToken ct) =>
        ScheduleKey(id) is { } key && await ReadAsync(key, ct) is { } schedule ? schedule : Problems.NotFound("schedule", id);

    /// <summary>Deletes the schedule; its run history is kept until retention purges it. The outcome is the id deleted.</summary>
    public async Task<Outcome<string>> DeleteAsync(string id, CancellationToken ct, bool force = false)
    {
        var scheduler = await schedulers.GetScheduler(ct);
        if (ScheduleKey(id) is not { } key || await ReadAsync(key, ct) is not { } before)
        {
            return Problems.NotFound("schedule", id);
        }

        if (await ManagedMarks.RefuseUnlessForcedAsync(db, DefinitionKinds.Schedule, ScheduleIds.Of(key), force, ct) is { } managed)
        {
            return managed;
        }

        if (!await DeleteJobAsync(scheduler, key, ct))
        {
            return Problems.NotFound("schedule", id);
        }

        await ManagedMarks.ForgetAsync(db, DefinitionKinds.Schedule, ScheduleIds.Of(key), ct);
        await SchedulePauses.ForgetAsync(db, [ScheduleIds.Of(key)], ct);
        await audit.RecordAsync(new AuditChange("schedule.delete", "schedule", before.Id, before.Project, before, null), ct);
        return id;
    }

    /// <summary>
    /// Quartz's DeleteJob lists the job's triggers and then unschedules each; a run-now trigger that completes (and is
    /// removed) in between makes it throw "Unable to unschedule trigger". The job is then still there with fewer
    /// triggers, so the delete is simply tried again. Apply's undo of a schedule it created deletes through this too.
    /// </summary>
    internal static async Task<bool> DeleteJobAsync(IScheduler scheduler, JobKey key, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await scheduler.DeleteJob(key, ct);
            }
            catch (SchedulerException) when (attempt < 5)
            {
                if (!await scheduler.Exists(key, ct))
                {
                    // Gone after all (the job held only the trigger that completed): deleted, as asked.
                    return true;
                }

                await Task.Delay(TimeSpan.FromMilliseconds(20 * attempt), ct);
            }
        }
    }

    /// <summary>
    /// Pauses the schedule, with Quartz recording why and who asked (<see cref="IScheduler.PauseJobWith"/>): the
    /// record lives in Quartz's tables, so every node and every restart answers it. A schedule already paused keeps the
    /// pause it had, as Quartz keeps it.
    /// </summary>
    public async Task<Outcome<ScheduleResponse>> PauseAsync(string id, string? reason, CancellationToken ct)
    {
        var errors = new FieldErrors();
        reason = CheckReason(reason, "reason", errors);
        if (errors.Any)
        {
            return errors.ToProblemDetails();
        }

        if (ScheduleKey(id) is not { } key)
        {
            return Problems.NotFound("schedule", id);
        }
        var scheduler = await schedulers.GetScheduler(ct);
        var before = await ReadAsync(key, ct);
        if (before is null)
        {
            return Problems.NotFound("schedule", id);
        }

        // Already paused: Quartz keeps the pause it has (and its reason), so nothing changed and nothing is audited.
        if (before.State == "paused")
        {
            return before;
        }

        // Taken before Quartz pauses: a firing in between is a run, which outranks the pause in the occurrences.
        var pausedAt = time.GetUtcNow();
        // The interval is saved before Quartz pauses: a resume that sees the trigger paused then always finds it open
        // and closes it, where saving it after could store it open over a trigger a concurrent resume already resumed.
        var opened = PauseChange.Opened(await SchedulePauses.OpenAsync(db, scheduler, [before.Id], pausedAt, reason, audit.ActorName(), audit.SourceName(), ct));
        await SchedulePauses.SaveAsync(db, ct);
        if (!await QuartzOrUndoAsync(opened, () => scheduler.PauseJobWith(key, new PauseDetails { Reason = reason, RequestedBy = audit.ActorName() }, ct), ct))
        {
            return Problems.NotFound("schedule", id);
        }

        var after = (await ReadAsync(key, ct))!;
        audit.Add(new AuditChange("schedule.pause", "schedule", after.Id, after.Project, before, after, reason));
        await SchedulePauses.SaveAsync(db, ct);
        return after;
    }

    public async Task<Outcome<ScheduleResponse>> ResumeAsync(string id, CancellationToken ct)
    {
        if (ScheduleKey(id) is not { } key)
        {
            return Problems.NotFound("schedule", id);
        }
        var scheduler = await schedulers.GetScheduler(ct);
        var before = await ReadAsync(key, ct);
        if (before is null)
        {
            return Problems.NotFound("schedule", id);
        }

        // Not paused (running normally, or complete): resuming changes nothing, so nothing is audited.
        if (before.State != "paused")
        {
            return before;
        }

        // Quartz forgets its record of the pause at the resume: read first, for a pause with no stored interval.
        var unrecorded = await SchedulePauses.UnrecordedAsync(db, scheduler, [key], ct);
        // Taken and saved before Quartz resumes: a catch-up firing that starts at once is after the resume, and a pause
        // that comes in between still sees the trigger paused and leaves it be.
        var resumedAt = time.GetUtcNow();
        var closed = await SchedulePauses.CloseAsync(db, [before.Id], unrecorded, resumedAt, audit.ActorName(), ct);
        await SchedulePauses.SaveAsync(db, ct);
        using var resumingOccurrences = Telemetry.OccurrenceListener.Resuming();
        if (!await QuartzOrUndoAsync(closed, async () =>
            {
                // The pause's end, where the paused-firing veto of any node finds it without a query (PausedFiringVeto.MayBeHeld).
                await SchedulePauses.MarkResumedAsync(scheduler, [key], resumedAt, ct);
                return await scheduler.ResumeJob(key, ct);
            }, ct))
        {
            return Problems.NotFound("schedule", id);
        }

        var after = (await ReadAsync(key, ct))!;
        audit.Add(new AuditChange("schedule.resume", "schedule", after.Id, after.Project, before, after));
        await SchedulePauses.SaveAsync(db, ct);
        return after;
    }

    /// <summary>Pauses every schedule the selection names that is not paused yet; the value is the ids paused.</summary>
    public Task<Outcome<BulkScheduleResult>> PauseManyAsync(BulkScheduleRequest request, CancellationToken ct) => BulkAsync(request, pause: true, ct);

    /// <summary>Resumes every paused schedule the selection names; the value is the ids resumed.</summary>
    public Task<Outcome<BulkScheduleResult>> ResumeManyAsync(BulkScheduleRequest request, CancellationToken ct) => BulkAsync(request, pause: false, ct);

    /// <summary>
    /// A bulk pause or resume: the selectors combine (all must match); unknown ids refuse the whole request before
    /// anything changes. Quartz pauses (or resumes) the set in one call and one transaction (<see cref="IScheduler.PauseJobsWith"/>).
    /// </summary>
    private async Task<Outcome<BulkScheduleResult>> BulkAsync(BulkScheduleRequest request, bool pause, CancellationToken ct)
    {
        var errors = new FieldErrors();
        var reason = CheckReason(request.Reason, "reason", errors);
        var ids = request.Ids ?? [];
        // A null or blank entry names no schedule: refused like an unknown id, never looked up.
        var blank = ids.Select((id, index) => (id, index)).Where(e => string.IsNullOrWhiteSpace(e.id)).Select(e => e.index).ToList();
        if (blank.Count > 0)
        {
            errors.Add("ids", $"entries {string.Join(", ", blank)} are empty; each must be a schedule id (project.name).");
        }

        if (request.Project is null && request.ActionType is null && request.Group is null && ids.Count == 0)
        {
            errors.Add("ids", "at least one selector is required: project, actionType, group or ids.");
        }

        if (errors.Any)
        {
            return errors.ToProblemDetails();
        }

        var scheduler = await schedulers.GetScheduler(ct);
        // A selector that names nothing is refused, not answered "affected: []": a typo in a project or action type
        // looked like a pause that found everything already paused. A project a scoped key may not see is "no project"
        // in the same words as one that does not exist, so the answer does not tell them apart.
        if (request.Project is { } project && (IsSystemGroup(project) || !scope.Allows(project)
            || !(await db.Projects.AnyAsync(p => p.Id == project, ct) || (await scheduler.GetJobGroupNames(ct)).Contains(project, StringComparer.Ordinal))))
        {
            errors.Add("project", $"no project named '{BulkShown(project)}'; nothing was changed.");
        }

        if (request.ActionType is { } actionType && !actions.TryGet(actionType, out _))
        {
            errors.Add("actionType", $"no action type '{BulkShown(actionType)}'; known: {string.Join(", ", actions.Types.Order(StringComparer.Ordinal))}; nothing was changed.");
        }

        if (errors.Any)
        {
            return errors.ToProblemDetails();
        }

        IReadOnlyList<JobKey> candidates;
        if (ids.Count > 0)
        {
            var keys = new List<JobKey>();
            var unknown = new List<string>();
            foreach (var id in ids.Distinct(StringComparer.Ordinal))
            {
                if (ScheduleKey(id) is { } key && await scheduler.Exists(key, ct))
                {
                    keys.Add(key);
                }
                else
                {
                    unknown.Add(id);
                }
            }

            if (unknown.Count > 0)
            {
                errors.Add("ids", $"no such schedule: {string.Join(", ", unknown.Select(u => $"'{u}'"))}; nothing was changed.");
                return errors.ToProblemDetails();
            }

            candidates = keys;
        }
        else
        {
            var jobs = await scheduler.QueryJobs(
                new JobQuery { Group = request.Project is null ? null : GroupMatcher<JobKey>.GroupEquals(request.Project), Take = PagedQuery.All }, ct);
            candidates = [.. jobs.Items.Select(j => j.Key)];
        }

        var visible = (await ReadManyAsync(scheduler, candidates, ct))
            .Where(s => scope.Allows(s.Project))
            .Where(s => request.Project is null || s.Project == request.Project)
            .ToList();
        // The execution group a schedule's firings take: the one it names, else its action type's.
        if (request.Group is { } group && !visible.Any(s => (s.ExecutionGroup ?? s.Action.Type) == group))
        {
            var among = ids.Count > 0 ? " among the ids given" : request.Project is null ? "" : $" in project '{BulkShown(request.Project)}'";
            errors.Add("group", $"no schedule{among} runs in execution group '{BulkShown(group)}'; nothing was changed.");
            return errors.ToProblemDetails();
        }

        var selected = visible
            .Where(s => request.ActionType is null || s.Action.Type == request.ActionType)
            .Where(s => request.Group is null || (s.ExecutionGroup ?? s.Action.Type) == request.Group)
            .Where(s => pause ? s.State is not ("paused" or "complete") : s.State == "paused")
            .ToList();
        if (selected.Count == 0)
        {
            return new BulkScheduleResult([]);
        }

        var targets = selected.Select(s => ScheduleIds.Parse(s.Id)).ToList();
        var selectedIds = selected.Select(s => s.Id).ToList();
        if (pause)
        {
            // As a single pause: the intervals are saved before Quartz pauses the set.
            var pausedAt = time.GetUtcNow();
            var opened = PauseChange.Opened(await SchedulePauses.OpenAsync(db, scheduler, selectedIds, pausedAt, reason, audit.ActorName(), audit.SourceName(), ct));
            await SchedulePauses.SaveAsync(db, ct);
            await QuartzOrUndoAsync(opened, async () =>
            {
                await scheduler.PauseJobsWith(targets, new PauseDetails { Reason = reason, RequestedBy = audit.ActorName() }, ct);
                return true;
            }, ct);
        }
        else
        {
            var unrecorded = await SchedulePauses.UnrecordedAsync(db, scheduler, targets, ct);
            var resumedAt = time.GetUtcNow();
            var closed = await SchedulePauses.CloseAsync(db, selectedIds, unrecorded, resumedAt, audit.ActorName(), ct);
            await SchedulePauses.SaveAsync(db, ct);
            using var resumingOccurrences = Telemetry.OccurrenceListener.Resuming();
            await QuartzOrUndoAsync(closed, async () =>
            {
                await SchedulePauses.MarkResumedAsync(scheduler, targets, resumedAt, ct);
                await scheduler.ResumeJobs(targets, ct);
                return true;
            }, ct);
        }

        var after = (await ReadManyAsync(scheduler, targets, ct)).ToDictionary(s => s.Id);
        foreach (var s in selected)
        {
            audit.Add(new AuditChange(pause ? "schedule.pause" : "schedule.resume", "schedule", s.Id, s.Project, s, after.GetValueOrDefault(s.Id), reason));
        }

        // One save: every audit entry of the bulk action, or none.
        await SchedulePauses.SaveAsync(db, ct);
        return new BulkScheduleResult([.. selected.Select(s => s.Id)]);
    }

    /// <summary>A selector as a bulk refusal quotes it: long enough to recognise, never the whole of a pasted text.</summary>
    private static string BulkShown(string text) => text.Length > 60 ? text[..60] + "…" : text;

    /// <summary>
    /// Calls Quartz after the intervals were saved; when Quartz refuses (false, or it throws) the intervals are put back
    /// as they were, so a pause or resume that did not happen leaves no interval behind.
    /// </summary>
    private async Task<bool> QuartzOrUndoAsync(PauseChange change, Func<ValueTask<bool>> quartz, CancellationToken ct)
    {
        bool done;
        try
        {
            done = await quartz();
        }
        catch
        {
            await SchedulePauses.UndoAsync(db, change, CancellationToken.None);
            throw;
        }

        if (!done)
        {
            await SchedulePauses.UndoAsync(db, change, CancellationToken.None);
        }

        return done;
    }

    /// <summary>
    /// A pause reason: optional, at most what Quartz keeps (<see cref="PauseDetails.MaxReasonLength"/>, so it is never
    /// cut silently), one line of printable text. Blank is no reason.
    /// </summary>
    private static string? CheckReason(string? reason, string field, FieldErrors errors)
    {
        if (string.IsNullOrWhiteSpace(reason))
        {
            return null;
        }

        if (reason.Length > PauseDetails.MaxReasonLength)
        {
            errors.Add(field, $"must be at most {PauseDetails.MaxReasonLength} characters (it has {reason.Length}).");
        }
        else if (reason.Any(char.IsControl))
        {
            errors.Add(field, "must not contain control characters (line breaks, tabs, NUL).");
        }

        return reason.Trim();
    }

    /// <summary>Runs the schedule now: a pending run in the ledger, fired by a one-shot trigger.</summary>
    public async Task<Outcome<RunResponse>> RunNowAsync(string id, CancellationToken ct)
    {
        if (ScheduleKey(id) is not { } key)
        {
            return Problems.NotFound("schedule", id);
        }
        var scheduler = await schedulers.GetScheduler(ct);
        var job = await scheduler.GetJobDetail(key, ct);
        if (job is null)
        {
            return Problems.NotFound("schedule", id);
        }

        var run = await ledger.CreatePendingAsync(ScheduleIds.Of(key), key.Group, job.JobDataMap.GetString(JobDataKeys.ActionType) ?? "unknown",
            RunTrigger.Manual, job.JobDataMap.GetString(JobDataKeys.Config) ?? "{}", ct);
        // A completed schedule has no trigger left to copy from: its group is then the one its definition names.
        var scheduleTrigger = await scheduler.GetTrigger(new TriggerKey(key.Name, key.Group), ct);
        var defined = ScheduleDocument.Parse(job.JobDataMap.GetString(JobDataKeys.Schedule));
        var trigger = ScheduleMapping.BuildRunNowTrigger(key, scheduleTrigger, defined?.ExecutionGroup ?? job.JobDataMap.GetString(JobDataKeys.ActionType) ?? "unknown",
            new JobDataMap { [JobDataKeys.RunId] = run.Id.ToString() }, defined?.Retry);
        if (await ManualFiring.ScheduleAsync(scheduler, trigger, ledger, run, $"Schedule '{ScheduleIds.Of(key)}' was not run") is { } refused)
        {
            return refused;
        }

        var response = RunResponse.From(run);
        await audit.RecordAsync(new AuditChange("schedule.run", "schedule", ScheduleIds.Of(key), key.Group, null, response), ct);
        return response;
    }

    public async Task<Outcome<BackfillSummary>> BackfillAsync(string id, BackfillRequest request, CancellationToken ct)
    {
        var errors = new FieldErrors();
        var from = ScheduleValidator.ParseInstant(request.From, "from", errors);
        var to = ScheduleValidator.ParseInstant(request.To, "to", errors);
        if (request.From is null)
        {
            errors.Add("from", "is required.");
        }

        if (request.To is null)
        {
            errors.Add("to", "is required.");
        }

        if (from is not null && to is not null && to <= from)
        {
            errors.Add("to", "must be after from.");
        }

        if (to is not null && to > time.GetUtcNow())
        {
            errors.Add("to", "must not be in the future; backfill runs fire times that have passed.");
        }

        if (errors.Any)
        {
            return errors.ToProblemDetails();
        }

        if (ScheduleKey(id) is not { } key)
        {
            return Problems.NotFound("schedule", id);
        }
        var scheduler = await schedulers.GetScheduler(ct);
        if (!await scheduler.Exists(key, ct))
        {
            return Problems.NotFound("schedule", id);
        }

        try
        {
            var summary = await ScheduleBackfill.RunAsync(scheduler, runs, key, from!.Value, to!.Value, ct);
            await audit.RecordAsync(new AuditChange("schedule.backfill", "schedule", ScheduleIds.Of(key), key.Group, null, new { from, to, summary }), ct);
            return summary;
        }
        catch (BackfillTooLargeException ex)
        {
            errors.Add("to", ex.Message);
        }
        catch (ArgumentException ex)
        {
            // Quartz's own refusals end with " (Parameter 'options')", which means nothing to the caller.
            errors.Add("from", ex.ParamName is { } name ? ex.Message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal) : ex.Message);
        }
        catch (SchedulerException ex)
        {
            errors.Add("from", ex.Message);
        }

        return errors.ToProblemDetails();
    }

    public async Task<Outcome<PagedList<RunResponse>>> RunsAsync(string id, string? status, int? page, int? pageSize, CancellationToken ct)
    {
        if (ScheduleKey(id) is not { } key)
        {
            return Problems.NotFound("schedule", id);
        }
        var scheduleId = ScheduleIds.Of(key);
        var scheduler = await schedulers.GetScheduler(ct);
        // A deleted schedule's runs stay readable until retention purges them.
        if (!await scheduler.Exists(key, ct) && !await runs.AnyOfScheduleAsync(scheduleId, ct))
        {
            return Problems.NotFound("schedule", id);
        }

        return await runs.ListAsync(new RunQuery(scheduleId, null, status, null, null, page, pageSize), ct);
    }

    /// <summary>The schedule's newest misfires in the envelope /api/cluster/misfires answers (items, pageSize, hasMore).</summary>
    public async Task<Outcome<NewestPage<ScheduleMisfire>>> MisfiresAsync(string id, int? pageSize, CancellationToken ct)
    {
        if (ScheduleKey(id) is not { } key)
        {
            return Problems.NotFound("schedule", id);
        }
        var scheduler = await schedulers.GetScheduler(ct);
        if (!await scheduler.Exists(key, ct))
        {
            return Problems.NotFound("schedule", id);
        }

        var take = Math.Clamp(pageSize ?? PagingRule.NewestOnly.DefaultSize, 1, PagingRule.NewestOnly.MaxSize);
        var misfires = await history.QueryMisfires(new MisfireHistoryQuery { SchedulerName = scheduler.SchedulerName, Job = key, Take = take }, ct);
        IReadOnlyList<ScheduleMisfire> items =
        [
            .. misfires.Items.Select(m => new ScheduleMisfire(m.ScheduledFireTimeUtc, m.MisfiredAtUtc, m.SchedulerInstanceId, m.Reason.ToString().ToLowerInvariant())),
        ];
        return new NewestPage<ScheduleMisfire>(items, take, misfires.HasMore);
    }

    /// <summary>
    /// The preview of an edit: with the <c>id</c> of a schedule whose trigger the request leaves as it is (compared as a
    /// replace compares it), the next fire times are the stored trigger's, which a save keeps (an interval's or calendar's
    /// phase is its start, not now; a paused one's next time is where Quartz holds it). Anything else: <see cref="Preview"/>.
    /// </summary>
    public async Task<Outcome<TriggerPreview>> PreviewAsync(PreviewRequest request, CancellationToken ct)
    {
        var preview = Preview(request);
        if (!preview.Succeeded || string.IsNullOrEmpty(request.Id) || ScheduleKey(request.Id) is not { } key)
        {
            return preview;
        }

        var scheduler = await schedulers.GetScheduler(ct);
        if (await scheduler.GetJobDetail(key, ct) is not { } job || !IsSameTrigger(job, request.Trigger)
            || await scheduler.GetTrigger(new TriggerKey(key.Name, key.Group), ct) is not { } stored)
        {
            return preview;
        }

        // The stored trigger fires its jitter offset after each nominal time; the answer moves by the offset asked for.
        var storedOffset = ScheduleJitter.OffsetOf(job.JobDataMap);
        var asked = preview.Value!.JitterOffsetSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : TimeSpan.Zero;
        var times = ScheduleMapping.NextFireTimes(stored, preview.Value.NextFireTimes.Count, time.GetUtcNow() + storedOffset)
            .Select(t => t - storedOffset + asked).ToList();
        // Described from the stored trigger's start, as the schedule is (a calendar interval names its start's weekday and time).
        var spec = validator.ValidateTrigger(request.Trigger, "trigger", MisfirePolicy.FireOnce, new FieldErrors());
        var description = spec is null ? preview.Value.Description : TriggerDescription.Describe(spec, stored.StartTimeUtc);
        return preview.Value with { Description = description, NextFireTimes = times };
    }

    /// <summary>The next fire times and a description of a trigger; nothing is saved.</summary>
    public Outcome<TriggerPreview> Preview(PreviewRequest request)
    {
        var errors = new FieldErrors();
        var count = request.Count ?? 10;
        if (count is < 1 or > MaxPreviewCount)
        {
            errors.Add("count", $"must be between 1 and {MaxPreviewCount}.");
        }

        var spec = validator.ValidateTrigger(request.Trigger, "trigger", MisfirePolicy.FireOnce, errors);
        // A past one-time instant is refused by create, so preview says so too (the dashboard flags it as it is typed).
        if (!errors.Entries.ContainsKey("trigger.at") && ScheduleValidator.PastOneTimeReason(spec, time.GetUtcNow()) is { } past)
        {
            errors.Add("trigger.at", past);
        }

        TimeSpan? jitter = null;
        if (request.JitterSeconds is not null)
        {
            var seconds = ScheduleJitter.Resolve(request.JitterSeconds, 0, spec, errors);
            if (string.IsNullOrEmpty(request.Id))
            {
                errors.Add("id", "is required with jitterSeconds: the offset is derived from the schedule's id ('{project}.{name}').");
            }
            else
            {
                jitter = ScheduleJitter.OffsetFor(ScheduleIds.Of(ScheduleIds.Parse(request.Id)), seconds);
            }
        }

        if (spec is null || errors.Any)
        {
            return errors.ToProblemDetails();
        }

        var now = time.GetUtcNow();
        var trigger = ScheduleMapping.BuildPreviewTrigger(spec, now);
        var times = ScheduleMapping.NextFireTimes(trigger, count, spec.StartAt ?? now);
        return jitter is { } offset
            ? new TriggerPreview(TriggerDescription.Describe(spec, now), [.. times.Select(t => t + offset)]) { JitterOffsetSeconds = (int)offset.TotalSeconds }
            : new TriggerPreview(TriggerDescription.Describe(spec, now), times);
    }

    /// <summary>
    /// One page of schedules with its total, for the callers that page by number (apply, the schedule tools). See
    /// <see cref="PageAsync"/>.
    /// </summary>
    public async Task<PagedList<ScheduleResponse>> ListAsync(string? project, string? actionType, string? state, int? page, int? pageSize, CancellationToken ct)
    {
        var paging = Paging.From(page, pageSize);
        var listed = await PageAsync(new ScheduleListRequest(project, actionType, state, null, paging.Number, paging.Size, null), ct, exactTotal: true);
        // Paging by number never refuses (only a bad cursor does), and always counts.
        var value = listed.Value!;
        return new PagedList<ScheduleResponse>(value.Items, value.Page, value.PageSize, value.Total ?? 0);
    }

    /// <summary>
    /// One page of schedules: projects in ordinal order, names within a project in the database's order (Quartz's),
    /// selected and cut in the database by <see cref="ScheduleListQuery"/> (one indexed statement, and one count when
    /// paging by number), so a page costs the same at 100 schedules as at 100,000. Only the schedules on the page are
    /// read in full. With a cursor (<c>cursor</c>, the previous page's <c>nextCursor</c>) the page starts after that
    /// schedule and no total is counted: a deep page then costs what the first one does.
    /// </summary>
    /// <param name="exactTotal">Count every match (apply and the tools page through all of them); the API counts up to
    /// <see cref="SchedulePage.CountLimit"/>.</param>
    /// <param name="unknownProjectNotFound">A <c>project</c> filter that names no project (or one the caller may not
    /// see) is a 404 naming it, as the runs list answers, instead of an empty page: the API's list; apply and the tools
    /// list a project that may have no schedules yet.</param>
    public async Task<Outcome<SchedulePage>> PageAsync(ScheduleListRequest request, CancellationToken ct, bool exactTotal = false, bool unknownProjectNotFound = false)
    {
        // A filter value that can match nothing is a typo, not an empty result: "state=paus" would list no schedule and
        // a bulk action taken on that list would miss what the operator meant.
        var filterErrors = new FieldErrors();
        if (!string.IsNullOrEmpty(request.State) && !ListStates.Contains(request.State))
        {
            filterErrors.Add("state", $"'{request.State}' is not a state; use one of {string.Join(", ", ListStates)}.");
        }

        if (!string.IsNullOrEmpty(request.ActionType) && !actions.TryGet(request.ActionType, out _))
        {
            filterErrors.Add("actionType", $"'{request.ActionType}' is not an action type; use one of {string.Join(", ", actions.All.Select(a => a.Type))}.");
        }

        var paging = PagingRule.NumberOrCursor.Read(request.Page, request.PageSize, filterErrors, request.Cursor);
        JobKey? after = null;
        if (!string.IsNullOrEmpty(request.Cursor))
        {
            after = ScheduleListQuery.ParseCursor(request.Cursor);
            if (after is null)
            {
                filterErrors.Add("cursor", "is not a cursor this list gave out (use nextCursor from the previous page).");
            }
        }

        if (filterErrors.Any)
        {
            return filterErrors.ToProblemDetails();
        }

        if (request.Project is not null && (IsSystemGroup(request.Project) || !scope.Allows(request.Project)))
        {
            return unknownProjectNotFound
                ? Problems.NotFound("project", request.Project)
                : new SchedulePage([], paging.Number, paging.Size, after is null ? 0 : null, false, null);
        }

        // A typo in the project named nothing and answered an empty list, like a project with no schedules: a project is
        // there when it is defined or when schedules are stored in it (Quartz's job group).
        if (unknownProjectNotFound && request.Project is { } named && !await db.Projects.AnyAsync(p => p.Id == named, ct)
            && !(await (await schedulers.GetScheduler(ct)).GetJobGroupNames(ct)).Contains(named, StringComparer.Ordinal))
        {
            return Problems.NotFound("project", named);
        }

        var selection = new ScheduleSelection(request.Project, scope.Projects, request.ActionType, request.State, request.Q, after);
        var keys = await listing.PageAsync(selection, after is null ? paging.Skip : 0, paging.Size, count: after is null, ct,
            exactTotal ? null : SchedulePage.CountLimit);
        var scheduler = await schedulers.GetScheduler(ct);
        // A schedule deleted between the page query and this read is left out of the page.
        var items = await ReadManyAsync(scheduler, [.. keys.Rows.Select(r => r.Key)], ct, keys.Rows.ToDictionary(r => r.Key, r => r.State));
        var next = keys.HasMore && keys.Rows.Count > 0 ? ScheduleListQuery.Cursor(keys.Rows[^1].Key) : null;
        return new SchedulePage(items, paging.Number, paging.Size, keys.Total, keys.HasMore, next)
        {
            TotalAtLeast = after is null && keys.Total is null ? SchedulePage.CountLimit + 1 : null,
        };
    }

    /// <summary>Reads a schedule back from Quartz (definition, state, fire times) with its last run from the ledger.</summary>
    private async Task<ScheduleResponse?> ReadAsync(JobKey key, CancellationToken ct) =>
        (await ReadManyAsync(await schedulers.GetScheduler(ct), [key], ct)).SingleOrDefault();

    /// <summary>
    /// Reads schedules back in the order given: their jobs and triggers in one round trip each, then each trigger's
    /// state, and the schedules' last runs in one query. A key that is not (or no longer) a schedule is left out.
    /// </summary>
    /// <param name="states">The trigger states already read with the keys (a list page), so each is not asked for again.</param>
    private async Task<IReadOnlyList<ScheduleResponse>> ReadManyAsync(
        IScheduler scheduler, IReadOnlyList<JobKey> keys, CancellationToken ct, Dictionary<JobKey, TriggerState>? states = null)
    {
        keys = [.. keys.Where(k => !IsSystemGroup(k.Group))];
        if (keys.Count == 0)
        {
            return [];
        }

        var jobs = (await scheduler.GetJobDetails(keys, ct)).ToDictionary(j => j.Key);
        var triggers = (await scheduler.GetTriggers([.. keys.Select(k => new TriggerKey(k.Name, k.Group))], ct)).ToDictionary(t => t.Key);
        var lastRuns = await runs.LastRunsAsync([.. keys.Select(ScheduleIds.Of)], ct);
        var managed = await ManagedMarks.ManagedNamesAsync(db, DefinitionKinds.Schedule, [.. keys.Select(ScheduleIds.Of)], ct);
        var deadlines = await Deadlines.DeadlineWatches.StatusOfAsync(db, Deadlines.DeadlineBreach.Schedule, [.. keys.Select(ScheduleIds.Of)], ct);
        var schedules = new List<ScheduleResponse>(keys.Count);
        foreach (var key in keys)
        {
            // A job without a schedule document was not made by this server's schedule routes: it is not a schedule.
            if (!jobs.TryGetValue(key, out var job) || ScheduleDocument.Parse(job.JobDataMap.GetString(JobDataKeys.Schedule)) is not { } document)
            {
                continue;
            }

            var trigger = triggers.GetValueOrDefault(new TriggerKey(key.Name, key.Group));
            var state = trigger is null ? TriggerState.Complete
                : states?.TryGetValue(key, out var known) == true && known != TriggerState.Complete ? known
                : await scheduler.GetTriggerState(trigger.Key, ct);
            // Why, by whom and when, as Quartz recorded the pause (none for a pause made without a reason or requester).
            var pause = trigger is not null && state == TriggerState.Paused ? await scheduler.GetTriggerPause(trigger.Key, ct) : null;
            schedules.Add(ScheduleResponse.From(
                document,
                enabled: state != TriggerState.Paused,
                state: StateName(state),
                trigger?.NextFireTimeUtc,
                trigger?.PreviousFireTimeUtc,
                lastRuns.GetValueOrDefault(ScheduleIds.Of(key)),
                pause) with
            {
                Managed = managed.Contains(ScheduleIds.Of(key)),
                DeadlineStatus = deadlines.GetValueOrDefault(ScheduleIds.Of(key)) ?? (document.Deadline is null ? null : new Deadlines.DeadlineStatusView([], null)),
            });
        }

        return schedules;
    }

    /// <summary>
    /// The job a schedule id names, or null when it names one of the server's own jobs (a '_' group): those are
    /// Quartz jobs too, but no schedule route may read, pause, run or delete them, so they answer as unknown. So does a
    /// schedule of a project outside the caller's key scope: its existence is not revealed.
    /// </summary>
    private JobKey? ScheduleKey(string id)
    {
        var key = ScheduleIds.Parse(id);
        return IsSystemGroup(key.Group) || !scope.Allows(key.Group) ? null : key;
    }

    /// <summary>Whether the stored trigger already fires as the continued one would: misfire handling, retry, execution group, overlap.</summary>
    private static bool SameFiring(ITrigger existing, ITrigger continued) =>
        existing.MisfireInstructionCode == continued.MisfireInstructionCode
        && existing.MisfireThreshold == continued.MisfireThreshold
        && Equals(existing.RetryPolicy, continued.RetryPolicy)
        && existing.ExecutionGroup == continued.ExecutionGroup
        && Equals(existing.OverlapPolicy, continued.OverlapPolicy);

    /// <summary>What of the firing settings (<see cref="SameFiring"/>) the stored trigger must change to fire as the continued one would.</summary>
    private static TriggerDetailsUpdate FiringUpdate(ITrigger existing, ITrigger continued)
    {
        var update = new TriggerDetailsUpdate();
        if (existing.MisfireInstructionCode != continued.MisfireInstructionCode)
        {
            update = update.WithMisfireInstructionCode(continued.MisfireInstructionCode);
        }

        if (existing.MisfireThreshold != continued.MisfireThreshold)
        {
            update = update.WithMisfireThreshold(continued.MisfireThreshold);
        }

        if (!Equals(existing.RetryPolicy, continued.RetryPolicy))
        {
            update = update.WithRetryPolicy(continued.RetryPolicy);
        }

        if (existing.ExecutionGroup != continued.ExecutionGroup)
        {
            update = update.WithExecutionGroup(continued.ExecutionGroup);
        }

        if (!Equals(existing.OverlapPolicy, continued.OverlapPolicy))
        {
            update = update.WithOverlapPolicy(continued.OverlapPolicy);
        }

        return update;
    }

    /// <summary>
    /// Whether a replace keeps the trigger the schedule was saved with. The comparison is of what the trigger means, not
    /// how it was spelled: a client that reads a schedule and saves it back (or writes the same trigger another way —
    /// <c>interval: "PT30S"</c> for <c>intervalSeconds: 30</c>, an instant in another offset, a cron with other spacing)
    /// must not restart it, which would move its next fire time or, for a one-time schedule, refuse its past instant.
    /// </summary>
    private static bool IsSameTrigger(IJobDetail? stored, TriggerRequest? trigger)
    {
        var previous = ScheduleDocument.Parse(stored?.JobDataMap.GetString(JobDataKeys.Schedule))?.Trigger;
        return TriggerIdentity.Of(previous is null ? null : new TriggerRequest(
            previous.Cron, previous.TimeZone, previous.IntervalSeconds, previous.Interval, previous.At, previous.Every, previous.Unit,
            previous.StartAt, previous.EndAt, previous.MaxRuns)) == TriggerIdentity.Of(trigger);
    }

    /// <summary>
    /// A trigger request in canonical form: the interval in seconds, instants as UTC ticks, the unit lower-case and
    /// singular, the cron's fields single-spaced and upper-case (Quartz reads names case-insensitively). A value that
    /// does not parse stays as written, so it compares textually and the validator answers for it.
    /// </summary>
    private sealed record TriggerIdentity(
        string? Cron, string? TimeZone, decimal? IntervalSeconds, string? Interval, object? At, int? Every, string? Unit, object? StartAt, object? EndAt, int? MaxRuns)
    {
        public static TriggerIdentity? Of(TriggerRequest? t)
        {
            if (t is null)
            {
                return null;
            }

            var seconds = t.IntervalSeconds is { } s ? s : IsoSeconds(t.Interval);
            return new TriggerIdentity(
                t.Cron is null ? null : string.Join(' ', t.Cron.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)).ToUpperInvariant(),
                t.TimeZone,
                seconds,
                seconds is null ? t.Interval : null,
                Instant(t.At),
                t.Every,
                t.Unit?.ToLowerInvariant().TrimEnd('s'),
                Instant(t.StartAt),
                Instant(t.EndAt),
                t.MaxRuns);
        }

        private static decimal? IsoSeconds(string? interval)
        {
            try
            {
                return interval is null ? null : (decimal)XmlConvert.ToTimeSpan(interval).Ticks / TimeSpan.TicksPerSecond;
            }
            catch (Exception ex) when (ex is FormatException or OverflowException)
            {
                return null;
            }
        }

        // Records compare an object member with Equals, so a boxed long (UTC ticks) equals the same instant written in any offset.
        private static object? Instant(string? text) =>
            text is not null && DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out var value) ? value.UtcTicks : text;
    }

    /// <summary>The states the list filters by (<see cref="ScheduleListQuery"/>).</summary>
    private static readonly string[] ListStates = ["active", "paused", "running", "complete", "error"];

    private static bool IsSystemGroup(string group) => group.StartsWith(SystemGroupPrefix, StringComparison.Ordinal);

    private static string StateName(TriggerState state) => state switch
    {
        TriggerState.Normal => "active",
        TriggerState.Paused => "paused",
        TriggerState.Blocked => "running",
        TriggerState.Complete => "complete",
        TriggerState.Error => "error",
        // Quartz 4.7 says Executing while a firing of the trigger runs (under 'allow' nothing is blocked); every state
        // answered is one of the words the list's state filter accepts.
        TriggerState.Executing => "running",
        TriggerState.None => "complete",
        _ => "active",
    };

    /// <summary>
    /// Quartz's refusal of a trigger with no fire time left. The validator checks the same trigger first, so this is the
    /// last line (a trigger built differently on a replace), answered as the bad input it is rather than a 500.
    /// </summary>
    private static bool IsNeverFires(SchedulerException ex) =>
        ex is not ObjectAlreadyExistsException && ex.Message.Contains("will never fire", StringComparison.Ordinal);

    private static HttpValidationProblemDetails NeverFiresProblem()
    {
        var errors = new FieldErrors();
        errors.Add("trigger", ScheduleValidator.NeverFires);
        return errors.ToProblemDetails();
    }
}
