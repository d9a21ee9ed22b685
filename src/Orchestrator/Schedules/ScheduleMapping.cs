using System.Globalization;
using System.Text.Json;
using Orchestrator.Actions;
using Quartz;

namespace Orchestrator.Schedules;

/// <summary>A validated schedule becomes one durable Quartz job (class by action type) and one trigger.</summary>
public static class ScheduleMapping
{
    /// <param name="createdAt">When the schedule was created (kept across replaces): the occurrences start there, so no due
    /// time before the schedule existed is listed as missed (<see cref="CreatedAtOf"/>).</param>
    public static IJobDetail BuildJob(ScheduleSpec spec, ActionDefinition action, ScheduleDocument document, DateTimeOffset? createdAt = null)
    {
        var builder = JobBuilder.Create().OfType(action.JobType)
            .WithIdentity(spec.Name, spec.Project)
            .WithDescription(spec.Description)
            // Durable: a one-time schedule that has fired stays visible (and re-runnable) until deleted.
            .StoreDurably()
            // Every job asks to be recovered: a firing on a node that dies is re-run elsewhere, and the ledger decides whether the action runs again.
            .RequestRecovery()
            .DisallowConcurrentExecution(ScheduleOverlaps.DisallowsConcurrency(spec.Concurrency))
            .UsingJobData(JobDataKeys.Schedule, document.ToJson())
            .UsingJobData(JobDataKeys.ActionType, spec.ActionType)
            .UsingJobData(JobDataKeys.Config, spec.Config.GetRawText());
        if (spec.JitterOffset > TimeSpan.Zero)
        {
            // The ledger middleware subtracts it again: the occurrence is keyed by its nominal fire time.
            builder.UsingJobData(JobDataKeys.JitterOffsetSeconds, ((int)spec.JitterOffset.TotalSeconds).ToString(CultureInfo.InvariantCulture));
        }
        if (spec.Timeout is { } timeout)
        {
            builder.UsingJobData(JobDataKeys.TimeoutSeconds, ((int)timeout.TotalSeconds).ToString(CultureInfo.InvariantCulture));
        }

        if (createdAt is { } created)
        {
            builder.UsingJobData(JobDataKeys.CreatedAt, created.ToUniversalTime().ToString("O", CultureInfo.InvariantCulture));
        }

        return builder.Build();
    }

    /// <summary>When the job's schedule was created, or null for one stored before the instant was kept.</summary>
    public static DateTimeOffset? CreatedAtOf(JobDataMap data) =>
        DateTimeOffset.TryParse(data.GetString(JobDataKeys.CreatedAt), CultureInfo.InvariantCulture, DateTimeStyles.None, out var created) ? created : null;

    public static ITrigger BuildTrigger(ScheduleSpec spec, DateTimeOffset now)
    {
        var builder = TriggerBuilder.Create()
            .WithIdentity(spec.Name, spec.Project)
            .ForJob(spec.Name, spec.Project);
        Configure(builder, spec.Trigger, spec.Misfire, now, spec.JitterOffset);
        ApplyFiringSettings(builder, spec);
        return builder.Build();
    }

