using System.Collections.Concurrent;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Npgsql;
using Quartz;

/// <summary>
/// <c>--raw-host</c>: raw Quartz as a process of its own, so that the ladder compares three separate processes on the
/// same PostgreSQL (an in-process raw Quartz would share the bench's runtime, thread pool and GC with the bench itself).
/// It schedules the workload it is given in one transaction, prints <c>scheduled</c>, records each firing's trigger
/// time and start, and when the parent writes <c>stop</c>, at <c>--until</c> or when every one-shot firing has started writes them to <c>--out</c>, one
/// <c>dueTicks startedTicks</c> line each, and exits.
/// </summary>
internal static class RawQuartzHost
{
    public const string ScheduledLine = "scheduled";

    /// <summary>What the parent writes to the host's input when its window is over.</summary>
    public const string StopLine = "stop";

    /// <summary>Raw Quartz as it comes: persistent store on PostgreSQL, not clustered, no history, concurrent jobs, Quartz's default pool.</summary>
    public const string DefaultsProfile = "defaults";

    /// <summary>Raw Quartz with the store settings Orchestrator uses (see <see cref="Configure"/>).</summary>
    public const string StoreProfile = "store";

    private static readonly ConcurrentQueue<(long Due, long Started)> Firings = new();

    private static int expectedOnce;

    private static readonly TaskCompletionSource AllOnceStarted = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>The command line a parent passes to start one (see <see cref="LadderWorkload"/>).</summary>
    public static IEnumerable<string> Arguments(string database, string profile, LadderWorkload workload, int concurrency, DateTimeOffset until, string output) =>
    [
        "--raw-host", "--database", database, "--profile", profile, "--concurrency", concurrency.ToString(CultureInfo.InvariantCulture),
        "--schedules", workload.Schedules.ToString(CultureInfo.InvariantCulture),
        "--interval", workload.IntervalSeconds.ToString(CultureInfo.InvariantCulture),
        "--jitter", workload.JitterSeconds.ToString(CultureInfo.InvariantCulture),
        "--once", workload.Once ? "true" : "false",
        "--start", workload.Start.ToString("O", CultureInfo.InvariantCulture),
        "--until", until.ToString("O", CultureInfo.InvariantCulture),
        "--out", output,
    ];

    public static async Task RunAsync(string[] args)
    {
        string Value(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault() ?? throw new ArgumentException($"--raw-host needs {name}");
        var database = Value("--database");
        var profile = Value("--profile");
        var concurrency = int.Parse(Value("--concurrency"), CultureInfo.InvariantCulture);
        var workload = new LadderWorkload(
            int.Parse(Value("--schedules"), CultureInfo.InvariantCulture),
            int.Parse(Value("--interval"), CultureInfo.InvariantCulture),
            int.Parse(Value("--jitter"), CultureInfo.InvariantCulture),
            bool.Parse(Value("--once")),
            DateTimeOffset.Parse(Value("--start"), CultureInfo.InvariantCulture));
        var until = DateTimeOffset.Parse(Value("--until"), CultureInfo.InvariantCulture);
        var output = Value("--out");
        expectedOnce = workload.Once ? workload.Schedules : int.MaxValue;

        var builder = Host.CreateApplicationBuilder();
        builder.Logging.SetMinimumLevel(LogLevel.Warning);
        Configure(builder.Services, profile, database, concurrency);
        builder.Services.AddQuartzHostedService(o => o.WaitForJobsToComplete = true);
        using var host = builder.Build();
        await host.StartAsync();
        var scheduler = await host.Services.GetRequiredService<ISchedulerFactory>().GetScheduler();

        var jobs = new Dictionary<IJobDetail, IReadOnlyCollection<ITrigger>>();
        for (var i = 0; i < workload.Schedules; i++)
        {
            var job = JobBuilder.Create<RecordingJob>().WithIdentity($"s{i}", "bench").StoreDurably().RequestRecovery()
                .DisallowConcurrentExecution(profile == StoreProfile).Build();
            // The same offset Orchestrator's jitterSeconds gives the schedule of the same name: an identical spread.
            var start = workload.Start + LadderWorkload.JitterOffset(LadderWorkload.ScheduleId(i), workload.JitterSeconds);
            var trigger = TriggerBuilder.Create().WithIdentity($"s{i}", "bench").ForJob(job).StartAt(start);
            trigger = workload.Once
                ? trigger.WithSimpleSchedule(x => x.WithRepeatCount(0))
                : trigger.WithSimpleSchedule(x => x.WithInterval(TimeSpan.FromSeconds(workload.IntervalSeconds)).RepeatForever());
            jobs[job] = [trigger.Build()];
        }

        await scheduler.ScheduleJobs(jobs, new ScheduleJobOptions());
        Console.WriteLine(ScheduledLine);

        var wait = until - TimeProvider.System.GetUtcNow();
        // Console.In's async read blocks the caller (its reader is synchronous): read on a thread of its own.
        var stop = Task.Run(Console.In.ReadLine);
        await Task.WhenAny(AllOnceStarted.Task, stop, Task.Delay(wait > TimeSpan.Zero ? wait : TimeSpan.Zero));
        await scheduler.Standby();
        await File.WriteAllLinesAsync(output, Firings.Select(f => $"{f.Due} {f.Started}"));
        await host.StopAsync();
    }

    /// <summary>Quartz for a profile: raw defaults, or Orchestrator's store settings (as Hosting/SchedulerHosting and
    /// Hosting/PostgresConnectionDefaults configure the server, without its recovery-first dialect and ledger).</summary>
    private static void Configure(IServiceCollection services, string profile, string database, int concurrency)
    {
        var store = profile switch
        {
            DefaultsProfile => false,
            StoreProfile => true,
            _ => throw new ArgumentException($"--profile must be '{DefaultsProfile}' or '{StoreProfile}'."),
        };
        services.AddQuartz(q =>
        {
            q.ConfigureScheduler(s => s.InstanceName = "bench");
            if (store)
            {
                q.UseDefaultThreadPool(concurrency);
            }

            q.UsePersistentStore(s =>
            {
                if (store)
                {
                    s.UsePostgres(new NpgsqlConnectionStringBuilder(database)
                    {
                        NoResetOnClose = true,
                        MaxAutoPrepare = 64,
                        AutoPrepareMinUsages = 2,
                        MaxPoolSize = Math.Max(100, concurrency + 23),
                    }.ConnectionString);
                    s.UseClustering(c =>
                    {
                        c.CheckinInterval = TimeSpan.FromSeconds(1);
                        c.CheckinMisfireThreshold = TimeSpan.FromSeconds(5);
                    });
                    s.UseExecutionHistory();
                }
                else
                {
                    s.UsePostgres(database);
                }

                s.UseSystemTextJsonSerializer();
                s.ProvisionSchema();
            });
        });
        if (store)
        {
            services.AddQuartzExecutionHistory(h => h.WriteBehindInterval = TimeSpan.FromSeconds(1));
        }
    }

    private sealed class RecordingJob : IJob
    {
        public ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
        {
            Firings.Enqueue((context.ScheduledFireTimeUtc!.Value.UtcTicks, TimeProvider.System.GetUtcNow().UtcTicks));
            if (Firings.Count >= expectedOnce)
            {
                AllOnceStarted.TrySetResult();
            }

            return ValueTask.CompletedTask;
        }
    }
}
