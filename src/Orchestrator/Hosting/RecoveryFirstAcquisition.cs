using Quartz;
using Quartz.Impl.AdoJobStore;

namespace Orchestrator.Hosting;

/// <summary>
/// Puts recovery firings ahead of every other due trigger when a node acquires work.
/// </summary>
/// <remarks>
/// <para>
/// When a node dies, cluster recovery (Quartz's <c>ClusterRecover</c>) re-creates each firing it had in flight as a
/// one-shot trigger in the <see cref="SchedulerConstants.DefaultRecoveryGroup"/> group whose next fire time is the
/// dead firing's own fire time, with the original trigger's priority. Acquisition orders by <c>NEXT_FIRE_TIME</c>
/// and only then by <c>PRIORITY</c>, so while the cluster is behind, every backlog trigger due earlier than the dead
/// firing started runs first: a call the dead node had already begun waited out the whole catch-up backlog. A
/// priority alone cannot fix that (it only breaks ties between equal fire times).
/// </para>
/// <para>
/// The least invasive change is to the one statement Quartz lets a dialect rewrite: the acquisition SQL
/// (<c>GetSelectNextTriggerToAcquireSql</c>). Its <c>WHERE</c> clause — state, due time, misfire window, node affinity,
/// execution-group routing and job-type exclusions — is Quartz's, untouched; only the order gains a first key that
/// ranks recovery triggers before the rest. Execution limits, misfire handling and locking stay Quartz's own.
/// The <c>CASE</c> expression is plain SQL that PostgreSQL and SQLite both run. If a later Quartz stops producing an
/// <c>ORDER BY</c> here, the node refuses to build the statement rather than silently losing the ordering
/// (the unit tests pin the shape). Recovery triggers also pass the misfire window whatever their age (see
/// <see cref="Apply"/>).
/// </para>
/// </remarks>
public static class RecoveryFirstAcquisition
{
    /// <summary>The first ordering key: 0 for a recovery trigger, 1 for any other.</summary>
    public const string RecoveryFirstKey = $"CASE WHEN {IsRecoveryTrigger} THEN 0 ELSE 1 END, ";

    private const string OrderBy = "ORDER BY";

    /// <summary>
    /// Quartz turns its fire-on-acquire rounds off for a subclass of its dialects, in case the subclass overrides a
    /// single-trigger read or insert the round members would bypass. These dialects override only the acquisition
    /// statement, which rounds use as well, so they keep the rounds (and their throughput).
    /// </summary>
    public const bool CoversFireOnAcquire = true;

    private const string IsRecoveryTrigger = $"t.{AdoConstants.ColumnTriggerGroup} = '{SchedulerConstants.DefaultRecoveryGroup}'";

    /// <summary>Quartz's misfire window: a trigger that ignores misfires, or one still inside its threshold.</summary>
    private const string MisfireWindow = "(MISFIRE_INSTR = -1 OR";

    /// <summary>
    /// Rewrites Quartz's acquisition statement so that recovery triggers are due whatever their age and its order
    /// starts with <see cref="RecoveryFirstKey"/>.
    /// </summary>
    /// <remarks>
    /// A recovery trigger's fire time is when the dead node started the firing, so one cut off after more than the
    /// store's misfire threshold (60 s) is "misfired" and outside the window until Quartz's misfire handler, which scans
    /// once per threshold, applies its instruction — fire now. Measured: a call killed 70 s into its run was recovered
    /// 47 s after the kill. Letting recovery triggers through the window fires them now at once, which is what that
    /// instruction would do.
    /// </remarks>
    public static string Apply(string acquisitionSql)
    {
        var window = acquisitionSql.IndexOf(MisfireWindow, StringComparison.Ordinal);
        if (window < 0)
        {
            throw new InvalidOperationException(
                "Quartz's trigger acquisition statement has no misfire window 'MISFIRE_INSTR = -1 OR', so recovery firings cannot be let through it; " +
                "this Quartz version is not the one RecoveryFirstAcquisition was written for.");
        }

        window += MisfireWindow.Length;
        acquisitionSql = acquisitionSql.Insert(window, $" {IsRecoveryTrigger} OR");

        var orderBy = acquisitionSql.LastIndexOf(OrderBy, StringComparison.OrdinalIgnoreCase);
        if (orderBy < 0)
        {
            throw new InvalidOperationException(
                "Quartz's trigger acquisition statement has no ORDER BY, so recovery firings cannot be put first; " +
                "this Quartz version is not the one RecoveryFirstAcquisition was written for.");
        }

        var at = orderBy + OrderBy.Length;
        while (at < acquisitionSql.Length && char.IsWhiteSpace(acquisitionSql[at]))
        {
            at++;
        }

        return string.Concat(acquisitionSql.AsSpan(0, at), RecoveryFirstKey, acquisitionSql.AsSpan(at));
    }
}

/// <summary>Quartz's PostgreSQL dialect, acquiring recovery firings first (see <see cref="RecoveryFirstAcquisition"/>).</summary>
public sealed class RecoveryFirstPostgresDialect : PostgreSQLDelegate
{
    protected override string GetSelectNextTriggerToAcquireSql(TriggerAcquisitionSqlShape shape) =>
        RecoveryFirstAcquisition.Apply(base.GetSelectNextTriggerToAcquireSql(shape));

    /// <inheritdoc cref="RecoveryFirstAcquisition.CoversFireOnAcquire"/>
    public override bool SupportsFireOnAcquire => RecoveryFirstAcquisition.CoversFireOnAcquire;

    /// <summary>For tests: the statement this delegate acquires with.</summary>
    public string AcquisitionSqlFor(TriggerAcquisitionSqlShape shape) => GetSelectNextTriggerToAcquireSql(shape);
}

/// <summary>Quartz's SQLite dialect, acquiring recovery firings first (a single node recovers its own firings at start).</summary>
public sealed class RecoveryFirstSqliteDialect : SQLiteDelegate
{
    protected override string GetSelectNextTriggerToAcquireSql(TriggerAcquisitionSqlShape shape) =>
        RecoveryFirstAcquisition.Apply(base.GetSelectNextTriggerToAcquireSql(shape));

    /// <inheritdoc cref="RecoveryFirstAcquisition.CoversFireOnAcquire"/>
    public override bool SupportsFireOnAcquire => RecoveryFirstAcquisition.CoversFireOnAcquire;

    /// <summary>For tests: the statement this delegate acquires with.</summary>
    public string AcquisitionSqlFor(TriggerAcquisitionSqlShape shape) => GetSelectNextTriggerToAcquireSql(shape);
}
