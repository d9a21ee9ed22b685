using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Orchestrator.Data;
using Quartz;

namespace Orchestrator.Runs;

/// <summary>What a firing asks the ledger before it runs its action.</summary>
public sealed record RunStart(
    string ScheduleId,
    string ProjectId,
    string ActionType,
    DateTimeOffset ScheduledFireTime,
    RunTrigger TriggeredBy,
    bool Recovering,
    string Node,
    string FireInstanceId,
    string ConfigSnapshot,
    Guid? PendingRunId);

/// <summary>The ledger's answer: run it (as this attempt, with this key), or do not, and why; and the rule that decided.</summary>
public sealed record RunClaim(RunRecord? Run, string? SkipReason, LedgerDecision Decision)
{
    public bool ShouldRun => Run is not null;
}

/// <summary>
/// The run ledger (one row per schedule and scheduled fire time, written before the action starts) and the
/// decision every firing makes from it: a recovery firing whose row already succeeded does not run again;
/// one whose row was left running by a dead node runs as the next attempt with the same idempotency key; any other
/// firing that finds the row still running on a live node does not run it a second time. The table itself is
/// <see cref="LedgerDecisions"/>; this class reads the row and the cluster for it and acts on its answer.
/// </summary>
public sealed partial class RunLedger(OrchestratorDbContext db, RunLedgerWriter writer, ISchedulerFactory schedulers, TimeProvider time, ILogger<RunLedger> logger)
{
    /// <summary>
    /// Ledger rows are keyed at whole-second precision: Quartz hands a recovering firing its original fire time
    /// without fractions, and schedules only fire on whole seconds (see ScheduleMapping), so nothing is lost.
    /// </summary>
    public static DateTimeOffset KeyTime(DateTimeOffset fireTime) =>
        new(fireTime.UtcTicks - (fireTime.UtcTicks % TimeSpan.TicksPerSecond), TimeSpan.Zero);