    /// <summary>
    /// The schedule's trigger after a replace that kept its trigger spec: the same schedule (interval phase, end,
    /// runs left) continuing from the existing trigger's next fire time, with the replace's misfire policy, threshold,
    /// retry policy and execution group. Quartz keeps the previous fire time of a trigger replaced under the same key.
    /// </summary>
    public static ITrigger ContinueTrigger(ITrigger existing, ScheduleSpec spec)
    {
        // A repeating interval stored as a simple trigger (before intervals kept their phase) goes on as the
        // calendar-interval trigger it would be built as today, from its next fire time.
        existing = PhaseKeeping(existing) ?? existing;
        var schedule = existing.GetScheduleBuilder();
        switch (schedule)
        {
            case SimpleScheduleBuilder simple:
                simple.WithMisfireInstruction(OnceMisfire(spec.Misfire));
                if (existing is ISimpleTrigger { RepeatCount: >= 0 } counted)
                {
                    // The trigger restarts at its next fire time, so it may repeat only what it has not fired yet.
                    simple.WithRepeatCount(Math.Max(0, counted.RepeatCount - counted.TimesTriggered));
                }

                break;
            case CronScheduleBuilder cron:
                cron.WithMisfireInstruction(CronMisfire(spec.Misfire));
                break;
            case CalendarIntervalScheduleBuilder calendar:
                calendar.WithMisfireInstruction(CalendarMisfire(spec.Misfire));
                break;
        }

        var builder = TriggerBuilder.Create()
            .WithIdentity(existing.Key)
            .ForJob(existing.JobKey)
            .WithDescription(existing.Description)
            .WithPriority(existing.Priority)
            .WithSchedule(schedule)
            // Starting at the next fire time keeps the phase: simple and calendar triggers count intervals from their
            // start, and one stored with a start in the past would be treated as misfired and fire at once.
            .StartAt(existing.NextFireTimeUtc ?? existing.StartTimeUtc);
        if (existing.EndTimeUtc is { } end)
        {
            builder.EndAt(end);
        }

        // The latest end of the schedule's pauses stays with the trigger: the paused-firing veto asks for the stored
        // pauses only of a firing due before it (PausedFiringVeto.MayBeHeld).
        if (existing.JobDataMap.TryGetString(PausedFiringVeto.ResumedAtKey, out var pauseEnded) && pauseEnded is not null)
        {
            builder.UsingJobData(PausedFiringVeto.ResumedAtKey, pauseEnded);
        }

        ApplyFiringSettings(builder, spec);
        return builder.Build();
    }

    /// <summary>
    /// A replaced trigger whose start is in the past, moved to its first fire time from <paramref name="now"/> on
    /// (an interval keeps its phase and loses the repeats it would have had before): an edit never runs past fire times,
    /// which Quartz would otherwise treat as misfired and hand to the misfire policy (every one of them under
    /// <c>catch_up</c>). Backfill is the way to run past times on purpose. A one-time trigger is left as it is (a past
    /// one is refused or fired by its misfire policy, as on create).
    /// </summary>
    public static ITrigger NotBefore(ITrigger trigger, DateTimeOffset now)
    {
        if (trigger.StartTimeUtc >= now || trigger is ISimpleTrigger { RepeatCount: 0 })
        {
            return trigger;
        }

        var cursor = now.AddTicks(-1);
        cursor = cursor.AddTicks(-(cursor.UtcTicks % TimeSpan.TicksPerSecond));
        if (trigger.GetFireTimeAfter(cursor) is not { } first)
        {
            return trigger;
        }

        // An interval's max runs is its end (Configure), which stays: the runs it would have had before are lost.
        return trigger.GetTriggerBuilder().StartAt(first).Build();
    }

    /// <summary>
    /// What every firing of a schedule carries, whether its own trigger's, a run-now's or a backfill's:
    /// the misfire threshold, the retry policy and the execution group its limits count against. The schedule trigger
    /// alone also carries the overlap policy.
    /// </summary>
    private static void ApplyFiringSettings(TriggerBuilder<IJob> builder, ScheduleSpec spec)
    {
        if (spec.MisfireThreshold is { } threshold)
        {
            builder.WithMisfireThreshold(threshold);
        }

        if (spec.Retry is { } retry)
        {
            builder.WithRetryPolicy(retry.ToQuartz());
        }

        // Without an explicit group a schedule is in its action type's group, so an operator can cap, say, all
        // call_api work cluster-wide with Scheduler:ExecutionLimits:call_api and no per-schedule change.
        builder.WithExecutionGroup(spec.ExecutionGroup ?? spec.ActionType);
        // The trigger's own firings only: a run-now or backfill firing is another trigger, which the policy does not see.
        builder.WithOverlapPolicy(ScheduleOverlaps.ToQuartz(spec.Concurrency));
    }

