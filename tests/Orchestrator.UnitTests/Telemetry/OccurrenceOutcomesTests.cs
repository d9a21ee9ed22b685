using Orchestrator.Runs;
using Orchestrator.Schedules;
using Orchestrator.Telemetry;
using Quartz;

namespace Orchestrator.UnitTests.Telemetry;

public sealed class OccurrenceOutcomesTests
{
    private static readonly DateTimeOffset T0 = new(2030, 1, 1, 9, 0, 0, TimeSpan.Zero);

    private static ITrigger Cron(string expression, CronTriggerMisfireInstruction misfire = CronTriggerMisfireInstruction.FireAndProceed, DateTimeOffset? end = null)
    {
        var builder = TriggerBuilder.Create().WithIdentity("s", "p").ForJob("s", "p").StartAt(T0)
            .WithCronSchedule(expression, x => x.InTimeZone(TimeZoneInfo.Utc).WithMisfireInstruction(misfire));
        if (end is { } e)
        {
            builder.EndAt(e);
        }

        return builder.Build();
    }

    [TestCase(0, "on_time")]
    [TestCase(999, "on_time")]
    [TestCase(1000, "on_time")]
    [TestCase(1000.9, "on_time")]
    [TestCase(1001, "late")]
    [TestCase(60_000, "late")]
    [TestCase(-250, "on_time")]
    public void Lateness_is_on_time_up_to_the_timelines_tolerance_in_whole_milliseconds(double lateByMs, string expected) =>
        Assert.That(OccurrenceOutcomes.ForLateness(TimeSpan.FromMilliseconds(lateByMs)), Is.EqualTo(expected));

    [Test]
    public void The_counter_and_the_timeline_call_the_same_start_on_time_or_late()
    {
        // A run of the timeline started that long after its due time: the timeline's Late flag and the counter's word agree.
        foreach (var ms in new[] { 0, 400, 1000, 1001, 1500, 30_000 })
        {
            var started = T0.AddMilliseconds(ms);
            var run = new OccurrenceRun(Guid.NewGuid(), T0, started, RunStatus.Succeeded, RunTrigger.Schedule, 1, null);
            var occurrence = OccurrenceTimeline.Classify([T0], [run], [], (DateTimeOffset?)null, MisfirePolicy.FireOnce, T0.AddHours(1)).Single();
            Assert.That(OccurrenceOutcomes.ForLateness(started - T0), Is.EqualTo(occurrence.Late ? "late" : "on_time"), $"{ms} ms");
        }
    }

    [Test]
    public void A_misfire_stands_for_every_due_time_from_the_first_missed_up_to_when_it_was_handled()
    {
        var everyFiveSeconds = Cron("0/5 * * * * ?");
        Assert.Multiple(() =>
        {
            Assert.That(OccurrenceOutcomes.DueTimesMissed(everyFiveSeconds, T0.AddSeconds(10), T0.AddSeconds(10)), Is.EqualTo(1), "only the first");
            Assert.That(OccurrenceOutcomes.DueTimesMissed(everyFiveSeconds, T0.AddSeconds(10), T0.AddSeconds(24.9)), Is.EqualTo(3), ":10, :15, :20");
            Assert.That(OccurrenceOutcomes.DueTimesMissed(everyFiveSeconds, T0.AddSeconds(10), T0.AddSeconds(25)), Is.EqualTo(4), "a due time at the instant is missed too");
            Assert.That(OccurrenceOutcomes.DueTimesMissed(everyFiveSeconds, T0.AddSeconds(10), T0.AddSeconds(9)), Is.Zero, "nothing is missed before it is due");
        });
    }

    [Test]
    public void A_misfire_stops_counting_at_the_triggers_end_and_at_the_cap()
    {
        var ending = Cron("* * * * * ?", end: T0.AddSeconds(4));
        Assert.That(OccurrenceOutcomes.DueTimesMissed(ending, T0.AddSeconds(1), T0.AddMinutes(5)), Is.EqualTo(4), ":01 to :04, the end");

        var everySecond = Cron("* * * * * ?");
        Assert.That(OccurrenceOutcomes.DueTimesMissed(everySecond, T0, T0.AddYears(1)), Is.EqualTo(OccurrenceOutcomes.MaxFolded));
    }

