using System.Text.Json;
using Orchestrator.Schedules;
using Quartz;
using Quartz.Extensibility;

namespace Orchestrator.UnitTests.Schedules;

public sealed class ScheduleMappingTests
{
    private static readonly DateTimeOffset Now = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static ScheduleSpec Spec(TriggerSpec trigger, MisfirePolicy misfire = MisfirePolicy.FireOnce, RetrySpec? retry = null, string? group = null) =>
        new("default", "s", null, "call_api", JsonDocument.Parse("{}").RootElement, trigger, misfire, null, ScheduleOverlap.Forbid, retry, null, group, true);

    private static TriggerSpec Form(string form) => form switch
    {
        "cron" => new CronTriggerSpec("0 0 * * * ?", TimeZoneInfo.Utc, null, null, null),
        "interval" => new IntervalTriggerSpec(TimeSpan.FromMinutes(5), null, null, null),
        "once" => new OnceTriggerSpec(Now.AddHours(1)),
        "calendar" => new CalendarTriggerSpec(1, IntervalUnit.Day, TimeZoneInfo.Utc, null, null, null),
        _ => throw new ArgumentOutOfRangeException(nameof(form)),
    };

    [TestCase("cron", MisfirePolicy.FireOnce, (int)CronTriggerMisfireInstruction.FireAndProceed)]
    [TestCase("cron", MisfirePolicy.CatchUp, (int)CronTriggerMisfireInstruction.IgnoreMisfires)]
    [TestCase("cron", MisfirePolicy.Skip, (int)CronTriggerMisfireInstruction.DoNothing)]
    [TestCase("interval", MisfirePolicy.FireOnce, (int)CalendarIntervalTriggerMisfireInstruction.FireAndProceed)]
    [TestCase("interval", MisfirePolicy.CatchUp, (int)CalendarIntervalTriggerMisfireInstruction.IgnoreMisfires)]
    [TestCase("interval", MisfirePolicy.Skip, (int)CalendarIntervalTriggerMisfireInstruction.DoNothing)]
    [TestCase("once", MisfirePolicy.FireOnce, (int)SimpleTriggerMisfireInstruction.FireNow)]
    [TestCase("once", MisfirePolicy.CatchUp, (int)SimpleTriggerMisfireInstruction.IgnoreMisfires)]
    [TestCase("once", MisfirePolicy.Skip, (int)SimpleTriggerMisfireInstruction.NextWithRemainingCount)]
    [TestCase("calendar", MisfirePolicy.FireOnce, (int)CalendarIntervalTriggerMisfireInstruction.FireAndProceed)]
    [TestCase("calendar", MisfirePolicy.CatchUp, (int)CalendarIntervalTriggerMisfireInstruction.IgnoreMisfires)]
    [TestCase("calendar", MisfirePolicy.Skip, (int)CalendarIntervalTriggerMisfireInstruction.DoNothing)]
    public void Each_misfire_policy_maps_to_the_trigger_kinds_own_instruction(string form, MisfirePolicy policy, int instruction) =>
        Assert.That(ScheduleMapping.BuildTrigger(Spec(Form(form), policy), Now).MisfireInstructionCode, Is.EqualTo(instruction));

    [Test]
    public void A_calendar_interval_trigger_keeps_the_local_hour_across_a_DST_change()
    {
        var paris = TimeZoneInfo.FindSystemTimeZoneById("Europe/Paris");
        // 09:00 in Paris; summer time starts on 28 March 2027.
        var start = new DateTimeOffset(2027, 3, 26, 8, 0, 0, TimeSpan.Zero);
        var trigger = ScheduleMapping.BuildTrigger(Spec(new CalendarTriggerSpec(1, IntervalUnit.Day, paris, start, null, null)), start.AddDays(-1));

        Assert.That(trigger, Is.InstanceOf<ICalendarIntervalTrigger>());
        var calendar = (ICalendarIntervalTrigger)trigger;
        Assert.That((calendar.RepeatInterval, calendar.RepeatIntervalUnit), Is.EqualTo((1, IntervalUnit.Day)));
        Assert.That(ScheduleMapping.NextFireTimes(trigger, 4, start).Select(t => t.ToUniversalTime().Hour), Is.EqualTo(new[] { 8, 8, 7, 7 }));
    }

