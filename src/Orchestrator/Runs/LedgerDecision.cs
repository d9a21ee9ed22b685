namespace Orchestrator.Runs;

/// <summary>What a firing does with the ledger's row for its fire time.</summary>
public enum LedgerDecision
{
    /// <summary>No row: the firing's own row is attempt 1 (inserted, so two nodes racing cannot both claim it).</summary>
    ClaimFirstAttempt,

    /// <summary>A run-now request whose pending row has been deleted since: nothing to run.</summary>
    SkipRunGone,

    /// <summary>The row succeeded, was skipped or was cancelled: running the action again would be a duplicate.</summary>
    SkipFinished,

    /// <summary>The row is running as this very firing on this node.</summary>
    SkipSameFiring,

    /// <summary>The row is running on a live node that is executing it: a second execution of one fire time at once.</summary>
    SkipStillRunning,

    /// <summary>A run-now request's pending row: its first attempt, still triggered as requested.</summary>
    StartPending,

    /// <summary>The next attempt with the same idempotency key, recorded as triggered by recovery.</summary>
    TakeOverAsRecovery,

    /// <summary>The next attempt with the same idempotency key, recorded as triggered by retry.</summary>
    TakeOverAsRetry,
}

/// <summary>What the ledger knows of a row that already holds a firing's fire time.</summary>
public sealed record LedgerRow(RunStatus Status, string? Node, string? FireInstanceId)
{
    public static LedgerRow Of(RunRecord run) => new(run.Status, run.Node, run.FireInstanceId);
}

/// <summary>What the ledger knows of the firing that asks: the node and firing it is, and whether Quartz recovers it.</summary>
/// <remarks>
/// The trigger kind beyond that does not enter the decision: a schedule, backfill or retry firing is decided alike;
/// a run-now firing differs only when its pending row is gone.
/// </remarks>
public sealed record LedgerFiring(bool Recovering, bool ClaimsPendingRun, string Node, string FireInstanceId)
{
    public static LedgerFiring Of(RunStart start) => new(start.Recovering, start.PendingRunId is not null, start.Node, start.FireInstanceId);
}

/// <summary>The ledger's decision table, free of I/O so every row of it can be tested.</summary>
public static class LedgerDecisions
{
    /// <summary>
    /// Whether the decision turns on the owner of a running row still executing it, which costs the cluster's node
    /// list and that node's executing firings: only when a firing that is not a recovery meets another firing's row.
    /// A recovery firing takes a running row over without asking, because Quartz only recovers a dead node's firings.
    /// </summary>
    public static bool DependsOnOwner(LedgerRow row, LedgerFiring firing) =>
        row.Status == RunStatus.Running && !firing.Recovering && !IsSameFiring(row, firing);

    /// <param name="row">The row for the firing's fire time, or <see langword="null"/> when there is none.</param>
    /// <param name="firing">The firing that asks.</param>
    /// <param name="ownerExecutingIt">
    /// Whether the row's node is alive and executing its firing; read only where <see cref="DependsOnOwner"/> says so.
    /// </param>
    public static LedgerDecision Decide(LedgerRow? row, LedgerFiring firing, bool ownerExecutingIt)
    {
        if (row is null)
        {
            return firing.ClaimsPendingRun ? LedgerDecision.SkipRunGone : LedgerDecision.ClaimFirstAttempt;
        }

        switch (row.Status)
        {
            case RunStatus.Succeeded or RunStatus.Skipped or RunStatus.Cancelled:
                return LedgerDecision.SkipFinished;
            case RunStatus.Pending:
                return LedgerDecision.StartPending;
            case RunStatus.Running when !firing.Recovering && IsSameFiring(row, firing):
                return LedgerDecision.SkipSameFiring;
            case RunStatus.Running when DependsOnOwner(row, firing) && ownerExecutingIt:
                // E.g. a backfill of a fire time whose run has not finished, under concurrency 'allow'.
                return LedgerDecision.SkipStillRunning;
        }

        // Failed, interrupted, or running on a node that is dead or no longer executing it.
        return firing.Recovering ? LedgerDecision.TakeOverAsRecovery : LedgerDecision.TakeOverAsRetry;
    }

    private static bool IsSameFiring(LedgerRow row, LedgerFiring firing) =>
        row.Node == firing.Node && row.FireInstanceId == firing.FireInstanceId;
}
