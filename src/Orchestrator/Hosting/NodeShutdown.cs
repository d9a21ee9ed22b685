using Microsoft.Extensions.Options;
using Quartz;

namespace Orchestrator.Hosting;

/// <summary>
/// Graceful shutdown in the order an operator expects: stop acquiring triggers, give running jobs
/// <c>Orchestrator:Scheduler:ShutdownTimeout</c> to finish, then interrupt what is still running so it is recorded
/// as interrupted rather than lost. Registered after Quartz's hosted service, so the host stops it first.
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

        foreach (var firing in running)
        {
            LogInterrupting(logger, firing.JobKey?.ToString() ?? "?", options.Value.Scheduler.ShutdownTimeout);
            await scheduler.InterruptFireInstance(firing.FireInstanceId, CancellationToken.None);
        }

        // Interrupted jobs still have work to do before the scheduler closes: record their runs as interrupted and,
        // for a pipeline run, schedule its resumption. Quartz's own shutdown, which comes next, refuses new triggers,
        // so wait here (briefly: an interrupted job only has to write its state) for them to return.
        var grace = time.GetUtcNow() + InterruptGrace;
        while (running.Count > 0 && time.GetUtcNow() < grace)
        {
            await Task.Delay(TimeSpan.FromMilliseconds(100), time, CancellationToken.None);
            running = (await scheduler.QueryFireInstances(query, CancellationToken.None)).Items;
        }
    }

    /// <summary>How long interrupted jobs get to record their state before the scheduler closes.</summary>
    private static readonly TimeSpan InterruptGrace = TimeSpan.FromSeconds(10);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Shutdown: {Job} still running after {Timeout}; interrupting it")]
    private static partial void LogInterrupting(ILogger logger, string job, TimeSpan timeout);
}
