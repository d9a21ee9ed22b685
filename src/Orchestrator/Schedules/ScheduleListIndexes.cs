using Microsoft.Extensions.Options;
using Npgsql;
using Orchestrator.Hosting;

namespace Orchestrator.Schedules;

/// <summary>
/// Four indexes on Quartz's tables that <see cref="ScheduleListQuery"/> reads through on PostgreSQL, so a list over
/// 100,000 schedules stays cheap (issue 13 item 6):
/// <list type="bullet">
/// <item><c>{prefix}orch_jobs_search</c>: a <c>pg_trgm</c> GIN index on <c>lower(job_group || '.' || job_name)</c>, the
/// expression <c>q</c> matches with <c>LIKE '%…%'</c>; without it every id is read and compared.</item>
/// <item><c>{prefix}orch_triggers_list</c>: the schedules' own triggers (job name = trigger name) by (group, name) with
/// their state and job group included, so a state-filtered page by number walks its offset in the index alone (an
/// index-only scan) instead of fetching every skipped trigger's row for its state, and the capped count likewise.</item>
/// <item><c>{prefix}orch_triggers_held</c>: the same for the schedules paused or in error only, so a paused page and
/// its count walk the paused ones (10,000 of 100,000 in the benchmark) instead of every schedule's entry; a firing
/// never writes to it (its states are outside the predicate).</item>
/// <item><c>{prefix}orch_jobs_order</c>: the jobs in the list's order across projects (group ordinal, then name), so
/// the unfiltered first page (the dashboard's) reads 50 index rows instead of sorting every job; Quartz's own
/// (group, name) index is in the database's collation, which is not ordinal unless the database's is "C".</item>
/// </list>
/// Quartz creates its tables when its scheduler starts (after the EF migrations), under a configurable prefix, so these
/// are made here, once Quartz's tables exist, rather than by a migration. Each is built CONCURRENTLY (firing and API
/// writes go on while it builds) under an advisory lock, so nodes starting together build it once; a build that failed
/// half-way leaves an invalid index, which is dropped and built again. Neither is required: an account that may not
/// create the extension or an index (a DBA-managed schema) gets a warning and the list works as before, only slower.
/// SQLite needs neither (its list stays a scan, which at its scale is cheap).
/// </summary>
public sealed partial class ScheduleListIndexes(
    StorageChoice storage, IOptions<OrchestratorOptions> options, IHostApplicationLifetime lifetime, TimeProvider time, ILogger<ScheduleListIndexes> logger)
    : IHostedService, IDisposable
{
    /// <summary>Arbitrary, fixed: the advisory lock id every node takes while it checks and builds these indexes.</summary>
    private const long IndexLockKey = 0x4F52_4348_4C49_5354; // "ORCHLIST"

    private readonly CancellationTokenSource stopping = new();
    private Task? building;

    /// <summary>The search index's name under <paramref name="prefix"/>.</summary>
    public static string SearchIndexName(string prefix) => $"{prefix}orch_jobs_search";

    /// <summary>The covering list index's name under <paramref name="prefix"/>.</summary>
    public static string ListIndexName(string prefix) => $"{prefix}orch_triggers_list";

    /// <summary>The covering index of paused and failed schedules under <paramref name="prefix"/>.</summary>
    public static string HeldIndexName(string prefix) => $"{prefix}orch_triggers_held";

    /// <summary>The index in the list's order across projects under <paramref name="prefix"/>.</summary>
    public static string OrderIndexName(string prefix) => $"{prefix}orch_jobs_order";

    public Task StartAsync(CancellationToken cancellationToken)
    {
        if (storage.IsPostgres)
        {
            // After the host has started (Quartz starts its scheduler then, creating its tables), and off the start path:
            // building the indexes over 100,000 schedules takes seconds, and nothing waits for them.
            lifetime.ApplicationStarted.Register(() => building = Task.Run(() => BuildUntilDoneAsync(stopping.Token)));
        }

        return Task.CompletedTask;
    }

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        await stopping.CancelAsync();
        if (building is { } task)
        {
            try
            {
                await task.WaitAsync(cancellationToken);
            }
            catch (OperationCanceledException)
            {
                // Stopping: a build cut short leaves an invalid index, which the next start drops and builds again.
            }
        }
    }

    public void Dispose() => stopping.Dispose();

    /// <summary>Builds what is missing, and tries again later while an index could not be built (a lock wait timed out, the database was away).</summary>
    private async Task BuildUntilDoneAsync(CancellationToken ct)
    {
        try
        {
            while (!await BuildAsync(ct))
            {
                await Task.Delay(options.Value.Database.ListIndexRetryInterval, time, ct);
            }
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            // Stopping: the next start builds what is missing.
        }
    }

    /// <summary>One pass; false when something is worth trying again (not when Quartz's tables never appeared).</summary>
    private async Task<bool> BuildAsync(CancellationToken ct)
    {
        var prefix = options.Value.Database.TablePrefix;
        try
        {
            await using var connection = new NpgsqlConnection(storage.ConnectionString);
            await connection.OpenAsync(ct);
            if (!await WaitForQuartzTablesAsync(connection, prefix, ct))
            {
                LogNoTables(logger, prefix);
                return true;
            }

            // Bounded waits: CREATE INDEX CONCURRENTLY waits for every older transaction to end, and a long one held it
            // (and with it the advisory lock every node's build takes) for as long as it ran. lock_timeout bounds each
            // such wait; the index is then left invalid, dropped and built again on the next try.
            await ExecuteAsync(connection, $"SET lock_timeout = {(long)options.Value.Database.ListIndexLockTimeout.TotalMilliseconds}", ct);

            // Tried, not waited for: a session blocked in pg_advisory_lock holds a snapshot, which the other node's
            // CREATE INDEX CONCURRENTLY would wait for while holding the lock — a deadlock that aborts the build.
            while (!await TryLockAsync(connection, ct))
            {
                await Task.Delay(TimeSpan.FromSeconds(1), time, ct);
            }

            var built = true;
            try
            {
                // The covering index needs nothing but Quartz's tables; the search index needs pg_trgm.
                // The predicate names only job_name = trigger_name: the planner turns "job_group = trigger_group AND
                // trigger_group = @project" into two constants, so a predicate on the groups would never be proven;
                // job_group is included for that check instead.
                built &= await EnsureIndexAsync(connection, ListIndexName(prefix),
                    $"ON {prefix}triggers (sched_name, trigger_group, trigger_name) INCLUDE (trigger_state, job_group) " +
                    "WHERE job_name = trigger_name", ct);
                // The same for the few held schedules (paused, or in error): a paused page and its count walk those
                // alone rather than every schedule. Only a pause, a resume or an error writes here, never a firing.
                built &= await EnsureIndexAsync(connection, HeldIndexName(prefix),
                    $"ON {prefix}triggers (sched_name, trigger_group, trigger_name) INCLUDE (trigger_state, job_group) " +
                    "WHERE job_name = trigger_name AND trigger_state IN ('PAUSED', 'PAUSED_BLOCKED', 'ERROR')", ct);
                built &= await EnsureIndexAsync(connection, OrderIndexName(prefix),
                    $"ON {prefix}job_details (sched_name, job_group COLLATE \"C\", job_name)", ct);
                if (await TryCreateExtensionAsync(connection, ct))
                {
                    built &= await EnsureIndexAsync(connection, SearchIndexName(prefix),
                        $"ON {prefix}job_details USING gin (lower(job_group || '.' || job_name) gin_trgm_ops)", ct);
                }
            }
            finally
            {
                await ExecuteAsync(connection, $"SELECT pg_advisory_unlock({IndexLockKey})", CancellationToken.None);
            }

            return built;
        }
        catch (Exception ex) when (ct.IsCancellationRequested && ex is OperationCanceledException or NpgsqlException)
        {
            // The node is stopping (a cancelled build fails as a PostgreSQL error): the next start builds what is missing.
            throw new OperationCanceledException(ct);
        }
        catch (Exception ex) when (!ct.IsCancellationRequested)
        {
            // Not fatal, whatever it is (a socket or timeout error as much as a PostgreSQL one): the list answers the
            // same without these indexes, only slower at scale. Escaping, it failed the host's StopAsync.
            LogFailed(logger, ex.Message);
            return false;
        }
    }

    /// <summary>Waits (up to two minutes) until Quartz has created its tables; false when they never appeared.</summary>
    private async Task<bool> WaitForQuartzTablesAsync(NpgsqlConnection connection, string prefix, CancellationToken ct)
    {
        var deadline = time.GetUtcNow() + TimeSpan.FromMinutes(2);
        while (true)
        {
            await using var command = new NpgsqlCommand("SELECT to_regclass(@jobs) IS NOT NULL AND to_regclass(@triggers) IS NOT NULL", connection);
            command.Parameters.AddWithValue("jobs", $"{prefix}job_details");
            command.Parameters.AddWithValue("triggers", $"{prefix}triggers");
            if (await command.ExecuteScalarAsync(ct) is true)
            {
                return true;
            }

            if (time.GetUtcNow() >= deadline)
            {
                return false;
            }

            await Task.Delay(TimeSpan.FromSeconds(1), time, ct);
        }
    }

    private static async Task<bool> TryLockAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand($"SELECT pg_try_advisory_lock({IndexLockKey})", connection);
        return await command.ExecuteScalarAsync(ct) is true;
    }

    private async Task<bool> TryCreateExtensionAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        try
        {
            // pg_trgm is a trusted extension (PostgreSQL 13+): a database owner may create it without being a superuser.
            await ExecuteAsync(connection, "CREATE EXTENSION IF NOT EXISTS pg_trgm", ct);
            return true;
        }
        catch (PostgresException ex)
        {
            LogNoExtension(logger, ex.MessageText);
            return false;
        }
    }

    /// <summary>
    /// Builds <paramref name="name"/> unless a valid index of that name exists; an invalid one is dropped first. False
    /// when the build gave up (a lock wait timed out, or another error): worth trying again later.
    /// </summary>
    private async Task<bool> EnsureIndexAsync(NpgsqlConnection connection, string name, string definition, CancellationToken ct)
    {
        await using (var check = new NpgsqlCommand(
            "SELECT i.indisvalid FROM pg_index i WHERE i.indexrelid = to_regclass(@name)", connection))
        {
            check.Parameters.AddWithValue("name", name);
            switch (await check.ExecuteScalarAsync(ct))
            {
                case true:
                    return true;
                case false:
                    await ExecuteAsync(connection, $"DROP INDEX CONCURRENTLY IF EXISTS {name}", ct);
                    break;
            }
        }

        try
        {
            await ExecuteAsync(connection, $"CREATE INDEX CONCURRENTLY IF NOT EXISTS {name} {definition}", ct);
            LogBuilt(logger, name);
            return true;
        }
        catch (PostgresException ex) when (!ct.IsCancellationRequested)
        {
            LogIndexFailed(logger, name, ex.MessageText);
            // A lock wait that timed out (or a statement cancelled) passes; a refusal (no privilege) stays as it is.
            return ex.SqlState is not (PostgresErrorCodes.LockNotAvailable or PostgresErrorCodes.QueryCanceled);
        }
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken ct)
    {
        // Only names this class writes (the configured table prefix and fixed suffixes) are in the text.
        await using var command = new NpgsqlCommand(sql, connection) { CommandTimeout = 0 };
        await command.ExecuteNonQueryAsync(ct);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Schedule list index {Index} built")]
    private static partial void LogBuilt(ILogger logger, string index);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Schedule list index {Index} not built ({Reason}); the schedule list works without it, slower at scale")]
    private static partial void LogIndexFailed(ILogger logger, string index, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "pg_trgm could not be created ({Reason}): the schedule list's q reads every id without an index")]
    private static partial void LogNoExtension(ILogger logger, string reason);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Quartz's tables ({Prefix}job_details, {Prefix}triggers) did not appear within two minutes: schedule list indexes not built")]
    private static partial void LogNoTables(ILogger logger, string prefix);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Schedule list indexes not checked: {Reason}")]
    private static partial void LogFailed(ILogger logger, string reason);
}
