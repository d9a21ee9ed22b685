using System.Collections.Concurrent;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Npgsql;

/// <summary>
/// <c>--recovery</c> (issue 13 item 5): two Orchestrator server processes with default settings on one PostgreSQL.
/// Node A runs <c>--held</c> long calls; then a catch-up backlog (<c>--backlog</c> one-time schedules due 55 s before they are created,
/// <c>catch_up</c>, each a call of <c>--backlog-call-ms</c>) is due on both nodes, all of it due before the held
/// firings; A is killed with SIGKILL while the backlog drains. Measured: the time from the kill to each held firing's
/// recovered call arriving (from node B), and how many backlog calls started in between and how many were still waiting.
/// </summary>
internal static class RecoveryBench
{
    public static async Task RunAsync(string[] args)
    {
        string? Value(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
        var settings = BenchSettings.Parse([.. args, "--concurrency", "10"]);
        var held = int.Parse(Value("--held") ?? "5", CultureInfo.InvariantCulture);
        var backlog = int.Parse(Value("--backlog") ?? "400", CultureInfo.InvariantCulture);
        var callTime = TimeSpan.FromMilliseconds(int.Parse(Value("--backlog-call-ms") ?? "2000", CultureInfo.InvariantCulture));
        Console.WriteLine($"recovery: two server processes with their default settings (MaxConcurrency 10, check-in 1 s, check-in misfire threshold 5 s); " +
                          $"{held} held calls in flight on node A; a backlog of {backlog} one-time schedules due 55 s before their creation and before the held firings (catch_up), each a {callTime.TotalMilliseconds:F0} ms call; " +
                          "node A killed (SIGKILL) while the backlog drains");

        await using var peer = await Peer.StartAsync(callTime);
        var database = await settings.CreateDatabaseAsync("bench_recovery");
        var (a, apiA, _) = await OrchestratorServer.StartAsync(database, 10);
        var key = apiA.DefaultRequestHeaders.Authorization!.Parameter!;
        System.Diagnostics.Process? b = null;
        try
        {
            // Node A alone, so that every held firing is in flight there.
            var heldAt = TimeProvider.System.GetUtcNow().AddSeconds(2);
            for (var i = 0; i < held; i++)
            {
                await CreateAsync(apiA, new
                {
                    name = $"held-{i}",
                    action = new { type = "call_api", config = new { method = "POST", url = peer.Url + "/hold", timeoutSeconds = 300 } },
                    trigger = new { at = heldAt.ToString("O", CultureInfo.InvariantCulture) },
                });
            }

            await Peer.WaitAsync(() => peer.InFlightHolds >= held, TimeSpan.FromSeconds(60), "the held calls to be in flight on node A");

            // The backlog, due before the held firings: by fire time alone every one of it comes before their recovery.
            // Created through A before B starts, so that only A's free workers drain it meanwhile; each one-time schedule
            // is due 55 s before its creation (the API refuses a one-time schedule more than 60 s in the past) and never
            // after the held firings.
            var creating = TimeProvider.System.GetUtcNow();
            await Parallel.ForEachAsync(Enumerable.Range(0, backlog), new ParallelOptions { MaxDegreeOfParallelism = 8 }, async (i, ct) =>
            {
                var at = TimeProvider.System.GetUtcNow().AddSeconds(-55);
                await CreateAsync(apiA, new
                {
                    name = $"backlog-{i}",
                    action = new { type = "call_api", config = new { method = "POST", url = peer.Url + "/slow" } },
                    trigger = new { at = (at < heldAt ? at : heldAt.AddSeconds(-1)).ToString("O", CultureInfo.InvariantCulture) },
                    misfire = new { policy = "catch_up" },
                });
            });
            Console.WriteLine($"backlog created in {(TimeProvider.System.GetUtcNow() - creating).TotalSeconds:F1} s");
            (b, var apiB, _) = await OrchestratorServer.StartAsync(database, 10, apiKey: key);
            using var nodeB = apiB;
            // B's workers taken by the backlog too (A has only {10 - held} free).
            await Peer.WaitAsync(() => peer.InFlight("/slow") >= 10 - held + 5, TimeSpan.FromSeconds(60), "node B to be draining the backlog");
            var startedBeforeKill = peer.Arrivals("/slow").Count;
            Console.WriteLine($"{startedBeforeKill} of {backlog} backlog calls started before the kill");
            if (startedBeforeKill >= backlog / 2)
            {
                Console.WriteLine("warning: half the backlog drained before the kill; give a larger --backlog");
            }

            var killedAt = TimeProvider.System.GetUtcNow();
            a.Kill();
            await Peer.WaitAsync(() => peer.Calls("/hold").Count(t => t > killedAt) >= held, TimeSpan.FromSeconds(180), "every held firing's recovered call");
            var recovered = peer.Calls("/hold").Where(t => t > killedAt).Order().ToList();
            var slow = peer.Arrivals("/slow");
            Console.WriteLine();
            Console.WriteLine($"{"recovered call",15} {"after kill",12} {"backlog started since kill",27} {"backlog not started yet",24}");
            for (var i = 0; i < recovered.Count; i++)
            {
                var since = slow.Count(t => t > killedAt && t < recovered[i]);
                var waiting = backlog - slow.Count(t => t < recovered[i]);
                Console.WriteLine($"{i + 1,15} {(recovered[i] - killedAt).TotalSeconds,10:F1} s {since,27} {waiting,24}");
            }

            peer.Release();
            await PrintLedgerAsync(database);
            var worst = (recovered[^1] - killedAt).TotalSeconds;
            Console.WriteLine($"all {held} recovered within {worst:F1} s of the kill (target ≤ 10 s) with {backlog - slow.Count(t => t < recovered[^1])} backlog firings still waiting");
        }
        finally
        {
            peer.Release();
            a.Kill();
            a.Dispose();
            b?.Kill();
            b?.Dispose();
            apiA.Dispose();
        }
    }

    private static async Task CreateAsync(HttpClient http, object schedule)
    {
        using var response = await http.PostAsJsonAsync("/api/schedules", schedule);
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"creating a schedule: {(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
        }
    }

