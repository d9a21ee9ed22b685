using System.Buffers.Binary;
using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Npgsql;

/// <summary>What one system is asked to fire: <see cref="Schedules"/> schedules every <see cref="IntervalSeconds"/> from
/// <see cref="Start"/> (or once at it), each moved by its stable jitter offset in [0, <see cref="JitterSeconds"/>).</summary>
internal sealed record LadderWorkload(int Schedules, int IntervalSeconds, int JitterSeconds, bool Once, DateTimeOffset Start)
{
    /// <summary>The id Orchestrator gives schedule <c>s{i}</c> of the default project; raw Quartz takes its offset from the same id.</summary>
    public static string ScheduleId(int i) => $"default.s{i}";

    /// <summary>
    /// The offset Orchestrator's <c>jitterSeconds</c> gives a schedule (Schedules/ScheduleJitter.OffsetFor: SHA-256 of
    /// the id modulo N, whole seconds), computed here so that raw Quartz's start times get exactly the same spread; the
    /// Orchestrator side reads its offsets from the server's answers, so a difference would show as lateness.
    /// </summary>
    public static TimeSpan JitterOffset(string scheduleId, int jitterSeconds) =>
        jitterSeconds <= 1
            ? TimeSpan.Zero
            : TimeSpan.FromSeconds((long)(BinaryPrimitives.ReadUInt64LittleEndian(SHA256.HashData(Encoding.UTF8.GetBytes(scheduleId))) % (ulong)jitterSeconds));

    /// <summary>How many fire times of the workload fall in [from, to).</summary>
    public long DueIn(DateTimeOffset from, DateTimeOffset to)
    {
        long count = 0;
        for (var i = 0; i < Schedules; i++)
        {
            var first = Start + JitterOffset(ScheduleId(i), JitterSeconds);
            if (Once)
            {
                count += first >= from && first < to ? 1 : 0;
                continue;
            }

            var interval = TimeSpan.FromSeconds(IntervalSeconds);
            var k0 = first >= from ? 0 : (long)Math.Ceiling((from - first) / interval);
            for (var t = first + (interval * k0); t < to; t += interval)
            {
                count++;
            }
        }

        return count;
    }
}

/// <summary>One firing: when its trigger was due (nominal time + jitter offset) and when its job started.</summary>
internal readonly record struct Firing(DateTimeOffset Due, DateTimeOffset Started);

/// <summary>What one system did with one workload.</summary>
/// <param name="CpuMsPerFiring">CPU milliseconds the system's process used over the window per firing started in it.</param>
/// <param name="PostgresCpuMsPerFiring">CPU milliseconds of the database's backends over the window per firing, approximate (<see cref="ProcessCpu.BackendsBetween"/>).</param>
internal sealed record LadderMeasurement(string System, string Phase, double Demand, double FiringsPerSecond, long Due, long Missing,
    double P50, double P99, double Max, double TransactionsPerFiring, double StatementsPerFiring, double CpuMsPerFiring = double.NaN, double PostgresCpuMsPerFiring = double.NaN)
{
    /// <summary>Saturation criterion of issue 13: p99 lateness at most 1 s (a firing that never started counts as infinitely late).</summary>
    public bool KeepsUp => P99 <= 1000;

    public static LadderMeasurement From(string system, string phase, double demand, LadderWorkload workload, IReadOnlyCollection<Firing> firings,
        DateTimeOffset from, DateTimeOffset to, DatabaseCounters.Delta? counted)
    {
        var due = workload.DueIn(from, to);
        var late = firings.Where(f => f.Due >= from && f.Due < to).Select(f => (f.Started - f.Due).TotalMilliseconds).Order().ToList();
        var missing = Math.Max(0, due - late.Count);
        // A firing that had not started when the system was stopped is later than any that did.
        var all = late.Concat(Enumerable.Repeat(double.PositiveInfinity, (int)missing)).ToArray();
        double Percentile(double p) => all.Length == 0 ? double.NaN : all[Math.Min(all.Length - 1, (int)Math.Ceiling(p * all.Length) - 1)];
        var started = firings.Count(f => f.Started >= from && f.Started < to);
        double PerFiring(double n) => started == 0 ? double.NaN : n / started;
        return new LadderMeasurement(system, phase, demand, started / (to - from).TotalSeconds, due, missing,
            Percentile(0.50), Percentile(0.99), all.Length == 0 ? double.NaN : all[^1],
            counted is null ? double.NaN : PerFiring(counted.Transactions), counted is null ? double.NaN : PerFiring(counted.Statements),
            counted is null ? double.NaN : PerFiring(counted.ProcessCpuMs), counted is null ? double.NaN : PerFiring(counted.PostgresCpuMs));
    }
}

