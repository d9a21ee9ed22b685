using System.Text.Json;
using Orchestrator.Schedules;
using Quartz;

namespace Orchestrator.UnitTests.Schedules;

public sealed class LifecycleMappingTests
{
    private static readonly DateTimeOffset Now = new(2030, 1, 1, 12, 0, 0, 500, TimeSpan.Zero);

    private static ITrigger Build(TriggerSpec trigger) => ScheduleMapping.BuildTrigger(
        new ScheduleSpec("default", "s", null, "noop", JsonDocument.Parse("{}").RootElement, trigger, MisfirePolicy.CatchUp, null, ScheduleOverlap.Forbid, null, null, null, true), Now);

    [Test]
    public void An_edited_interval_starting_in_the_past_starts_at_its_next_fire_time_keeping_phase_and_remaining_runs()
    {
        var trigger = ScheduleMapping.NotBefore(Build(new IntervalTriggerSpec(TimeSpan.FromMinutes(10), Now.AddHours(-1).AddMinutes(-3), null, 20)), Now);

        Assert.That(trigger.StartTimeUtc, Is.EqualTo(new DateTimeOffset(2030, 1, 1, 12, 7, 1, TimeSpan.Zero)), "11:57:01 + 10 min, the phase of a start at 10:57:01");
        Assert.That(ScheduleMapping.NextFireTimes(trigger, 50, trigger.StartTimeUtc), Has.Count.EqualTo(20 - 7), "the 7 fire times 10:57:01–11:57:01 have passed");
        Assert.That(trigger.MisfireInstructionCode, Is.EqualTo((int)CalendarIntervalTriggerMisfireInstruction.IgnoreMisfires), "the misfire policy is kept");
    }

    [Test]
    public void An_edited_cron_starting_in_the_past_fires_first_at_its_next_due_time()
    {
        var trigger = ScheduleMapping.NotBefore(Build(new CronTriggerSpec("0 0 * * * ?", TimeZoneInfo.Utc, Now.AddDays(-3), null, null)), Now);
        Assert.That(trigger.StartTimeUtc, Is.EqualTo(new DateTimeOffset(2030, 1, 1, 13, 0, 0, TimeSpan.Zero)));
        Assert.That(trigger.GetFireTimeAfter(Now.AddDays(-4)), Is.EqualTo(new DateTimeOffset(2030, 1, 1, 13, 0, 0, TimeSpan.Zero)), "no past fire time is left to misfire");
    }

    [Test]
    public void A_trigger_starting_in_the_future_or_a_one_time_trigger_is_left_as_it_is()
    {
        var future = Build(new CronTriggerSpec("0 0 * * * ?", TimeZoneInfo.Utc, Now.AddDays(1), null, null));
        Assert.That(ScheduleMapping.NotBefore(future, Now), Is.SameAs(future));
        var once = Build(new OnceTriggerSpec(Now.AddMinutes(-5)));
        Assert.That(ScheduleMapping.NotBefore(once, Now), Is.SameAs(once));
    }
}
