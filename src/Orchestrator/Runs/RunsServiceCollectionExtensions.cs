using Microsoft.Extensions.Options;
using Orchestrator.Hosting;
using Quartz;

namespace Orchestrator.Runs;

public static class RunsServiceCollectionExtensions
{
    /// <summary>
    /// The run ledger, as Quartz job middleware around every action job; <see cref="RunQueries"/>; and the housekeeping
    /// job that purges runs past the retention.
    /// </summary>
    public static IServiceCollection AddRuns(this IServiceCollection services)
    {
        services.AddSingleton<RunLedgerWriter>();
        services.AddScoped<RunLedger>();
        services.AddScoped<RunQueries>();
        // Added to the scheduler wherever AddQuartz is called (ConfigureAllQuartzSchedulers does not depend on the order).
        services.ConfigureAllQuartzSchedulers(q =>
        {
            q.AddJobMiddleware<RunLedgerMiddleware>();
            q.ScheduleJob<RunHousekeepingJob>(
                (sp, trigger) => trigger.WithIdentity(RunHousekeepingJob.Key.Name, RunHousekeepingJob.Key.Group)
                    .StartNow()
                    .WithSimpleSchedule(x => x.WithInterval(sp.GetRequiredService<IOptions<OrchestratorOptions>>().Value.Runs.HousekeepingInterval)
                        .RepeatForever().WithMisfireInstruction(SimpleTriggerMisfireInstruction.NextWithRemainingCount)),
                (_, job) => job.WithIdentity(RunHousekeepingJob.Key));
        });
        return services;
    }
}