    [Test]
    public void A_calendar_interval_of_weeks_fires_on_the_same_weekday()
    {
        var start = new DateTimeOffset(2030, 1, 7, 6, 0, 0, TimeSpan.Zero); // a Monday
        var trigger = ScheduleMapping.BuildTrigger(Spec(new CalendarTriggerSpec(2, IntervalUnit.Week, TimeZoneInfo.Utc, start, null, null)), Now);
        var times = ScheduleMapping.NextFireTimes(trigger, 3, start);
        Assert.That(times, Is.EqualTo(new[] { start, start.AddDays(14), start.AddDays(28) }));
    }

    [Test]
    public void Max_runs_on_an_interval_trigger_ends_it_after_its_last_run()
    {
        var trigger = ScheduleMapping.BuildTrigger(Spec(new IntervalTriggerSpec(TimeSpan.FromMinutes(1), Now, null, 3)), Now);
        Assert.That(trigger.EndTimeUtc, Is.EqualTo(Now.AddMinutes(2).AddSeconds(1)));
        Assert.That(ScheduleMapping.NextFireTimes(trigger, 10, Now), Is.EqualTo(new[] { Now, Now.AddMinutes(1), Now.AddMinutes(2) }));
    }

    [TestCase("cron")]
    [TestCase("calendar")]
    public void Max_runs_on_cron_and_calendar_triggers_ends_them_after_the_last_run(string form)
    {
        TriggerSpec spec = form == "cron"
            ? new CronTriggerSpec("0 0 * * * ?", TimeZoneInfo.Utc, Now, null, 3)
            : new CalendarTriggerSpec(1, IntervalUnit.Hour, TimeZoneInfo.Utc, Now, null, 3);
        var trigger = ScheduleMapping.BuildTrigger(Spec(spec), Now);
        Assert.That(ScheduleMapping.NextFireTimes(trigger, 10, Now), Is.EqualTo(new[] { Now, Now.AddHours(1), Now.AddHours(2) }));
        Assert.That(trigger.EndTimeUtc, Is.GreaterThan(Now.AddHours(2)).And.LessThan(Now.AddHours(3)));
    }

    [TestCase("cron")]
    [TestCase("interval")]
    [TestCase("calendar")]
    public void End_at_stops_every_recurring_form(string form)
    {
        var end = Now.AddHours(3).AddMinutes(30);
        TriggerSpec spec = form switch
        {
            "cron" => new CronTriggerSpec("0 0 * * * ?", TimeZoneInfo.Utc, Now, end, null),
            "interval" => new IntervalTriggerSpec(TimeSpan.FromHours(1), Now, end, null),
            _ => new CalendarTriggerSpec(1, IntervalUnit.Hour, TimeZoneInfo.Utc, Now, end, null),
        };
        var trigger = ScheduleMapping.BuildTrigger(Spec(spec), Now);
        Assert.That(trigger.EndTimeUtc, Is.EqualTo(end));
        Assert.That(ScheduleMapping.NextFireTimes(trigger, 10, Now), Has.Count.EqualTo(4));
    }

    [Test]
    public void Max_runs_on_a_daily_calendar_trigger_counts_its_first_fire_time()
    {
        // Regression: the fire-time walk skipped a calendar trigger's start, so maxRuns allowed one run too many.
        var start = new DateTimeOffset(2030, 1, 7, 6, 0, 0, TimeSpan.Zero);
        var trigger = ScheduleMapping.BuildTrigger(Spec(new CalendarTriggerSpec(1, IntervalUnit.Day, TimeZoneInfo.Utc, start, null, 2)), Now);
        Assert.That(trigger.EndTimeUtc, Is.LessThan(start.AddDays(2)));
        Assert.That(ScheduleMapping.NextFireTimes(trigger, 10, start), Is.EqualTo(new[] { start, start.AddDays(1) }));
    }

    [Test]
    public void A_max_runs_and_an_earlier_end_at_stop_at_whichever_comes_first()
    {
        var trigger = ScheduleMapping.BuildTrigger(Spec(new CronTriggerSpec("0 0 * * * ?", TimeZoneInfo.Utc, Now, Now.AddMinutes(90), 5)), Now);
        Assert.That(ScheduleMapping.NextFireTimes(trigger, 10, Now), Has.Count.EqualTo(2));
    }

