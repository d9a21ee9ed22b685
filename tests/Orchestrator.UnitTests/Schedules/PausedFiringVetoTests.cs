using Orchestrator.Schedules;
using Orchestrator.Telemetry;
using Quartz;
using Quartz.Extensibility;
using Quartz.Impl.Calendar;
using Quartz.Impl.Triggers;

namespace Orchestrator.UnitTests.Schedules;

public sealed class PausedFiringVetoTests
{
    private static readonly DateTimeOffset T0 = new(2030, 1, 1, 9, 0, 0, TimeSpan.Zero);

    /// <summary>
    /// The pause's due times as Quartz fires them back to back after a resume shorter than the misfire threshold: each
    /// firing advances the trigger (Triggered, calendar applied) before the listener is asked, as in Quartz's firing path.
    /// </summary>
    private static List<DateTimeOffset> Ran(ITrigger built, ICalendar? calendar, DateTimeOffset resumedAt, string policy)
    {
        var trigger = (IOperableTrigger)built;
        trigger.ComputeFirstFireTimeUtc(calendar);
        var ran = new List<DateTimeOffset>();
        while (trigger.NextFireTimeUtc is { } scheduled && scheduled < resumedAt)
        {
            trigger.Triggered(calendar);
            if (!PausedFiringVeto.Vetoes(policy, trigger.NextFireTimeUtc, resumedAt))
            {
                ran.Add(scheduled);
            }
        }

        return ran;
    }

    private static ITrigger EveryTwoSeconds() => TriggerBuilder.Create().WithIdentity("s", "p").ForJob("s", "p").StartAt(T0)
        .WithCronSchedule("0/2 * * * * ?", x => x.InTimeZone(TimeZoneInfo.Utc)).Build();

    [Test]
    public void Fire_once_runs_only_the_pauses_last_due_time_skip_none_of_them()
    {
        // Paused 09:00:01 to 09:00:21 (shorter than any misfire threshold): due times 02, 04, …, 20 came while paused.
        var resumedAt = T0.AddSeconds(21);
        Assert.Multiple(() =>
        {
            Assert.That(Ran(EveryTwoSeconds(), null, resumedAt, OccurrenceOutcomes.Coalesced), Is.EqualTo(new[] { T0.AddSeconds(20) }));
            Assert.That(Ran(EveryTwoSeconds(), null, resumedAt, OccurrenceOutcomes.Skipped), Is.Empty);
        });
    }

    [Test]
    public void A_due_time_at_the_instant_of_the_resume_is_after_the_pause_so_the_one_before_it_is_the_last()
    {
        Assert.That(Ran(EveryTwoSeconds(), null, T0.AddSeconds(20), OccurrenceOutcomes.Coalesced), Is.EqualTo(new[] { T0.AddSeconds(18) }));
    }

    [Test]
    public void A_due_time_the_calendar_excludes_does_not_count_as_the_pauses_last()
    {
        // 09:00:20 is excluded by the trigger's calendar: 09:00:18 is the last due time of a pause that ended at 09:00:21.
        var calendar = new CronCalendar("20 * * * * ?") { TimeZone = TimeZoneInfo.Utc };
        Assert.That(Ran(EveryTwoSeconds(), calendar, T0.AddSeconds(21), OccurrenceOutcomes.Coalesced), Is.EqualTo(new[] { T0.AddSeconds(18) }));
    }

    [Test]
    public void A_one_time_trigger_due_during_the_pause_runs_under_fire_once_and_not_under_skip()
    {
        ITrigger Once() => TriggerBuilder.Create().WithIdentity("s", "p").ForJob("s", "p").StartAt(T0.AddSeconds(5)).WithSimpleSchedule().Build();
        Assert.Multiple(() =>
        {
            Assert.That(Ran(Once(), null, T0.AddSeconds(21), OccurrenceOutcomes.Coalesced), Is.EqualTo(new[] { T0.AddSeconds(5) }));
            Assert.That(Ran(Once(), null, T0.AddSeconds(21), OccurrenceOutcomes.Skipped), Is.Empty);
        });
    }

