using System.Globalization;
using Orchestrator.Telemetry;
using Quartz;
using Quartz.Extensibility;

namespace Orchestrator.UnitTests.Telemetry;

/// <summary>
/// A recovered firing's lateness counts from the dead firing's scheduled time, not from the recovery trigger's own
/// fire time, which RecoveryFirstPromotion moves to just before the backlog (as late as the misfire threshold allows).
/// </summary>
public sealed class RecoveryLatenessTests
{
    private static readonly DateTimeOffset Original = new(2030, 1, 1, 9, 0, 0, TimeSpan.Zero);

    private static readonly DateTimeOffset Promoted = Original.AddHours(6);

    private sealed class AnyJob : IJob
    {
        public ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }

    private static ITrigger RecoveryTrigger(string? originalScheduled)
    {
        var builder = TriggerBuilder.Create().WithIdentity("recover_node_1", SchedulerConstants.DefaultRecoveryGroup).StartAt(Promoted)
            .UsingJobData(SchedulerConstants.FailedJobOriginalTriggerName, "default.job")
            .UsingJobData(SchedulerConstants.FailedJobOriginalTriggerGroup, "default")
            .UsingJobData(SchedulerConstants.FailedJobOriginalTriggerFireTime, Original.ToString(CultureInfo.InvariantCulture));
        if (originalScheduled is not null)
        {
            builder = builder.UsingJobData(SchedulerConstants.FailedJobOriginalTriggerScheduledFireTime, originalScheduled);
        }

        return builder.Build();
    }

    [Test]
    public void A_recovered_firing_is_due_at_the_original_scheduled_time()
    {
        var context = JobExecutionContextBuilder.For(new AnyJob()).WithTrigger(RecoveryTrigger(Original.ToString(CultureInfo.InvariantCulture)))
            .FiredAt(Promoted, Promoted).Recovering().Build();
        Assert.That(context.Recovering, Is.True);
        Assert.That(RunTelemetry.DueAt(context), Is.EqualTo(Original), "not the promoted fire time, six hours later");
    }

    [Test]
    public void A_recovered_firing_without_the_original_time_falls_back_to_its_own_scheduled_time()
    {
        var context = JobExecutionContextBuilder.For(new AnyJob()).WithTrigger(RecoveryTrigger("not a time"))
            .FiredAt(Promoted, Promoted).Recovering().Build();
        Assert.That(RunTelemetry.DueAt(context), Is.EqualTo(Promoted));
    }

    [Test]
    public void An_ordinary_firing_is_due_at_its_scheduled_time()
    {
        var context = JobExecutionContextBuilder.For(new AnyJob()).FiredAt(Promoted.AddSeconds(3), Promoted).Build();
        Assert.That(RunTelemetry.DueAt(context), Is.EqualTo(Promoted));
    }
}
