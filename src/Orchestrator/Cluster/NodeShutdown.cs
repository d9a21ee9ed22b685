using Microsoft.Extensions.Options;
using Orchestrator.Hosting;
using Quartz;

namespace Orchestrator.Cluster;

/// <summary>
/// Graceful shutdown in the order an operator expects: stop acquiring triggers, give running jobs
/// <c>Orchestrator:Scheduler:ShutdownTimeout</c> to finish; then Quartz's shutdown interrupts what is still running so
/// it is recorded as interrupted rather than lost. Registered after Quartz's hosted service, so the host stops it first.
/// </summary>
public sealed partial class NodeShutdown(ISchedulerFactory schedulers, IOptions<OrchestratorOptions> options, TimeProvider time, ILogger<NodeShutdown> logger)
    : IHostedService
{
    private volatile bool stopping;

    public bool IsStopping => stopping;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public async Task StopAsync(CancellationToken cancellationToken)
    {
        stopping = true;
        var scheduler = await schedulers.GetScheduler(CancellationToken.None);
        if (scheduler.Status != SchedulerStatus.Running)
        {
            return;
        }

        await scheduler.Standby(CancellationToken.None);
        var query = new FireInstanceQuery { SchedulerInstanceId = scheduler.SchedulerInstanceId };
        var deadline = time.GetUtcNow() + options.Value.Scheduler.ShutdownTimeout;
        IReadOnlyList<FireInstance> running;
        while ((running = (await scheduler.QueryFireInstances(query, CancellationToken.None)).Items).Count > 0 && time.GetUtcNow() < deadline)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(200), time, CancellationToken.None);
        }

        // What still runs is interrupted by Quartz's shutdown, which comes next (ShutdownJobInterruption), as a shutdown
        // interruption: an action job records its run as interrupted; a pipeline run (started through the API, or by an
        // execute_pipeline schedule) is handed back for recovery.
        foreach (var firing in running)
        {
            LogInterrupting(logger, firing.JobKey?.ToString() ?? "?", options.Value.Scheduler.ShutdownTimeout);
        }
    }

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shutdown: {Job} still running after {Timeout}; interrupting it")]
    private static partial void LogInterrupting(ILogger logger, string job, TimeSpan timeout);
}
