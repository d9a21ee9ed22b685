using Orchestrator.Runs;

namespace Orchestrator.UnitTests.Runs;

public sealed class RunLedgerKeyTests
{
    [Test]
    public void Fire_times_are_keyed_to_the_whole_second_in_UTC()
    {
        var local = new DateTimeOffset(2026, 3, 29, 3, 30, 15, 999, TimeSpan.FromHours(2)).AddTicks(1234);
        Assert.That(RunLedger.KeyTime(local), Is.EqualTo(new DateTimeOffset(2026, 3, 29, 1, 30, 15, TimeSpan.Zero)));
        Assert.That(RunLedger.KeyTime(local).Offset, Is.EqualTo(TimeSpan.Zero));
    }

    [Test]
    public void The_idempotency_key_is_the_same_for_the_same_schedule_and_fire_time_on_any_node()
    {
        var t = new DateTimeOffset(2026, 1, 1, 9, 0, 0, TimeSpan.Zero);
        Assert.That(RunLedger.IdempotencyKeyFor("default.report", t), Is.EqualTo(RunLedger.IdempotencyKeyFor("default.report", t.ToOffset(TimeSpan.FromHours(5)))));
        Assert.That(RunLedger.IdempotencyKeyFor("default.report", t), Is.Not.EqualTo(RunLedger.IdempotencyKeyFor("default.report", t.AddSeconds(1))));
        Assert.That(RunLedger.IdempotencyKeyFor("default.report", t), Is.Not.EqualTo(RunLedger.IdempotencyKeyFor("default.other", t)));
        Assert.That(RunLedger.IdempotencyKeyFor("default.report", t), Does.Match("^run-[0-9a-f]{32}$"));
    }
}
