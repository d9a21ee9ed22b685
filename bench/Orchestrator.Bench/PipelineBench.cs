using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Quartz;

/// <summary>
/// Executor overhead: a DAG of no-op nodes in layers of <c>width</c> (each node depends on two of the layer before),
/// run by Orchestrator's pipeline executor (server process, PostgreSQL), next to raw Quartz running the same DAG on
/// the same kind of store: each layer's jobs triggered at once, the next layer when all have completed.
/// Round trips are the database's committed transactions during the run (pg_stat_database), per node; they include
/// each system's own background work (cluster check-ins), which is why the baseline is measured the same way.
/// </summary>
internal static class PipelineBench
{
    public static async Task RunAsync(string[] args)
    {
        string? Value(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
        var postgres = Value("--postgres") ?? Environment.GetEnvironmentVariable("ORCHESTRATOR_BENCH_POSTGRES")
            ?? throw new ArgumentException("Give --postgres \"Host=…;Username=…\" (a role that may create databases).");
        var nodes = int.Parse(Value("--nodes") ?? "1000", CultureInfo.InvariantCulture);
        var width = int.Parse(Value("--width") ?? "50", CultureInfo.InvariantCulture);
        var runs = int.Parse(Value("--runs") ?? "3", CultureInfo.InvariantCulture);
        var settings = new BenchSettings(postgres, 0, TimeSpan.Zero, TimeSpan.Zero, width);
        Console.WriteLine($"settings: nodes={nodes}, width={width} (each node depends on 2 nodes of the layer before), maxParallelism={width}, " +
                          $"runs={runs} (best and median shown), store=PostgreSQL clustered (check-in 5 s); raw Quartz thread pool={width}");

        var ours = await OrchestratorRunsAsync(settings, nodes, width, runs);
        var raw = await RawQuartzRunsAsync(settings, nodes, width, runs);

        Console.WriteLine();
        Console.WriteLine($"{"system",-14} {"best ms",9} {"median ms",10} {"ms/node",8} {"round trips/node",17}");
        foreach (var (name, result) in new[] { ("Orchestrator", ours), ("raw Quartz", raw) })
        {
            Console.WriteLine($"{name,-14} {result.Best,9:F0} {result.Median,10:F0} {result.Median / nodes,8:F2} {result.RoundTripsPerNode,17:F2}");
        }

        Console.WriteLine($"Orchestrator/raw Quartz time = {ours.Median / raw.Median:F2}x; per-node overhead {ours.Median / nodes:F2} ms (target <= 2 ms)");
    }

    private sealed record Result(double Best, double Median, double RoundTripsPerNode);

    private static List<List<string>> Layers(int nodes, int width) =>
        [.. Enumerable.Range(0, (nodes + width - 1) / width).Select(l => Enumerable.Range(l * width, Math.Min(width, nodes - l * width)).Select(i => $"n{i}").ToList())];

    private static async Task<Result> OrchestratorRunsAsync(BenchSettings settings, int nodes, int width, int runs)
    {
        var database = await settings.CreateDatabaseAsync("bench_pipe");
        var (server, http, _) = await OrchestratorServer.StartAsync(database, 10, new Dictionary<string, string>
        {
            ["Orchestrator__Pipelines__MaxNodes"] = Math.Max(nodes, 2000).ToString(CultureInfo.InvariantCulture),
            ["Orchestrator__Pipelines__MaxParallelism"] = Math.Max(width, 64).ToString(CultureInfo.InvariantCulture),
        });
        try
        {
            var layers = Layers(nodes, width);
            var edges = new List<object>();
            for (var l = 1; l < layers.Count; l++)
            {
                for (var j = 0; j < layers[l].Count; j++)
                {
                    edges.Add(new { from = layers[l - 1][j % layers[l - 1].Count], to = layers[l][j] });
                    edges.Add(new { from = layers[l - 1][(j + 1) % layers[l - 1].Count], to = layers[l][j] });
                }
            }

            var definition = new
            {
                id = "bench",
                name = "bench",
                maxParallelism = width,
                nodes = layers.SelectMany(l => l).Select(id => new { id, type = "action", action = new { type = "noop", config = new { } } }),
                edges,
            };
            (await http.PostAsJsonAsync("/api/pipelines", definition)).EnsureSuccessStatusCode();

            var times = new List<double>();
            var trips = new List<double>();
            for (var r = 0; r < runs; r++)
            {
                var before = await TransactionsAsync(database);
                var started = await (await http.PostAsJsonAsync("/api/pipelines/bench/run", new { inputs = new { } })).Content.ReadFromJsonAsync<JsonElement>();
                var id = started.GetProperty("id").GetString();
                JsonElement run;
                do
                {
                    await Task.Delay(50);
                    run = (await http.GetFromJsonAsync<JsonElement>($"/api/pipeline-runs/{id}")).GetProperty("run");
                }
                while (run.GetProperty("status").GetString() is "pending" or "running");

                if (run.GetProperty("status").GetString() != "succeeded")
                {
                    throw new InvalidOperationException($"bench run ended {run}");
                }

                times.Add((run.GetProperty("finishedAt").GetDateTimeOffset() - run.GetProperty("startedAt").GetDateTimeOffset()).TotalMilliseconds);
                trips.Add((await TransactionsAsync(database) - before) / (double)nodes);
                Console.WriteLine($"  Orchestrator run {r + 1}: {times[^1]:F0} ms, {trips[^1]:F2} transactions/node");
            }

            return Summarize(times, trips);
        }
        finally
        {
            server.Kill();
            server.Dispose();
            http.Dispose();
        }
    }

    private static async Task<Result> RawQuartzRunsAsync(BenchSettings settings, int nodes, int width, int runs)
    {
        var database = await settings.CreateDatabaseAsync("bench_pipe_raw");
        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        var completed = new LayerListener();
        builder.Services.AddQuartz(q =>
        {
            q.ConfigureScheduler(s => s.InstanceName = "bench-dag");
            q.UseDefaultThreadPool(width);
            q.AddJobListener(completed);
            q.UsePersistentStore(store =>
            {
                store.UsePostgres(database);
                store.UseClustering(c => c.CheckinInterval = TimeSpan.FromSeconds(5));
                store.UseExecutionHistory();
                store.UseSystemTextJsonSerializer();
                store.ProvisionSchema();
            });
        });
        builder.Services.AddQuartzHostedService(o => o.WaitForJobsToComplete = true);
        using var host = builder.Build();
        await host.StartAsync();
        var scheduler = await host.Services.GetRequiredService<ISchedulerFactory>().GetScheduler();
        var layers = Layers(nodes, width);
        foreach (var id in layers.SelectMany(l => l))
        {
            await scheduler.AddJob(JobBuilder.Create<DagNoOpJob>().WithIdentity(id, "dag").StoreDurably().RequestRecovery().Build(), AddJobOptions.Replacing);
        }

        var times = new List<double>();
        var trips = new List<double>();
        for (var r = 0; r < runs; r++)
        {
            var before = await TransactionsAsync(database);
            var clock = Stopwatch.StartNew();
            foreach (var layer in layers)
            {
                var done = completed.Expect(layer.Count);
                foreach (var id in layer)
                {
                    await scheduler.TriggerJob(new JobKey(id, "dag"));
                }

                await done;
            }

            times.Add(clock.Elapsed.TotalMilliseconds);
            trips.Add((await TransactionsAsync(database) - before) / (double)nodes);
            Console.WriteLine($"  raw Quartz run {r + 1}: {times[^1]:F0} ms, {trips[^1]:F2} transactions/node");
        }

        await host.StopAsync();
        return Summarize(times, trips);
    }

    private static Result Summarize(List<double> times, List<double> trips)
    {
        var sorted = times.Order().ToList();
        return new Result(sorted[0], sorted[sorted.Count / 2], trips.Order().ToList()[trips.Count / 2]);
    }

    /// <summary>Committed and rolled-back transactions of the database so far; backends report theirs within ~10 s of going idle, so wait first.</summary>
    private static async Task<long> TransactionsAsync(string database)
    {
        await Task.Delay(TimeSpan.FromSeconds(11));
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT pg_stat_clear_snapshot(); SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = current_database()", connection);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.NextResultAsync();
        await reader.ReadAsync();
        // This query's own connection adds a transaction or two; negligible against a thousand nodes.
        return reader.GetInt64(0);
    }

    private sealed class LayerListener : IJobListener
    {
        private TaskCompletionSource? layer;
        private int remaining;

        public string Name => "layers";

        public ValueTask JobToBeExecuted(IJobExecutionContext context, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

        public ValueTask JobExecutionVetoed(IJobExecutionContext context, CancellationToken cancellationToken = default) => ValueTask.CompletedTask;

        public Task Expect(int count)
        {
            remaining = count;
            layer = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
            return layer.Task;
        }

        public ValueTask JobWasExecuted(IJobExecutionContext context, JobExecutionException? jobException, CancellationToken cancellationToken = default)
        {
            if (Interlocked.Decrement(ref remaining) == 0)
            {
                layer?.TrySetResult();
            }

            return ValueTask.CompletedTask;
        }
    }
}

internal sealed class DagNoOpJob : IJob
{
    public ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;
}