    /// <summary>Deterministic, so two nodes racing for one fire time compute the same key.</summary>
    public static string IdempotencyKeyFor(string scheduleId, DateTimeOffset scheduledFireTime)
    {
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes($"{scheduleId}|{scheduledFireTime.UtcTicks}"));
        return "run-" + Convert.ToHexStringLower(hash)[..32];
    }

    /// <summary>A run-now request: a pending row the firing will claim, so the API can answer with the run at once.</summary>
    public async Task<RunRecord> CreatePendingAsync(string scheduleId, string projectId, string actionType, RunTrigger triggeredBy, string configSnapshot, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var id = Guid.CreateVersion7(now);
        var run = new RunRecord
        {
            Id = id,
            ScheduleId = scheduleId,
            ProjectId = projectId,
            ActionType = actionType,
            Status = RunStatus.Pending,
            TriggeredBy = triggeredBy,
            // Manual runs have no fire time of their own; the request time (plus a per-run tiebreak) keeps the row unique.
            ScheduledFireTime = now.AddTicks(id.GetHashCode() & 0xFFF),
            Attempt = 0,
            IdempotencyKey = $"{triggeredBy.ToString().ToLowerInvariant()}-{id:N}",
            ConfigSnapshot = configSnapshot,
        };
        db.Runs.Add(run);
        await db.SaveChangesAsync(ct);
        return run;
    }

    public async Task<RunClaim> BeginAsync(RunStart start, CancellationToken ct)
    {
        start = start with { ScheduledFireTime = KeyTime(start.ScheduledFireTime) };
        var now = time.GetUtcNow();
        if (start.PendingRunId is { } pendingId)
        {
            var pending = await db.Runs.FirstOrDefaultAsync(r => r.Id == pendingId, ct);
            return await TakeOverAsync(pending, start, now, ct);
        }

        var fresh = new RunRecord
        {
            Id = Guid.CreateVersion7(now),
            ScheduleId = start.ScheduleId,
            ProjectId = start.ProjectId,
            ActionType = start.ActionType,
            Status = RunStatus.Running,
            TriggeredBy = start.TriggeredBy,
            ScheduledFireTime = start.ScheduledFireTime,
            StartedAt = now,
            Node = start.Node,
            FireInstanceId = start.FireInstanceId,
            Attempt = 1,
            IdempotencyKey = IdempotencyKeyFor(start.ScheduleId, start.ScheduledFireTime),
            ConfigSnapshot = start.ConfigSnapshot,
        };
        // One statement, shared with the firings that start together (RunLedgerWriter): the firing's own row, or the
        // row already there for this fire time. Tracked from here, so a take-over updates it guarded by its version.
        // Not cancellable: a queued row is inserted anyway, so the firing waits for it and the caller, holding the
        // claim, honours a cancellation by completing the run (RunLedgerMiddleware), rather than leaving it running.
        var row = await writer.InsertOrReadAsync(fresh);
        db.Runs.Attach(row);
        if (row.Id == fresh.Id)
        {
            return new RunClaim(row, null, LedgerDecision.ClaimFirstAttempt);
        }

        // A row for this fire time exists: an earlier attempt (a retry, a recovery, a backfill of a time that already
        // ran) or a node that inserted it a moment before this one.
        return await TakeOverAsync(row, start, now, ct);
    }

    /// <summary>Acts on <see cref="LedgerDecisions.Decide"/> for the row a firing found (none: a run-now row deleted since).</summary>
    private async Task<RunClaim> TakeOverAsync(RunRecord? run, RunStart start, DateTimeOffset now, CancellationToken ct)
    {
        var row = run is null ? null : LedgerRow.Of(run);
        var firing = LedgerFiring.Of(start);
        var ownerExecutingIt = row is not null && LedgerDecisions.DependsOnOwner(row, firing) && await IsStillRunningAsync(run!, ct);
        var decision = LedgerDecisions.Decide(row, firing, ownerExecutingIt);
        if (run is null)
        {
            // Only SkipRunGone gets here: a firing with no row of its own inserted one instead (ClaimFirstAttempt).
            return new RunClaim(null, $"run {start.PendingRunId} no longer exists", decision);
        }

        switch (decision)
        {
            case LedgerDecision.SkipFinished:
                LogNotRepeated(logger, run.Id, start.ScheduleId, run.Status);
                return new RunClaim(null, $"run {run.Id} already {run.Status.ToString().ToLowerInvariant()}", decision);
            case LedgerDecision.SkipSameFiring:
                return new RunClaim(null, "this firing is already running", decision);
            case LedgerDecision.SkipStillRunning:
                LogDuplicate(logger, run.Id, start.ScheduleId, run.Node);
                return new RunClaim(null, $"duplicate firing: run {run.Id} is still running on node {run.Node}", decision);
        }

        var previous = run.Status;
        run.Attempt += 1;
        run.Status = RunStatus.Running;
        run.Node = start.Node;
        run.FireInstanceId = start.FireInstanceId;
        run.StartedAt = now;
        run.FinishedAt = null;
        run.Error = null;
        run.TriggeredBy = decision switch
        {
            LedgerDecision.TakeOverAsRecovery => RunTrigger.Recovery,
            LedgerDecision.TakeOverAsRetry => RunTrigger.Retry,
            _ => run.TriggeredBy,
        };

        run.Version += 1;
        try
        {
            await db.SaveChangesAsync(ct);
        }
        catch (DbUpdateConcurrencyException)
        {
            // Another node took this row over between our read and our write; it runs the attempt.
            db.ChangeTracker.Clear();
            // Counted as the duplicate it is: the attempt runs on the node that won.
            return new RunClaim(null, "another node took over this run", LedgerDecision.SkipStillRunning);
        }

        if (previous == RunStatus.Running)
        {
            LogTakenOver(logger, run.Id, start.ScheduleId, run.Attempt);
        }

        return new RunClaim(run, null, decision);
    }

    /// <summary>
    /// Whether the firing that owns a running row may still be executing: its node is a live scheduler instance
    /// (Quartz's check-ins in SCHEDULER_STATE, judged as cluster recovery judges them) and the firing is among those
    /// that node is executing. A row of a node written off as failed is recovery's to take.
    /// </summary>
    private async Task<bool> IsStillRunningAsync(RunRecord run, CancellationToken ct)
    {
        var scheduler = await schedulers.GetScheduler(ct);
        var nodes = await scheduler.QueryClusterNodes(ct);
        if (!nodes.Any(n => n.InstanceId == run.Node && n.State != ClusterNodeState.Failed))
        {
            return false;
        }

        // A live node is not enough: its firing may have ended without completing the row (a failed UPDATE), or the
        // node restarted under a fixed instance id. The clustered store lists every node's executing firings.
        var executing = await scheduler.QueryFireInstances(new FireInstanceQuery { SchedulerInstanceId = run.Node, Take = PagedQuery.All }, ct);
        return executing.Items.Any(f => f.FireInstanceId == run.FireInstanceId);
    }

    /// <summary>
    /// Records the attempt's outcome. Takes no cancellation token: a firing completes its row whatever stopped it (a
    /// cancelled firing is completed as cancelled), and the statement is bounded.
    /// </summary>
    public async Task CompleteAsync(RunRecord run, RunStatus status, string? result, string? error)
    {
        var finishedAt = time.GetUtcNow();
        // One guarded UPDATE, shared with the firings that finish together (RunLedgerWriter), guarded by the version
        // this attempt wrote: a node that took the run over since then wins.
        if (!await writer.CompleteAsync(new RunCompletion(run.Id, run.Version, status, result, error, finishedAt)))
        {
            LogSuperseded(logger, run.Id, run.Attempt);
            return;
        }

        run.Status = status;
        run.Result = result;
        run.Error = error;
        run.FinishedAt = finishedAt;
        run.Version += 1;
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Run {RunId} attempt {Attempt} finished after another node took the run over; its outcome is not recorded")]
    private static partial void LogSuperseded(ILogger logger, Guid runId, int attempt);

    [LoggerMessage(Level = LogLevel.Information, Message = "Run {RunId} of {ScheduleId} is already {Status}; the firing does not run the action again")]
    private static partial void LogNotRepeated(ILogger logger, Guid runId, string scheduleId, RunStatus status);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Run {RunId} of {ScheduleId} is still running on live node {Node}; a second firing of the same fire time does not run it again")]
    private static partial void LogDuplicate(ILogger logger, Guid runId, string scheduleId, string? node);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Run {RunId} of {ScheduleId} was left running; taking it over as attempt {Attempt}")]
    private static partial void LogTakenOver(ILogger logger, Guid runId, string scheduleId, int attempt);
}
