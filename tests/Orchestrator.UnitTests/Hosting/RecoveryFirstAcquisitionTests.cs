using Orchestrator.Hosting;
using Quartz.Impl.AdoJobStore;

namespace Orchestrator.UnitTests.Hosting;

public sealed class RecoveryFirstAcquisitionTests
{
    private static IEnumerable<Func<TriggerAcquisitionSqlShape, string>> Dialects()
    {
        yield return new RecoveryFirstPostgresDialect().AcquisitionSqlFor;
        yield return new RecoveryFirstSqliteDialect().AcquisitionSqlFor;
    }

    [TestCaseSource(nameof(Dialects))]
    public void Acquisition_orders_recovery_triggers_before_earlier_due_backlog_triggers(Func<TriggerAcquisitionSqlShape, string> sql)
    {
        var statement = sql(new TriggerAcquisitionSqlShape(5, 0));
        var order = statement[(statement.LastIndexOf("ORDER BY", StringComparison.Ordinal) + "ORDER BY".Length)..].Trim();

        // Recovery first, then Quartz's own order (fire time, then priority), and Quartz's row limit kept.
        Assert.That(order, Does.StartWith("CASE WHEN t.TRIGGER_GROUP = 'RECOVERING_JOBS' THEN 0 ELSE 1 END, NEXT_FIRE_TIME ASC, PRIORITY DESC"));
        Assert.That(order, Does.EndWith("LIMIT 5"));
    }

    [TestCaseSource(nameof(Dialects))]
    public void A_recovery_trigger_older_than_the_misfire_threshold_is_still_acquired(Func<TriggerAcquisitionSqlShape, string> sql) =>
        Assert.That(sql(new TriggerAcquisitionSqlShape(1, 0)), Does.Contain("(MISFIRE_INSTR = -1 OR t.TRIGGER_GROUP = 'RECOVERING_JOBS' OR (MISFIRE_INSTR <> -1 AND"));

    [TestCase("SELECT 1 FROM t WHERE (MISFIRE_INSTR = -1 OR x)")]
    [TestCase("SELECT 1 FROM t ORDER BY x")]
    public void A_statement_of_another_shape_is_refused_rather_than_silently_left_as_it_is(string statement) =>
        Assert.Throws<InvalidOperationException>(() => RecoveryFirstAcquisition.Apply(statement));
}
