using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Quartz;

// Throughput and lateness of schedules firing a no-op and a call_api action, Orchestrator vs raw Quartz, on the
// same PostgreSQL, clustered, with the same store settings, in the same run.
//
//   dotnet run -c Release --project bench/Orchestrator.Bench -- --postgres "Host=127.0.0.1;Port=5432;Username=postgres" \
//       [--schedules 300] [--warmup 5] [--seconds 20] [--concurrency 50]

//   dotnet run -c Release --project bench/Orchestrator.Bench -- --pipeline --postgres "…" [--nodes 1000] [--width 50] [--runs 3]
//       executor overhead of a no-op DAG, next to raw Quartz running the same DAG layer by layer (PipelineBench.cs).

//   dotnet run -c Release --project bench/Orchestrator.Bench -- --agent --postgres "…" [--turns 20] [--runs 3]
//       the agent loop's own cost per step against a scripted model, next to a plain in-memory IChatClient loop (AgentBench.cs).

//   dotnet run -c Release --project bench/Orchestrator.Bench -- --ladder --postgres "…" [--warmup 5] [--seconds 10] [--rungs 50,100,…] [--burst 1000] [--burst-only] [--create-rate 20]
//       three systems, each a separate process, interleaved on a ladder of demand 50 … 1,600 firings/s (LadderBench.cs).

//   dotnet run -c Release --project bench/Orchestrator.Bench -- --recovery --postgres "…" [--held 5] [--backlog 600]
//       two server processes, a catch-up backlog, one killed with in-flight firings: time to recovery (RecoveryBench.cs).

if (args.Contains("--raw-host"))
{
    await RawQuartzHost.RunAsync(args);
    return;
}

if (args.Contains("--ladder"))
{
    await LadderBench.RunAsync(args);
    return;
}

if (args.Contains("--recovery"))
{
    await RecoveryBench.RunAsync(args);
    return;
}

//   dotnet run -c Release --project bench/Orchestrator.Bench -- --scale --postgres "…" [--count 100000] [--repeats 60] [--database "…" --key K]
//       100,000 schedules in one project: bulk create, list/get/pause latency, restart time and RSS (ScaleBench.cs).

if (args.Contains("--scale"))
{
    await ScaleBench.RunAsync(args);
    return;
}

if (args.Contains("--agent"))
{
    await AgentBench.RunAsync(args);
    return;
}

if (args.Contains("--pipeline"))
{
    await PipelineBench.RunAsync(args);
    return;
}

var settings = BenchSettings.Parse(args);
Console.WriteLine($"settings: schedules={settings.Schedules} (each every 1 s, so target {settings.Schedules} firings/s), warm-up={settings.Warmup.TotalSeconds} s, " +
                  $"measured={settings.Measured.TotalSeconds} s, thread pool={settings.Concurrency}, store=PostgreSQL clustered (check-in 5 s), execution history on, System.Text.Json");

await using var endpoint = await LocalEndpoint.StartAsync();
var results = new List<BenchResult>
{
    await RawQuartz.RunAsync(settings, "no-op", endpoint: null, defaults: true),
    await RawQuartz.RunAsync(settings, "no-op", endpoint: null),
    await OrchestratorServer.RunAsync(settings, "no-op", endpoint: null),
    await RawQuartz.RunAsync(settings, "call_api", endpoint),
    await OrchestratorServer.RunAsync(settings, "call_api", endpoint),
};

Console.WriteLine();
Console.WriteLine($"{"system",-20} {"action",-9} {"firings/s",10} {"p50 ms",8} {"p99 ms",8} {"max ms",8} {"xact/firing",12} {"stmts/firing",13}");
foreach (var r in results)
{
    Console.WriteLine($"{r.System,-20} {r.Action,-9} {r.FiringsPerSecond,10:F1} {r.P50,8:F1} {r.P99,8:F1} {r.Max,8:F1} {r.TransactionsPerFiring,12:F2} {r.StatementsPerFiring,13:F2}");
}

foreach (var action in new[] { "no-op", "call_api" })
{
    var raw = results.Single(r => r.System == "raw Quartz" && r.Action == action);
    var ours = results.Single(r => r.System == "Orchestrator" && r.Action == action);
    Console.WriteLine($"{action}: Orchestrator/raw Quartz throughput = {ours.FiringsPerSecond / raw.FiringsPerSecond:F2}x");
}

