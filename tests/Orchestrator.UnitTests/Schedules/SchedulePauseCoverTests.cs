using Orchestrator.Schedules;

namespace Orchestrator.UnitTests.Schedules;

/// <summary>Which due times the stored pauses cover (the deadline checker skips them): any of several, ends included.</summary>
public sealed class SchedulePauseCoverTests
{
    private static readonly DateTimeOffset T0 = new(2030, 1, 1, 9, 0, 0, TimeSpan.Zero);

    private static OccurrencePause Pause(int fromMinute, int? toMinute) => new(T0.AddMinutes(fromMinute), toMinute is { } to ? T0.AddMinutes(to) : null, "ops", null);

    [TestCase(0, false)]
    [TestCase(10, true)]
    [TestCase(15, true)]
    [TestCase(20, true)]
    [TestCase(25, false)]
    [TestCase(30, true)]
    [TestCase(35, true)]
    [TestCase(40, false)]
    [TestCase(50, true)]
    [TestCase(5000, true)]
    public void Every_pause_covers_its_due_times_not_only_the_last(int minute, bool covered)
    {
        // Two ended pauses, then one still open: a due time in the first is as paused as one in the last.
        List<OccurrencePause> pauses = [Pause(10, 20), Pause(30, 35), Pause(50, null)];
        Assert.That(SchedulePauses.Covers(pauses, T0.AddMinutes(minute)), Is.EqualTo(covered));
    }

    [Test]
    public void No_pause_covers_nothing() => Assert.That(SchedulePauses.Covers([], T0), Is.False);
}