    [Test]
    public void A_catch_up_Quartz_made_from_a_misfire_runs_whatever_due_time_it_carries()
    {
        // Paused past the misfire threshold: Quartz's fire_once folds the pause into one firing, which may carry the first
        // missed due time (09:00:02) as its scheduled time; after it, the trigger's next fire time is past the resume. The
        // grid's next time after 09:00:02 is inside the pause, which must not make it "not the last" (it is the only one).
        var trigger = (CronTriggerImpl)EveryTwoSeconds();
        trigger.ComputeFirstFireTimeUtc(null);
        trigger.NextFireTimeUtc = T0.AddSeconds(21.3);
        trigger.Triggered(null);
        Assert.That(trigger.NextFireTimeUtc, Is.EqualTo(T0.AddSeconds(22)));
        Assert.That(PausedFiringVeto.Vetoes(OccurrenceOutcomes.Coalesced, trigger.NextFireTimeUtc, T0.AddSeconds(21)), Is.False);
    }

    private static SchedulePause Pause(DateTimeOffset from, DateTimeOffset? to, string? by = "admin") =>
        new() { ScheduleId = "p.s", PausedAt = from, ResumedAt = to, PausedBy = "admin", ResumedBy = to is null ? null : by, Source = "api" };

    private static bool Holds(SchedulePause pause, DateTimeOffset due) => PausedFiringVeto.Holding("p.s", due).Compile()(pause);

    [Test]
    public void A_resumed_pause_holds_its_due_times_up_to_a_clock_skew_before_the_resume()
    {
        var pause = Pause(T0, T0.AddSeconds(10));
        Assert.Multiple(() =>
        {
            Assert.That(Holds(pause, T0), Is.True, "due as the pause began");
            Assert.That(Holds(pause, T0.AddSeconds(9)), Is.True, "inside the pause");
            Assert.That(Holds(pause, T0.AddSeconds(10) - PausedFiringVeto.ClockSkew), Is.False, "within the skew before the resume: another node's clock");
            Assert.That(Holds(pause, T0.AddSeconds(10)), Is.False, "due at the resume");
            Assert.That(Holds(pause, T0.AddSeconds(-1)), Is.False, "due before the pause");
            Assert.That(PausedFiringVeto.Holding("p.other", T0.AddSeconds(5)).Compile()(pause), Is.False, "another schedule's pause");
        });
    }

    [Test]
    public void An_open_pause_and_one_closed_as_stale_hold_nothing()
    {
        Assert.Multiple(() =>
        {
            Assert.That(Holds(Pause(T0, null), T0.AddSeconds(5)), Is.False, "still open: a firing while pausing is a run");
            Assert.That(Holds(Pause(T0, T0.AddSeconds(90), SchedulePause.ClosedAsStale), T0.AddSeconds(5)), Is.False,
                "closed by housekeeping or the next pause: Quartz was never paused, a late (forbid-released) firing is a run");
            Assert.That(Holds(Pause(T0, T0.AddSeconds(90), "system"), T0.AddSeconds(5)), Is.True, "resumed by the system");
        });
    }

    [Test]
    public void Only_a_trigger_carrying_a_pause_end_after_the_due_time_may_be_held_so_only_it_asks_the_stored_pauses()
    {
        var marked = new JobDataMap { [PausedFiringVeto.ResumedAtKey] = T0.AddSeconds(10).UtcDateTime.ToString("O", System.Globalization.CultureInfo.InvariantCulture) };
        Assert.Multiple(() =>
        {
            Assert.That(PausedFiringVeto.MayBeHeld(new JobDataMap(), T0), Is.False, "never paused: no pause can hold it");
            Assert.That(PausedFiringVeto.MayBeHeld(marked, T0.AddSeconds(9)), Is.True, "due before the latest pause end");
            Assert.That(PausedFiringVeto.MayBeHeld(marked, T0.AddSeconds(10) - PausedFiringVeto.ClockSkew), Is.False,
                "within the skew before the pause end: no interval holds it either (Holding)");
            Assert.That(PausedFiringVeto.MayBeHeld(marked, T0.AddSeconds(11)), Is.False, "due after the latest pause end");
            Assert.That(PausedFiringVeto.EndedAt(marked), Is.EqualTo(T0.AddSeconds(10)));
        });
    }
}