    /// <summary>The held rows as the ledger has them: the recovered attempt, its node and start.</summary>
    private static async Task PrintLedgerAsync(string database)
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var query = new NpgsqlCommand("SELECT schedule_id, triggered_by, attempt, node, started_at FROM runs WHERE schedule_id LIKE 'default.held-%' ORDER BY started_at", connection);
        await using var reader = await query.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            Console.WriteLine($"  ledger: {reader.GetString(0)} {reader.GetString(1)} attempt {reader.GetInt32(2)} on {reader.GetString(3)} started {reader.GetFieldValue<DateTimeOffset>(4):HH:mm:ss.fff}");
        }
    }

    /// <summary>The endpoint the schedules call: <c>/hold</c> answers when released, <c>/slow</c> after a fixed time; it notes when each call arrived.</summary>
    private sealed class Peer : IAsyncDisposable
    {
        private readonly WebApplication app;
        private readonly ConcurrentQueue<(string Path, DateTimeOffset At, string Key)> arrivals = new();
        private readonly TaskCompletionSource release = new(TaskCreationOptions.RunContinuationsAsynchronously);
        private int inFlightHolds;
        private int inFlightSlow;

        private Peer(WebApplication app) => this.app = app;

        public string Url { get; private set; } = "";

        public int InFlightHolds => Volatile.Read(ref inFlightHolds);

        public int InFlight(string path) => path == "/hold" ? InFlightHolds : Volatile.Read(ref inFlightSlow);

        /// <summary>When each firing first called <paramref name="path"/>: a recovered firing calls again with the same
        /// idempotency key (the killed node's own backlog calls are recovered too), and counts once.</summary>
        public List<DateTimeOffset> Arrivals(string path) =>
            [.. arrivals.Where(a => a.Path == path).GroupBy(a => a.Key).Select(g => g.Min(a => a.At))];

        /// <summary>Every call to <paramref name="path"/>, recovered ones included.</summary>
        public List<DateTimeOffset> Calls(string path) => [.. arrivals.Where(a => a.Path == path).Select(a => a.At)];

        public void Release() => release.TrySetResult();

        public static async Task<Peer> StartAsync(TimeSpan callTime)
        {
            var builder = WebApplication.CreateSlimBuilder();
            builder.Logging.ClearProviders();
            builder.WebHost.UseUrls("http://127.0.0.1:0");
            var app = builder.Build();
            var peer = new Peer(app);
            app.MapPost("/hold", async (HttpContext context) =>
            {
                peer.arrivals.Enqueue(("/hold", TimeProvider.System.GetUtcNow(), context.Request.Headers["Idempotency-Key"].ToString()));
                Interlocked.Increment(ref peer.inFlightHolds);
                try
                {
                    await peer.release.Task.WaitAsync(context.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    // The caller died (the killed node): nothing to answer.
                }
                finally
                {
                    Interlocked.Decrement(ref peer.inFlightHolds);
                }

                return Results.Ok(new { ok = true });
            });
            app.MapPost("/slow", async (HttpContext context) =>
            {
                peer.arrivals.Enqueue(("/slow", TimeProvider.System.GetUtcNow(), context.Request.Headers["Idempotency-Key"].ToString()));
                Interlocked.Increment(ref peer.inFlightSlow);
                try
                {
                    await Task.Delay(callTime, context.RequestAborted);
                }
                catch (OperationCanceledException)
                {
                    // The caller died (the killed node).
                }
                finally
                {
                    Interlocked.Decrement(ref peer.inFlightSlow);
                }

                return Results.Ok(new { ok = true });
            });
            await app.StartAsync();
            peer.Url = app.Urls.First();
            return peer;
        }

        public static async Task WaitAsync(Func<bool> condition, TimeSpan within, string what)
        {
            var deadline = TimeProvider.System.GetUtcNow() + within;
            while (!condition())
            {
                if (TimeProvider.System.GetUtcNow() > deadline)
                {
                    throw new TimeoutException($"timed out waiting for {what}");
                }

                await Task.Delay(50);
            }
        }

        public async ValueTask DisposeAsync() => await app.DisposeAsync();
    }
}