/// <summary>
/// <c>--ladder</c> (issue 13 item 7): raw Quartz with its defaults, raw Quartz with Orchestrator's store settings and
/// Orchestrator with its defaults, each a separate OS process on the same PostgreSQL with a fresh database per system
/// per step, interleaved step by step. Steps: N schedules × every second, all due on the same whole second, for N in
/// 50 … 1,600; a system stops climbing at its first step with p99 lateness above 1 s. Then, per system, lateness at
/// half its saturation rate with fire times spread by jitter, and a burst of one-shot schedules all due on one second.
/// </summary>
internal static class LadderBench
{
    private static readonly int[] DefaultRungs = [50, 100, 200, 400, 800, 1600];

    private const string RawDefaults = "raw Quartz defaults";
    private const string RawStore = "raw Quartz, Orch. store settings";
    private const string Orchestrator = "Orchestrator defaults";

    public static async Task RunAsync(string[] args)
    {
        string? Value(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
        var settings = BenchSettings.Parse([.. args, .. args.Contains("--concurrency") ? Array.Empty<string>() : ["--concurrency", "10"]]);
        var rungs = Value("--rungs") is { } r ? r.Split(',').Select(x => int.Parse(x, CultureInfo.InvariantCulture)).ToArray() : DefaultRungs;
        var spreadInterval = int.Parse(Value("--spread-interval") ?? "5", CultureInfo.InvariantCulture);
        var burst = int.Parse(Value("--burst") ?? "1000", CultureInfo.InvariantCulture);
        // A first guess of the API's creation rate (later steps use the measured one): a low guess buys a long lead.
        createdPerSecond = double.Parse(Value("--create-rate") ?? "20", CultureInfo.InvariantCulture);
        var systems = (Value("--systems") ?? $"{RawDefaults}|{RawStore}|{Orchestrator}").Split('|');

        await PrintSettingsAsync(settings, rungs, spreadInterval, burst);
        var results = new List<LadderMeasurement>();
        var climbing = args.Contains("--burst-only") ? [] : systems.ToList();
        foreach (var rung in climbing.Count == 0 ? [] : rungs)
        {
            foreach (var system in climbing.ToList())
            {
                var workload = new LadderWorkload(rung, 1, 0, Once: false, Start: default);
                var m = await MeasureAsync(settings, system, $"ladder {rung}/s", rung, workload);
                results.Add(m);
                if (!m.KeepsUp)
                {
                    // Clearly past saturation: a higher step only takes machine time to fail again.
                    climbing.Remove(system);
                }
            }
        }

        foreach (var system in args.Contains("--burst-only") ? [] : systems)
        {
            var saturation = Saturation(results, system);
            // Below the first step, half of it: the system then did not keep up even at 50/s.
            var rate = Math.Max(1, (saturation ?? rungs[0]) / 2);
            var workload = new LadderWorkload(rate * spreadInterval, spreadInterval, spreadInterval, Once: false, Start: default);
            results.Add(await MeasureAsync(settings, system, $"spread {rate}/s", rate, workload));
        }

        foreach (var system in systems)
        {
            results.Add(await MeasureAsync(settings, system, $"burst {burst}", burst, new LadderWorkload(burst, 1, 0, Once: true, Start: default)));
        }

        Print(results, systems);
    }

    private static int? Saturation(IEnumerable<LadderMeasurement> results, string system) =>
        results.Where(m => m.System == system && m.Phase.StartsWith("ladder", StringComparison.Ordinal)).TakeWhile(m => m.KeepsUp)
            .Select(m => (int?)(int)m.Demand).LastOrDefault();

    private static async Task<LadderMeasurement> MeasureAsync(BenchSettings settings, string system, string phase, int demand, LadderWorkload shape)
    {
        Console.WriteLine($"{TimeProvider.System.GetUtcNow():HH:mm:ss} {system}: {phase} ({shape.Schedules} schedules{(shape.Once ? ", once" : $" every {shape.IntervalSeconds} s")}{(shape.JitterSeconds > 1 ? $", jitter {shape.JitterSeconds} s" : "")})");
        var window = shape.Once ? TimeSpan.FromSeconds(1) : settings.Measured;
        var warmup = shape.Once ? TimeSpan.Zero : settings.Warmup;
        // A one-shot burst runs until every firing started (or a minute); a repeating workload a little past its window,
        // so that the firings due at its end get to start.
        var drain = shape.Once ? TimeSpan.FromSeconds(60) : TimeSpan.FromSeconds(3);
        try
        {
            var m = system switch
            {
                RawDefaults => await RawAsync(settings, RawQuartzHost.DefaultsProfile, system, phase, demand, shape, warmup, window, drain),
                RawStore => await RawAsync(settings, RawQuartzHost.StoreProfile, system, phase, demand, shape, warmup, window, drain),
                Orchestrator => await OrchestratorAsync(settings, system, phase, demand, shape, warmup, window, drain),
                _ => throw new ArgumentException($"unknown system '{system}'"),
            };
            Console.WriteLine($"  {Row(m)}");
            return m;
        }
        catch (Exception e) when (e is InvalidOperationException or HttpRequestException or NpgsqlException or IOException)
        {
            Console.WriteLine($"  failed: {e.Message}");
            return new LadderMeasurement(system, phase, demand, double.NaN, 0, 0, double.PositiveInfinity, double.PositiveInfinity, double.NaN, double.NaN, double.NaN);
        }
    }

    private static async Task<LadderMeasurement> RawAsync(BenchSettings settings, string profile, string system, string phase, int demand,
        LadderWorkload shape, TimeSpan warmup, TimeSpan window, TimeSpan drain)
    {
        var database = await settings.CreateDatabaseAsync("ladder_raw");
        // The child starts the runtime and Quartz and provisions the schema before it schedules (one transaction).
        var workload = shape with { Start = BenchSettings.AlignedStart(TimeSpan.FromSeconds(6) + TimeSpan.FromMilliseconds(shape.Schedules * 2)) };
        // Scheduling may overrun the first fire time on a busy machine: the window then starts a warm-up after it ended.
        // The host stops when told (a line on its input) after the window, or at this latest time.
        var until = workload.Start + warmup + window + drain + TimeSpan.FromSeconds(120);
        var output = Path.Combine(Path.GetTempPath(), $"ladder-raw-{Guid.NewGuid():N}.txt");
        var info = new ProcessStartInfo("dotnet") { RedirectStandardOutput = true, RedirectStandardError = true, RedirectStandardInput = true };
        info.ArgumentList.Add(typeof(RawQuartzHost).Assembly.Location);
        foreach (var a in RawQuartzHost.Arguments(database, profile, workload, settings.Concurrency, until, output))
        {
            info.ArgumentList.Add(a);
        }

        using var child = Process.Start(info)!;
        var lines = new ConcurrentQueue<string>();
        var scheduled = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        child.OutputDataReceived += (_, e) =>
        {
            lines.Enqueue(e.Data ?? "");
            if (e.Data == RawQuartzHost.ScheduledLine)
            {
                scheduled.TrySetResult();
            }
        };
        child.ErrorDataReceived += (_, e) => lines.Enqueue(e.Data ?? "");
        child.BeginOutputReadLine();
        child.BeginErrorReadLine();
        try
        {
            await scheduled.Task.WaitAsync(TimeSpan.FromSeconds(120));
            var (from, to) = Window(workload.Start, warmup, window, "scheduled");
            var counted = shape.Once ? null : await CountAsync(database, from, to, child.Id);
            var rest = to + drain - TimeProvider.System.GetUtcNow();
            if (!shape.Once)
            {
                await Task.Delay(rest > TimeSpan.Zero ? rest : TimeSpan.Zero);
                await child.StandardInput.WriteLineAsync(RawQuartzHost.StopLine);
            }

            await child.WaitForExitAsync().WaitAsync(until - TimeProvider.System.GetUtcNow() + TimeSpan.FromSeconds(60));
            if (child.ExitCode != 0 || !File.Exists(output))
            {
                throw new InvalidOperationException($"raw Quartz host exited with {child.ExitCode}:\n" + string.Join("\n", lines));
            }

            var firings = (await File.ReadAllLinesAsync(output)).Where(l => l.Length > 0).Select(l => l.Split(' '))
                .Select(p => new Firing(new DateTimeOffset(long.Parse(p[0], CultureInfo.InvariantCulture), TimeSpan.Zero), new DateTimeOffset(long.Parse(p[1], CultureInfo.InvariantCulture), TimeSpan.Zero)))
                .ToList();
            return LadderMeasurement.From(system, phase, demand, workload, firings, from, to, counted);
        }
        catch (TimeoutException e)
        {
            throw new InvalidOperationException("raw Quartz host timed out:\n" + string.Join("\n", lines), e);
        }
        finally
        {
            if (!child.HasExited)
            {
                child.Kill();
            }

            File.Delete(output);
        }
    }

    private static async Task<LadderMeasurement> OrchestratorAsync(BenchSettings settings, string system, string phase, int demand,
        LadderWorkload shape, TimeSpan warmup, TimeSpan window, TimeSpan drain)
    {
        var database = await settings.CreateDatabaseAsync("ladder_orch");
        var (server, http, _) = await OrchestratorServer.StartAsync(database, settings.Concurrency);
        try
        {
            using var _ = http;
            // Creating through the API (8 at a time) is slower than raw Quartz's one transaction: the lead grows with N.
            // Creating through the API (8 at a time) is much slower than raw Quartz's one transaction and varies with the
            // machine: the lead comes from the rate the last creation reached.
            var workload = shape with { Start = BenchSettings.AlignedStart(TimeSpan.FromSeconds(3) + TimeSpan.FromSeconds(shape.Schedules / createdPerSecond * 1.2)) };
            var creating = Stopwatch.StartNew();
            var offsets = await CreateSchedulesAsync(http, workload);
            createdPerSecond = Math.Max(1, shape.Schedules / creating.Elapsed.TotalSeconds);
            var (from, to) = Window(workload.Start, warmup, window, $"created ({createdPerSecond:F0} schedules/s)");
            var counted = shape.Once ? null : await CountAsync(database, from, to, server.Id);
            var deadline = to + drain;
            while (TimeProvider.System.GetUtcNow() < deadline)
            {
                if (shape.Once && await StartedCountAsync(database) >= shape.Schedules)
                {
                    break;
                }

                await Task.Delay(shape.Once ? TimeSpan.FromMilliseconds(250) : deadline - TimeProvider.System.GetUtcNow() is { } rest && rest > TimeSpan.Zero ? rest : TimeSpan.Zero);
            }

            var firings = await LedgerFiringsAsync(database, offsets);
            return LadderMeasurement.From(system, phase, demand, workload, firings, from, to, counted);
        }
        finally
        {
            server.Kill();
            server.Dispose();
        }
    }

    private static async Task<DatabaseCounters.Delta?> CountAsync(string database, DateTimeOffset from, DateTimeOffset to, int pid) =>
        await DatabaseCounters.OverWindowAsync(database, from, to, pid);

    /// <summary>Schedules created per second by the last Orchestrator step (a first guess before any).</summary>
    private static double createdPerSecond = 20;

    /// <summary>
    /// The measured window: a warm-up after the first fire time, or after the workload was in place when that took
    /// longer (the fire times it overran are then late in the warm-up, not in the window).
    /// </summary>
    private static (DateTimeOffset From, DateTimeOffset To) Window(DateTimeOffset start, TimeSpan warmup, TimeSpan window, string what)
    {
        var now = TimeProvider.System.GetUtcNow();
        if (now > start)
        {
            Console.WriteLine($"  note: {what} {(now - start).TotalSeconds:F1} s after the first fire time; " +
                              (warmup == TimeSpan.Zero ? "the burst is measured from its fire time all the same" : "the window starts a warm-up after that"));
        }

        var from = (now > start && warmup > TimeSpan.Zero ? now : start) + warmup;
        return (from, from + window);
    }

    /// <summary>Creates the workload's schedules (default project, the server's default overlap policy) and returns each one's jitter offset as the server answered it.</summary>
    private static async Task<IReadOnlyDictionary<string, TimeSpan>> CreateSchedulesAsync(HttpClient http, LadderWorkload workload)
    {
        var offsets = new ConcurrentDictionary<string, TimeSpan>();
        var start = workload.Start.ToString("O", CultureInfo.InvariantCulture);
        await Parallel.ForEachAsync(Enumerable.Range(0, workload.Schedules), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
        {
            object trigger = workload.Once ? new { at = start } : new { intervalSeconds = workload.IntervalSeconds, startAt = start };
            using var response = await http.PostAsJsonAsync("/api/schedules", new
            {
                name = $"s{i}",
                action = new { type = "noop", config = new { } },
                trigger,
                jitterSeconds = workload.JitterSeconds,
            }, ct);
            if (!response.IsSuccessStatusCode)
            {
                throw new InvalidOperationException($"creating s{i}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
            }

            var body = await response.Content.ReadFromJsonAsync<JsonElement>(ct);
            offsets[body.GetProperty("id").GetString()!] = TimeSpan.FromSeconds(body.GetProperty("jitterOffsetSeconds").GetInt32());
        });
        return offsets;
    }

    private static async Task<long> StartedCountAsync(string database)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var query = new NpgsqlCommand("SELECT count(*) FROM runs WHERE started_at IS NOT NULL", connection);
        return Convert.ToInt64(await query.ExecuteScalarAsync(), CultureInfo.InvariantCulture);
    }

    /// <summary>The firings in Orchestrator's run ledger: the row keeps the nominal fire time, so the offset is added back.</summary>
    private static async Task<List<Firing>> LedgerFiringsAsync(string database, IReadOnlyDictionary<string, TimeSpan> offsets)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var query = new NpgsqlCommand("SELECT schedule_id, scheduled_fire_time, started_at FROM runs WHERE started_at IS NOT NULL", connection);
        await using var reader = await query.ExecuteReaderAsync();
        var firings = new List<Firing>();
        while (await reader.ReadAsync())
        {
            var offset = offsets.GetValueOrDefault(reader.GetString(0));
            firings.Add(new Firing(reader.GetFieldValue<DateTimeOffset>(1) + offset, reader.GetFieldValue<DateTimeOffset>(2)));
        }

        return firings;
    }