internal sealed record BenchSettings(string Postgres, int Schedules, TimeSpan Warmup, TimeSpan Measured, int Concurrency)
{
    public static BenchSettings Parse(string[] args)
    {
        string? Value(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
        var postgres = Value("--postgres") ?? Environment.GetEnvironmentVariable("ORCHESTRATOR_BENCH_POSTGRES")
            ?? throw new ArgumentException("Give --postgres \"Host=…;Username=…\" (a role that may create databases).");
        return new BenchSettings(
            postgres,
            int.Parse(Value("--schedules") ?? "300", CultureInfo.InvariantCulture),
            TimeSpan.FromSeconds(int.Parse(Value("--warmup") ?? "5", CultureInfo.InvariantCulture)),
            TimeSpan.FromSeconds(int.Parse(Value("--seconds") ?? "20", CultureInfo.InvariantCulture)),
            int.Parse(Value("--concurrency") ?? "50", CultureInfo.InvariantCulture));
    }

    public async Task<string> CreateDatabaseAsync(string prefix)
    {
        var name = $"{prefix}_{Guid.NewGuid():N}"[..30];
        await using var connection = new NpgsqlConnection(Postgres);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
        await command.ExecuteNonQueryAsync();
        return new NpgsqlConnectionStringBuilder(Postgres) { Database = name, MaxPoolSize = 200 }.ConnectionString;
    }

    /// <summary>The first whole second at least <paramref name="lead"/> from now: every schedule starts on it.</summary>
    public static DateTimeOffset AlignedStart(TimeSpan lead)
    {
        var t = TimeProvider.System.GetUtcNow() + lead;
        return new DateTimeOffset(t.UtcTicks - (t.UtcTicks % TimeSpan.TicksPerSecond) + TimeSpan.TicksPerSecond, TimeSpan.Zero);
    }
}

internal sealed record BenchResult(string System, string Action, double FiringsPerSecond, double P50, double P99, double Max, double TransactionsPerFiring, double StatementsPerFiring)
{
    /// <param name="executedInWindow">Firings that started inside the window the counters cover (not the same as those
    /// scheduled inside it when the system runs late).</param>
    public static BenchResult From(string system, string action, IReadOnlyCollection<double> latenessMs, TimeSpan window, DatabaseCounters.Delta counted, long executedInWindow)
    {
        var sorted = latenessMs.Order().ToArray();
        double Percentile(double p) => sorted.Length == 0 ? double.NaN : sorted[Math.Min(sorted.Length - 1, (int)Math.Ceiling(p * sorted.Length) - 1)];
        double PerFiring(long n) => executedInWindow == 0 ? double.NaN : (double)n / executedInWindow;
        var result = new BenchResult(system, action, sorted.Length / window.TotalSeconds, Percentile(0.50), Percentile(0.99), sorted.Length == 0 ? double.NaN : sorted[^1],
            PerFiring(counted.Transactions), PerFiring(counted.Statements));
        Console.WriteLine($"  {system} {action}: {sorted.Length} firings in the measured window");
        return result;
    }
}

/// <summary>A local HTTP endpoint the call_api variants call (Kestrel on 127.0.0.1).</summary>
internal sealed class LocalEndpoint : IAsyncDisposable
{
    private readonly WebApplication app;

    private LocalEndpoint(WebApplication app, string url) => (this.app, Url) = (app, url);

    public string Url { get; }

    public static async Task<LocalEndpoint> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.MapPost("/hook", () => Results.Ok(new { ok = true }));
        await app.StartAsync();
        return new LocalEndpoint(app, app.Urls.First() + "/hook");
    }

    public async ValueTask DisposeAsync() => await app.DisposeAsync();
}

/// <summary>Raw Quartz with the store settings Orchestrator uses, jobs doing the same work without the ledger.</summary>
internal static class RawQuartz
{
    public static readonly ConcurrentBag<double> Lateness = [];
    public static long Executed;
    public static DateTimeOffset WindowStart;
    public static DateTimeOffset WindowEnd;
    public static readonly HttpClient Http = new();
    public static string? EndpointUrl;