    [Test]
    public void A_continued_trigger_keeps_its_next_fire_time_phase_and_runs_left_with_the_new_settings()
    {
        var original = ScheduleMapping.BuildTrigger(Spec(new IntervalTriggerSpec(TimeSpan.FromMinutes(10), Now.AddSeconds(7), null, 5)), Now);
        var operable = (IOperableTrigger)original;
        operable.ComputeFirstFireTimeUtc(null);
        operable.Triggered(null);
        operable.Triggered(null);
        var remaining = ScheduleMapping.NextFireTimes(original, 10, original.NextFireTimeUtc!.Value);
        Assert.That(remaining, Has.Count.EqualTo(3), "five runs, two fired");

        var retry = new RetrySpec(3, false, TimeSpan.FromSeconds(5), null);
        var continued = ScheduleMapping.ContinueTrigger(original,
            Spec(new IntervalTriggerSpec(TimeSpan.FromMinutes(10), null, null, 5), MisfirePolicy.Skip, retry, "reports"));

        Assert.That(continued.Key, Is.EqualTo(original.Key));
        Assert.That(continued.StartTimeUtc, Is.EqualTo(original.NextFireTimeUtc));
        Assert.That(ScheduleMapping.NextFireTimes(continued, 10, continued.StartTimeUtc), Is.EqualTo(remaining));
        Assert.That(continued.MisfireInstructionCode, Is.EqualTo((int)CalendarIntervalTriggerMisfireInstruction.DoNothing));
        Assert.That(continued.RetryPolicy?.ToString(), Is.EqualTo(retry.ToQuartz().ToString()));
        Assert.That(continued.ExecutionGroup, Is.EqualTo("reports"));
    }

    [Test]
    public void An_interval_every_second_with_max_runs_fires_them_all_and_its_last_is_still_a_fire_time_seen_from_just_before()
    {
        var trigger = ScheduleMapping.BuildTrigger(Spec(new IntervalTriggerSpec(TimeSpan.FromSeconds(1), Now, null, 3)), Now);
        var last = Now.AddSeconds(2);
        Assert.That(ScheduleMapping.NextFireTimes(trigger, 10, Now), Is.EqualTo(new[] { Now, Now.AddSeconds(1), last }));
        Assert.That(Orchestrator.Telemetry.OccurrenceOutcomes.IsDueTime(trigger, last, last.AddSeconds(-1)), Is.True, "the counter's due-time check");
        Assert.That(Orchestrator.Telemetry.OccurrenceOutcomes.IsDueTime(trigger, last.AddMilliseconds(300), last.AddSeconds(-1)), Is.False, "a catch-up at an instant");
        Assert.That(trigger.GetFireTimeAfter(last), Is.Null);
    }

    [Test]
    public void An_interval_trigger_computes_its_fire_times_from_its_start_so_a_catch_up_at_any_instant_keeps_the_grid()
    {
        // Hourly at :17:00; a fire_once catch-up (Quartz's FireAndProceed fires at "now") at 03:25:13.4.
        var start = Now.AddMinutes(17);
        var trigger = ScheduleMapping.BuildTrigger(Spec(new IntervalTriggerSpec(TimeSpan.FromHours(1), start, null, null)), Now);
        Assert.That(trigger, Is.InstanceOf<ICalendarIntervalTrigger>());
        Assert.That(((ICalendarIntervalTrigger)trigger).RepeatIntervalUnit, Is.EqualTo(IntervalUnit.Second));
        var catchUp = Now.AddHours(3).AddMinutes(25).AddSeconds(13.4);
        Assert.That(trigger.GetFireTimeAfter(catchUp), Is.EqualTo(Now.AddHours(4).AddMinutes(17)), "the next fire time after the catch-up is on the original grid");
        Assert.That(ScheduleMapping.NextFireTimes(trigger, 3, start), Is.EqualTo(new[] { start, start.AddHours(1), start.AddHours(2) }));
    }

