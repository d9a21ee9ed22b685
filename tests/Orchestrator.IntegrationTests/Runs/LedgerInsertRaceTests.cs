using System.Collections.Concurrent;
using System.Reflection;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orchestrator.Data;
using Orchestrator.Hosting;
using Orchestrator.IntegrationTests.Infrastructure;
using Orchestrator.Runs;
using Quartz;

namespace Orchestrator.IntegrationTests.Runs;

/// <summary>
/// Two firings that begin the same fire time at the same instant both tried to INSERT its ledger row; the loser hit
/// the unique key, and although the ledger resolved it, EF Core logged the failed command as <c>fail:</c> with a stack
/// trace. The ledger now inserts with <c>ON CONFLICT DO NOTHING</c>, written from EF Core's model; these tests drive
/// the real <see cref="RunLedger"/> in-process against the real databases.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class LedgerInsertRaceTests
{
    private const int Occurrences = 100;

    private static readonly DateTimeOffset FirstFireTime = new(2026, 11, 30, 9, 0, 0, TimeSpan.Zero);

    // Not a whole second, so a lost fraction shows; whole 100 µs, the finest both stores keep (PostgreSQL's timestamptz
    // keeps microseconds, EF Core's binary DateTimeOffset on SQLite units of 1,000 ticks).
    private static readonly DateTimeOffset Now = new DateTimeOffset(2026, 11, 30, 9, 0, 1, TimeSpan.Zero).AddTicks(1_234_000);

    [Test]
    public async Task Two_concurrent_begins_of_one_fire_time_make_one_row_resolve_both_and_log_no_failure_on_postgres()
    {
        var logs = new RecordingLoggerProvider();
        await using var services = await LedgerServicesAsync(await PostgresAsync("ledgerrace"), logs);

        var claims = new List<RunClaim[]>();
        for (var i = 0; i < Occurrences; i++)
        {
            var start = Start("default.race", FirstFireTime.AddMinutes(i), node: "node-a", fireInstanceId: $"fire-{i}");
            claims.Add(await Task.WhenAll(BeginInOwnScopeAsync(services, start), BeginInOwnScopeAsync(services, start)));
        }

        Assert.Multiple(() =>
        {
            foreach (var pair in claims)
            {
                // One begin inserted the row and runs it; the other found it and knows this firing is already running.
                Assert.That(pair.Count(c => c.ShouldRun), Is.EqualTo(1));
                Assert.That(pair.Single(c => c.ShouldRun).Run!.Attempt, Is.EqualTo(1));
                Assert.That(pair.Single(c => !c.ShouldRun).SkipReason, Is.EqualTo("this firing is already running"));
            }
        });

        await using var scope = services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>();
        var rows = await db.Runs.Where(r => r.ScheduleId == "default.race").ToListAsync();
        Assert.That(rows, Has.Count.EqualTo(Occurrences));
        Assert.That(rows.Select(r => r.Attempt), Is.All.EqualTo(1));
        Assert.That(logs.Entries.Where(e => e.Level >= LogLevel.Error || e.Exception is not null), Is.Empty,
            "a handled race logged a failure:\n" + string.Join('\n', logs.Entries.Where(e => e.Level >= LogLevel.Error).Select(e => $"{e.Category}: {e.Message}")));
    }

    [TestCase("Postgres")]
    [TestCase("Sqlite")]
    public async Task A_row_the_ledger_inserts_reads_back_through_ef_core_as_the_row_ef_core_saves(string provider)
    {
        var logs = new RecordingLoggerProvider();
        await using var services = await LedgerServicesAsync(provider == "Postgres" ? await PostgresAsync("ledgerinsert") : Sqlite(), logs);
        var fireTime = FirstFireTime.ToOffset(TimeSpan.FromHours(13.75));

        var claim = await BeginInOwnScopeAsync(services, Start("default.inserted", fireTime, "node-a", "fire-1"));
        Assert.That(claim.ShouldRun, Is.True);

        // The same values through SaveChanges, for comparison.
        await using (var scope = services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>();
            db.Runs.Add(new RunRecord
            {
                Id = Guid.CreateVersion7(Now),
                ScheduleId = "default.saved",
                ProjectId = "default",
                ActionType = "call_api",
                Status = RunStatus.Running,
                TriggeredBy = RunTrigger.Schedule,
                ScheduledFireTime = RunLedger.KeyTime(fireTime),
                StartedAt = Now,
                Node = "node-a",
                FireInstanceId = "fire-1",
                Attempt = 1,
                IdempotencyKey = RunLedger.IdempotencyKeyFor("default.saved", RunLedger.KeyTime(fireTime)),
                ConfigSnapshot = "{}",
            });
            await db.SaveChangesAsync();
        }

        await using (var scope = services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>();
            // Found by the same equality the ledger looks rows up with, and by a range, as run queries filter.
            var inserted = await db.Runs.AsNoTracking().SingleAsync(r => r.ScheduleId == "default.inserted" && r.ScheduledFireTime == RunLedger.KeyTime(fireTime));
            var saved = await db.Runs.AsNoTracking().SingleAsync(r => r.ScheduleId == "default.saved");
            var inRange = await db.Runs.CountAsync(r => r.StartedAt >= Now && r.StartedAt <= Now);

            Assert.Multiple(() =>
            {
                Assert.That(inserted.Id, Is.EqualTo(claim.Run!.Id));
                Assert.That(inserted.ScheduledFireTime, Is.EqualTo(saved.ScheduledFireTime));
                Assert.That(inserted.ScheduledFireTime.UtcTicks, Is.EqualTo(FirstFireTime.UtcTicks));
                Assert.That(inserted.StartedAt, Is.EqualTo(saved.StartedAt));
                Assert.That(inserted.StartedAt!.Value.UtcTicks, Is.EqualTo(Now.UtcTicks));
                Assert.That(inserted.StartedAt.Value.Offset, Is.EqualTo(saved.StartedAt!.Value.Offset));
                Assert.That(inserted.FinishedAt, Is.Null);
                Assert.That(inserted.Status, Is.EqualTo(RunStatus.Running));
                Assert.That(inserted.TriggeredBy, Is.EqualTo(RunTrigger.Schedule));
                Assert.That(inserted.Attempt, Is.EqualTo(1));
                Assert.That(inserted.Version, Is.EqualTo(saved.Version));
                Assert.That(inserted.IdempotencyKey, Is.EqualTo(RunLedger.IdempotencyKeyFor("default.inserted", RunLedger.KeyTime(fireTime))));
                Assert.That(inserted.ConfigSnapshot, Is.EqualTo("{}"));
                Assert.That(inRange, Is.EqualTo(2));
            });
        }

        // A second firing of the fire time (here, a recovery) finds the row the ledger inserted, and takes it over.
        var recovery = await BeginInOwnScopeAsync(services, Start("default.inserted", fireTime, "node-b", "fire-2") with { Recovering = true });
        Assert.That(recovery.Run?.Id, Is.EqualTo(claim.Run!.Id));
        Assert.That(recovery.Run!.Attempt, Is.EqualTo(2));
        Assert.That(logs.Entries.Where(e => e.Level >= LogLevel.Error), Is.Empty);
    }

    [Test]
    public async Task A_firing_cancelled_while_its_row_is_written_still_gets_its_row_to_complete_on_postgres()
    {
        var storage = await PostgresAsync("ledgercancel");
        await using var services = await LedgerServicesAsync(storage, new RecordingLoggerProvider());
        await using var holder = await HoldRunsTableAsync(storage);

        using var cancel = new CancellationTokenSource();
        await using var scope = services.CreateAsyncScope();
        var ledger = scope.ServiceProvider.GetRequiredService<RunLedger>();
        var begin = ledger.BeginAsync(Start("default.cancelled", FirstFireTime, "node-a", "fire-1"), cancel.Token);
        await Task.Delay(500);
        Assert.That(begin.IsCompleted, Is.False, "the insert is held by the table lock");

        cancel.Cancel();
        await Task.Delay(300);
        // It used to stop waiting here, while its row went on to be inserted as running with no one to complete it.
        Assert.That(begin.IsCompleted, Is.False, "a cancelled firing still waits for its row to be durable");

        await holder.ReleaseAsync();
        var claim = await begin;
        Assert.That(claim.ShouldRun, Is.True, "the firing holds the row it inserted");

        // What RunLedgerMiddleware does with a claim whose token is cancelled (its normal path throws, and the catch
        // completes the run as cancelled).
        Assert.Throws<OperationCanceledException>(() => cancel.Token.ThrowIfCancellationRequested());
        await ledger.CompleteAsync(claim.Run!, RunStatus.Cancelled, null, "cancelled");

        await using var read = services.CreateAsyncScope();
        var row = await read.ServiceProvider.GetRequiredService<OrchestratorDbContext>().Runs.AsNoTracking().SingleAsync(r => r.ScheduleId == "default.cancelled");
        Assert.That(row.Status, Is.EqualTo(RunStatus.Cancelled));
        Assert.That(row.FinishedAt, Is.Not.Null);
    }

    [Test]
    public async Task A_bad_row_in_a_batch_fails_only_its_own_firing_and_an_idempotency_key_conflict_reads_the_row_on_postgres()
    {
        var storage = await PostgresAsync("ledgerbatch");
        await using var services = await LedgerServicesAsync(storage, new RecordingLoggerProvider());
        var writer = services.GetRequiredService<RunLedgerWriter>();

        // A row already holding the idempotency key another firing's row will carry.
        var existing = Row("default.existing", FirstFireTime, "shared-key");
        await using (var scope = services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>();
            db.Runs.Add(existing);
            await db.SaveChangesAsync();
        }

        Task<RunRecord> first, good, bad, conflicting, alsoGood;
        await using (var holder = await HoldRunsTableAsync(storage))
        {
            // The first row goes out alone and waits on the lock; the next four queue behind it and share one statement.
            first = writer.InsertOrReadAsync(Row("default.first", FirstFireTime));
            await Task.Delay(500);
            good = writer.InsertOrReadAsync(Row("default.good", FirstFireTime));
            // Longer than the column's 100 characters: PostgreSQL refuses the statement that carries it.
            bad = writer.InsertOrReadAsync(Row("default.bad", FirstFireTime, new string('x', 150)));
            conflicting = writer.InsertOrReadAsync(Row("default.conflicting", FirstFireTime, "shared-key"));
            alsoGood = writer.InsertOrReadAsync(Row("default.also-good", FirstFireTime));
            await Task.Delay(300);
            await holder.ReleaseAsync();
        }

        Assert.That((await first).ScheduleId, Is.EqualTo("default.first"));
        Assert.That((await good).ScheduleId, Is.EqualTo("default.good"));
        Assert.That((await alsoGood).ScheduleId, Is.EqualTo("default.also-good"));
        Assert.That((await conflicting).Id, Is.EqualTo(existing.Id), "a unique violation on the idempotency key reads the row that holds it");
        Assert.ThrowsAsync(Is.InstanceOf<Exception>(), async () => await bad);

        await using var read = services.CreateAsyncScope();
        var rows = await read.ServiceProvider.GetRequiredService<OrchestratorDbContext>().Runs.AsNoTracking().Select(r => r.ScheduleId).ToListAsync();
        Assert.That(rows, Is.EquivalentTo(new[] { "default.existing", "default.first", "default.good", "default.also-good" }));
    }

    [TestCase("Postgres")]
    [TestCase("Sqlite")]
    public async Task Completions_that_finish_together_each_record_their_own_outcome_and_a_taken_over_runs_late_completion_still_loses(string provider)
    {
        var logs = new RecordingLoggerProvider();
        var storage = provider == "Postgres" ? await PostgresAsync("ledgercomplete") : Sqlite();
        await using var services = await LedgerServicesAsync(storage, logs);

        // Five firings on node-a, each with its ledger in a scope of its own, as RunLedgerMiddleware has it.
        var firings = new List<(AsyncServiceScope Scope, RunLedger Ledger, RunRecord Run)>();
        for (var i = 0; i < 5; i++)
        {
            var scope = services.CreateAsyncScope();
            var ledger = scope.ServiceProvider.GetRequiredService<RunLedger>();
            var claim = await ledger.BeginAsync(Start($"default.done-{i}", FirstFireTime, "node-a", $"fire-{i}"), CancellationToken.None);
            firings.Add((scope, ledger, claim.Run!));
        }

        try
        {
            // The last run is taken over (node-a written off, a recovery on node-b) before its own completion arrives.
            var recovery = await BeginInOwnScopeAsync(services, Start("default.done-4", FirstFireTime, "node-b", "fire-9") with { Recovering = true });
            Assert.That(recovery.Run!.Attempt, Is.EqualTo(2));

            var completing = new Task[firings.Count];
            Task Complete(int i) => firings[i].Ledger.CompleteAsync(
                firings[i].Run, i % 2 == 0 ? RunStatus.Succeeded : RunStatus.Failed, $"{{\"n\":{i}}}", i % 2 == 0 ? null : $"failed {i}");
            await using (var holder = provider == "Postgres" ? await HoldRunsTableAsync(storage) : null)
            {
                // On PostgreSQL the first completion goes out alone and waits on the lock; the other four queue behind it
                // and share one statement, the taken-over run's among them.
                completing[0] = Complete(0);
                await Task.Delay(300);
                for (var i = 1; i < firings.Count; i++)
                {
                    completing[i] = Complete(i);
                }

                await Task.Delay(300);
                Assert.That(provider == "Sqlite" || completing.All(t => !t.IsCompleted), Is.True, "the completions wait for the lock");
            }

            await Task.WhenAll(completing);

            await using var read = services.CreateAsyncScope();
            var rows = await read.ServiceProvider.GetRequiredService<OrchestratorDbContext>().Runs.AsNoTracking()
                .Where(r => r.ScheduleId.StartsWith("default.done-")).ToDictionaryAsync(r => r.ScheduleId);
            Assert.Multiple(() =>
            {
                for (var i = 0; i < 4; i++)
                {
                    var row = rows[$"default.done-{i}"];
                    Assert.That(row.Status, Is.EqualTo(i % 2 == 0 ? RunStatus.Succeeded : RunStatus.Failed), $"run {i}'s status");
                    Assert.That(row.Result, Is.EqualTo($"{{\"n\":{i}}}"), $"run {i}'s result");
                    Assert.That(row.Error, Is.EqualTo(i % 2 == 0 ? null : $"failed {i}"), $"run {i}'s error");
                    Assert.That(row.FinishedAt?.UtcTicks, Is.EqualTo(Now.UtcTicks), $"run {i} finished");
                    Assert.That(row.Version, Is.EqualTo(firings[i].Run.Version), $"run {i}'s version, raised once");
                    Assert.That(firings[i].Run.Status, Is.EqualTo(row.Status), "the firing's own copy follows the row");
                }

                // The late completion of the attempt that was taken over changed nothing: the row is the recovery's.
                var taken = rows["default.done-4"];
                Assert.That(taken.Status, Is.EqualTo(RunStatus.Running));
                Assert.That(taken.Node, Is.EqualTo("node-b"));
                Assert.That(taken.Attempt, Is.EqualTo(2));
                Assert.That(taken.FinishedAt, Is.Null);
                Assert.That(taken.Result, Is.Null);
                Assert.That(firings[4].Run.Status, Is.EqualTo(RunStatus.Running), "the superseded firing's copy is left as it was");
                Assert.That(logs.Entries.Count(e => e.Message.Contains("finished after another node took the run over", StringComparison.Ordinal)), Is.EqualTo(1));
            });
        }
        finally
        {
            foreach (var firing in firings)
            {
                await firing.Scope.DisposeAsync();
            }
        }
    }

    [Test]
    public async Task A_completion_the_database_refuses_fails_only_its_own_firing_in_a_batch_on_postgres()
    {
        var storage = await PostgresAsync("ledgercompletebad");
        await using var services = await LedgerServicesAsync(storage, new RecordingLoggerProvider());
        var writer = services.GetRequiredService<RunLedgerWriter>();
        var runs = new Dictionary<string, RunRecord>();
        foreach (var name in new[] { "first", "good", "bad", "also-good" })
        {
            runs[name] = await writer.InsertOrReadAsync(Row($"default.{name}", FirstFireTime));
        }

        RunCompletion Done(string name, string result) => new(runs[name].Id, runs[name].Version, RunStatus.Succeeded, result, null, Now);
        Task<bool> first, good, bad, alsoGood;
        await using (var holder = await HoldRunsTableAsync(storage))
        {
            first = writer.CompleteAsync(Done("first", "{}"));
            await Task.Delay(300);
            good = writer.CompleteAsync(Done("good", "{}"));
            // PostgreSQL's text refuses a NUL character: the statement carrying it fails as a whole.
            bad = writer.CompleteAsync(Done("bad", "{\"a\":\"\u0000\"}"));
            alsoGood = writer.CompleteAsync(Done("also-good", "{}"));
            await Task.Delay(300);
        }

        Assert.That(await first, Is.True);
        Assert.That(await good, Is.True);
        Assert.That(await alsoGood, Is.True);
        Assert.ThrowsAsync(Is.InstanceOf<Exception>(), async () => await bad);

        await using var read = services.CreateAsyncScope();
        var statuses = await read.ServiceProvider.GetRequiredService<OrchestratorDbContext>().Runs.AsNoTracking()
            .ToDictionaryAsync(r => r.ScheduleId, r => r.Status);
        Assert.That(statuses, Is.EquivalentTo(new Dictionary<string, RunStatus>
        {
            ["default.first"] = RunStatus.Succeeded,
            ["default.good"] = RunStatus.Succeeded,
            ["default.bad"] = RunStatus.Running,
            ["default.also-good"] = RunStatus.Succeeded,
        }));
    }

    private static RunRecord Row(string scheduleId, DateTimeOffset fireTime, string? idempotencyKey = null) => new()
    {
        Id = Guid.CreateVersion7(),
        ScheduleId = scheduleId,
        ProjectId = "default",
        ActionType = "call_api",
        Status = RunStatus.Running,
        TriggeredBy = RunTrigger.Schedule,
        ScheduledFireTime = fireTime,
        StartedAt = Now,
        Node = "node-a",
        FireInstanceId = "fire-1",
        Attempt = 1,
        IdempotencyKey = idempotencyKey ?? RunLedger.IdempotencyKeyFor(scheduleId, fireTime),
        ConfigSnapshot = "{}",
    };

    /// <summary>Holds every insert into the runs table (a lock in an open transaction) until released.</summary>
    private static async Task<TableHold> HoldRunsTableAsync(StorageChoice storage)
    {
        var connection = new Npgsql.NpgsqlConnection(storage.ConnectionString);
        await connection.OpenAsync();
        var transaction = await connection.BeginTransactionAsync();
        await using (var command = new Npgsql.NpgsqlCommand("LOCK TABLE runs IN SHARE ROW EXCLUSIVE MODE", connection, transaction))
        {
            await command.ExecuteNonQueryAsync();
        }

        return new TableHold(connection, transaction);
    }

    private sealed class TableHold(Npgsql.NpgsqlConnection connection, Npgsql.NpgsqlTransaction transaction) : IAsyncDisposable
    {
        private bool released;

        public async Task ReleaseAsync()
        {
            if (!released)
            {
                released = true;
                await transaction.CommitAsync();
            }
        }

        public async ValueTask DisposeAsync()
        {
            await ReleaseAsync();
            await transaction.DisposeAsync();
            await connection.DisposeAsync();
        }
    }

    private static RunStart Start(string scheduleId, DateTimeOffset fireTime, string node, string fireInstanceId) =>
        new(scheduleId, "default", "call_api", fireTime, RunTrigger.Schedule, Recovering: false, node, fireInstanceId, "{}", PendingRunId: null);

    private static async Task<RunClaim> BeginInOwnScopeAsync(IServiceProvider services, RunStart start)
    {
        await using var scope = services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<RunLedger>().BeginAsync(start, CancellationToken.None);
    }

    private static async Task<StorageChoice> PostgresAsync(string name) =>
        new(IsPostgres: true, await TestPostgres.CreateDatabaseAsync(name), Clustered: true, MigrateOnStart: true, Path.GetTempPath(), []);

    private static StorageChoice Sqlite()
    {
        var directory = Directory.CreateTempSubdirectory("orchestrator-ledger-").FullName;
        return new(IsPostgres: false, $"Data Source={Path.Combine(directory, "orchestrator.db")};Pooling=False", Clustered: false, MigrateOnStart: true, directory, []);
    }

    /// <summary>The ledger as the server composes it (EF Core data, migrated), with its logs recorded.</summary>
    private static async Task<ServiceProvider> LedgerServicesAsync(StorageChoice storage, RecordingLoggerProvider logs)
    {
        var services = new ServiceCollection();
        services.AddLogging(logging => logging.AddProvider(logs).SetMinimumLevel(LogLevel.Debug));
        services.AddSingleton(storage);
        services.AddOrchestratorData(storage);
        services.AddSingleton<TimeProvider>(new FixedTime(Now));
        // The ledger asks the scheduler only whether another node's running firing is still alive; no firing here needs that.
        services.AddSingleton(DispatchProxy.Create<ISchedulerFactory, NoScheduler>());
        services.AddSingleton<RunLedgerWriter>();
        services.AddScoped<RunLedger>();
        var provider = services.BuildServiceProvider();
        await provider.GetRequiredService<DatabaseInitializer>().MigrateAsync(CancellationToken.None);
        return provider;
    }

    /// <summary>Fails the test if the ledger asks for a scheduler.</summary>
    public class NoScheduler : DispatchProxy
    {
        protected override object? Invoke(MethodInfo? targetMethod, object?[]? args) =>
            throw new AssertionException($"the ledger asked the scheduler ({targetMethod?.Name}); these firings should not need it");
    }

    private sealed class FixedTime(DateTimeOffset now) : TimeProvider
    {
        public override DateTimeOffset GetUtcNow() => now;
    }

    private sealed record LogEntry(string Category, LogLevel Level, EventId EventId, string Message, Exception? Exception);

    private sealed class RecordingLoggerProvider : ILoggerProvider
    {
        private readonly ConcurrentQueue<LogEntry> entries = new();

        public IReadOnlyList<LogEntry> Entries => [.. entries];

        public ILogger CreateLogger(string categoryName) => new Recorder(categoryName, entries);

        public void Dispose()
        {
        }

        private sealed class Recorder(string category, ConcurrentQueue<LogEntry> entries) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter) =>
                entries.Enqueue(new LogEntry(category, logLevel, eventId, formatter(state, exception), exception));
        }
    }
}
