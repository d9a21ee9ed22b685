using System.Globalization;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using StoreObjectIdentifier = Microsoft.EntityFrameworkCore.Metadata.StoreObjectIdentifier;
using Microsoft.EntityFrameworkCore.Storage;
using Microsoft.Extensions.Options;
using Orchestrator.Actions;
using Orchestrator.Actions.Notifications;
using Orchestrator.Data;
using Orchestrator.Hosting;
using Orchestrator.Pipelines;
using Orchestrator.Runs;
using Orchestrator.Schedules;
using Orchestrator.Telemetry;
using Quartz;

namespace Orchestrator.Deadlines;

/// <summary>What one check did: breaches found (inserted by this check), recovered, and messages sent.</summary>
public sealed record DeadlineCheckReport(int Found, int Recovered, int Sent, int Failed);

/// <summary>
/// One pass of the deadline checks (<see cref="DeadlineCheckJob"/> runs it every few seconds on one node):
/// <list type="number">
/// <item>for every watched schedule and pipeline, the due times whose start (success) limit has just passed are judged
/// once, and each miss is inserted as a <see cref="DeadlineBreach"/> — the unique (target, kind, occurrence) decides
/// which of two overlapping checks found it; the dead man's switch looks at the time since the last success;</item>
/// <item>an open breach recovers when its occurrence (or a later one) starts or succeeds, or any run succeeds after a
/// silent window began;</item>
/// <item>every alert and recovery not sent yet is sent through its channel, claimed first so no two checks send it;
/// a failed send is tried again after a back-off (up to an hour), and a send to a deleted channel waits for it;</item>
/// <item>breaches found before <c>Runs:Retention</c> are deleted.</item>
/// </list>
/// </summary>
/// <remarks>
/// A paused schedule's due times from its pause to its resume are not judged unless they ran (a pause is the operator
/// saying "do not run"), and its dead man's switch window starts again at its resume. Times are nominal: jitter
/// counts against the start limit.
/// </remarks>
public sealed partial class DeadlineChecker(
    OrchestratorDbContext db,
    ISchedulerFactory schedulers,
    Quartz.Extensibility.IExecutionHistoryStore history,
    NotificationSender sender,
    OrchestratorMetrics metrics,
    IOptions<OrchestratorOptions> options,
    IOptions<DeadlineOptions> deadlineOptions,
    TimeProvider time,
    ILogger<DeadlineChecker> logger)
{
    /// <summary>How long a sender holds a breach's pending message before another check may send it (a node that died mid-send).</summary>
    public static readonly TimeSpan SendLease = TimeSpan.FromMinutes(2);

    /// <summary>How far back one check judges due times: a checker that was stopped for days does not alert every one of them.</summary>
    public static readonly TimeSpan MaxLookback = TimeSpan.FromDays(1);

    /// <summary>The shortest wait before a failed send is tried again.</summary>
    public static readonly TimeSpan MinRetryDelay = TimeSpan.FromSeconds(5);

    /// <summary>The longest wait before a failed send is tried again.</summary>
    public static readonly TimeSpan MaxRetryDelay = TimeSpan.FromHours(1);

    private const string ChannelGonePrefix = "Notification channel '";
    private const string ChannelGoneSuffix = "' no longer exists; sent once a channel of that name exists again.";

    /// <summary>The most misfire history rows one check reads per schedule.</summary>
    private const int MaxMisfiresPerTarget = 1000;

    /// <summary>The most due times one check judges per target, oldest first (<see cref="DeadlineOptions.MaxDueTimesPerCheck"/>).</summary>
    private int MaxDueTimesPerTarget => deadlineOptions.Value.MaxDueTimesPerCheck;

    /// <summary>The most messages one check sends.</summary>
    public const int MaxSendsPerCheck = 200;

    public async Task<DeadlineCheckReport> CheckAsync(CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var scheduler = await schedulers.GetScheduler(ct);
        var node = scheduler.SchedulerInstanceId;
        var found = 0;
        foreach (var watch in await db.Set<DeadlineWatch>().ToListAsync(ct))
        {
            try
            {
                found += watch.TargetType == DeadlineBreach.Schedule
                    ? await CheckScheduleAsync(scheduler, watch, now, node, ct)
                    : await CheckPipelineAsync(watch, now, node, ct);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                // One target that cannot be read (a definition stored by a newer version) must not stop the others' checks.
                LogTargetFailed(logger, watch.TargetType, watch.TargetId, ex.Message);
            }
        }

        await db.SaveChangesAsync(ct);
        var recovered = await RecoverAsync(now, ct);
        var (sent, failed) = await DeliverAsync(ct);
        await db.Set<DeadlineBreach>().Where(b => b.DetectedAt < now - options.Value.Runs.Retention).ExecuteDeleteAsync(ct);
        return new DeadlineCheckReport(found, recovered, sent, failed);
    }

    private async Task<int> CheckScheduleAsync(IScheduler scheduler, DeadlineWatch watch, DateTimeOffset now, string node, CancellationToken ct)
    {
        var key = ScheduleIds.Parse(watch.TargetId);
        var job = await scheduler.GetJobDetail(key, ct);
        var document = ScheduleDocument.Parse(job?.JobDataMap.GetString(JobDataKeys.Schedule));
        if (job is null || document?.Deadline is null || DeadlineSettings.From(document.Deadline, document.ExpectSuccessEvery) is not { } settings)
        {
            await UnwatchAsync(watch, job is null ? "was deleted" : "no longer has a deadline", now, ct);
            return 0;
        }

        var triggerKey = new TriggerKey(key.Name, key.Group);
        var trigger = await scheduler.GetTrigger(triggerKey, ct);
        var runs = db.Runs.AsNoTracking().Where(r => r.ScheduleId == watch.TargetId);
        var pausedSince = trigger is null ? null : await PausedSinceAsync(scheduler, key, watch.WatchedSince, ct);
        var seen = PauseOf(watch, pausedSince, now);
        var jitter = ScheduleJitter.OffsetOf(job.JobDataMap);
        var policy = document.Misfire.Policy switch { "catch_up" => MisfirePolicy.CatchUp, "skip" => MisfirePolicy.Skip, _ => MisfirePolicy.FireOnce };
        var target = new Target(DeadlineBreach.Schedule, watch.TargetId, key.Group, $"Schedule {watch.TargetId}", settings.Deadline.Channel);
        var found = 0;

        if (settings.StartWithin is { } startWithin && Window(watch.StartCheckedThrough, now - startWithin) is { } startWindow)
        {
            var pauses = await PausesAsync(scheduler, key, runs, startWindow, seen, ct);
            var (due, rows, through) = await OccurrencesAsync(trigger, jitter, runs, startWindow, pauses, ct);
            var (judged, undecided) = await PolicyJudgedAsync(scheduler, key, trigger, policy, jitter, runs, (startWindow.From, through), due, rows, pauses, now, ct);
            foreach (var at in judged)
            {
                var row = rows.GetValueOrDefault(at);
                if (row?.StartedAt is { } started && started <= at + startWithin)
                {
                    continue;
                }

                var what = row?.StartedAt is null
                    ? $"has not started ({DeadlineRules.Describe(now - at)} after it was due)"
                    : $"started {DeadlineRules.Describe(row.StartedAt.Value - at)} after it was due";
                found += await AlertAsync(target, DeadlineBreach.Start, at, at + startWithin, node, now,
                    $"{target.Label}: the occurrence due at {Stamp(at)} {what}; it should have started within {DeadlineRules.Describe(startWithin)}, by {Stamp(at + startWithin)}.", ct);
            }

            // A due time Quartz has not decided yet (PolicyJudgedAsync) is judged by a later check.
            watch.StartCheckedThrough = undecided ?? through;
        }

        if (settings.SucceedWithin is { } succeedWithin && Window(watch.SucceedCheckedThrough, now - succeedWithin) is { } succeedWindow)
        {
            var pauses = await PausesAsync(scheduler, key, runs, succeedWindow, seen, ct);
            var (due, rows, through) = await OccurrencesAsync(trigger, jitter, runs, succeedWindow, pauses, ct);
            var (judged, undecided) = await PolicyJudgedAsync(scheduler, key, trigger, policy, jitter, runs, (succeedWindow.From, through), due, rows, pauses, now, ct);
            foreach (var at in judged)
            {
                var row = rows.GetValueOrDefault(at);
                if (row is { Status: RunStatus.Succeeded, FinishedAt: { } finished } && finished <= at + succeedWithin)
                {
                    continue;
                }

                // An occurrence that never ran is the start limit's breach when the schedule has one; one alert says it.
                if (row is null && settings.StartWithin is not null)
                {
                    continue;
                }

                var what = row switch
                {
                    null => "never ran",
                    { Status: RunStatus.Succeeded, FinishedAt: { } f } => $"succeeded {DeadlineRules.Describe(f - at)} after it was due",
                    { Status: RunStatus.Running or RunStatus.Pending } => $"is still {row.Status.ToString().ToLowerInvariant()} ({DeadlineRules.Describe(now - at)} after it was due)",
                    _ => $"ended {row.Status.ToString().ToLowerInvariant()}",
                };
                found += await AlertAsync(target, DeadlineBreach.Succeed, at, at + succeedWithin, node, now,
                    $"{target.Label}: the occurrence due at {Stamp(at)} {what}; it should have succeeded within {DeadlineRules.Describe(succeedWithin)}, by {Stamp(at + succeedWithin)}.", ct);
            }

            watch.SucceedCheckedThrough = undecided ?? through;
        }

        if (settings.ExpectSuccessEvery is { } every)
        {
            if (pausedSince is not null)
            {
                // Paused: no run is expected, so no silence; the window starts again at the resume.
                watch.SilenceSince = now;
            }
            else
            {
                var lastSuccess = await runs.Where(r => r.Status == RunStatus.Succeeded && r.FinishedAt != null)
                    .OrderByDescending(r => r.FinishedAt).Select(r => r.FinishedAt).FirstOrDefaultAsync(ct);
                found += await SilenceAsync(target, lastSuccess, watch.SilenceSince, every, node, now, ct);
            }
        }

        return found;
    }

    private async Task<int> CheckPipelineAsync(DeadlineWatch watch, DateTimeOffset now, string node, CancellationToken ct)
    {
        var pipeline = await db.Pipelines.AsNoTracking().FirstOrDefaultAsync(p => p.Id == watch.TargetId, ct);
        var definition = pipeline is null
            ? null
            : await db.PipelineVersions.AsNoTracking().Where(v => v.PipelineId == pipeline.Id && v.Version == pipeline.Version)
                .Select(v => v.Definition).FirstOrDefaultAsync(ct);
        var stored = definition is null ? null : PipelineDefinition.FromJson(definition);
        if (pipeline is null || DeadlineSettings.From(stored?.Deadline, stored?.ExpectSuccessEvery) is not { } settings)
        {
            await UnwatchAsync(watch, pipeline is null ? "was deleted" : "no longer has a deadline", now, ct);
            return 0;
        }

        var target = new Target(DeadlineBreach.Pipeline, pipeline.Id, pipeline.ProjectId, $"Pipeline {pipeline.Id}", settings.Deadline.Channel);
        var runs = db.PipelineRuns.AsNoTracking().Where(r => r.PipelineId == pipeline.Id);
        var found = 0;

        // A pipeline's occurrences are its runs, each due from its creation (the API's request, a schedule's firing).
        if (settings.StartWithin is { } startWithin && Window(watch.StartCheckedThrough, now - startWithin) is { } startWindow)
        {
            var created = await runs.Where(r => r.CreatedAt > startWindow.From && r.CreatedAt <= startWindow.To)
                .OrderBy(r => r.CreatedAt).Take(MaxDueTimesPerTarget).ToListAsync(ct);
            foreach (var run in created.Where(r => r.StartedAt is not { } s || s > r.CreatedAt + startWithin))
            {
                var what = run.StartedAt is { } s ? $"started {DeadlineRules.Describe(s - run.CreatedAt)} after it was asked for" : "has not started";
                found += await AlertAsync(target, DeadlineBreach.Start, run.CreatedAt, run.CreatedAt + startWithin, node, now,
                    $"{target.Label}: run {run.Id} created at {Stamp(run.CreatedAt)} {what}; it should have started within {DeadlineRules.Describe(startWithin)}.", ct);
            }

            watch.StartCheckedThrough = created.Count == MaxDueTimesPerTarget ? created[^1].CreatedAt : startWindow.To;
        }

        if (settings.SucceedWithin is { } succeedWithin && Window(watch.SucceedCheckedThrough, now - succeedWithin) is { } succeedWindow)
        {
            var created = await runs.Where(r => r.CreatedAt > succeedWindow.From && r.CreatedAt <= succeedWindow.To)
                .OrderBy(r => r.CreatedAt).Take(MaxDueTimesPerTarget).ToListAsync(ct);
            foreach (var run in created.Where(r => r.Status != PipelineRunStatus.Succeeded || r.FinishedAt is not { } f || f > r.CreatedAt + succeedWithin))
            {
                found += await AlertAsync(target, DeadlineBreach.Succeed, run.CreatedAt, run.CreatedAt + succeedWithin, node, now,
                    $"{target.Label}: run {run.Id} created at {Stamp(run.CreatedAt)} is {run.Status.ToString().ToLowerInvariant()}; it should have succeeded within {DeadlineRules.Describe(succeedWithin)}, by {Stamp(run.CreatedAt + succeedWithin)}.", ct);
            }

            watch.SucceedCheckedThrough = created.Count == MaxDueTimesPerTarget ? created[^1].CreatedAt : succeedWindow.To;
        }

        if (settings.ExpectSuccessEvery is { } every)
        {
            var lastSuccess = await runs.Where(r => r.Status == PipelineRunStatus.Succeeded && r.FinishedAt != null)
                .OrderByDescending(r => r.FinishedAt).Select(r => r.FinishedAt).FirstOrDefaultAsync(ct);
            found += await SilenceAsync(target, lastSuccess, watch.SilenceSince, every, node, now, ct);
        }

        return found;
    }

    /// <summary>
    /// Forgets a target that is gone or has no deadline any more, and closes its open breaches: nothing will recover
    /// them, so each is marked recovered with why (no recovery message is sent: there is nothing to announce).
    /// </summary>
    private async Task UnwatchAsync(DeadlineWatch watch, string why, DateTimeOffset now, CancellationToken ct)
    {
        db.Remove(watch);
        var label = watch.TargetType == DeadlineBreach.Schedule ? "Schedule" : "Pipeline";
        var message = $"Closed: {label} {watch.TargetId} {why}; this breach is no longer watched and no recovery was announced.";
        var closed = await db.Set<DeadlineBreach>()
            .Where(b => b.TargetType == watch.TargetType && b.TargetId == watch.TargetId && b.RecoveredAt == null)
            .ExecuteUpdateAsync(s => s.SetProperty(b => b.RecoveredAt, now).SetProperty(b => b.RecoveryMessage, message).SetProperty(b => b.RecoveryNotifiedAt, now), ct);
        if (closed > 0)
        {
            LogClosed(logger, watch.TargetType, watch.TargetId, closed, why);
        }
    }

    /// <summary>
    /// When the schedule's current pause began (<see cref="SchedulePauses.PausedSinceAsync"/>, as the occurrences read it),
    /// never before the watch began, as nothing earlier is judged. Null when not paused.
    /// </summary>
    private async Task<DateTimeOffset?> PausedSinceAsync(IScheduler scheduler, JobKey key, DateTimeOffset watchedSince, CancellationToken ct) =>
        await SchedulePauses.PausedSinceAsync(db, scheduler, key, ct) is { } since ? (since > watchedSince ? since : watchedSince) : null;

    /// <summary>
    /// The pause the checks saw: the current one (to the end of time), else the last one, up to when a check first saw
    /// the schedule resumed. Kept on the watch as it is seen; used only for a pause with no stored interval (one Quartz
    /// kept no record of), as the stored intervals also know the pauses no check saw (<see cref="PausesAsync"/>).
    /// </summary>
    private static (DateTimeOffset From, DateTimeOffset To)? PauseOf(DeadlineWatch watch, DateTimeOffset? pausedSince, DateTimeOffset now)
    {
        if (pausedSince is { } since)
        {
            watch.PausedFrom = since;
            watch.ResumedAt = null;
            return (since, DateTimeOffset.MaxValue);
        }

        if (watch.PausedFrom is not null && watch.ResumedAt is null)
        {
            watch.ResumedAt = now;
        }

        return watch is { PausedFrom: { } from, ResumedAt: { } to } ? (from, to) : null;
    }

    /// <summary>
    /// The pauses whose due times in <paramref name="window"/> are not judged: every stored interval that overlaps it
    /// (a pause and resume between two checks included) and the current pause (<see cref="SchedulePauses.OverlappingAsync"/>);
    /// the one the checks saw (<see cref="PauseOf"/>) only when nothing is stored (a pause that recorded nothing). An
    /// ended pause reaches to the start of the catch-up its resume fired (a run keyed inside it that started after it):
    /// that firing took the slot of the due times it started after, which therefore never run on their own.
    /// </summary>
    private async Task<IReadOnlyList<OccurrencePause>> PausesAsync(
        IScheduler scheduler, JobKey key, IQueryable<RunRecord> runs, (DateTimeOffset From, DateTimeOffset To) window,
        (DateTimeOffset From, DateTimeOffset To)? seen, CancellationToken ct)
    {
        // Due times are in (From, To]: a pause that begins exactly at To still covers it.
        var stored = await SchedulePauses.OverlappingAsync(db, scheduler, key, window.From, window.To.AddTicks(1), ct);
        IReadOnlyList<OccurrencePause> found = stored.Count == 0 && seen is { } s ? [new OccurrencePause(s.From, s.To, null, null)] : stored;
        var pauses = new List<OccurrencePause>(found.Count);
        foreach (var pause in found)
        {
            if (pause.To is { } to && to != DateTimeOffset.MaxValue)
            {
                var catchUp = await runs.Where(r => r.ScheduledFireTime >= pause.From && r.ScheduledFireTime <= to && r.StartedAt >= to
                                                    && r.TriggeredBy != RunTrigger.Manual && r.TriggeredBy != RunTrigger.Pipeline && r.TriggeredBy != RunTrigger.Backfill)
                    .OrderBy(r => r.StartedAt).Select(r => r.StartedAt).FirstOrDefaultAsync(ct);
                pauses.Add(catchUp is { } started && started > to ? pause with { To = started } : pause);
            }
            else
            {
                pauses.Add(pause);
            }
        }

        return pauses;
    }

    private Task<int> SilenceAsync(Target target, DateTimeOffset? lastSuccess, DateTimeOffset since, TimeSpan every, string node, DateTimeOffset now, CancellationToken ct)
    {
        // The window starts at the last success, or where watching (or the last resume) began when none came since.
        var windowStart = lastSuccess is { } s && s > since ? s : since;
        if (now - windowStart < every)
        {
            return Task.FromResult(0);
        }

        var after = lastSuccess is { } last && last >= since ? $"since its last success at {Stamp(last)}" : $"since {Stamp(windowStart)}";
        return AlertAsync(target, DeadlineBreach.Silence, windowStart, windowStart + every, node, now,
            $"{target.Label}: no run succeeded {after} ({DeadlineRules.Describe(now - windowStart)}); one is expected every {DeadlineRules.Describe(every)}.", ct);
    }

    /// <summary>
    /// The due times of (<paramref name="window"/>.From, .To], from the trigger and the ledger, with the ledger row of
    /// each, oldest first and at most <see cref="MaxDueTimesPerTarget"/>: when there are more, the window is cut after
    /// the last one both sources gave in full (<c>Through</c>), and the next check goes on from there, so a backlog is
    /// judged in order and no due time is passed over.
    /// </summary>
    private async Task<(List<DateTimeOffset> Due, Dictionary<DateTimeOffset, RunRecord> Rows, DateTimeOffset Through)> OccurrencesAsync(
        ITrigger? trigger, TimeSpan jitter, IQueryable<RunRecord> runs, (DateTimeOffset From, DateTimeOffset To) window,
        IReadOnlyList<OccurrencePause> pauses, CancellationToken ct)
    {
        var cap = MaxDueTimesPerTarget;
        var through = window.To;
        var due = new SortedSet<DateTimeOffset>();
        if (trigger is not null)
        {
            // The trigger fires its jitter offset after each nominal time; the ledger keys by the nominal time.
            var cursor = window.From + jitter;
            while (trigger.GetFireTimeAfter(cursor) is { } next && next <= window.To + jitter
                   && (trigger.EndTimeUtc is not { } end || next <= end))
            {
                if (due.Count == cap)
                {
                    // More due than one check takes: this check ends at the last one it has.
                    through = due.Max;
                    break;
                }

                due.Add(RunLedger.KeyTime(next - jitter));
                cursor = next;
            }
        }

        var (from, to) = window;
        // Due times the trigger no longer computes (a one-time trigger that fired and is gone) are in the ledger; the
        // oldest first, so a cut leaves the later ones to the next check.
        var rows = await runs.Where(r => r.ScheduledFireTime > from && r.ScheduledFireTime <= to
                                         && r.TriggeredBy != RunTrigger.Manual && r.TriggeredBy != RunTrigger.Pipeline)
            .OrderBy(r => r.ScheduledFireTime).Take(cap + 1).ToListAsync(ct);
        if (rows.Count > cap)
        {
            // The rows go on past the cap: the check ends at the last due time taken (the next check starts after it).
            var last = rows[cap - 1].ScheduledFireTime;
            through = last < through ? last : through;
            rows = [.. rows.Take(cap)];
        }

        foreach (var row in rows.Where(r => r.ScheduledFireTime <= through))
        {
            due.Add(row.ScheduledFireTime);
        }

        // Paused: the due times from the pause to the resume were not to run (those that ran anyway are judged).
        var judged = due.Where(d => d <= through && (!SchedulePauses.Covers(pauses, d) || rows.Any(r => r.ScheduledFireTime == d))).ToList();
        return (judged, rows.Where(r => r.ScheduledFireTime <= through).GroupBy(r => r.ScheduledFireTime).ToDictionary(g => g.Key, g => g.First()), through);
    }

    /// <summary>
    /// Of the due times <paramref name="due"/>, those to judge now: not one the schedule's own policy skipped on purpose —
    /// what the occurrences route calls <c>skipped</c> (<see cref="OccurrenceTimeline.Classify(IReadOnlyList{DateTimeOffset}, IReadOnlyList{OccurrenceRun}, IReadOnlyList{OccurrenceMisfire}, IReadOnlyList{OccurrencePause}, MisfirePolicy, DateTimeOffset, TimeSpan)"/>,
    /// the one definition, from the same stored facts: the ledger, Quartz's misfire history, the pauses): a misfire under
    /// <c>skip</c>, an overlap <c>skip</c>, a veto. A due time with no run that did not come about that way (missed, or
    /// folded into a <c>fire_once</c> catch-up) is still judged. Under <c>skip</c>, a due time with no run that Quartz has
    /// not decided yet (its trigger not moved past it: blocked behind a running run, or not yet fired or misfired) may
    /// still be skipped on purpose, so it and every later one wait for a later check: the second value, when not null,
    /// is where the checked-through mark stops (just before it).
    /// </summary>
    private async Task<(List<DateTimeOffset> Judged, DateTimeOffset? CheckedThrough)> PolicyJudgedAsync(
        IScheduler scheduler, JobKey key, ITrigger? trigger, MisfirePolicy policy, TimeSpan jitter, IQueryable<RunRecord> runs,
        (DateTimeOffset From, DateTimeOffset To) window, List<DateTimeOffset> due, Dictionary<DateTimeOffset, RunRecord> rows,
        IReadOnlyList<OccurrencePause> pauses, DateTimeOffset now, CancellationToken ct)
    {
        var unrun = due.Where(d => !rows.ContainsKey(d)).ToList();
        if (unrun.Count == 0)
        {
            return (due, null);
        }

        DateTimeOffset? checkedThrough = null;
        if (policy == MisfirePolicy.Skip && await UndecidedFromAsync(trigger, jitter, runs, unrun, now, ct) is { } first)
        {
            checkedThrough = first.AddTicks(-1) > window.From ? first.AddTicks(-1) : window.From;
            due = [.. due.Where(d => d < first)];
        }

        // As the occurrences route reads them: the runs of the window and the one before it (a due time's "previous
        // run" decides which misfires are its), and Quartz's misfire history of the job, in nominal time.
        var previous = await runs.Where(r => r.ScheduledFireTime <= window.From && r.TriggeredBy != RunTrigger.Manual && r.TriggeredBy != RunTrigger.Pipeline)
            .OrderByDescending(r => r.ScheduledFireTime).FirstOrDefaultAsync(ct);
        var ledger = rows.Values.Concat(previous is null ? [] : [previous])
            .Select(r => new OccurrenceRun(r.Id, r.ScheduledFireTime, r.StartedAt, r.Status, r.TriggeredBy, r.Attempt, r.Error))
            .ToList();
        var found = await history.QueryMisfires(
            new MisfireHistoryQuery { SchedulerName = scheduler.SchedulerName, Job = key, Take = MaxMisfiresPerTarget }, ct);
        var misfires = found.Items
            .Where(m => m.ScheduledFireTimeUtc is not null)
            .Select(m => new OccurrenceMisfire(RunLedger.KeyTime(m.ScheduledFireTimeUtc!.Value - jitter), m.Reason.ToString().ToLowerInvariant()))
            .Where(m => m.ScheduledFireTime <= window.To && (previous is null || m.ScheduledFireTime >= previous.ScheduledFireTime))
            .ToList();
        var outcomes = OccurrenceTimeline.Classify(due, ledger, misfires, pauses, policy, now, jitter);
        var skipped = outcomes.Where(o => o.Outcome == "skipped" && !rows.ContainsKey(o.DueAt)).Select(o => o.DueAt).ToHashSet();
        return ([.. due.Where(d => !skipped.Contains(d))], checkedThrough);
    }

    /// <summary>
    /// Under <c>skip</c>, the first of the due times with no run (<paramref name="unrun"/>) whose fate Quartz has not
    /// decided yet: its trigger has not moved past it (not fired, nor misfired), or a run of the schedule that began
    /// before it is still running or ended moments ago (<see cref="OccurrenceTimeline.InFlightGrace"/>: Quartz settles
    /// the firings a run held back — late within the threshold, or skipped as a misfire — as it completes, just after
    /// the ledger writes the run's end). Null when every one is decided.
    /// </summary>
    private static async Task<DateTimeOffset?> UndecidedFromAsync(
        ITrigger? trigger, TimeSpan jitter, IQueryable<RunRecord> runs, List<DateTimeOffset> unrun, DateTimeOffset now, CancellationToken ct)
    {
        var recent = now - OccurrenceTimeline.InFlightGrace;
        var holding = await runs.Where(r => r.TriggeredBy != RunTrigger.Manual && r.TriggeredBy != RunTrigger.Pipeline && r.TriggeredBy != RunTrigger.Backfill
                                            && r.StartedAt != null && (r.FinishedAt == null || r.FinishedAt > recent))
            .OrderBy(r => r.ScheduledFireTime).Select(r => (DateTimeOffset?)r.ScheduledFireTime).FirstOrDefaultAsync(ct);
        var next = trigger?.NextFireTimeUtc;
        return unrun.Where(d => next is { } n && d + jitter >= n || holding is { } h && d > h).Select(d => (DateTimeOffset?)d).FirstOrDefault();
    }

    /// <summary>The due times to judge now: after what was judged, up to <paramref name="through"/>, at most a day back.</summary>
    private static (DateTimeOffset From, DateTimeOffset To)? Window(DateTimeOffset checkedThrough, DateTimeOffset through)
    {
        var from = checkedThrough > through - MaxLookback ? checkedThrough : through - MaxLookback;
        return through > from ? (from, through) : null;
    }

    /// <summary>Inserts the breach unless another check did; 1 when this one found it (and counts it), else 0.</summary>
    private async Task<int> AlertAsync(Target target, string kind, DateTimeOffset occurrence, DateTimeOffset dueAt, string node, DateTimeOffset now, string message, CancellationToken ct)
    {
        var breach = new DeadlineBreach
        {
            TargetType = target.Type,
            TargetId = target.Id,
            Project = target.Project,
            Kind = kind,
            Occurrence = occurrence,
            DueAt = dueAt,
            DetectedAt = now,
            Node = node,
            Channel = target.Channel,
            Message = message.Length > 2000 ? message[..2000] : message,
        };
        if (!await InsertUnlessPresentAsync(breach, ct))
        {
            return 0;
        }

        metrics.RecordDeadlineBreach(target.Project, kind);
        LogBreach(logger, target.Type, target.Id, kind, occurrence);
        return 1;
    }

    /// <summary>
    /// <c>INSERT … ON CONFLICT (target_type, target_id, kind, occurrence) DO NOTHING</c>: true when this statement inserted
    /// the row. Written from EF Core's model (names, type mappings and converters) as the ledger's insert is, so SQLite
    /// stores the times as SaveChanges would; a conflict is no error, so nothing is logged for the check that lost.
    /// </summary>
    private async Task<bool> InsertUnlessPresentAsync(DeadlineBreach breach, CancellationToken ct)
    {
        var entity = db.Model.FindEntityType(typeof(DeadlineBreach))!;
        var table = StoreObjectIdentifier.Table(entity.GetTableName()!, entity.GetSchema());
        var sql = db.GetService<ISqlGenerationHelper>();
        var properties = entity.GetProperties().Where(p => p.Name != nameof(DeadlineBreach.Id)).ToList();
        var parameters = new List<object>(properties.Count);
        var placeholders = new List<string>(properties.Count);
        await using (var command = db.Database.GetDbConnection().CreateCommand())
        {
            foreach (var property in properties)
            {
                var name = sql.GenerateParameterName($"p{parameters.Count}");
                placeholders.Add(sql.GenerateParameterNamePlaceholder($"p{parameters.Count}"));
                parameters.Add(property.GetRelationalTypeMapping().CreateParameter(command, name, property.GetGetter().GetClrValue(breach), property.IsNullable));
            }
        }

        string Column(string property) => sql.DelimitIdentifier(entity.FindProperty(property)!.GetColumnName(table)!);
        var statement =
            $"INSERT INTO {sql.DelimitIdentifier(table.Name, table.Schema)} ({string.Join(", ", properties.Select(p => sql.DelimitIdentifier(p.GetColumnName(table)!)))}) " +
            $"VALUES ({string.Join(", ", placeholders)}) " +
            $"ON CONFLICT ({Column(nameof(DeadlineBreach.TargetType))}, {Column(nameof(DeadlineBreach.TargetId))}, {Column(nameof(DeadlineBreach.Kind))}, {Column(nameof(DeadlineBreach.Occurrence))}) DO NOTHING";
        return await db.Database.ExecuteSqlRawAsync(statement, parameters, ct) == 1;
    }

    /// <summary>Marks every open breach whose occurrence (or a later one) has since started or succeeded; the value is how many.</summary>
    private async Task<int> RecoverAsync(DateTimeOffset now, CancellationToken ct)
    {
        var open = await db.Set<DeadlineBreach>().AsNoTracking().Where(b => b.RecoveredAt == null).OrderBy(b => b.Id).Take(1000).ToListAsync(ct);
        var recovered = 0;
        foreach (var breach in open)
        {
            var message = breach.TargetType == DeadlineBreach.Schedule ? await ScheduleRecoveryAsync(breach, ct) : await PipelineRecoveryAsync(breach, ct);
            if (message is null)
            {
                continue;
            }

            // Conditional, so two overlapping checks count and announce one recovery.
            var changed = await db.Set<DeadlineBreach>().Where(b => b.Id == breach.Id && b.RecoveredAt == null)
                .ExecuteUpdateAsync(s => s.SetProperty(b => b.RecoveredAt, now).SetProperty(b => b.RecoveryMessage, message), ct);
            if (changed == 1)
            {
                recovered++;
                metrics.RecordDeadlineRecovery(breach.Project, breach.Kind);
            }
        }

        return recovered;
    }

    private async Task<string?> ScheduleRecoveryAsync(DeadlineBreach breach, CancellationToken ct)
    {
        var runs = db.Runs.AsNoTracking().Where(r => r.ScheduleId == breach.TargetId);
        var label = $"Schedule {breach.TargetId}";
        switch (breach.Kind)
        {
            case DeadlineBreach.Start:
                var started = await runs.Where(r => r.ScheduledFireTime >= breach.Occurrence && r.StartedAt != null
                                                    && r.TriggeredBy != RunTrigger.Manual && r.TriggeredBy != RunTrigger.Pipeline)
                    .OrderBy(r => r.ScheduledFireTime).FirstOrDefaultAsync(ct);
                return started is null
                    ? null
                    : started.ScheduledFireTime == breach.Occurrence
                        ? $"Recovered: {label}: the occurrence due at {Stamp(breach.Occurrence)} started at {Stamp(started.StartedAt!.Value)}, {DeadlineRules.Describe(started.StartedAt.Value - breach.DueAt)} past its start deadline."
                        : $"Recovered: {label}: the occurrence due at {Stamp(breach.Occurrence)} never started, and a later one (due at {Stamp(started.ScheduledFireTime)}) started at {Stamp(started.StartedAt!.Value)}.";
            case DeadlineBreach.Succeed:
                var succeeded = await runs.Where(r => r.ScheduledFireTime >= breach.Occurrence && r.Status == RunStatus.Succeeded
                                                      && r.TriggeredBy != RunTrigger.Manual && r.TriggeredBy != RunTrigger.Pipeline)
                    .OrderBy(r => r.ScheduledFireTime).FirstOrDefaultAsync(ct);
                return succeeded is null
                    ? null
                    : succeeded.ScheduledFireTime == breach.Occurrence
                        ? $"Recovered: {label}: the occurrence due at {Stamp(breach.Occurrence)} succeeded at {Stamp(succeeded.FinishedAt!.Value)}, {DeadlineRules.Describe(succeeded.FinishedAt.Value - breach.DueAt)} past its success deadline."
                        : $"Recovered: {label}: the occurrence due at {Stamp(breach.Occurrence)} did not succeed, and a later one (due at {Stamp(succeeded.ScheduledFireTime)}) succeeded at {Stamp(succeeded.FinishedAt!.Value)}.";
            default:
                var success = await runs.Where(r => r.Status == RunStatus.Succeeded && r.FinishedAt > breach.Occurrence)
                    .OrderBy(r => r.FinishedAt).FirstOrDefaultAsync(ct);
                return success is null
                    ? null
                    : $"Recovered: {label}: run {success.Id} succeeded at {Stamp(success.FinishedAt!.Value)}, after {DeadlineRules.Describe(success.FinishedAt.Value - breach.Occurrence)} without a success.";
        }
    }

    private async Task<string?> PipelineRecoveryAsync(DeadlineBreach breach, CancellationToken ct)
    {
        var runs = db.PipelineRuns.AsNoTracking().Where(r => r.PipelineId == breach.TargetId);
        var label = $"Pipeline {breach.TargetId}";
        var run = breach.Kind switch
        {
            DeadlineBreach.Start => await runs.Where(r => r.CreatedAt >= breach.Occurrence && r.StartedAt != null).OrderBy(r => r.CreatedAt).FirstOrDefaultAsync(ct),
            DeadlineBreach.Succeed => await runs.Where(r => r.CreatedAt >= breach.Occurrence && r.Status == PipelineRunStatus.Succeeded).OrderBy(r => r.CreatedAt).FirstOrDefaultAsync(ct),
            _ => await runs.Where(r => r.Status == PipelineRunStatus.Succeeded && r.FinishedAt > breach.Occurrence).OrderBy(r => r.FinishedAt).FirstOrDefaultAsync(ct),
        };
        return run is null
            ? null
            : breach.Kind == DeadlineBreach.Start
                ? $"Recovered: {label}: run {run.Id} started at {Stamp(run.StartedAt!.Value)}."
                : $"Recovered: {label}: run {run.Id} succeeded at {Stamp(run.FinishedAt!.Value)}.";
    }

    /// <summary>
    /// Sends every alert and recovery message not sent yet, each claimed first; the values are how many sent and failed.
    /// Never-tried messages go first, then retries by when they are due, so a channel that keeps failing does not starve
    /// new alerts; a message whose channel was deleted waits, marked with why, until a channel of that name exists.
    /// </summary>
    private async Task<(int Sent, int Failed)> DeliverAsync(CancellationToken ct)
    {
        var start = time.GetUtcNow();
        var channels = await db.Channels.AsNoTracking().Select(c => c.Name).ToListAsync(ct);
        var pendingSends = db.Set<DeadlineBreach>().Where(b => b.NotifiedAt == null || (b.RecoveredAt != null && b.RecoveryNotifiedAt == null));
        await pendingSends.Where(b => !channels.Contains(b.Channel) && (b.LastSendError == null || b.LastSendError != ChannelGonePrefix + b.Channel + ChannelGoneSuffix))
            .ExecuteUpdateAsync(s => s.SetProperty(b => b.LastSendError, b => ChannelGonePrefix + b.Channel + ChannelGoneSuffix), ct);
        var pending = await pendingSends.AsNoTracking()
            .Where(b => channels.Contains(b.Channel) && (b.SendLeaseUntil == null || b.SendLeaseUntil < start))
            .OrderBy(b => b.SendLeaseUntil == null ? 0 : 1).ThenBy(b => b.SendLeaseUntil).ThenBy(b => b.Id)
            .Select(b => b.Id).Take(MaxSendsPerCheck).ToListAsync(ct);
        var (sent, failed) = (0, 0);
        foreach (var id in pending)
        {
            var now = time.GetUtcNow();
            var claimed = await db.Set<DeadlineBreach>()
                .Where(b => b.Id == id && (b.SendLeaseUntil == null || b.SendLeaseUntil < now))
                .ExecuteUpdateAsync(s => s.SetProperty(b => b.SendLeaseUntil, now + SendLease), ct);
            if (claimed == 0)
            {
                continue;
            }

            // Read after the claim: another check may have sent it between the list and the claim.
            var breach = await db.Set<DeadlineBreach>().AsNoTracking().FirstAsync(b => b.Id == id, ct);
            string? error = null;
            DateTimeOffset? notified = breach.NotifiedAt, recoveryNotified = breach.RecoveryNotifiedAt;
            if (notified is null)
            {
                error = await SendAsync(breach, recovery: false, ct);
                notified = error is null ? time.GetUtcNow() : null;
            }

            if (error is null && breach.RecoveredAt is not null && recoveryNotified is null)
            {
                error = await SendAsync(breach, recovery: true, ct);
                recoveryNotified = error is null ? time.GetUtcNow() : null;
            }

            // A failure holds the row until its next try: the wait grows with how long the message has been pending.
            var retryAt = error is null ? (DateTimeOffset?)null : time.GetUtcNow() + RetryDelay(breach, time.GetUtcNow());
            await db.Set<DeadlineBreach>().Where(b => b.Id == id).ExecuteUpdateAsync(s => s
                .SetProperty(b => b.NotifiedAt, notified)
                .SetProperty(b => b.RecoveryNotifiedAt, recoveryNotified)
                .SetProperty(b => b.LastSendError, error)
                .SetProperty(b => b.SendLeaseUntil, retryAt), CancellationToken.None);
            if (error is null)
            {
                sent++;
            }
            else
            {
                failed++;
                LogSendFailed(logger, breach.TargetType, breach.TargetId, breach.Kind, breach.Channel, error);
            }
        }

        return (sent, failed);
    }

    /// <summary>
    /// How long after a failed send the next try waits: as long as the message has been pending (so the waits double,
    /// an exponential back-off that needs no count of tries), at least <see cref="MinRetryDelay"/> and at most
    /// <see cref="MaxRetryDelay"/>.
    /// </summary>
    public static TimeSpan RetryDelay(DeadlineBreach breach, DateTimeOffset now)
    {
        var pendingSince = breach.NotifiedAt is null ? breach.DetectedAt : breach.RecoveredAt ?? breach.DetectedAt;
        var waited = now - pendingSince;
        return waited < MinRetryDelay ? MinRetryDelay : waited > MaxRetryDelay ? MaxRetryDelay : waited;
    }

    /// <summary>Null when the channel took the message; otherwise why not.</summary>
    private async Task<string?> SendAsync(DeadlineBreach breach, bool recovery, CancellationToken ct)
    {
        var what = breach.Kind switch { DeadlineBreach.Start => "did not start in time", DeadlineBreach.Succeed => "did not succeed in time", _ => "has not succeeded for too long" };
        var subject = recovery
            ? $"Recovered: {breach.TargetType} {breach.TargetId} ({breach.Kind} deadline)"
            : $"Deadline missed: {breach.TargetType} {breach.TargetId} {what}";
        var message = recovery ? breach.RecoveryMessage ?? "Recovered." : breach.Message;
        var key = string.Create(CultureInfo.InvariantCulture, $"deadline-{breach.Id}{(recovery ? "-recovery" : "")}");
        try
        {
            var outcome = await sender.SendAsync(breach.Channel, subject, message, recovery ? "info" : "error", key, ct);
            return outcome.Succeeded ? null : outcome.Error ?? "the channel refused the message.";
        }
        catch (ActionFailedException ex)
        {
            return ex.Message;
        }
    }

    private static string Stamp(DateTimeOffset at) => at.ToUniversalTime().ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    private sealed record Target(string Type, string Id, string Project, string Label, string Channel);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Deadline missed: {TargetType} {TargetId}, {Kind}, occurrence {Occurrence:O}")]
    private static partial void LogBreach(ILogger logger, string targetType, string targetId, string kind, DateTimeOffset occurrence);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Deadline alert for {TargetType} {TargetId} ({Kind}) to channel {Channel} not sent; tried again after a back-off: {Reason}")]
    private static partial void LogSendFailed(ILogger logger, string targetType, string targetId, string kind, string channel, string reason);

    [LoggerMessage(Level = LogLevel.Information, Message = "Deadline watch of {TargetType} {TargetId} removed ({Why}); {Count} open breaches closed")]
    private static partial void LogClosed(ILogger logger, string targetType, string targetId, int count, string why);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Deadline check of {TargetType} {TargetId} failed: {Reason}")]
    private static partial void LogTargetFailed(ILogger logger, string targetType, string targetId, string reason);
}