    /// <param name="defaults">
    /// Raw Quartz as it comes: a persistent store on the same PostgreSQL, not clustered, no execution history, jobs that
    /// may run concurrently, the default thread pool. Otherwise Orchestrator's store settings: clustered, history on
    /// (written behind), the same thread pool, non-concurrent jobs, and the connection settings the server adds.
    /// </param>
    public static async Task<BenchResult> RunAsync(BenchSettings settings, string action, LocalEndpoint? endpoint, bool defaults = false)
    {
        Lateness.Clear();
        Interlocked.Exchange(ref Executed, 0);
        EndpointUrl = endpoint?.Url;
        var database = await settings.CreateDatabaseAsync("bench_raw");
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddQuartz(q =>
        {
            q.ConfigureScheduler(s => s.InstanceName = "bench");
            if (!defaults)
            {
                q.UseDefaultThreadPool(settings.Concurrency);
            }

            q.UsePersistentStore(store =>
            {
                if (defaults)
                {
                    store.UsePostgres(database);
                }
                else
                {
                    // What Orchestrator adds to its connection string (Hosting/PostgresConnectionDefaults).
                    store.UsePostgres(new NpgsqlConnectionStringBuilder(database)
                    {
                        NoResetOnClose = true,
                        MaxAutoPrepare = 64,
                        AutoPrepareMinUsages = 2,
                        MaxPoolSize = Math.Max(100, settings.Concurrency + 23),
                    }.ConnectionString);
                    store.UseClustering(c => c.CheckinInterval = TimeSpan.FromSeconds(5));
                    store.UseExecutionHistory();
                }

                store.UseSystemTextJsonSerializer();
                store.ProvisionSchema();
            });
        });
        if (!defaults)
        {
            builder.Services.AddQuartzExecutionHistory(h => h.WriteBehindInterval = TimeSpan.FromSeconds(1));
        }

        builder.Services.AddQuartzHostedService(o => o.WaitForJobsToComplete = true);
        using var host = builder.Build();
        await host.StartAsync();
        var scheduler = await host.Services.GetRequiredService<ISchedulerFactory>().GetScheduler();

        var start = BenchSettings.AlignedStart(TimeSpan.FromSeconds(3));
        WindowStart = start + settings.Warmup;
        WindowEnd = WindowStart + settings.Measured;
        for (var i = 0; i < settings.Schedules; i++)
        {
            var job = JobBuilder.Create().OfType(endpoint is null ? typeof(RawNoOpJob) : typeof(RawCallJob))
                .WithIdentity($"s{i}", "bench").StoreDurably().RequestRecovery().DisallowConcurrentExecution(!defaults).Build();
            var trigger = TriggerBuilder.Create().WithIdentity($"s{i}", "bench").ForJob(job).StartAt(start)
                .WithSimpleSchedule(x => x.WithInterval(TimeSpan.FromSeconds(1)).RepeatForever()).Build();
            await scheduler.ScheduleJob(job, [trigger], new ScheduleJobOptions());
        }

        var counted = await DatabaseCounters.OverWindowAsync(database, WindowStart, WindowEnd);
        await Task.Delay(TimeSpan.FromSeconds(2));
        await host.StopAsync();
        return BenchResult.From(defaults ? "raw Quartz defaults" : "raw Quartz", action, [.. Lateness], settings.Measured, counted, Interlocked.Read(ref Executed));
    }

    public static void Record(IJobExecutionContext context)
    {
        var scheduled = context.ScheduledFireTimeUtc!.Value;
        var now = TimeProvider.System.GetUtcNow();
        if (now >= WindowStart && now < WindowEnd)
        {
            Interlocked.Increment(ref Executed);
        }

        if (scheduled >= WindowStart && scheduled < WindowEnd)
        {
            Lateness.Add((TimeProvider.System.GetUtcNow() - scheduled).TotalMilliseconds);
        }
    }
}

internal sealed class RawNoOpJob : IJob
{
    public ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        RawQuartz.Record(context);
        return ValueTask.CompletedTask;
    }
}

internal sealed class RawCallJob : IJob
{
    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        RawQuartz.Record(context);
        using var request = new HttpRequestMessage(HttpMethod.Post, RawQuartz.EndpointUrl) { Content = JsonContent.Create(new { a = 1 }) };
        request.Headers.TryAddWithoutValidation("Idempotency-Key", context.FireInstanceId);
        using var response = await RawQuartz.Http.SendAsync(request, cancellationToken);
        response.EnsureSuccessStatusCode();
    }
}

