using Orchestrator.Schedules;

namespace Orchestrator.UnitTests.Schedules;

/// <summary>
/// A one-time trigger in the past was accepted and fired at once as a misfire; now an instant more than the grace
/// before now is refused with a reason that says what to use instead.
/// </summary>
public sealed class PastOneTimeTriggerTests
{
    private static readonly DateTimeOffset Now = new(2030, 1, 1, 12, 0, 0, TimeSpan.Zero);

    [Test]
    public void An_instant_years_ago_is_refused_with_what_to_use_instead()
    {
        var reason = ScheduleValidator.PastOneTimeReason(new OnceTriggerSpec(new DateTimeOffset(2020, 1, 1, 0, 0, 0, TimeSpan.Zero)), Now);
        Assert.That(reason, Is.EqualTo("is in the past (2020-01-01T00:00:00Z, more than 60 s before now); a one-time schedule runs once at a future instant — use run now or backfill for past times."));
    }

    [Test]
    public void An_instant_in_another_offset_is_named_in_utc() =>
        Assert.That(ScheduleValidator.PastOneTimeReason(new OnceTriggerSpec(new DateTimeOffset(2030, 1, 1, 12, 0, 0, TimeSpan.FromHours(2))), Now),
            Does.StartWith("is in the past (2030-01-01T10:00:00Z,"));

    [TestCase(-61, true)]
    [TestCase(-60, false)]
    [TestCase(-30, false)]
    [TestCase(0, false)]
    [TestCase(3600, false)]
    public void Only_an_instant_further_back_than_the_grace_is_refused(int secondsFromNow, bool refused) =>
        Assert.That(ScheduleValidator.PastOneTimeReason(new OnceTriggerSpec(Now.AddSeconds(secondsFromNow)), Now) is not null, Is.EqualTo(refused));

    [Test]
    public void Other_triggers_starting_in_the_past_are_not_one_time_and_not_refused_here() =>
        Assert.That(ScheduleValidator.PastOneTimeReason(new IntervalTriggerSpec(TimeSpan.FromMinutes(5), Now.AddDays(-30), null, null), Now), Is.Null);
}
