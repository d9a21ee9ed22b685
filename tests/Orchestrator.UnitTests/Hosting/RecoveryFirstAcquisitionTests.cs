using Orchestrator.Cluster;
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
        Assert.That(order, Is.EqualTo("RECOVERY_RANK, NEXT_FIRE_TIME ASC, PRIORITY DESC LIMIT 5"));
        Assert.That(statement, Does.Contain("SELECT 0 AS RECOVERY_RANK"));
        Assert.That(statement, Does.Contain("SELECT 1 AS RECOVERY_RANK"));
    }

    [TestCaseSource(nameof(Dialects))]
    public void Each_branch_keeps_Quartz_order_and_limit_so_an_index_can_serve_it(Func<TriggerAcquisitionSqlShape, string> sql)
    {
        // One ORDER BY CASE … over every due trigger forced PostgreSQL to sort the whole backlog on each acquisition;
        // each branch is Quartz's statement with one more filter, ordered and limited as Quartz orders and limits it.
        var statement = sql(new TriggerAcquisitionSqlShape(5, 0));
        var branchOrders = statement.Split("ORDER BY")[1..^1].Select(o => string.Join(' ', o.Split((char[]?)null, StringSplitOptions.RemoveEmptyEntries)));

        Assert.That(branchOrders, Is.All.StartsWith("NEXT_FIRE_TIME ASC, PRIORITY DESC LIMIT 5)"));
        Assert.That(statement, Does.Not.Contain("CASE WHEN"));
        Assert.That(statement, Does.Contain("AND t.TRIGGER_GROUP = 'RECOVERING_JOBS'"));
        Assert.That(statement, Does.Contain("AND t.TRIGGER_GROUP <> 'RECOVERING_JOBS'"));
    }

    [TestCaseSource(nameof(Dialects))]
    public void A_recovery_trigger_older_than_the_misfire_threshold_is_still_acquired(Func<TriggerAcquisitionSqlShape, string> sql) =>
        Assert.That(sql(new TriggerAcquisitionSqlShape(1, 0)), Does.Contain("(MISFIRE_INSTR = -1 OR t.TRIGGER_GROUP = 'RECOVERING_JOBS' OR (MISFIRE_INSTR <> -1 AND"));

    [TestCase("SELECT 1 FROM t WHERE (MISFIRE_INSTR = -1 OR x)")]
    [TestCase("SELECT 1 FROM t ORDER BY x")]
    [TestCase("SELECT 1 FROM t WHERE (MISFIRE_INSTR = -1 OR x) ORDER BY x")]
    [TestCase("SELECT TOP 5 1 FROM t WHERE (MISFIRE_INSTR = -1 OR x) LIMIT 5 ORDER BY x")]
    public void A_statement_of_another_shape_is_refused_rather_than_silently_left_as_it_is(string statement) =>
        Assert.Throws<InvalidOperationException>(() => RecoveryFirstAcquisition.Apply(statement));
}
