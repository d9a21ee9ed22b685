using System.Diagnostics.Metrics;
using System.Threading.Channels;
using Npgsql;
using Quartz;

namespace Orchestrator.Cluster;

/// <summary>
/// Puts a dead node's recovered firings ahead of every other due trigger on PostgreSQL, with Quartz's own dialect.
/// </summary>
/// <remarks>
/// <para>
/// The problem is <see cref="RecoveryFirstAcquisition"/>'s: a recovery trigger carries the dead firing's fire time and
/// Quartz acquires by fire time, so it waited out every backlog trigger due before it. Rewriting the acquisition
/// statement needs a subclass of Quartz's dialect, and Quartz serves its once-per-round reads, batched claims and fire
/// writes only to the exact types it ships (<c>StdAdoDelegate.IsShipped</c>): a subclass costs ~6 statements and a
/// share of the job store's CPU per firing (bench/README.md, <i>CPU and statements per firing, cut</i>). So on
/// PostgreSQL the node keeps Quartz's <see cref="Quartz.Impl.AdoJobStore.PostgreSQLDelegate"/> and moves the
/// recovery triggers instead: once recovery has committed them, one statement gives each waiting recovery trigger a
/// fire time just before the oldest waiting trigger acquisition would take (so Quartz's order, fire time first, takes it
/// first), and the "ignore misfires" instruction (so it passes the misfire window whatever its age and fires now — what
/// its own instruction, fire now, would have done after the misfire scan). Acquisition takes a trigger that ignores
/// misfires (<c>catch_up</c>) whatever its age, and any other only within the store's misfire threshold
/// (<see cref="Hosting.SchedulerHosting.StoreMisfireThreshold"/>, Quartz's <c>noEarlierThan</c>): a misfire older than
/// that, which the misfire scan has not handled yet, is left out of the minimum, so the recovered firing is not moved
/// days back for it. (Behind an old catch_up backlog it is moved that far back: the run ledger and the lateness metric
/// read the firing's original scheduled time from its data map, so only Quartz's own history shows the moved time.)
/// </para>
/// <para>
/// Quartz 4.7 acquires in lock-free rounds (no <c>TRIGGER_ACCESS</c> row lock is taken to acquire): the move takes that
/// lock only to stay out of the misfire scan's and a recovering check-in's way, which hold it. Against acquisition
/// what keeps it correct is Quartz's claim, an update conditioned on the state and fire
/// time the round read. A round that read a recovery trigger before the move fails its claim on it and takes it in
/// its next round at the new time; one that claimed it first has moved it to <c>ACQUIRED</c>, which the move (on
/// <c>WAITING</c> rows only) leaves alone. The move is one statement, so no round sees half of it.
/// </para>
/// <para>
/// Nothing else reads that fire time: the ledger keys a recovered firing on the original scheduled time its data map
/// carries (RunLedgerMiddleware), as does its lateness (RunTelemetry), and the trigger fires once.
/// </para>
/// <para>
/// When: Quartz reports each cluster recovery on its meter (<c>quartz.cluster.recovery.trigger</c>, written inside the
/// recovering check-in's transaction) and each check-in's end (<c>quartz.cluster.checkin.duration</c>, after its
/// commit); the first check-in end after a recovery wakes this service. It also runs after the node's first check-in and once after
/// the scheduler has shut down (registered before Quartz's hosted service, so stopped after it): a firing a shutdown
/// hands back for recovery gets its recovery trigger then. Nothing runs per firing or per check-in otherwise.
/// </para>
/// </remarks>
public sealed partial class RecoveryFirstPromotion : IHostedService, IDisposable
{
    private const string RecoveredInstrument = "quartz.cluster.recovery.trigger";

    private const string CheckinInstrument = "quartz.cluster.checkin.duration";

    private readonly string connectionString;

    private readonly string sql;

    private readonly ILogger<RecoveryFirstPromotion> logger;

    private readonly TimeProvider time;

    private readonly TimeSpan misfireThreshold;

    private readonly Channel<bool> wake = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    private readonly MeterListener listener = new();

    private readonly CancellationTokenSource stopping = new();

    private int recoveryPending;

    private Task loop = Task.CompletedTask;

    public RecoveryFirstPromotion(string connectionString, string tablePrefix, TimeSpan misfireThreshold, TimeProvider time, ILogger<RecoveryFirstPromotion> logger)
    {
        this.connectionString = connectionString;
        this.logger = logger;
        this.time = time;
        this.misfireThreshold = misfireThreshold;
        sql = PromotionSql(tablePrefix);
    }