    [TestCase(SimpleTriggerMisfireInstruction.NowWithRemainingCount, (int)CalendarIntervalTriggerMisfireInstruction.FireAndProceed)]
    [TestCase(SimpleTriggerMisfireInstruction.IgnoreMisfires, (int)CalendarIntervalTriggerMisfireInstruction.IgnoreMisfires)]
    [TestCase(SimpleTriggerMisfireInstruction.NextWithRemainingCount, (int)CalendarIntervalTriggerMisfireInstruction.DoNothing)]
    public void A_stored_simple_interval_trigger_becomes_the_calendar_interval_it_would_be_built_as_from_its_next_fire_time(
        SimpleTriggerMisfireInstruction stored, int expected)
    {
        // As an interval with maxRuns 5 was stored before intervals kept their phase: restarted at a catch-up 00:00:02.3.
        var legacy = TriggerBuilder.Create().WithIdentity("s", "default").ForJob("s", "default").StartAt(Now.AddSeconds(2.3))
            .WithSimpleSchedule(x => x.WithInterval(TimeSpan.FromMinutes(10)).WithRepeatCount(4).WithMisfireInstruction(stored))
            .WithMisfireThreshold(TimeSpan.FromSeconds(1)).WithExecutionGroup("reports").Build();
        var operable = (IOperableTrigger)legacy;
        operable.ComputeFirstFireTimeUtc(null);
        operable.Triggered(null);
        operable.Triggered(null);

        var kept = ScheduleMapping.PhaseKeeping(legacy)!;

        Assert.That(kept, Is.InstanceOf<ICalendarIntervalTrigger>());
        Assert.That(kept.MisfireInstructionCode, Is.EqualTo(expected));
        Assert.That((kept.Key, kept.JobKey, kept.ExecutionGroup, kept.MisfireThreshold), Is.EqualTo((legacy.Key, legacy.JobKey, "reports", (TimeSpan?)TimeSpan.FromSeconds(1))));
        var third = Now.AddMinutes(20).AddSeconds(3);
        Assert.That(kept.StartTimeUtc, Is.EqualTo(third), "its next fire time, rounded up to the whole second the ledger keys on");
        Assert.That(ScheduleMapping.NextFireTimes(kept, 10, kept.StartTimeUtc), Is.EqualTo(new[] { third, third.AddMinutes(10), third.AddMinutes(20) }), "five runs, two fired");
        Assert.That(ScheduleMapping.PhaseKeeping(kept), Is.Null, "converting is done once");
        Assert.That(ScheduleMapping.PhaseKeeping(ScheduleMapping.BuildTrigger(Spec(Form("once")), Now)), Is.Null, "a one-time trigger stays simple");
    }

    [Test]
    public void A_stored_simple_interval_trigger_with_no_next_fire_time_is_not_converted()
    {
        // Ended (COMPLETE): converted from its start it would run again, under catch_up every interval since.
        var ended = TriggerBuilder.Create().WithIdentity("s", "default").ForJob("s", "default").StartAt(Now.AddSeconds(2))
            .WithSimpleSchedule(x => x.WithInterval(TimeSpan.FromMinutes(10)).WithRepeatCount(1).WithMisfireInstruction(SimpleTriggerMisfireInstruction.IgnoreMisfires)).Build();
        var operable = (IOperableTrigger)ended;
        operable.ComputeFirstFireTimeUtc(null);
        operable.Triggered(null);
        operable.Triggered(null);
        Assert.That(ended.NextFireTimeUtc, Is.Null, "fired both of its runs");

        Assert.That(ScheduleMapping.PhaseKeeping(ended), Is.Null);
    }

    [Test]
    public void A_stored_simple_interval_trigger_ending_before_its_rounded_up_next_fire_time_is_not_converted()
    {
        // Next fire time 00:00:02.3, end 00:00:02.8: the calendar interval would start at 00:00:03, after its end,
        // which Quartz refuses to store (it would never fire), so the simple trigger stays and fires its last run.
        var last = Now.AddSeconds(2.3);
        var ending = TriggerBuilder.Create().WithIdentity("s", "default").ForJob("s", "default").StartAt(last).EndAt(last.AddSeconds(0.5))
            .WithSimpleSchedule(x => x.WithInterval(TimeSpan.FromMinutes(10)).RepeatForever()).Build();
        ((IOperableTrigger)ending).ComputeFirstFireTimeUtc(null);
        Assert.That(ending.NextFireTimeUtc, Is.EqualTo(last));

        Assert.That(ScheduleMapping.PhaseKeeping(ending), Is.Null);
        Assert.That(ScheduleMapping.ContinueTrigger(ending, Spec(new IntervalTriggerSpec(TimeSpan.FromMinutes(10), null, null, null))), Is.InstanceOf<ISimpleTrigger>(),
            "saved, it goes on as it was");
    }

