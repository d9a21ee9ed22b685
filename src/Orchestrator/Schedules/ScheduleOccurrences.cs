using Microsoft.EntityFrameworkCore;
using Orchestrator.Actions;
using Orchestrator.Api;
using Orchestrator.Data;
using Orchestrator.Runs;
using Orchestrator.Security;
using Quartz;
using Quartz.Extensibility;

namespace Orchestrator.Schedules;

/// <summary>
/// A schedule's occurrences: every due time its Quartz trigger computes in a range, each joined with what became of it
/// (<see cref="OccurrenceTimeline"/>) from the run ledger, Quartz's misfire history and the stored pause intervals
/// (<see cref="SchedulePauses"/>).
/// </summary>
public sealed class ScheduleOccurrences(
    ISchedulerFactory schedulers, OrchestratorDbContext db, IExecutionHistoryStore history, ScheduleValidator validator, ProjectScope scope, TimeProvider time)
{
    /// <summary>The most due times one answer holds; a wider range is refused rather than cut short.</summary>
    public const int MaxOccurrences = 10_000;

    /// <summary>The range when none is given: the last 24 hours.</summary>
    public static readonly TimeSpan DefaultRange = TimeSpan.FromHours(24);

    public async Task<Outcome<OccurrenceList>> ListAsync(string id, string? fromText, string? toText, CancellationToken ct)
    {
        var errors = new FieldErrors();
        var from = ScheduleValidator.ParseInstant(fromText, "from", errors);
        var to = ScheduleValidator.ParseInstant(toText, "to", errors);
        if (errors.Any)
        {
            return errors.ToProblemDetails();
        }

        var now = time.GetUtcNow();
        var (start, end) = (from, to) switch
        {
            ({ } f, { } t) => (f, t),
            ({ } f, null) => (f, f + DefaultRange),
            (null, { } t) => (t - DefaultRange, t),
            _ => (now - DefaultRange, now),
        };
        if (end <= start)
        {
            errors.Add("to", "must be after from.");
            return errors.ToProblemDetails();
        }

        var key = ScheduleIds.Parse(id);
        var scheduler = await schedulers.GetScheduler(ct);
        // A project-scoped key is told another project's schedule does not exist, as on every schedule route.
        if (key.Group.StartsWith(ScheduleService.SystemGroupPrefix, StringComparison.Ordinal)
            || !scope.Allows(key.Group)
            || await scheduler.GetJobDetail(key, ct) is not { } job
            || ScheduleDocument.Parse(job.JobDataMap.GetString(JobDataKeys.Schedule)) is not { } document)
        {
            return Problems.NotFound("schedule", id);
        }

        var scheduleId = ScheduleIds.Of(key);
        // Runs the schedule's own firings made; a run-now is no due time of the trigger.
        var runs = db.Runs.AsNoTracking().Where(r => r.ScheduleId == scheduleId && r.TriggeredBy != RunTrigger.Manual && r.TriggeredBy != RunTrigger.Pipeline);
        // No due time before the schedule existed: a cron, or an interval with a startAt in the past, computes fire times
        // before its creation, which nothing was ever to run.
        var birth = ScheduleMapping.CreatedAtOf(job.JobDataMap) ?? await StoredSinceAsync(scheduleId, ct);
        var policy = document.Misfire.Policy switch { "catch_up" => MisfirePolicy.CatchUp, "skip" => MisfirePolicy.Skip, _ => MisfirePolicy.FireOnce };
        var triggerKey = new TriggerKey(key.Name, key.Group);
        // A schedule with jitter: its stored trigger fires its offset after each nominal fire time, while the ledger
        // (and Quartz's misfire history, less the offset) are in nominal time, as are the range asked for and the due
        // times answered (ScheduleJitter). The walk moves by the offset and each due time moves back by it.
        var jitter = ScheduleJitter.OffsetOf(job.JobDataMap);
        var stored = await scheduler.GetTrigger(triggerKey, ct);
        // A rebuilt trigger (ScheduleMapping.BuildPreviewTrigger) is in nominal time already.
        var shift = stored is null ? TimeSpan.Zero : jitter;
        var trigger = stored is not null ? Reaching(stored, birth) : Rebuilt(document, policy, birth ?? start);
        // Both ends given: more than MaxOccurrences due times is refused. An end left out was filled in with the default
        // range, which a fast schedule overfills (every 5 s: 17,280 a day): the answer is then cut to the due times
        // nearest the end the caller gave (the newest ones when 'to' or neither was given), and says the range it covers.
        var keepNewest = to is not null || from is null;
        var dueTimes = new Queue<DateTimeOffset>();
        var cut = false;
        if (trigger is not null)
        {
            // The whole second before 'start', as ScheduleMapping.NextFireTimes does, so a due time at 'start' is kept.
            var cursor = (birth is { } created && created > start + shift ? created : start + shift).AddTicks(-1);
            cursor = cursor.AddTicks(-(cursor.UtcTicks % TimeSpan.TicksPerSecond));
            while (trigger.GetFireTimeAfter(cursor) is { } next && next < end + shift && (trigger.EndTimeUtc is not { } last || next <= last))
            {
                if (dueTimes.Count == MaxOccurrences)
                {
                    if (from is not null && to is not null)
                    {
                        errors.Add("to", $"the range holds more than {MaxOccurrences} due times of this schedule; ask for a shorter range.");
                        return errors.ToProblemDetails();
                    }

                    cut = true;
                    if (!keepNewest)
                    {
                        end = RunLedger.KeyTime(next - shift);
                        break;
                    }

                    dueTimes.Dequeue();
                }

                // Keyed as the ledger keys its runs (whole seconds), as the deadline checker does: a fire_once resume
                // restarts an interval trigger at the instant of the resume, fractions of a second included, and its
                // runs would otherwise match none of its due times.
                dueTimes.Enqueue(RunLedger.KeyTime(next - shift));
                cursor = next;
            }
        }

        if (cut && keepNewest)
        {
            start = dueTimes.Peek();
        }

        var inRange = await runs.Where(r => r.ScheduledFireTime >= start && r.ScheduledFireTime < end).ToListAsync(ct);
        // The runs on either side of the range decide whether a due time at its edge was coalesced into one of them.
        var before = await runs.Where(r => r.ScheduledFireTime < start).OrderByDescending(r => r.ScheduledFireTime).FirstOrDefaultAsync(ct);
        var after = await runs.Where(r => r.ScheduledFireTime >= end).OrderBy(r => r.ScheduledFireTime).FirstOrDefaultAsync(ct);
        var ledger = inRange.Concat(before is null ? [] : [before]).Concat(after is null ? [] : [after])
            .Select(r => new OccurrenceRun(r.Id, r.ScheduledFireTime, r.StartedAt, r.Status, r.TriggeredBy, r.Attempt, r.Error))
            .ToList();

        var misfires = await history.QueryMisfires(
            new MisfireHistoryQuery { SchedulerName = scheduler.SchedulerName, Job = key, Take = MaxOccurrences }, ct);
        // Quartz names the trigger's fire time, nominal + the offset (the trigger that misfired was the jittered one).
        var recorded = misfires.Items
            .Where(m => m.ScheduledFireTimeUtc is not null)
            .Select(m => new OccurrenceMisfire(RunLedger.KeyTime(m.ScheduledFireTimeUtc!.Value - jitter), m.Reason.ToString().ToLowerInvariant()))
            .Where(m => m.ScheduledFireTime < end && (before is null || m.ScheduledFireTime >= before.ScheduledFireTime))
            .ToList();

        // Every pause that overlaps the range, current or ended: a due time that passed during one was not to run.
        var pauses = await SchedulePauses.OverlappingAsync(db, scheduler, key, start + jitter, end + jitter, ct);
        var items = OccurrenceTimeline.Classify([.. dueTimes], ledger, recorded, pauses, policy, now, jitter);
        return new OccurrenceList(scheduleId, start, end, OccurrenceTimeline.Count(items), items);
    }

    /// <summary>
    /// When a schedule stored before its creation instant was kept (<see cref="ScheduleMapping.CreatedAtOf"/>) began, as
    /// far as what is stored tells: the earliest of its latest creation in the audit log (or its first entry, the
    /// create having aged out) and its first run that was not a backfill (which runs times before it on purpose).
    /// </summary>
    private async Task<DateTimeOffset?> StoredSinceAsync(string scheduleId, CancellationToken ct)
    {
        var entries = db.Set<Audit.AuditEntry>().AsNoTracking().Where(a => a.ResourceType == "schedule" && a.ResourceId == scheduleId);
        // By id, the order entries were written in (an instant does not order on every provider).
        var audited = await entries.Where(a => a.Action == "schedule.create").OrderByDescending(a => a.Id).Select(a => (DateTimeOffset?)a.At).FirstOrDefaultAsync(ct)
            ?? await entries.OrderBy(a => a.Id).Select(a => (DateTimeOffset?)a.At).FirstOrDefaultAsync(ct);
        var ran = await db.Runs.AsNoTracking().Where(r => r.ScheduleId == scheduleId && r.TriggeredBy != RunTrigger.Backfill)
            .OrderBy(r => r.ScheduledFireTime).Select(r => (DateTimeOffset?)r.ScheduledFireTime).FirstOrDefaultAsync(ct);
        return audited is { } a && (ran is null || a < ran) ? a : ran;
    }

    /// <summary>
    /// The stored trigger, reaching back to when the schedule was created (or, stored before that was kept, first ran)
    /// when a replace restarted it at its next fire time (<see cref="ScheduleMapping.ContinueTrigger"/>): a cron trigger
    /// starts earlier, an interval trigger earlier by whole intervals (its phase kept; one stored as a simple trigger
    /// before intervals became calendar intervals also has its repeat count grown to match). A calendar interval of
    /// days, weeks or months is taken as stored.
    /// </summary>
    private static ITrigger Reaching(ITrigger trigger, DateTimeOffset? birth)
    {
        if (birth is not { } first || first >= trigger.StartTimeUtc)
        {
            return trigger;
        }

        switch (trigger)
        {
            case ICronTrigger:
                return trigger.GetTriggerBuilder().StartAt(first).Build();
            case ICalendarIntervalTrigger { RepeatIntervalUnit: IntervalUnit.Second, RepeatInterval: > 0 } interval:
                // An interval schedule (ScheduleMapping): whole seconds from its start, so back by whole intervals.
                var step = TimeSpan.FromSeconds(interval.RepeatInterval);
                var back = (long)Math.Ceiling((trigger.StartTimeUtc - first) / step);
                return trigger.GetTriggerBuilder().StartAt(trigger.StartTimeUtc - (step * back)).Build();
            case ISimpleTrigger { RepeatInterval.Ticks: > 0 } simple:
                var intervals = (long)Math.Ceiling((trigger.StartTimeUtc - first) / simple.RepeatInterval);
                var schedule = SimpleScheduleBuilder.Create().WithInterval(simple.RepeatInterval);
                schedule = simple.RepeatCount < 0 ? schedule.RepeatForever() : schedule.WithRepeatCount((int)Math.Min(int.MaxValue, simple.RepeatCount + intervals));
                return trigger.GetTriggerBuilder().StartAt(trigger.StartTimeUtc - (simple.RepeatInterval * intervals)).WithSchedule(schedule).Build();
            default:
                return trigger;
        }
    }

    /// <summary>
    /// A completed schedule has no trigger left in Quartz (a one-time schedule that fired, or max runs reached): its
    /// due times are those of the trigger its definition describes, started at its first run.
    /// </summary>
    private ITrigger? Rebuilt(ScheduleDocument document, MisfirePolicy policy, DateTimeOffset start)
    {
        if (document.Trigger is not { } view)
        {
            return null;
        }

        var request = new TriggerRequest(view.Cron, view.TimeZone, view.IntervalSeconds, view.Interval, view.At, view.Every, view.Unit, view.StartAt, view.EndAt, view.MaxRuns);
        var spec = validator.ValidateTrigger(request, "trigger", policy, new FieldErrors());
        return spec is null ? null : ScheduleMapping.BuildPreviewTrigger(spec, start);
    }
}
