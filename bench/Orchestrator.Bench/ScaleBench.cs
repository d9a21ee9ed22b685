using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;

/// <summary>
/// 100,000 schedules in one project on PostgreSQL (issue 13 item 6): created through <c>POST /api/schedules/batch</c>
/// (yearly cron, every tenth disabled, so nothing fires while measuring), then the list filtered by project and state —
/// page 1 and page 1,000 by number, and page 1,000 by cursor — one schedule read, one paused (each a different one),
/// the dashboard's schedules page (its three requests, as the page sends them at once), the server's RSS with them
/// loaded, and a restart: process start until <c>/readyz</c> answers, and RSS after it. <c>--database</c> (with <c>--key</c>)
/// measures a database an earlier run filled, without creating anything.
/// </summary>
internal static class ScaleBench
{
    public static async Task RunAsync(string[] args)
    {
        string? Value(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
        var settings = BenchSettings.Parse(args);
        var count = int.Parse(Value("--count") ?? "100000", CultureInfo.InvariantCulture);
        var repeats = int.Parse(Value("--repeats") ?? "60", CultureInfo.InvariantCulture);
        const int Batch = 1000;
        // --database: a database an earlier run filled (its server is started again; nothing is created).
        var reuse = Value("--database");
        var database = reuse ?? await settings.CreateDatabaseAsync("bench_scale");
        Console.WriteLine($"scale: {count} schedules in project 'default' on PostgreSQL, batches of {Batch}, {repeats} timed requests per figure");

        var (server, http, _) = await OrchestratorServer.StartAsync(database, 10);
        try
        {
            if (reuse is null)
            {
                // What a later run needs to measure this database again with --database and --key (the filling takes minutes).
                Console.WriteLine($"database: {database}");
                Console.WriteLine($"key: {http.DefaultRequestHeaders.Authorization?.Parameter}");
                var created = Stopwatch.StartNew();
                var batches = Enumerable.Range(0, (count + Batch - 1) / Batch).ToList();
                // Two requests at a time: validation runs beside the other batch's single store transaction.
                await Parallel.ForEachAsync(batches, new ParallelOptions { MaxDegreeOfParallelism = 2 }, async (b, ct) =>
                {
                    var items = Enumerable.Range(b * Batch, Math.Min(Batch, count - (b * Batch))).Select(i => new
                    {
                        name = $"s{i:D6}",
                        action = new { type = "noop", config = new { } },
                        trigger = new { cron = "0 0 3 1 1 ?", timeZone = "UTC" },
                        enabled = i % 10 != 0,
                    });
                    using var response = await http.PostAsJsonAsync("/api/schedules/batch", new { items }, ct);
                    if (!response.IsSuccessStatusCode)
                    {
                        throw new InvalidOperationException($"batch {b}: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync(ct)}");
                    }
                });
                created.Stop();
                Console.WriteLine($"created {count} in {created.Elapsed.TotalSeconds:F1} s ({count / created.Elapsed.TotalSeconds:F0} schedules/s)");
            }
            else
            {
                // A server started on a filled database prints no key: --key brings one ('Orchestrator keys create --role admin').
                http.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue(
                    "Bearer", Value("--key") ?? throw new ArgumentException("--database needs --key (an admin key of that database)."));
                Console.WriteLine($"reusing {new Npgsql.NpgsqlConnectionStringBuilder(database).Database}");
            }

            // The server builds its list indexes in the background after it starts (ScheduleListIndexes): measured with them.
            Console.WriteLine($"list indexes ready after {(await ListIndexesReadyAsync(database)).TotalSeconds:F1} s");
            var figures = await MeasureAsync(http, count, repeats);
            Console.WriteLine($"{"request",-58} {"p50 ms",8} {"p99 ms",8} {"max ms",8}");
            foreach (var (name, times) in figures)
            {
                var sorted = times.Order().ToList();
                Console.WriteLine($"{name,-58} {Percentile(sorted, 0.50),8:F1} {Percentile(sorted, 0.99),8:F1} {sorted[^1],8:F1}");
            }

            Console.WriteLine($"RSS with {count} schedules, after the measurements: {Rss(server)} MB");

            var authorization = http.DefaultRequestHeaders.Authorization;
            server.Kill();
            await server.WaitForExitAsync();
            server.Dispose();
            var started = Stopwatch.StartNew();
            (server, http, _) = await OrchestratorServer.StartAsync(database, 10);
            started.Stop();
            http.DefaultRequestHeaders.Authorization = authorization;
            Console.WriteLine($"restart: {started.Elapsed.TotalSeconds:F1} s from process start to /readyz; RSS {Rss(server)} MB");
            var first = Stopwatch.StartNew();
            using (var response = await http.GetAsync("/api/schedules?project=default&state=active&page=1&pageSize=50"))
            {
                response.EnsureSuccessStatusCode();
            }

            Console.WriteLine($"first list after restart: {first.Elapsed.TotalMilliseconds:F0} ms; RSS {Rss(server)} MB");
        }
        finally
        {
            try
            {
                server.Kill();
                server.Dispose();
            }
            catch (InvalidOperationException)
            {
                // Already gone (a restart that failed): the exception that matters is the one propagating.
            }
        }
    }

    private static async Task<List<(string Name, List<double> Times)>> MeasureAsync(HttpClient http, int count, int repeats)
    {
        var figures = new List<(string, List<double>)>();
        async Task<List<double>> TimeAsync(string name, Func<int, Task> request)
        {
            for (var i = 0; i < 5; i++)
            {
                await request(-1 - i);
            }

            var times = new List<double>(repeats);
            for (var i = 0; i < repeats; i++)
            {
                var watch = Stopwatch.StartNew();
                await request(i);
                times.Add(watch.Elapsed.TotalMilliseconds);
            }

            figures.Add((name, times));
            return times;
        }

        async Task GetAsync(string path)
        {
            using var response = await http.GetAsync(path);
            response.EnsureSuccessStatusCode();
            await response.Content.ReadAsByteArrayAsync();
        }

        var pages = count * 9 / 10 / 50;
        var deep = Math.Min(1000, pages);
        await TimeAsync("list project+state=active, page 1 (50, with total)", _ => GetAsync("/api/schedules?project=default&state=active&page=1&pageSize=50"));
        await TimeAsync($"list project+state=active, page {deep} by number (with total)", _ => GetAsync($"/api/schedules?project=default&state=active&page={deep}&pageSize=50"));
        await TimeAsync("list project+state=paused, page 1 (50, with total)", _ => GetAsync("/api/schedules?project=default&state=paused&page=1&pageSize=50"));

        // The cursor of page `deep`: walked there once, page by page, as a client following nextCursor does.
        string? cursor = null;
        for (var p = 1; p < deep; p++)
        {
            var page = await http.GetFromJsonAsync<JsonElement>(
                $"/api/schedules?project=default&state=active&pageSize=50{(cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor))}");
            cursor = page.GetProperty("nextCursor").GetString();
        }

        await TimeAsync($"list project+state=active, page {deep} by cursor (no total)", _ => GetAsync($"/api/schedules?project=default&state=active&pageSize=50&cursor={Uri.EscapeDataString(cursor!)}"));
        await TimeAsync("list q=s0777 (text in the id, 100 matches)", _ => GetAsync("/api/schedules?q=s0777&pageSize=50"));
        await TimeAsync("get one schedule", i => GetAsync($"/api/schedules/default.s{(count / 2) + i + 10:D6}"));
        await TimeAsync("pause one schedule (a different one each time)", async i =>
        {
            // Every tenth is created paused, so these are active ones: i*10+1 never is a multiple of 10.
            using var response = await http.PostAsJsonAsync($"/api/schedules/default.s{((i + 10) * 10) + 1:D6}/pause", new { reason = "bench" });
            response.EnsureSuccessStatusCode();
        });
        // The dashboard's schedules page sends its three requests at once; its rows appear when all three answered.
        await TimeAsync("dashboard schedules page: first rows (3 requests at once)", _ => Task.WhenAll(
            GetAsync("/api/schedules?page=1&pageSize=50"), GetAsync("/api/projects?pageSize=200"), GetAsync("/api/actions")));
        return figures;
    }

    /// <summary>Waits (up to two minutes) until the server's four list indexes exist and are valid.</summary>
    private static async Task<TimeSpan> ListIndexesReadyAsync(string database)
    {
        var waited = Stopwatch.StartNew();
        await using var connection = new Npgsql.NpgsqlConnection(database);
        await connection.OpenAsync();
        while (waited.Elapsed < TimeSpan.FromMinutes(2))
        {
            await using var command = new Npgsql.NpgsqlCommand(
                "SELECT count(*) FROM pg_index WHERE indisvalid AND indexrelid IN " +
                "(to_regclass('qrtz_orch_jobs_search'), to_regclass('qrtz_orch_triggers_list'), to_regclass('qrtz_orch_jobs_order'), to_regclass('qrtz_orch_triggers_held'))", connection);
            if (Convert.ToInt64(await command.ExecuteScalarAsync(), CultureInfo.InvariantCulture) == 4)
            {
                break;
            }

            await Task.Delay(250);
        }

        return waited.Elapsed;
    }

    private static double Percentile(List<double> sorted, double p) => sorted[Math.Min(sorted.Count - 1, (int)Math.Ceiling(p * sorted.Count) - 1)];

    /// <summary>The server process's resident set, from /proc (Linux), in MB.</summary>
    private static long Rss(Process process)
    {
        var line = File.ReadLines($"/proc/{process.Id}/status").FirstOrDefault(l => l.StartsWith("VmRSS:", StringComparison.Ordinal));
        return line is null ? -1 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
    }
}
