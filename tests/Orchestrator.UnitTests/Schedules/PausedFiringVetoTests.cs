using Orchestrator.Schedules;
using Orchestrator.Telemetry;
using Quartz;
using Quartz.Impl.Calendar;

namespace Orchestrator.UnitTests.Schedules;

public sealed class PausedFiringVetoTests
{
    private static readonly DateTimeOffset T0 = new(2030, 1, 1, 9, 0, 0, TimeSpan.Zero);

    private static ITrigger EveryTwoSeconds() => TriggerBuilder.Create().WithIdentity("s", "p").ForJob("s", "p").StartAt(T0)
        .WithCronSchedule("0/2 * * * * ?", x => x.InTimeZone(TimeZoneInfo.Utc)).Build();

    [Test]
    public void Fire_once_runs_only_the_pauses_last_due_time_skip_none_of_them()
    {
        // Paused 09:00:01 to 09:00:21 (shorter than any misfire threshold): due times 02, 04, …, 20 came while paused.
        var trigger = EveryTwoSeconds();
        var resumedAt = T0.AddSeconds(21);
        var due = Enumerable.Range(1, 10).Select(i => T0.AddSeconds(2 * i)).ToList();
        var runByFireOnce = due.Where(d => !PausedFiringVeto.Vetoes(OccurrenceOutcomes.Coalesced, PausedFiringVeto.NextDueTime(trigger, null, d, resumedAt), resumedAt)).ToList();
        var runBySkip = due.Where(d => !PausedFiringVeto.Vetoes(OccurrenceOutcomes.Skipped, PausedFiringVeto.NextDueTime(trigger, null, d, resumedAt), resumedAt)).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(runByFireOnce, Is.EqualTo(new[] { T0.AddSeconds(20) }));
            Assert.That(runBySkip, Is.Empty);
        });
    }

    [Test]
    public void A_due_time_at_the_instant_of_the_resume_is_after_the_pause_so_the_one_before_it_is_the_last()
    {
        var trigger = EveryTwoSeconds();
        var resumedAt = T0.AddSeconds(20);
        Assert.Multiple(() =>
        {
            Assert.That(PausedFiringVeto.Vetoes(OccurrenceOutcomes.Coalesced, PausedFiringVeto.NextDueTime(trigger, null, T0.AddSeconds(18), resumedAt), resumedAt), Is.False);
            Assert.That(PausedFiringVeto.Vetoes(OccurrenceOutcomes.Coalesced, PausedFiringVeto.NextDueTime(trigger, null, T0.AddSeconds(16), resumedAt), resumedAt), Is.True);
        });
    }

    [Test]
    public void A_due_time_the_calendar_excludes_does_not_count_as_the_pauses_last()
    {
        // 09:00:20 is excluded by the trigger's calendar: 09:00:18 is the last due time of a pause that ended at 09:00:21.
        var trigger = EveryTwoSeconds();
        var resumedAt = T0.AddSeconds(21);
        var calendar = new CronCalendar("20 * * * * ?") { TimeZone = TimeZoneInfo.Utc };
        var next = PausedFiringVeto.NextDueTime(trigger, calendar, T0.AddSeconds(18), resumedAt);
        Assert.Multiple(() =>
        {
            Assert.That(next, Is.EqualTo(T0.AddSeconds(22)));
            Assert.That(PausedFiringVeto.Vetoes(OccurrenceOutcomes.Coalesced, next, resumedAt), Is.False);
        });
    }

    [Test]
    public void A_one_time_trigger_due_during_the_pause_runs_under_fire_once_and_not_under_skip()
    {
        var once = TriggerBuilder.Create().WithIdentity("s", "p").ForJob("s", "p").StartAt(T0.AddSeconds(5)).WithSimpleSchedule().Build();
        var resumedAt = T0.AddSeconds(21);
        var next = PausedFiringVeto.NextDueTime(once, null, T0.AddSeconds(5), resumedAt);
        Assert.Multiple(() =>
        {
            Assert.That(next, Is.Null);
            Assert.That(PausedFiringVeto.Vetoes(OccurrenceOutcomes.Coalesced, next, resumedAt), Is.False);
            Assert.That(PausedFiringVeto.Vetoes(OccurrenceOutcomes.Skipped, next, resumedAt), Is.True);
        });
    }
}
