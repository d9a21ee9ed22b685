using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Diagnostics.HealthChecks;
using Orchestrator.Cluster;
using Quartz;

namespace Orchestrator.UnitTests.Cluster;

/// <summary>The scheduler's part of <c>/readyz</c>: Quartz's own health check as <see cref="HealthEndpoints.AddHealth"/> registers it.</summary>
public sealed class ReadinessTests
{
    private ServiceProvider services = null!;
    private IScheduler scheduler = null!;

    [SetUp]
    public async Task StartInMemoryScheduler()
    {
        var collection = new ServiceCollection().AddLogging();
        collection.AddQuartz();
        collection.AddHealth();
        services = collection.BuildServiceProvider();
        scheduler = await services.GetRequiredService<ISchedulerFactory>().GetScheduler();
    }

    [TearDown]
    public async Task Dispose()
    {
        await scheduler.Shutdown();

        await services.DisposeAsync();
    }

    private Task<HealthReport> SchedulerReport() =>
        services.GetRequiredService<HealthCheckService>().CheckHealthAsync(c => c.Name == "scheduler");

    [Test]
    public async Task A_running_scheduler_is_ready()
    {
        await scheduler.Start();
        Assert.That((await SchedulerReport()).Status, Is.EqualTo(HealthStatus.Healthy));
    }

    [Test]
    public async Task A_scheduler_in_standby_is_not_ready_so_a_node_shutting_down_leaves_rotation()
    {
        await scheduler.Start();
        await scheduler.Standby();
        Assert.That((await SchedulerReport()).Status, Is.EqualTo(HealthStatus.Unhealthy));
    }

    [Test]
    public async Task A_scheduler_that_has_shut_down_is_not_ready()
    {
        await scheduler.Start();
        await scheduler.Shutdown();
        Assert.That((await SchedulerReport()).Status, Is.EqualTo(HealthStatus.Unhealthy));
    }

    [Test]
    public async Task The_scheduler_check_is_one_of_the_readiness_checks() =>
        Assert.That((await services.GetRequiredService<HealthCheckService>().CheckHealthAsync(c => c.Tags.Contains("ready") && c.Name == "scheduler")).Entries.Keys, Is.EqualTo(new[] { "scheduler" }));
}