    [Test]
    public void An_interval_triggers_misfire_counts_its_own_fire_times()
    {
        var interval = TriggerBuilder.Create().WithIdentity("s", "p").ForJob("s", "p").StartAt(T0)
            .WithSimpleSchedule(x => x.WithInterval(TimeSpan.FromSeconds(3)).RepeatForever().WithMisfireInstruction(SimpleTriggerMisfireInstruction.NowWithRemainingCount)).Build();
        Assert.That(OccurrenceOutcomes.DueTimesMissed(interval, T0.AddSeconds(3), T0.AddSeconds(10)), Is.EqualTo(3), ":03, :06, :09");
    }

    [Test]
    public void Each_misfire_policys_instruction_names_its_outcome()
    {
        Assert.Multiple(() =>
        {
            // fire_once, skip and catch_up as ScheduleMapping gives them to each trigger family.
            Assert.That(OccurrenceOutcomes.ForMisfire(Cron("* * * * * ?", CronTriggerMisfireInstruction.FireAndProceed)), Is.EqualTo(("coalesced", (string?)null)));
            Assert.That(OccurrenceOutcomes.ForMisfire(Cron("* * * * * ?", CronTriggerMisfireInstruction.DoNothing)), Is.EqualTo(("skipped", (string?)"misfire_policy")));
            Assert.That(OccurrenceOutcomes.ForMisfire(Cron("* * * * * ?", CronTriggerMisfireInstruction.IgnoreMisfires)), Is.Null);

            ITrigger Simple(SimpleTriggerMisfireInstruction misfire) => TriggerBuilder.Create().WithIdentity("s", "p").ForJob("s", "p").StartAt(T0)
                .WithSimpleSchedule(x => x.WithInterval(TimeSpan.FromSeconds(3)).RepeatForever().WithMisfireInstruction(misfire)).Build();
            Assert.That(OccurrenceOutcomes.ForMisfire(Simple(SimpleTriggerMisfireInstruction.NowWithRemainingCount)), Is.EqualTo(("coalesced", (string?)null)));
            Assert.That(OccurrenceOutcomes.ForMisfire(Simple(SimpleTriggerMisfireInstruction.FireNow)), Is.EqualTo(("coalesced", (string?)null)));
            Assert.That(OccurrenceOutcomes.ForMisfire(Simple(SimpleTriggerMisfireInstruction.NextWithRemainingCount)), Is.EqualTo(("skipped", (string?)"misfire_policy")));
            Assert.That(OccurrenceOutcomes.ForMisfire(Simple(SimpleTriggerMisfireInstruction.IgnoreMisfires)), Is.Null);

            ITrigger Calendar(CalendarIntervalTriggerMisfireInstruction misfire) => TriggerBuilder.Create().WithIdentity("s", "p").ForJob("s", "p").StartAt(T0)
                .WithCalendarIntervalSchedule(x => x.WithInterval(1, IntervalUnit.Day).WithMisfireInstruction(misfire)).Build();
            Assert.That(OccurrenceOutcomes.ForMisfire(Calendar(CalendarIntervalTriggerMisfireInstruction.FireAndProceed)), Is.EqualTo(("coalesced", (string?)null)));
            Assert.That(OccurrenceOutcomes.ForMisfire(Calendar(CalendarIntervalTriggerMisfireInstruction.DoNothing)), Is.EqualTo(("skipped", (string?)"misfire_policy")));
            Assert.That(OccurrenceOutcomes.ForMisfire(Calendar(CalendarIntervalTriggerMisfireInstruction.IgnoreMisfires)), Is.Null);
        });
    }

    [Test]
    public void A_fire_once_catch_up_at_the_instant_its_misfire_was_handled_is_no_due_time()
    {
        var everyFiveSeconds = Cron("0/5 * * * * ?");
        Assert.Multiple(() =>
        {
            Assert.That(OccurrenceOutcomes.IsDueTime(everyFiveSeconds, T0.AddSeconds(15), T0.AddSeconds(10)), Is.True);
            Assert.That(OccurrenceOutcomes.IsDueTime(everyFiveSeconds, T0.AddSeconds(17.345), T0.AddSeconds(10)), Is.False, "a catch-up fired when the misfire was handled");
            Assert.That(OccurrenceOutcomes.IsDueTime(everyFiveSeconds, T0.AddSeconds(16), T0.AddSeconds(10)), Is.False);
        });

        // An interval trigger's fire_once restarts it at the instant the misfire was handled (Quartz's own update).
        var handledAt = T0.AddSeconds(20.5);
        var interval = (Quartz.Extensibility.IMutableTrigger)TriggerBuilder.Create().WithIdentity("s", "p").ForJob("s", "p").StartAt(T0)
            .WithSimpleSchedule(x => x.WithInterval(TimeSpan.FromSeconds(3)).RepeatForever().WithMisfireInstruction(SimpleTriggerMisfireInstruction.NowWithRemainingCount)).Build();
        Assert.Multiple(() =>
        {
            Assert.That(OccurrenceOutcomes.IsDueTime(interval, T0, null), Is.True, "its first fire time");
            Assert.That(OccurrenceOutcomes.IsDueTime(interval, T0.AddSeconds(3), T0), Is.True);
        });
        interval.StartTimeUtc = handledAt;
        Assert.Multiple(() =>
        {
            Assert.That(OccurrenceOutcomes.IsDueTime(interval, handledAt, T0.AddSeconds(3)), Is.False, "the catch-up at its new start");
            Assert.That(OccurrenceOutcomes.IsDueTime(interval, handledAt.AddSeconds(3), handledAt), Is.True, "the fire times after it");
        });
    }

