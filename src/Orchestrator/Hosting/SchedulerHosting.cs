using Orchestrator.Cluster;
using Quartz;

namespace Orchestrator.Hosting;

public static class SchedulerHosting
{
    public const string SchedulerName = "orchestrator";

    /// <summary>How long Quartz's execution history buffers completions before one transaction writes them.</summary>
    public static readonly TimeSpan HistoryWriteBehind = TimeSpan.FromSeconds(1);

    /// <summary>The job store's misfire threshold (Quartz's default, 60 s): acquisition takes no trigger due longer ago unless it ignores misfires.</summary>
    public static readonly TimeSpan StoreMisfireThreshold = TimeSpan.FromMinutes(1);

    /// <summary>Quartz on the chosen database: clustered with execution history on PostgreSQL, single node on SQLite.</summary>
    public static WebApplicationBuilder AddOrchestratorScheduler(this WebApplicationBuilder builder, StorageChoice storage)
    {
        var options = builder.Configuration.GetSection(OrchestratorOptions.SectionName).Get<OrchestratorOptions>() ?? new();

        builder.Services.AddQuartz(q =>
        {
            q.ConfigureScheduler(s =>
            {
                s.InstanceName = SchedulerName;
                if (!string.IsNullOrWhiteSpace(options.Cluster.InstanceId))
                {
                    s.InstanceId = options.Cluster.InstanceId;
                }
                else if (storage.Clustered)
                {
                    s.GenerateInstanceId = true;
                }

                // NodeShutdown has given running jobs their time; what still runs is interrupted by Quartz's own
                // shutdown, so a job that requests recovery and stops is handed back (RecoverFiringsCancelledByShutdown).
                s.ShutdownJobInterruption = ShutdownJobInterruption.WhenWaitingForJobs;
            });
            q.UseDefaultThreadPool(options.Scheduler.MaxConcurrency);
            if (options.Scheduler.ExecutionLimits.Count > 0)
            {
                q.UseExecutionLimits(limits =>
                {
                    foreach (var (group, limit) in options.Scheduler.ExecutionLimits)
                    {
                        limits.ForGroup(group, limit, ExecutionLimitScope.Cluster);
                    }
                });
            }

            q.UsePersistentStore(store =>
            {
                store.ConfigureStore(s =>
                {
                    s.TablePrefix = options.Database.TablePrefix;
                    // Quartz's default, named so RecoveryFirstPromotion bounds its move by the threshold acquisition uses.
                    s.MisfireThreshold = StoreMisfireThreshold;
                    // A pipeline run interrupted by a shutdown resumes through a recovery trigger, stored with the firing's end.
                    s.RecoverFiringsCancelledByShutdown = true;
                });
                // A dead node's recovered firings are acquired before any backlog: on a cluster by moving them
                // (RecoveryFirstPromotion, registered below), with Quartz's own dialect, whose once-per-round reads and
                // batched round writes Quartz serves only to the exact types it ships; without one (no check-ins to
                // hook) by a dialect that rewrites the acquisition statement (RecoveryFirstAcquisition). That delegate
                // is named before the database: UsePostgres/UseSqlite keep one already chosen, one named after is ignored.
                if (storage.IsPostgres)
                {
                    if (!storage.Clustered)
                    {
                        store.UseDriverDelegate<RecoveryFirstPostgresDialect>();
                    }

                    store.UsePostgres(storage.ConnectionString);
                }
                else
                {
                    store.UseDriverDelegate<RecoveryFirstSqliteDialect>();
                    store.UseSqlite(storage.ConnectionString);
                }

                if (storage.Clustered)
                {
                    store.UseClustering(c =>
                    {
                        c.CheckinInterval = options.Cluster.CheckinInterval;
                        c.CheckinMisfireThreshold = options.Cluster.CheckinMisfireThreshold;
                    });
                }

                store.UseExecutionHistory();
                store.UseSystemTextJsonSerializer();
                if (options.Database.ProvisionSchema)
                {
                    store.ProvisionSchema();
                }
            });
        });

        // History once (issue 13): the run ledger is the execution history operators read; Quartz's history stays for
        // what only it has — the misfire feed (GET /api/schedules/{id}/misfires, the dashboard's misfire table) and the
        // ledger's verdict per firing (JobRunReport: skipped, and why). Its rows age out with the ledger's. Written
        // behind: a completion is queued and one writer commits a second's rows and job statuses together, instead
        // of a transaction of its own per firing (measured: 1 of 4.6 transactions per firing). A crash loses at most
        // that second of history rows, never a run: the ledger row is written before and after the action.
        builder.Services.AddQuartzExecutionHistory(history =>
        {
            history.Retention = options.Runs.Retention;
            history.WriteBehindInterval = HistoryWriteBehind;
        });
        builder.QuietHandledJobFailures();
        if (storage.IsPostgres && storage.Clustered)
        {
            // Before Quartz's hosted service, so stopped after it (RecoveryFirstPromotion says why).
            builder.Services.AddHostedService(sp => new RecoveryFirstPromotion(
                storage.ConnectionString, options.Database.TablePrefix, StoreMisfireThreshold, sp.GetRequiredService<TimeProvider>(), sp.GetRequiredService<ILogger<RecoveryFirstPromotion>>()));
        }

        builder.Services.AddQuartzHostedService(h =>
        {
            // Running jobs get to finish; the host's shutdown timeout (below) bounds how long.
            h.WaitForJobsToComplete = true;
            h.AwaitApplicationStarted = true;
        });
        // Registered after Quartz's hosted service, so it is stopped first: standby, wait, interrupt; then Quartz shuts down.
        builder.Services.AddSingleton<NodeShutdown>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<NodeShutdown>());
        builder.Services.Configure<HostOptions>(h => h.ShutdownTimeout = options.Scheduler.ShutdownTimeout + TimeSpan.FromSeconds(15));
        return builder;
    }

    /// <summary>Quartz's JobRunShell: its event for a job that threw a <see cref="JobExecutionException"/>.</summary>
    public const int JobThrewJobExecutionExceptionEvent = 1052;

    /// <summary>Quartz's JobRunShell: its event for a failure whose retries are used up, which carries the exception again.</summary>
    public const int RetriesExhaustedEvent = 1057;

    /// <summary>
    /// An action job reports a failed action to Quartz by throwing <see cref="JobExecutionException"/> — the only way
    /// Quartz's retry policy sees a failure — after logging it itself as one warning. JobRunShell would log the same
    /// failure again as an error with the job's stack trace (and once more with the trace when retries run out), so
    /// those two events are dropped. Nothing else throws JobExecutionException here; an unexpected exception in any
    /// job is still logged by JobRunShell under its own event, and the retry-scheduled line (1056) stays.
    /// </summary>
    private static void QuietHandledJobFailures(this WebApplicationBuilder builder) =>
        builder.Logging.AddRandomProbabilisticSampler(sampling =>
        {
            // Dropped by event id alone: Quartz's ids are not a public contract. If a later Quartz renumbers 1052/1057,
            // these rules silently match nothing and JobRunShell's 'fail:' with a trace comes back; the integration test
            // HandledConditionLoggingTests.A_failed_call_and_its_retry_that_finds_the_ledger_row_log_one_warning_each_without_a_trace
            // fails on it.
            foreach (var eventId in new[] { JobThrewJobExecutionExceptionEvent, RetriesExhaustedEvent })
            {
                sampling.Rules.Add(new Microsoft.Extensions.Diagnostics.Sampling.RandomProbabilisticSamplerFilterRule(
                    probability: 0, categoryName: "Quartz.Core.JobRunShell", logLevel: null, eventId: eventId, eventName: null));
            }
        });
}