/// <summary>The Orchestrator server as a separate process, schedules created through its API, lateness read from its run ledger.</summary>
internal static class OrchestratorServer
{
    public static async Task<BenchResult> RunAsync(BenchSettings settings, string action, LocalEndpoint? endpoint)
    {
        var database = await settings.CreateDatabaseAsync("bench_orch");
        var (server, http, output) = await StartAsync(database, settings.Concurrency);
        try
        {
            using var _ = http;
            var start = BenchSettings.AlignedStart(TimeSpan.FromSeconds(3) + TimeSpan.FromMilliseconds(settings.Schedules * 15));
            var windowStart = start + settings.Warmup;
            var windowEnd = windowStart + settings.Measured;
            object config = endpoint is null ? new { } : new { method = "POST", url = endpoint.Url, body = new { a = 1 } };
            for (var i = 0; i < settings.Schedules; i++)
            {
                var response = await http.PostAsJsonAsync("/api/schedules", new
                {
                    name = $"s{i}",
                    action = new { type = endpoint is null ? "noop" : "call_api", config },
                    trigger = new { intervalSeconds = 1, startAt = start.ToString("O", CultureInfo.InvariantCulture) },
                    concurrency = "forbid",
                });
                response.EnsureSuccessStatusCode();
            }

            var counted = await DatabaseCounters.OverWindowAsync(database, windowStart, windowEnd);
            await Task.Delay(TimeSpan.FromSeconds(3));
            var lateness = new List<double>();
            await using (var connection = new NpgsqlConnection(database))
            {
                await connection.OpenAsync();
                await using var query = new NpgsqlCommand(
                    "SELECT EXTRACT(EPOCH FROM (started_at - scheduled_fire_time)) * 1000 FROM runs WHERE scheduled_fire_time >= @from AND scheduled_fire_time < @to AND status = 'Succeeded'", connection);
                query.Parameters.AddWithValue("from", windowStart);
                query.Parameters.AddWithValue("to", windowEnd);
                await using var reader = await query.ExecuteReaderAsync();
                while (await reader.ReadAsync())
                {
                    lateness.Add((double)reader.GetDecimal(0));
                }
            }

            long executed;
            await using (var connection = new NpgsqlConnection(database))
            {
                await connection.OpenAsync();
                await using var query = new NpgsqlCommand("SELECT count(*) FROM runs WHERE started_at >= @from AND started_at < @to", connection);
                query.Parameters.AddWithValue("from", windowStart);
                query.Parameters.AddWithValue("to", windowEnd);
                executed = Convert.ToInt64(await query.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
            }

            return BenchResult.From("Orchestrator", action, lateness, settings.Measured, counted, executed);
        }
        finally
        {
            server.Kill();
            server.Dispose();
        }
    }

    /// <summary>Starts the server on <paramref name="database"/> and returns it with an admin-authenticated client.</summary>
    /// <param name="apiKey">The admin key of a database another node created (only the first start prints one).</param>
    public static async Task<(Process Server, HttpClient Http, ConcurrentQueue<string> Output)> StartAsync(string database, int concurrency, IReadOnlyDictionary<string, string>? extra = null, string? apiKey = null)
    {
        var port = FreePort();
        var workDir = Directory.CreateTempSubdirectory("orchestrator-bench-").FullName;
        var info = new ProcessStartInfo("dotnet") { WorkingDirectory = workDir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { ServerDll(), "--urls", $"http://127.0.0.1:{port}" })
        {
            info.ArgumentList.Add(a);
        }

        info.Environment["Orchestrator__Database__Provider"] = "Postgres";
        info.Environment["Orchestrator__Database__ConnectionString"] = database;
        info.Environment["Orchestrator__Database__MigrateOnStart"] = "true";
        // Never the account's own data directory (the server's default): the default project's workspace goes here.
        info.Environment["Orchestrator__DataDirectory"] = Path.Combine(workDir, "data");
        info.Environment["Orchestrator__Scheduler__MaxConcurrency"] = concurrency.ToString(CultureInfo.InvariantCulture);
        info.Environment["Orchestrator__Outbound__AllowedHosts__0"] = "127.0.0.1";
        info.Environment["Logging__LogLevel__Default"] = "Warning";
        foreach (var (name, value) in extra ?? new Dictionary<string, string>())
        {
            info.Environment[name] = value;
        }

        var server = Process.Start(info)!;
        var output = new ConcurrentQueue<string>();
        server.OutputDataReceived += (_, e) => output.Enqueue(e.Data ?? "");
        server.ErrorDataReceived += (_, e) => output.Enqueue(e.Data ?? "");
        server.BeginOutputReadLine();
        server.BeginErrorReadLine();
        var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{port}") };
        var deadline = Stopwatch.StartNew();
        while (!await Ready(http))
        {
            if (deadline.Elapsed > TimeSpan.FromSeconds(60) || server.HasExited)
            {
                throw new InvalidOperationException("server did not start:\n" + string.Join("\n", output));
            }

            await Task.Delay(200);
        }

        // Printed on a database's first start only; a restart (ScaleBench) brings the key it had, a second node (the
        // ladder and recovery benches) is given the first node's.
        var key = apiKey ?? output.Select(l => l.Trim()).FirstOrDefault(l => l.StartsWith("Admin API key: ", StringComparison.Ordinal))?["Admin API key: ".Length..];
        if (key is not null)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }
        return (server, http, output);
    }