    [Test]
    public void A_misfire_applied_at_a_resume_counts_the_paused_due_times_as_the_route_does()
    {
        // Five due times came while paused: fire_once's catch-up at the resume runs the first (counted as it runs, late),
        // the rest are skipped as paused; skip leaves all five skipped as paused; catch_up runs each (counted as they run).
        Assert.Multiple(() =>
        {
            Assert.That(OccurrenceOutcomes.ForResume(Cron("* * * * * ?"), 5),
                Is.EqualTo(new[] { ("skipped", (string?)"paused", 4) }));
            Assert.That(OccurrenceOutcomes.ForResume(Cron("* * * * * ?", CronTriggerMisfireInstruction.DoNothing), 5),
                Is.EqualTo(new[] { ("skipped", (string?)"paused", 5) }));
            Assert.That(OccurrenceOutcomes.ForResume(Cron("* * * * * ?", CronTriggerMisfireInstruction.IgnoreMisfires), 5), Is.Null);
            Assert.That(OccurrenceOutcomes.ForResume(Cron("* * * * * ?"), 0), Is.Empty);
        });
    }

    [Test]
    public void An_attempt_stopped_by_a_shutdown_is_its_due_times_outcome_unless_its_job_resumes_after_one()
    {
        Assert.Multiple(() =>
        {
            Assert.That(OccurrenceOutcomes.WillBeRecovered(shuttingDown: true, resumesAfterShutdown: false), Is.False, "an action job: interrupted, never resumed");
            Assert.That(OccurrenceOutcomes.WillBeRecovered(shuttingDown: true, resumesAfterShutdown: true), Is.True, "a pipeline: its recovery counts");
            Assert.That(OccurrenceOutcomes.WillBeRecovered(shuttingDown: false, resumesAfterShutdown: true), Is.False);
        });
    }

    [Test]
    public void A_long_misfire_is_counted_without_walking_every_fire_time()
    {
        // An interval trigger by arithmetic, bounded by its repeat count; a cron trigger walked a little, then in one step.
        var interval = TriggerBuilder.Create().WithIdentity("s", "p").ForJob("s", "p").StartAt(T0)
            .WithSimpleSchedule(x => x.WithInterval(TimeSpan.FromSeconds(1)).RepeatForever()).Build();
        var bounded = TriggerBuilder.Create().WithIdentity("s", "p").ForJob("s", "p").StartAt(T0)
            .WithSimpleSchedule(x => x.WithInterval(TimeSpan.FromSeconds(1)).WithRepeatCount(99)).Build();
        var walked = new CountingCronTrigger { CronExpressionString = "* * * * * ?", TimeZone = TimeZoneInfo.Utc, StartTimeUtc = T0 };
        Assert.Multiple(() =>
        {
            Assert.That(OccurrenceOutcomes.DueTimesMissed(interval, T0.AddSeconds(5), T0.AddSeconds(3605.5)), Is.EqualTo(3601));
            Assert.That(OccurrenceOutcomes.DueTimesMissed(bounded, T0.AddSeconds(5), T0.AddHours(1)), Is.EqualTo(95), ":05 to the 100th fire time, :99");
            Assert.That(OccurrenceOutcomes.DueTimesMissed(walked, T0, T0.AddHours(1)), Is.EqualTo(3601));
            Assert.That(walked.Calls, Is.LessThanOrEqualTo(OccurrenceOutcomes.MaxWalked + 1), "fire times walked under the store's lock");
        });
    }

    /// <summary>A cron trigger that counts how often it is asked for a fire time.</summary>
    private sealed class CountingCronTrigger : Quartz.Impl.Triggers.CronTriggerImpl
    {
        public int Calls { get; private set; }

        public override DateTimeOffset? GetFireTimeAfter(DateTimeOffset? afterTime)
        {
            Calls++;
            return base.GetFireTimeAfter(afterTime);
        }
    }