    /// <summary>
    /// The promotion: take Quartz's trigger lock (so it does not interleave with the misfire scan or a check-in's
    /// recovery, which hold it), then move every waiting recovery trigger to just before the oldest other waiting trigger acquisition
    /// would take (one ignoring misfires, or one due after <c>@floor</c>: now less the store's misfire threshold, in ticks
    /// as Quartz stores fire times), or leave its time if it is already first, and let it through the misfire window.
    /// </summary>
    public static string PromotionSql(string tablePrefix) => $"""
        SELECT 1 FROM {tablePrefix}LOCKS WHERE SCHED_NAME = @scheduler AND LOCK_NAME = 'TRIGGER_ACCESS' FOR UPDATE;
        WITH target AS (
            SELECT MIN(o.NEXT_FIRE_TIME) - 1 AS fire_time FROM {tablePrefix}TRIGGERS o
             WHERE o.SCHED_NAME = @scheduler AND o.TRIGGER_STATE = 'WAITING' AND o.TRIGGER_GROUP <> @recovery
               AND (o.MISFIRE_INSTR = -1 OR o.NEXT_FIRE_TIME >= @floor)
            HAVING COUNT(*) > 0)
        UPDATE {tablePrefix}TRIGGERS r
           SET NEXT_FIRE_TIME = LEAST(r.NEXT_FIRE_TIME, (SELECT fire_time FROM target)),
               MISFIRE_INSTR = -1
         WHERE r.SCHED_NAME = @scheduler AND r.TRIGGER_GROUP = @recovery AND r.TRIGGER_STATE = 'WAITING'
           AND (r.MISFIRE_INSTR <> -1 OR r.NEXT_FIRE_TIME > (SELECT fire_time FROM target))
        """;

    public Task StartAsync(CancellationToken cancellationToken)
    {
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Quartz" && instrument.Name is RecoveredInstrument or CheckinInstrument)
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, _, _, _) => Volatile.Write(ref recoveryPending, 1));
        listener.SetMeasurementEventCallback<double>((instrument, _, _, _) =>
        {
            // The check-in that recovered has committed: its recovery triggers are there to move.
            if (Interlocked.Exchange(ref recoveryPending, 0) == 1)
            {
                wake.Writer.TryWrite(true);
            }
        });
        // Recovery triggers a previous run of this node (or a peer's shutdown) left behind: moved after the first
        // check-in, when Quartz's schema is there (it may provision it at start) and this node's own recovery is done.
        recoveryPending = 1;
        listener.Start();
        loop = RunAsync(stopping.Token);
        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        listener.Dispose();
        await stopping.CancelAsync();
        try
        {
            await loop.WaitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            // Stopped while waiting for work or inside a promotion; the promotion below runs on its own.
        }

        // Quartz has shut down (this service stops after its hosted service): a firing it handed back for recovery
        // now has its recovery trigger, which the node that acquires next should take first.
        await PromoteAsync(cancellationToken);
    }

    public void Dispose()
    {
        listener.Dispose();
        stopping.Dispose();
    }

    private async Task RunAsync(CancellationToken ct)
    {
        try
        {
            while (await wake.Reader.WaitToReadAsync(ct))
            {
                wake.Reader.TryRead(out _);
                await PromoteAsync(ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    /// <summary>Runs the promotion once; a failure is logged and left for the next recovery or the node's stop.</summary>
    public async Task<int> PromoteAsync(CancellationToken ct)
    {
        try
        {
            await using var connection = new NpgsqlConnection(connectionString);
            await connection.OpenAsync(ct);
            await using var transaction = await connection.BeginTransactionAsync(ct);
            await using var batch = new NpgsqlBatch(connection, transaction);
            var floor = (time.GetUtcNow() - misfireThreshold).UtcTicks;
            var statements = sql.Split(";", StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            foreach (var statement in statements)
            {
                var command = new NpgsqlBatchCommand(statement);
                command.Parameters.AddWithValue("scheduler", Hosting.SchedulerHosting.SchedulerName);
                command.Parameters.AddWithValue("recovery", SchedulerConstants.DefaultRecoveryGroup);
                command.Parameters.AddWithValue("floor", floor);
                batch.BatchCommands.Add(command);
            }

            await batch.ExecuteNonQueryAsync(ct);
            var moved = batch.BatchCommands[^1].RecordsAffected;
            await transaction.CommitAsync(ct);
            if (moved > 0)
            {
                LogPromoted(moved);
            }

            return moved;
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // The node is stopping, or its shutdown ran out of time: left for the next node's first check-in.
            return 0;
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException or TimeoutException)
        {
            LogFailed(e);
            return 0;
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Recovery first: {Count} recovered firing(s) moved ahead of the due backlog")]
    private partial void LogPromoted(int count);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Recovery first: moving recovered firings ahead of the backlog failed; they fire in Quartz's order")]
    private partial void LogFailed(Exception exception);
}