    [Test]
    public void A_continued_stored_simple_interval_trigger_keeps_its_phase_as_a_calendar_interval()
    {
        var legacy = TriggerBuilder.Create().WithIdentity("s", "default").ForJob("s", "default").StartAt(Now.AddSeconds(7))
            .WithSimpleSchedule(x => x.WithInterval(TimeSpan.FromMinutes(10)).RepeatForever().WithMisfireInstruction(SimpleTriggerMisfireInstruction.NowWithRemainingCount)).Build();
        ((IOperableTrigger)legacy).ComputeFirstFireTimeUtc(null);

        var continued = ScheduleMapping.ContinueTrigger(legacy, Spec(new IntervalTriggerSpec(TimeSpan.FromMinutes(10), null, null, null)));

        Assert.That(continued, Is.InstanceOf<ICalendarIntervalTrigger>());
        Assert.That(continued.MisfireInstructionCode, Is.EqualTo((int)CalendarIntervalTriggerMisfireInstruction.FireAndProceed));
        Assert.That(continued.GetFireTimeAfter(Now.AddHours(1).AddSeconds(30.5)), Is.EqualTo(Now.AddHours(1).AddMinutes(10).AddSeconds(7)));
    }

    [Test]
    public void A_continued_cron_trigger_keeps_its_end()
    {
        var original = ScheduleMapping.BuildTrigger(Spec(new CronTriggerSpec("0 0 * * * ?", TimeZoneInfo.Utc, Now, null, 3)), Now);
        ((IOperableTrigger)original).ComputeFirstFireTimeUtc(null);
        ((IOperableTrigger)original).Triggered(null);

        var continued = ScheduleMapping.ContinueTrigger(original, Spec(new CronTriggerSpec("0 0 * * * ?", TimeZoneInfo.Utc, Now, null, 3), MisfirePolicy.CatchUp));

        Assert.That(continued.EndTimeUtc, Is.EqualTo(original.EndTimeUtc));
        Assert.That(ScheduleMapping.NextFireTimes(continued, 10, continued.StartTimeUtc), Is.EqualTo(new[] { Now.AddHours(1), Now.AddHours(2) }));
        Assert.That(continued.MisfireInstructionCode, Is.EqualTo((int)CronTriggerMisfireInstruction.IgnoreMisfires));
    }

    [Test]
    public void A_run_now_trigger_carries_the_schedule_triggers_retry_policy_and_execution_group()
    {
        var retry = new RetrySpec(3, true, TimeSpan.FromSeconds(2), TimeSpan.FromMinutes(1));
        var schedule = ScheduleMapping.BuildTrigger(Spec(Form("cron"), retry: retry, group: "reports"), Now);
        var job = new JobKey("s", "default");

        var runNow = ScheduleMapping.BuildRunNowTrigger(job, schedule, "call_api", new JobDataMap { ["k"] = "v" });

        Assert.That(runNow.JobKey, Is.EqualTo(job));
        Assert.That(runNow.Key, Is.Not.EqualTo(schedule.Key));
        Assert.That(runNow.RetryPolicy, Is.Not.Null);
        Assert.That(runNow.RetryPolicy!.ToString(), Is.EqualTo(schedule.RetryPolicy!.ToString()));
        Assert.That(runNow.ExecutionGroup, Is.EqualTo("reports"));
        Assert.That(runNow.JobDataMap.GetString("k"), Is.EqualTo("v"));
        Assert.That(ScheduleMapping.BuildRunNowTrigger(job, null, "call_api", new JobDataMap()).ExecutionGroup, Is.EqualTo("call_api"),
            "without the schedule's trigger, the group the caller resolved from the schedule");
    }
}