    [Test]
    public void Only_a_schedules_own_trigger_has_due_times()
    {
        Assert.Multiple(() =>
        {
            Assert.That(OccurrenceOutcomes.IsScheduleTrigger(new TriggerKey("nightly", "billing"), new JobKey("nightly", "billing")), Is.True);
            Assert.That(OccurrenceOutcomes.IsScheduleTrigger(new TriggerKey("run-now-1", "billing"), new JobKey("nightly", "billing")), Is.False, "a run-now or backfill trigger");
            Assert.That(OccurrenceOutcomes.IsScheduleTrigger(new TriggerKey("housekeeping", "_system"), new JobKey("housekeeping", "_system")), Is.False, "a system job");
        });
    }

    [Test]
    public void A_catch_up_is_told_from_the_firing_alone_by_the_triggers_grid_jitter_included()
    {
        // Every 2 s, moved 1 s later by jitter (ScheduleJitter shifts the cron's second): its grid is the odd seconds.
        var jittered = Cron("1/2 * * * * ?");
        var calendar = TriggerBuilder.Create().WithIdentity("s", "p").ForJob("s", "p").StartAt(T0.AddSeconds(1))
            .WithCalendarIntervalSchedule(x => x.WithInterval(2, IntervalUnit.Second)).Build();
        Assert.Multiple(() =>
        {
            Assert.That(OccurrenceOutcomes.IsOnGrid(jittered, T0.AddSeconds(5)), Is.True);
            Assert.That(OccurrenceOutcomes.IsOnGrid(jittered, T0.AddSeconds(4)), Is.False, "the unjittered grid is not the trigger's");
            Assert.That(OccurrenceOutcomes.IsDueTime(jittered, T0.AddSeconds(6.42), T0.AddSeconds(5)), Is.False, "fire_once's catch-up at the instant of the misfire");
            Assert.That(OccurrenceOutcomes.IsDueTime(calendar, T0.AddSeconds(7), T0.AddSeconds(5)), Is.True);
            Assert.That(OccurrenceOutcomes.IsDueTime(calendar, T0.AddSeconds(8.001), T0.AddSeconds(7)), Is.False, "a calendar-interval trigger's catch-up");
        });

        // A simple trigger whose fire_once keeps its phase fires the catch-up once at the instant, off its grid.
        var phased = TriggerBuilder.Create().WithIdentity("s", "p").ForJob("s", "p").StartAt(T0)
            .WithSimpleSchedule(x => x.WithInterval(TimeSpan.FromSeconds(3)).RepeatForever()).Build();
        Assert.Multiple(() =>
        {
            Assert.That(OccurrenceOutcomes.IsDueTime(phased, T0.AddSeconds(9), T0.AddSeconds(6)), Is.True);
            Assert.That(OccurrenceOutcomes.IsDueTime(phased, T0.AddSeconds(10.25), T0.AddSeconds(6)), Is.False);
        });

        // A one-time trigger and the last firing of a counted one, which Quartz's GetFireTimeAfter no longer answers for.
        var once = (Quartz.Extensibility.IOperableTrigger)TriggerBuilder.Create().WithIdentity("s", "p").ForJob("s", "p").StartAt(T0).WithSimpleSchedule().Build();
        var threeRuns = (Quartz.Extensibility.IOperableTrigger)TriggerBuilder.Create().WithIdentity("s", "p").ForJob("s", "p").StartAt(T0)
            .WithSimpleSchedule(x => x.WithInterval(TimeSpan.FromSeconds(1)).WithRepeatCount(2)).Build();
        once.ComputeFirstFireTimeUtc(null);
        once.Triggered(null);
        threeRuns.ComputeFirstFireTimeUtc(null);
        for (var i = 0; i < 3; i++)
        {
            threeRuns.Triggered(null);
        }

        Assert.Multiple(() =>
        {
            Assert.That(OccurrenceOutcomes.IsDueTime(once, T0, null), Is.True, "a one-time trigger's firing, after it fired");
            Assert.That(OccurrenceOutcomes.IsDueTime(once, T0.AddSeconds(3.5), null), Is.False, "fire_once's catch-up of a one-time trigger");
            Assert.That(threeRuns.GetFireTimeAfter(T0.AddSeconds(2).AddTicks(-1)), Is.Null, "Quartz has no fire time left to answer with");
            Assert.That(OccurrenceOutcomes.IsDueTime(threeRuns, T0.AddSeconds(2), T0.AddSeconds(1)), Is.True, "the last of three");
        });
    }
}
