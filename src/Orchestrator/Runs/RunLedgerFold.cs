using System.Collections.Concurrent;
using Microsoft.EntityFrameworkCore;
using Npgsql;
using Orchestrator.Actions;
using Orchestrator.Data;
using Orchestrator.Schedules;
using Quartz;
using Quartz.Extensibility;
using Quartz.Impl.AdoJobStore;

namespace Orchestrator.Runs;

/// <summary>What the firing's own transaction wrote for the ledger: the row that holds the fire time now, and whether it is the firing's own.</summary>
public sealed record FoldedBegin(RunRecord Row, bool Inserted);

/// <summary>
/// The ledger's begin written inside Quartz's own firing transaction (issue 13): the PostgreSQL driver delegate
/// (<see cref="Cluster.RecoveryFirstPostgresDialect"/>) inserts-or-reads each ordinary schedule firing's row with the
/// statement <see cref="RunLedgerWriter"/> uses, on the connection and transaction that records the fire, so the row is
/// durable when Quartz commits the fire, before the job is handed to a thread, and costs no commit of its own. The
/// answer waits here, by node and fire instance, for <see cref="RunLedger.BeginAsync"/>, which decides from it exactly
/// as from a row it had read itself.
/// </summary>
/// <remarks>
/// Only what the delegate can key exactly as the middleware will is folded: a firing of a schedule's own trigger on
/// its fire time (no recovery, retry, backfill, misfire re-time or run-now). Everything else, and SQLite, keeps the
/// group-committed path. Static because Quartz builds the delegate itself; entries are keyed by the node's instance
/// id, so servers sharing a process (tests) do not see each other's.
/// </remarks>
public static class RunLedgerFold
{
    /// <summary>An entry no firing took (its round rolled back, the job was never started) is dropped after this.</summary>
    private static readonly TimeSpan Unclaimed = TimeSpan.FromMinutes(10);

    private static readonly ConcurrentDictionary<(string Node, string FireInstanceId), (FoldedBegin Begin, long WrittenAt)> Begun = new();

    /// <summary>
    /// Off when the environment sets <c>ORCHESTRATOR_LEDGER_FOLD=0</c>: the experiment's switch, so the two paths can be
    /// measured on one build at the same minute.
    /// </summary>
    public static bool Enabled { get; } = Environment.GetEnvironmentVariable("ORCHESTRATOR_LEDGER_FOLD") != "0";

    /// <summary>The ledger start of an ordinary schedule firing, or <see langword="null"/> when the fold does not cover it.</summary>
    internal static RunStart? StartOf(TriggerFiredUpdate update, string node)
    {
        var (trigger, job) = (update.Trigger, update.JobDetail);
        // A fire re-timed by a misfire instruction (ClearMisfireOriginalFireTime) is keyed by the firing on the time it
        // stands in for, which the update does not carry: not folded.
        if (update.ClearMisfireOriginalFireTime
            || !typeof(ILedgeredJob).IsAssignableFrom(job.JobType.Type)
            || trigger.RetryAttempt > 0
            || trigger.Key.Group == SchedulerConstants.DefaultRecoveryGroup
            || trigger.PreviousFireTimeUtc is not { } fired
            || string.IsNullOrEmpty(trigger.FireInstanceId))
        {
            return null;
        }

        // The map the firing's context will merge: the job's, then the trigger's over it.
        var data = new JobDataMap((IDictionary<string, object?>)job.JobDataMap);
        foreach (var (key, value) in trigger.JobDataMap)
        {
            data[key] = value;
        }

        if (data.ContainsKey(JobDataKeys.RunId)
            || data.ContainsKey(SchedulerConstants.BackfillOriginalFireTime)
            || data.ContainsKey(SchedulerConstants.FailedJobOriginalTriggerScheduledFireTime)
            || data.GetString(JobDataKeys.ActionType) is not { } actionType)
        {
            return null;
        }

        var fireTime = RunLedger.KeyTime(fired - ScheduleJitter.OffsetOf(data));
        return new RunStart(ScheduleIds.Of(job.Key), job.Key.Group, actionType, fireTime, RunTrigger.Schedule, false, node,
            trigger.FireInstanceId, data.GetString(JobDataKeys.Config) ?? "{}", null);
    }

    /// <summary>
    /// Inserts-or-reads the rows of the fires in <paramref name="updates"/> that the fold covers, in one statement on the
    /// firing transaction <paramref name="conn"/>, and keeps each answer for its firing.
    /// </summary>
    /// <remarks>
    /// A failure fails the transaction, as any of Quartz's own writes in it would: Quartz rolls the round back and fires
    /// its triggers again (one at a time), which writes the rows again; nothing here outlives a rollback but an entry
    /// that the retried fire overwrites, or that ages out.
    /// </remarks>
    internal static async ValueTask BeginAsync(ConnectionAndTransactionHolder conn, string node, TimeProvider time, IEnumerable<TriggerFiredUpdate> updates, CancellationToken ct)
    {
        if (!Enabled || conn.Connection is not NpgsqlConnection connection || conn.Transaction is null)
        {
            return;
        }

        var now = time.GetUtcNow();
        var fresh = updates
            .Select(u => StartOf(u, node))
            .OfType<RunStart>()
            .Select(s => RunLedger.FreshRow(s, now))
            .ToList();
        if (fresh.Count == 0)
        {
            return;
        }

        // EF Core on Quartz's open connection and transaction: the statement and its materializer are the writer's own.
        var options = new DbContextOptionsBuilder<PostgresOrchestratorDbContext>().UseNpgsql(connection).Options;
        await using var db = new PostgresOrchestratorDbContext(options);
        await db.Database.UseTransactionAsync(conn.Transaction, ct);
        var distinct = fresh.DistinctBy(r => (r.ScheduleId, r.ScheduledFireTime)).ToList();
        var rows = (await RunLedgerWriter.InsertOrReadAsync(db, distinct, ct)).ToDictionary(r => (r.ScheduleId, r.ScheduledFireTime));
        var at = time.GetTimestamp();
        foreach (var run in fresh)
        {
            if (rows.TryGetValue((run.ScheduleId, run.ScheduledFireTime), out var row))
            {
                Begun[(node, run.FireInstanceId!)] = (new FoldedBegin(row.Id == run.Id ? row : RunLedgerWriter.Copy(row), row.Id == run.Id), at);
            }
        }

        if (Begun.Count > 1024)
        {
            foreach (var (key, entry) in Begun)
            {
                if (time.GetElapsedTime(entry.WrittenAt) > Unclaimed)
                {
                    Begun.TryRemove(key, out _);
                }
            }
        }
    }

    /// <summary>
    /// The answer the firing's transaction wrote for <paramref name="start"/>, taken so it is used once;
    /// <see langword="null"/> when the firing was not folded. <paramref name="stray"/> is a row the transaction inserted
    /// under another key than the middleware's (which <see cref="StartOf"/> exists to prevent), for the caller to close.
    /// </summary>
    internal static FoldedBegin? Take(RunStart start, out RunRecord? stray)
    {
        stray = null;
        if (!Begun.TryRemove((start.Node, start.FireInstanceId), out var entry))
        {
            return null;
        }

        var row = entry.Begin.Row;
        if (row.ScheduleId == start.ScheduleId && row.ScheduledFireTime == start.ScheduledFireTime)
        {
            return entry.Begin;
        }

        stray = entry.Begin.Inserted ? row : null;
        return null;
    }
}
