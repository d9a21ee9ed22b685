using System.Threading.Channels;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage;
using Orchestrator.Data;

namespace Orchestrator.Runs;

/// <summary>What an attempt ended as: the ledger's completion of run <paramref name="RunId"/>, guarded by the version the attempt wrote.</summary>
public sealed record RunCompletion(Guid RunId, int Version, RunStatus Status, string? Result, string? Error, DateTimeOffset FinishedAt);

/// <summary>
/// Group commit of the ledger's writes on one node: firings that start together (a burst of schedules due on one
/// second, a batch Quartz acquired in one round) queue their begin rows, and one writer inserts whatever is queued in
/// one multi-row statement — one round trip and one commit for the lot — while each firing waits for its own row to be
/// durable before its action starts. Completions are written the same way, by a writer of their own: firings that
/// finish together share one guarded <c>UPDATE</c>, and each waits for its own outcome to be durable before it hands
/// the firing back to Quartz.
/// </summary>
/// <remarks>
/// No row waits for a timer: the writer takes what is queued the moment it is free, so a firing alone goes out at once
/// and the batch is whatever arrived while the previous statement was in flight. Two firings of the same schedule and
/// fire time in one batch (a race the ledger must resolve) send the row once; the second gets the row the first
/// inserted, as it would have found it a statement later. A failed statement fails no firing by itself: each of its
/// rows is sent again alone, so one bad row fails only its own firing, not the unrelated schedules batched with it.
/// </remarks>
public sealed class RunLedgerWriter(IServiceScopeFactory scopes) : IAsyncDisposable
{
    /// <summary>Rows per statement: 17 parameters each, far inside PostgreSQL's and SQLite's parameter limits.</summary>
    public const int MaxBatch = 64;

    private readonly Channel<Request> queue = Channel.CreateUnbounded<Request>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Channel<Completion> completions = Channel.CreateUnbounded<Completion>(new UnboundedChannelOptions { SingleReader = true });
    private readonly Lock gate = new();
    private Task? writer;
    private Task? completer;

    private sealed record Request(RunRecord Row, TaskCompletionSource<RunRecord> Written);

    private sealed record Completion(RunCompletion Values, TaskCompletionSource<bool> Written);

    /// <summary>
    /// Inserts <paramref name="run"/> unless a row for its schedule and fire time is there, and returns the row that is
    /// there now (untracked): <paramref name="run"/>'s own values, same id, when it was inserted.
    /// </summary>
    /// <remarks>
    /// Takes no cancellation token: once queued, the row is inserted whatever the firing does, so the firing waits for
    /// it (the statement is bounded) and honours its own cancellation afterwards, with the row in hand to complete.
    /// Giving up here left a row inserted as running that no one would ever complete.
    /// </remarks>
    public Task<RunRecord> InsertOrReadAsync(RunRecord run)
    {
        var request = new Request(run, new TaskCompletionSource<RunRecord>(TaskCreationOptions.RunContinuationsAsynchronously));
        lock (gate)
        {
            writer ??= Task.Run(WriteQueuedAsync, CancellationToken.None);
        }

        if (!queue.Writer.TryWrite(request))
        {
            throw new ObjectDisposedException(nameof(RunLedgerWriter), "The node is shutting down.");
        }

        return request.Written.Task;
    }

    private async Task WriteQueuedAsync()
    {
        var batch = new List<Request>(MaxBatch);
        while (await queue.Reader.WaitToReadAsync(CancellationToken.None))
        {
            batch.Clear();
            while (batch.Count < MaxBatch && queue.Reader.TryRead(out var request))
            {
                batch.Add(request);
            }

            try
            {
                await WriteAsync(batch);
            }
            catch (Exception) when (batch.Count > 1)
            {
                // One bad row must not fail up to MaxBatch unrelated firings: each row is sent again on its own.
                foreach (var group in batch.GroupBy(r => (r.Row.ScheduleId, r.Row.ScheduledFireTime)))
                {
                    await WriteAloneAsync([.. group]);
                }
            }
            catch (Exception ex)
            {
                Fail(batch, ex);
            }
        }
    }

    /// <summary>
    /// One row (and the requests of the same key) in a statement of its own. A unique violation on another index than
    /// the schedule and fire time (the idempotency key, the id) means the row is there under that key: it is read.
    /// </summary>
    private async Task WriteAloneAsync(List<Request> requests)
    {
        try
        {
            await WriteAsync(requests);
        }
        catch (Exception ex) when (IsUniqueViolation(ex))
        {
            try
            {
                var run = requests[0].Row;
                await using var scope = scopes.CreateAsyncScope();
                var db = scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>();
                var row = await db.Runs.AsNoTracking()
                    .Where(r => (r.ScheduleId == run.ScheduleId && r.ScheduledFireTime == run.ScheduledFireTime)
                        || r.IdempotencyKey == run.IdempotencyKey || r.Id == run.Id)
                    .FirstOrDefaultAsync(CancellationToken.None);
                if (row is null)
                {
                    Fail(requests, ex);
                    return;
                }

                for (var i = 0; i < requests.Count; i++)
                {
                    requests[i].Written.TrySetResult(i == 0 ? row : Copy(row));
                }
            }
            catch (Exception readFailed)
            {
                Fail(requests, readFailed);
            }
        }
        catch (Exception ex)
        {
            Fail(requests, ex);
        }
    }