    private static async Task PrintSettingsAsync(BenchSettings settings, int[] rungs, int spreadInterval, int burst)
    {
        await using var connection = new NpgsqlConnection(settings.Postgres);
        await connection.OpenAsync();
        await using var version = new NpgsqlCommand("SHOW server_version", connection);
        await using var preload = new NpgsqlCommand("SHOW shared_preload_libraries", connection);
        Console.WriteLine($"ladder: steps {string.Join(", ", rungs)} firings/s (N schedules × every 1 s, all due on the same whole second); " +
                          $"warm-up {settings.Warmup.TotalSeconds} s, measured {settings.Measured.TotalSeconds} s per step; a system stops at its first step with p99 > 1 s");
        Console.WriteLine($"spread: half the saturation rate R as R × {spreadInterval} schedules every {spreadInterval} s, jitterSeconds {spreadInterval} " +
                          "(raw Quartz: start times moved by the same offsets); burst: " + burst + " one-shot schedules due on one second");
        Console.WriteLine($"PostgreSQL {await version.ExecuteScalarAsync()} (shared_preload_libraries '{await preload.ExecuteScalarAsync()}'), " +
                          $"{Environment.ProcessorCount} cores shared by PostgreSQL, the bench and the system under test; a fresh database per system per step");
        Console.WriteLine($"  {RawDefaults}: separate process, Quartz {typeof(Quartz.IJob).Assembly.GetName().Version}, persistent store on PostgreSQL, not clustered, no execution history, " +
                          "concurrent jobs, default thread pool (10), plain connection string");
        Console.WriteLine($"  {RawStore}: separate process, clustered (check-in 1 s, misfire 5 s), execution history written behind (1 s), non-concurrent jobs, " +
                          $"thread pool {settings.Concurrency}, No Reset On Close, Max Auto Prepare 64, Auto Prepare Min Usages 2, Max Pool Size {Math.Max(100, settings.Concurrency + 23)}");
        Console.WriteLine($"  {Orchestrator}: the server process with its defaults (MaxConcurrency {settings.Concurrency}, overlap policy default, no jitter unless stated), " +
                          "noop schedules created through the API; lateness from the run ledger (started_at − (scheduled_fire_time + jitter offset))");
        Console.WriteLine("  counts: pg_stat_database xact_commit + xact_rollback and pg_stat_statements calls of that database over the measured window, " +
                          "per firing started in it");
        Console.WriteLine("  CPU: cpu ms/f = the system's process utime + stime (/proc/<pid>/stat) over the measured window per firing started in it; " +
                          "pg ms/f = the same for the backends of its database (pids from pg_stat_activity at both ends of the window; approximate: " +
                          "a backend that exits inside the window is lost, one that starts inside it counts whole, PostgreSQL's shared background processes are not counted)");
    }