    /// <summary>
    /// A one-shot trigger that runs the schedule's job now (run-now), carrying the schedule trigger's retry policy and
    /// execution group, so a manual run is retried and limited like a scheduled one. Quartz's TriggerJob would give
    /// it neither the retry policy nor, once the job has triggers in more than one group, the execution group.
    /// </summary>
    /// <param name="definedRetry">The definition's retry policy, for a schedule whose own trigger has completed (a
    /// one-time schedule that ran, or one past its end): a manual run of it is retried as its firings were.</param>
    public static ITrigger BuildRunNowTrigger(JobKey job, ITrigger? scheduleTrigger, string fallbackGroup, JobDataMap data, RetryView? definedRetry = null)
    {
        var builder = TriggerBuilder.Create()
            .ForJob(job)
            .UsingJobData(data)
            .StartNow()
            .WithSimpleSchedule(x => x.WithRepeatCount(0).WithMisfireInstruction(SimpleTriggerMisfireInstruction.FireNow))
            .WithExecutionGroup(scheduleTrigger?.ExecutionGroup ?? fallbackGroup);
        if (scheduleTrigger?.RetryPolicy is { } retry)
        {
            builder.WithRetryPolicy(retry);
        }
        else if (scheduleTrigger is null && definedRetry is { } defined)
        {
            builder.WithRetryPolicy(new RetrySpec(defined.MaxAttempts, defined.Backoff != "fixed", TimeSpan.FromSeconds(defined.InitialDelaySeconds),
                defined.MaxDelaySeconds is { } max ? TimeSpan.FromSeconds(max) : null).ToQuartz());
        }

        return builder.Build();
    }

    /// <summary>A trigger for preview only: same schedule, no job.</summary>
    public static ITrigger BuildPreviewTrigger(TriggerSpec trigger, DateTimeOffset now)
    {
        var builder = TriggerBuilder.Create().WithIdentity("preview", "preview");
        Configure(builder, trigger, MisfirePolicy.FireOnce, now, TimeSpan.Zero);
        return builder.Build();
    }

    public static IReadOnlyList<DateTimeOffset> NextFireTimes(ITrigger trigger, int count, DateTimeOffset after)
    {
        var times = new List<DateTimeOffset>(count);
        // The whole second before 'after' (fire times are whole seconds): Quartz's calendar-interval trigger rounds a
        // sub-second 'after' up to the next second, so a cursor one tick early would skip a fire time at 'after' itself.
        var cursor = after.AddTicks(-1);
        cursor = cursor.AddTicks(-(cursor.UtcTicks % TimeSpan.TicksPerSecond));
        while (times.Count < count && trigger.GetFireTimeAfter(cursor) is { } next)
        {
            if (trigger.EndTimeUtc is { } end && next > end)
            {
                break;
            }

            times.Add(next);
            cursor = next;
        }

        return times;
    }

    /// <param name="jitter">
    /// How much later than nominal every fire time is (<see cref="ScheduleJitter"/>): the start and the end move by it,
    /// and a cron expression's second, so the trigger's fire times are exactly the nominal ones plus it.
    /// </param>
    private static void Configure(TriggerBuilder<IJob> builder, TriggerSpec trigger, MisfirePolicy misfire, DateTimeOffset now, TimeSpan jitter)
    {
        // Fire times on whole seconds: the ledger keys runs per second (see RunLedger.KeyTime).
        var start = CeilingToSecond(trigger is OnceTriggerSpec once ? once.At : trigger.StartAt ?? now) + jitter;
        builder.StartAt(start);
        switch (trigger)
        {
            case CronTriggerSpec cron:
                builder.WithCronSchedule(jitter > TimeSpan.Zero ? ScheduleJitter.ShiftCron(cron.Expression, jitter) : cron.Expression, x =>
                {
                    x.InTimeZone(cron.TimeZone);
                    x.WithMisfireInstruction(CronMisfire(misfire));
                });
                break;
            case OnceTriggerSpec:
                builder.WithSimpleSchedule(x =>
                {
                    x.WithRepeatCount(0);
                    x.WithMisfireInstruction(OnceMisfire(misfire));
                });
                break;
            case IntervalTriggerSpec interval:
                // A calendar interval in seconds, not a simple trigger: Quartz computes its fire times from its start, so
                // a fire_once misfire (FireAndProceed) fires once now and goes on on the original grid, as a cron does.
                // A simple trigger's fire_once (NowWithRemainingCount) restarts it at the catch-up instant, and every later
                // fire time (and every past due time the occurrences compute) would move there for good.
                builder.WithSchedule(IntervalSchedule(interval.Interval, CalendarMisfire(misfire)));
                break;
            case CalendarTriggerSpec calendar:
                builder.WithCalendarIntervalSchedule(x =>
                {
                    x.WithInterval(calendar.Every, calendar.Unit)
                        .InTimeZone(calendar.TimeZone)
                        // "Every day at 09:00" stays 09:00 across a DST change.
                        .PreserveHourOfDayAcrossDaylightSavings(true)
                        .SkipDayIfHourDoesNotExist(false);
                    x.WithMisfireInstruction(CalendarMisfire(misfire));
                });
                break;
        }

        var end = trigger.EndAt + jitter;
        if (trigger is IntervalTriggerSpec { MaxRuns: { } runs } counted)
        {
            // Quartz counts repeats only for simple triggers; an interval's Nth fire time is arithmetic, so it ends after it.
            var cap = CountedEnd(start, counted.Interval, runs);
            end = end is null || cap < end ? cap : end;
        }
        else if (trigger.MaxRuns is { } maxRuns && trigger is CronTriggerSpec or CalendarTriggerSpec)
        {
            // Quartz counts repeats only for simple triggers; for the others the Nth fire time is computable, so end just after it.
            var probe = TriggerBuilder.Create();
            Configure(probe, trigger with { MaxRuns = null, EndAt = null }, misfire, now, jitter);
            var times = NextFireTimes(probe.Build(), maxRuns + 1, start);
            if (times.Count > maxRuns)
            {
                var last = times[maxRuns - 1];
                var cap = last + TimeSpan.FromTicks(Math.Min(TimeSpan.TicksPerSecond, (times[maxRuns] - last).Ticks / 2));
                end = end is null || cap < end ? cap : end;
            }
        }

        if (end is not null)
        {
            builder.EndAt(end);
        }
    }