    private static async Task<bool> Ready(HttpClient http)
    {
        try
        {
            return (await http.GetAsync("/readyz")).IsSuccessStatusCode;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    private static string ServerDll()
    {
        var dir = new DirectoryInfo(AppContext.BaseDirectory);
        while (dir is not null && !File.Exists(Path.Combine(dir.FullName, "Orchestrator.sln")))
        {
            dir = dir.Parent;
        }

        var configuration = AppContext.BaseDirectory.Contains("/Release/", StringComparison.Ordinal) ? "Release" : "Debug";
        return Path.Combine(dir!.FullName, "src", "Orchestrator", "bin", configuration, "net10.0", "Orchestrator.dll");
    }

    private static int FreePort()
    {
        using var listener = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        listener.Start();
        return ((System.Net.IPEndPoint)listener.LocalEndpoint).Port;
    }
}

/// <summary>
/// The database's own counts over a window: transactions (<c>pg_stat_database</c>) and statements
/// (<c>pg_stat_statements</c>, when the server has it loaded; its own and these queries left out) of one system's
/// database, so the figures do not depend on how busy the machine is.
/// </summary>
internal static class DatabaseCounters
{
    /// <param name="ProcessCpuMs">CPU milliseconds the system's process used over the window (NaN when not asked or not readable).</param>
    /// <param name="PostgresCpuMs">CPU milliseconds of the database's backends over the window, approximate (see <see cref="ProcessCpu.BackendsBetween"/>; NaN when not readable).</param>
    public sealed record Delta(long Transactions, long Statements, double ProcessCpuMs = double.NaN, double PostgresCpuMs = double.NaN);

    /// <param name="pid">The system's process, whose CPU time over the window is read too (null: none).</param>
    public static async Task<Delta> OverWindowAsync(string database, DateTimeOffset from, DateTimeOffset to, int? pid = null)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        var hasStatements = true;
        try
        {
            await using var create = new NpgsqlCommand("CREATE EXTENSION IF NOT EXISTS pg_stat_statements", connection);
            await create.ExecuteNonQueryAsync();
        }
        catch (PostgresException)
        {
            hasStatements = false;
        }

        await Task.Delay(from - TimeProvider.System.GetUtcNow() is { } wait && wait > TimeSpan.Zero ? wait : TimeSpan.Zero);
        var before = await ReadAsync(connection, hasStatements);
        var cpuBefore = pid is { } p ? ProcessCpu.Of(p) : null;
        var backendsBefore = await ProcessCpu.BackendsAsync(connection);
        // Backends report their transaction counts up to about a second late; at a steady rate that lag is the same at
        // both ends of the window, so both are read on time.
        await Task.Delay(to - TimeProvider.System.GetUtcNow() is { } rest && rest > TimeSpan.Zero ? rest : TimeSpan.Zero);
        var after = await ReadAsync(connection, hasStatements);
        var cpuAfter = pid is { } q ? ProcessCpu.Of(q) : null;
        var backendsAfter = await ProcessCpu.BackendsAsync(connection);
        // The first read's two queries and the backends' read after it commit after it counted.
        return new Delta(after.Transactions - before.Transactions - 3, after.Statements - before.Statements,
            cpuBefore is { } c0 && cpuAfter is { } c1 ? (c1 - c0).TotalMilliseconds : double.NaN,
            ProcessCpu.BackendsBetween(backendsBefore, backendsAfter)?.TotalMilliseconds ?? double.NaN);
    }

    /// <summary>The counters of <paramref name="database"/> now (the extension created if it can be).</summary>
    public static async Task<Delta> ReadNowAsync(string database)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        try
        {
            await using var create = new NpgsqlCommand("CREATE EXTENSION IF NOT EXISTS pg_stat_statements", connection);
            await create.ExecuteNonQueryAsync();
            return await ReadAsync(connection, hasStatements: true);
        }
        catch (PostgresException)
        {
            return await ReadAsync(connection, hasStatements: false);
        }
    }

    private static async Task<Delta> ReadAsync(NpgsqlConnection connection, bool hasStatements)
    {
        await using var transactions = new NpgsqlCommand("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()", connection);
        var count = Convert.ToInt64(await transactions.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
        var statements = 0L;
        if (hasStatements)
        {
            await using var calls = new NpgsqlCommand(
                "SELECT coalesce(sum(calls), 0)::bigint FROM pg_stat_statements WHERE dbid = (SELECT oid FROM pg_database WHERE datname = current_database()) " +
                "AND query NOT LIKE '%pg_stat_statements%' AND query NOT LIKE '%pg_stat_database%' AND query NOT LIKE '%pg_stat_activity%'", connection);
            statements = Convert.ToInt64(await calls.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
        }

        return new Delta(count, statements);
    }
}