    private static void Fail(IEnumerable<Request> requests, Exception ex)
    {
        foreach (var request in requests)
        {
            request.Written.TrySetException(ex);
        }
    }

    private static bool IsUniqueViolation(Exception ex)
    {
        for (var e = ex; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case Npgsql.PostgresException { SqlState: Npgsql.PostgresErrorCodes.UniqueViolation }:
                // SQLITE_CONSTRAINT_UNIQUE and SQLITE_CONSTRAINT_PRIMARYKEY.
                case Microsoft.Data.Sqlite.SqliteException { SqliteExtendedErrorCode: 2067 or 1555 }:
                    return true;
            }
        }

        return false;
    }

    private async Task WriteAsync(List<Request> batch)
    {
        var first = batch.DistinctBy(r => (r.Row.ScheduleId, r.Row.ScheduledFireTime)).ToList();
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>();
        // Not the firing's token: the statement is shared, and a row one firing gave up on is still another's answer.
        var rows = (await InsertOrReadAsync(db, [.. first.Select(r => r.Row)], CancellationToken.None))
            .ToDictionary(r => (r.ScheduleId, r.ScheduledFireTime));
        foreach (var request in batch)
        {
            if (!rows.TryGetValue((request.Row.ScheduleId, request.Row.ScheduledFireTime), out var row))
            {
                request.Written.TrySetException(new InvalidOperationException($"The ledger returned no row for {request.Row.ScheduleId} at {request.Row.ScheduledFireTime:O}."));
            }
            else
            {
                // Each firing tracks the row in its own context, so a second firing of the same key gets a copy.
                request.Written.TrySetResult(first.Contains(request) ? row : Copy(row));
            }
        }
    }

    /// <summary>
    /// <c>INSERT … VALUES (…), (…) ON CONFLICT (schedule_id, scheduled_fire_time) DO UPDATE SET version = version
    /// RETURNING …</c> (PostgreSQL, and SQLite since 3.35), one statement for every row.
    /// </summary>
    /// <remarks>
    /// The no-op update is what makes the statement return the existing row, and on PostgreSQL it returns the row as
    /// last committed even when another node inserted it after this statement's snapshot (read committed's rule for ON
    /// CONFLICT), so the read cannot miss it. It never raises the unique violation that <c>SaveChanges</c> would, which
    /// EF Core logs as an error with a stack trace before anyone can catch it, and two nodes inserting the same fire time
    /// at the same instant cannot avoid it by looking first. The version is left as it is, so an attempt's guarded
    /// completion is unaffected. The idempotency key is derived from the same schedule and fire time, so its unique
    /// index cannot conflict on its own. The rows must have distinct keys (PostgreSQL refuses to update one row twice
    /// in a statement). The statement is written from EF Core's own model — table, column names and each column's type
    /// mapping, value converters included (SQLite stores <see cref="DateTimeOffset"/> as a binary integer) — so rows are
    /// stored exactly as <c>SaveChanges</c> would store them, and read back through EF Core's materializer.
    /// </remarks>
    internal static async Task<List<RunRecord>> InsertOrReadAsync(OrchestratorDbContext db, IReadOnlyList<RunRecord> runs, CancellationToken ct)
    {
        var entity = db.Model.FindEntityType(typeof(RunRecord))!;
        var table = StoreObjectIdentifier.Table(entity.GetTableName()!, entity.GetSchema());
        var sql = db.GetService<ISqlGenerationHelper>();
        string Column(string property) => sql.DelimitIdentifier(entity.FindProperty(property)!.GetColumnName(table)!);
        var properties = entity.GetProperties().ToList();
        var columns = properties.Select(p => sql.DelimitIdentifier(p.GetColumnName(table)!)).ToList();
        var values = new List<string>(runs.Count);
        var parameters = new List<object>(runs.Count * properties.Count);
        await using (var command = db.Database.GetDbConnection().CreateCommand())
        {
            foreach (var run in runs)
            {
                var placeholders = new List<string>(properties.Count);
                foreach (var property in properties)
                {
                    var name = sql.GenerateParameterName($"p{parameters.Count}");
                    placeholders.Add(sql.GenerateParameterNamePlaceholder($"p{parameters.Count}"));
                    // CreateParameter applies the property's value converter and sets the provider type, as SaveChanges does.
                    parameters.Add(property.GetRelationalTypeMapping().CreateParameter(command, name, property.GetGetter().GetClrValue(run), property.IsNullable));
                }

                values.Add($"({string.Join(", ", placeholders)})");
            }
        }

        // Only identifiers from the model and parameter placeholders go into the text; every value is a parameter.
        var target = sql.DelimitIdentifier(table.Name, table.Schema);
        var version = Column(nameof(RunRecord.Version));
        var statement =
            $"INSERT INTO {target} ({string.Join(", ", columns)}) VALUES {string.Join(", ", values)} " +
            $"ON CONFLICT ({Column(nameof(RunRecord.ScheduleId))}, {Column(nameof(RunRecord.ScheduledFireTime))}) " +
            $"DO UPDATE SET {version} = {target}.{version} RETURNING {string.Join(", ", columns)}";
        // Not composed (no operator after FromSqlRaw but AsNoTracking), so EF Core sends the statement as written.
        return await db.Runs.FromSqlRaw(statement, [.. parameters]).AsNoTracking().ToListAsync(ct);
    }

    private static RunRecord Copy(RunRecord r) => new()
    {
        Id = r.Id, ScheduleId = r.ScheduleId, ProjectId = r.ProjectId, PipelineRunId = r.PipelineRunId, ActionType = r.ActionType,
        Status = r.Status, TriggeredBy = r.TriggeredBy, ScheduledFireTime = r.ScheduledFireTime, StartedAt = r.StartedAt,
        FinishedAt = r.FinishedAt, FireInstanceId = r.FireInstanceId, Node = r.Node, Attempt = r.Attempt,
        IdempotencyKey = r.IdempotencyKey, Result = r.Result, Error = r.Error, ConfigSnapshot = r.ConfigSnapshot, Version = r.Version,
    };

    /// <summary>
    /// Completes the run as <paramref name="completion"/> says unless another attempt has written it since (its version
    /// is no longer the one this attempt wrote), and says whether it did.
    /// </summary>
    /// <remarks>
    /// Takes no cancellation token, like <see cref="InsertOrReadAsync(RunRecord)"/>: a firing completes its row whatever
    /// stopped it, and the statement is bounded. The caller awaits it before the firing goes back to Quartz, so the
    /// outcome is durable before Quartz's own completion deletes the fired row: a node that dies in between leaves a
    /// recovery firing that finds the run finished, never a run left running with nothing left to recover it.
    /// </remarks>
    public Task<bool> CompleteAsync(RunCompletion completion)
    {
        var request = new Completion(completion, new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously));
        lock (gate)
        {
            completer ??= Task.Run(CompleteQueuedAsync, CancellationToken.None);
        }

        if (!completions.Writer.TryWrite(request))
        {
            throw new ObjectDisposedException(nameof(RunLedgerWriter), "The node is shutting down.");
        }

        return request.Written.Task;
    }

    private async Task CompleteQueuedAsync()
    {
        var batch = new List<Completion>(MaxBatch);
        while (await completions.Reader.WaitToReadAsync(CancellationToken.None))
        {
            batch.Clear();
            while (batch.Count < MaxBatch && completions.Reader.TryRead(out var request))
            {
                batch.Add(request);
            }

            try
            {
                await CompleteAsync(batch);
            }
            catch (Exception) when (batch.Count > 1)
            {
                // As with the begins: one bad row (a result the database refuses) must not fail the firings batched with it.
                foreach (var request in batch)
                {
                    await CompleteAloneAsync(request);
                }
            }
            catch (Exception ex)
            {
                batch[0].Written.TrySetException(ex);
            }
        }
    }

    private async Task CompleteAloneAsync(Completion request)
    {
        try
        {
            await CompleteAsync([request]);
        }
        catch (Exception ex)
        {
            request.Written.TrySetException(ex);
        }
    }

    private async Task CompleteAsync(List<Completion> batch)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>();
        if (!db.Database.IsNpgsql())
        {
            // SQLite: one node, one writer at a time anyway; each row its own guarded UPDATE (the batch is not worth a
            // statement of another shape there).
            foreach (var request in batch)
            {
                request.Written.TrySetResult(await CompleteOneAsync(db, request.Values, CancellationToken.None));
            }

            return;
        }

        // Two completions of one run in a batch (never two of one attempt) would join one row twice: one per statement.
        var first = batch.DistinctBy(r => r.Values.RunId).ToList();
        var updated = await CompleteAllAsync(db, [.. first.Select(r => r.Values)], CancellationToken.None);
        foreach (var request in first)
        {
            request.Written.TrySetResult(updated.Contains(request.Values.RunId));
        }

        foreach (var request in batch.Except(first))
        {
            await CompleteAloneAsync(request);
        }
    }

    /// <summary>One guarded UPDATE: the row changes only while it still carries the version this attempt wrote.</summary>
    private static async Task<bool> CompleteOneAsync(OrchestratorDbContext db, RunCompletion c, CancellationToken ct) =>
        await db.Runs
            .Where(r => r.Id == c.RunId && r.Version == c.Version)
            .ExecuteUpdateAsync(set => set
                .SetProperty(r => r.Status, c.Status)
                .SetProperty(r => r.Result, c.Result)
                .SetProperty(r => r.Error, c.Error)
                .SetProperty(r => r.FinishedAt, c.FinishedAt)
                .SetProperty(r => r.Version, c.Version + 1), ct) == 1;

    /// <summary>
    /// <c>UPDATE runs AS r SET … FROM (VALUES (…), (…)) AS v (…) WHERE r.id = v.id AND r.version = v.version
    /// RETURNING r.id</c> (PostgreSQL): every completion of the batch in one statement, each guarded by its own
    /// version exactly as <see cref="CompleteOneAsync"/> is, so a run another node took over since stays as that node
    /// wrote it. Returns the runs it completed.
    /// </summary>
    /// <remarks>
    /// Written from EF Core's model like <see cref="InsertOrReadAsync(OrchestratorDbContext, IReadOnlyList{RunRecord}, CancellationToken)"/>:
    /// column names, each column's store type (every value is cast to it, so a column that is NULL on every row is
    /// still typed) and type mapping, value converters included (the status is stored as its name).
    /// </remarks>
    internal static async Task<HashSet<Guid>> CompleteAllAsync(OrchestratorDbContext db, IReadOnlyList<RunCompletion> completions, CancellationToken ct)
    {
        var entity = db.Model.FindEntityType(typeof(RunRecord))!;
        var table = StoreObjectIdentifier.Table(entity.GetTableName()!, entity.GetSchema());
        var sql = db.GetService<ISqlGenerationHelper>();
        var properties = new[]
        {
            entity.FindProperty(nameof(RunRecord.Id))!, entity.FindProperty(nameof(RunRecord.Version))!,
            entity.FindProperty(nameof(RunRecord.Status))!, entity.FindProperty(nameof(RunRecord.Result))!,
            entity.FindProperty(nameof(RunRecord.Error))!, entity.FindProperty(nameof(RunRecord.FinishedAt))!,
        };
        var columns = properties.Select(p => sql.DelimitIdentifier(p.GetColumnName(table)!)).ToArray();
        var (id, version, status, result, error, finishedAt) = (columns[0], columns[1], columns[2], columns[3], columns[4], columns[5]);
        var connection = db.Database.GetDbConnection();
        await db.Database.OpenConnectionAsync(ct);
        try
        {
            await using var command = connection.CreateCommand();
            var values = new List<string>(completions.Count);
            foreach (var c in completions)
            {
                object?[] row = [c.RunId, c.Version, c.Status, c.Result, c.Error, c.FinishedAt];
                var placeholders = new string[properties.Length];
                for (var i = 0; i < properties.Length; i++)
                {
                    var name = $"p{command.Parameters.Count}";
                    var mapping = properties[i].GetRelationalTypeMapping();
                    command.Parameters.Add(mapping.CreateParameter(command, sql.GenerateParameterName(name), row[i], nullable: true));
                    placeholders[i] = $"CAST({sql.GenerateParameterNamePlaceholder(name)} AS {properties[i].GetColumnType()})";
                }

                values.Add($"({string.Join(", ", placeholders)})");
            }

            // Only identifiers and store types from the model and parameter placeholders go into the text.
            var target = sql.DelimitIdentifier(table.Name, table.Schema);
            command.CommandText =
                $"UPDATE {target} AS r SET {status} = v.{status}, {result} = v.{result}, {error} = v.{error}, " +
                $"{finishedAt} = v.{finishedAt}, {version} = v.{version} + 1 " +
                $"FROM (VALUES {string.Join(", ", values)}) AS v ({string.Join(", ", columns)}) " +
                $"WHERE r.{id} = v.{id} AND r.{version} = v.{version} RETURNING r.{id}";
            var completed = new HashSet<Guid>();
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
            {
                completed.Add(reader.GetGuid(0));
            }

            return completed;
        }
        finally
        {
            await db.Database.CloseConnectionAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        queue.Writer.TryComplete();
        completions.Writer.TryComplete();
        Task? running, completing;
        lock (gate)
        {
            running = writer;
            completing = completer;
        }

        if (running is not null)
        {
            await running;
        }

        if (completing is not null)
        {
            await completing;
        }
    }
}