    /// <summary>
    /// A repeating interval stored as a simple trigger (as every interval was before intervals kept their phase), as the
    /// calendar-interval trigger <see cref="BuildTrigger"/> makes of an interval today: the same key, job, data and firing
    /// settings, the same misfire policy, starting at its next fire time (rounded up to the whole second the ledger keys
    /// on), with the runs it has left as its end. Null for any other trigger (one-time, cron, calendar, already kept),
    /// for one with no next fire time (it has ended: restarted from its start it would run again, under <c>catch_up</c>
    /// every interval since) and for one whose end comes before its rounded-up next fire time (Quartz would refuse a
    /// trigger that never fires); such a trigger stays as it is.
    /// </summary>
    /// <remarks>
    /// Used only when a schedule is saved (<see cref="ContinueTrigger"/>), under the save's own replace. Nothing converts
    /// stored triggers at start-up: replacing a trigger other nodes may be firing or pausing at the same time could fire
    /// a due time twice or drop a pause, and a simple trigger left as it is still fires, only not phase-keeping.
    /// </remarks>
    public static ITrigger? PhaseKeeping(ITrigger trigger)
    {
        if (trigger is not ISimpleTrigger { RepeatCount: not 0, RepeatInterval: var interval } simple
            || interval < TimeSpan.FromSeconds(1) || interval.Ticks % TimeSpan.TicksPerSecond != 0
            || trigger.NextFireTimeUtc is not { } next)
        {
            return null;
        }

        var start = CeilingToSecond(next);
        var end = trigger.EndTimeUtc;
        if (end is { } stop && start > stop)
        {
            return null;
        }

        if (simple.RepeatCount > 0)
        {
            // It fires RepeatCount + 1 times in all; those not fired yet start at its next fire time.
            var left = simple.RepeatCount + 1 - simple.TimesTriggered;
            if (left <= 0)
            {
                return null;
            }

            var cap = CountedEnd(start, interval, left);
            end = end is null || cap < end ? cap : end;
        }

        var misfire = simple.MisfireInstruction switch
        {
            SimpleTriggerMisfireInstruction.IgnoreMisfires => MisfirePolicy.CatchUp,
            SimpleTriggerMisfireInstruction.NextWithRemainingCount or SimpleTriggerMisfireInstruction.NextWithExistingCount => MisfirePolicy.Skip,
            _ => MisfirePolicy.FireOnce,
        };
        var builder = trigger.GetTriggerBuilder().WithSchedule(IntervalSchedule(interval, CalendarMisfire(misfire))).StartAt(start);
        if (end is { } last)
        {
            builder.EndAt(last);
        }

        return builder.Build();
    }