    private static string Format(double ms) => double.IsPositiveInfinity(ms) ? "never" : double.IsNaN(ms) ? "-" : ms.ToString("N0", CultureInfo.InvariantCulture);

    private static string Row(LadderMeasurement m) =>
        $"{m.System,-33} {m.Phase,-16} {m.FiringsPerSecond,8:F1} {Format(m.P50),8} {Format(m.P99),8} {Format(m.Max),8} {m.Missing,8} {m.TransactionsPerFiring,8:F2} {m.StatementsPerFiring,8:F2} {m.CpuMsPerFiring,8:F2} {m.PostgresCpuMsPerFiring,8:F2}";

    private static void Print(List<LadderMeasurement> results, string[] systems)
    {
        Console.WriteLine();
        Console.WriteLine($"{"system",-33} {"phase",-16} {"fired/s",8} {"p50 ms",8} {"p99 ms",8} {"max ms",8} {"unstarted",8} {"xact/f",8} {"stmt/f",8} {"cpu ms/f",8} {"pg ms/f",8}");
        foreach (var m in results)
        {
            Console.WriteLine(Row(m));
        }

        Console.WriteLine();
        var rawDefaults = Saturation(results, RawDefaults);
        foreach (var system in systems)
        {
            var saturation = Saturation(results, system);
            var counted = results.Where(m => m.System == system && m.Phase.StartsWith("ladder", StringComparison.Ordinal) && !double.IsNaN(m.TransactionsPerFiring)).ToList();
            var atSaturation = counted.LastOrDefault(m => m.KeepsUp) ?? counted.FirstOrDefault();
            var spread = results.SingleOrDefault(m => m.System == system && m.Phase.StartsWith("spread", StringComparison.Ordinal))
                ?? new LadderMeasurement(system, "spread (not run)", 0, double.NaN, 0, 0, double.NaN, double.NaN, double.NaN, double.NaN, double.NaN);
            var burst = results.Single(m => m.System == system && m.Phase.StartsWith("burst", StringComparison.Ordinal));
            var ratio = saturation is { } s && rawDefaults is { } d ? $" ({(double)s / d:F2}× raw defaults)" : "";
            Console.WriteLine($"{system}: saturation {(saturation is { } x ? $"{x}/s" : "< first step")}{ratio}; " +
                              $"{(atSaturation is null ? "" : $"at {atSaturation.Phase}: {atSaturation.TransactionsPerFiring:F2} transactions, {atSaturation.StatementsPerFiring:F2} statements, " +
                                 $"{atSaturation.CpuMsPerFiring:F2} CPU ms (PostgreSQL {atSaturation.PostgresCpuMsPerFiring:F2}) per firing; ")}" +
                              $"{spread.Phase}: p50 {Format(spread.P50)} ms, p99 {Format(spread.P99)} ms; {burst.Phase}: all started within {Format(burst.Max)} ms (p50 {Format(burst.P50)}, {burst.Missing} never)");
        }
    }
}