    private static CalendarIntervalScheduleBuilder IntervalSchedule(TimeSpan interval, CalendarIntervalTriggerMisfireInstruction misfire) =>
        CalendarIntervalScheduleBuilder.Create()
            .WithInterval((int)(interval.Ticks / TimeSpan.TicksPerSecond), IntervalUnit.Second)
            // Seconds are the same in every zone; UTC names it so the host's zone plays no part.
            .InTimeZone(TimeZoneInfo.Utc)
            .WithMisfireInstruction(misfire);

    /// <summary>
    /// The end of an interval that fires <paramref name="runs"/> times from <paramref name="start"/>: just after the last
    /// (a second, or half an interval of one second). Quartz's calendar-interval trigger asks whether a fire time is
    /// before its end a second past the instant it is asked about, so a reader finds the last fire time by stepping from
    /// the whole second before it, as <see cref="NextFireTimes"/> does.
    /// </summary>
    private static DateTimeOffset CountedEnd(DateTimeOffset start, TimeSpan interval, int runs) =>
        start + (interval * (runs - 1)) + TimeSpan.FromTicks(Math.Min(TimeSpan.TicksPerSecond, interval.Ticks / 2));

    private static CronTriggerMisfireInstruction CronMisfire(MisfirePolicy misfire) => misfire switch
    {
        MisfirePolicy.CatchUp => CronTriggerMisfireInstruction.IgnoreMisfires,
        MisfirePolicy.Skip => CronTriggerMisfireInstruction.DoNothing,
        _ => CronTriggerMisfireInstruction.FireAndProceed,
    };

    /// <summary>A one-time trigger's (the only simple trigger a schedule gets; intervals are calendar intervals).</summary>
    private static SimpleTriggerMisfireInstruction OnceMisfire(MisfirePolicy misfire) => misfire switch
    {
        MisfirePolicy.CatchUp => SimpleTriggerMisfireInstruction.IgnoreMisfires,
        MisfirePolicy.Skip => SimpleTriggerMisfireInstruction.NextWithRemainingCount,
        _ => SimpleTriggerMisfireInstruction.FireNow,
    };

    private static CalendarIntervalTriggerMisfireInstruction CalendarMisfire(MisfirePolicy misfire) => misfire switch
    {
        MisfirePolicy.CatchUp => CalendarIntervalTriggerMisfireInstruction.IgnoreMisfires,
        MisfirePolicy.Skip => CalendarIntervalTriggerMisfireInstruction.DoNothing,
        _ => CalendarIntervalTriggerMisfireInstruction.FireAndProceed,
    };

    private static DateTimeOffset CeilingToSecond(DateTimeOffset time)
    {
        var remainder = time.UtcTicks % TimeSpan.TicksPerSecond;
        return remainder == 0 ? time.ToUniversalTime() : new DateTimeOffset(time.UtcTicks - remainder + TimeSpan.TicksPerSecond, TimeSpan.Zero);
    }

    /// <summary>
    /// The normalized schedule document kept in the job and returned by the API; <paramref name="startedAt"/> is when a
    /// trigger without a startAt starts, which a calendar interval's description names (its weekday and time).
    /// </summary>
    public static ScheduleDocument Document(ScheduleSpec spec, ScheduleRequest request, DateTimeOffset startedAt) => new(
        spec.Id,
        spec.Name,
        spec.Project,
        spec.Description,
        new ScheduleActionView(spec.ActionType, spec.Config.Clone()),
        TriggerView.From(request.Trigger),
        TriggerDescription.Describe(spec.Trigger, CeilingToSecond(startedAt)),
        new MisfireView(
            spec.Misfire switch { MisfirePolicy.CatchUp => "catch_up", MisfirePolicy.Skip => "skip", _ => "fire_once" },
            spec.MisfireThreshold is { } t ? (int)t.TotalSeconds : null),
        ScheduleOverlaps.Name(spec.Concurrency),
        spec.Retry is { } r
            ? new RetryView(r.MaxAttempts, r.Exponential ? "exponential" : "fixed", (int)r.InitialDelay.TotalSeconds, r.MaxDelay is { } md ? (int)md.TotalSeconds : null)
            : null,
        spec.Timeout is { } to ? (int)to.TotalSeconds : null,
        spec.ExecutionGroup)
    {
        JitterSeconds = spec.JitterSeconds,
        Deadline = spec.Deadline,
        ExpectSuccessEvery = spec.ExpectSuccessEvery,
    };
}

public static class ScheduleJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };
}
