using Orchestrator.Pipelines;
using Orchestrator.Schedules;
using Quartz;

namespace Orchestrator.UnitTests.Pipelines;

/// <summary>A pipeline node's retry is the schedules' retry model: the same spec and the same Quartz policy (its waits).</summary>
public sealed class NodeRetryTests
{
    [Test]
    public void An_exponential_node_retry_is_the_schedules_exponential_policy()
    {
        var node = new NodeRetry(4, "exponential", 2, 30).ToSpec();

        Assert.That(node, Is.EqualTo(new RetrySpec(4, true, TimeSpan.FromSeconds(2), TimeSpan.FromSeconds(30))));
        Assert.That(node.ToQuartz(), Is.EqualTo(RetryPolicy.Exponential(3, TimeSpan.FromSeconds(2), 2.0, TimeSpan.FromSeconds(30), 0.2)));
    }

    [Test]
    public void A_fixed_node_retry_waits_the_same_before_every_attempt()
    {
        var policy = new NodeRetry(3, "fixed", 1.5, 300).ToSpec().ToQuartz();

        Assert.That(policy, Is.EqualTo(RetryPolicy.Fixed(2, TimeSpan.FromSeconds(1.5))));
        Assert.That(policy.DelayFor(1), Is.EqualTo(TimeSpan.FromSeconds(1.5)));
        Assert.That(policy.DelayFor(2), Is.EqualTo(TimeSpan.FromSeconds(1.5)));
    }

    [Test]
    public void Exponential_waits_grow_and_stop_at_the_node_maximum()
    {
        var policy = new NodeRetry(20, "exponential", 1, 10).ToSpec().ToQuartz();

        Assert.That(policy.DelayFor(1), Is.InRange(TimeSpan.FromSeconds(0.8), TimeSpan.FromSeconds(1.2)), "the first wait is the initial delay, within the jitter");
        Assert.That(policy.DelayFor(3), Is.InRange(TimeSpan.FromSeconds(3.2), TimeSpan.FromSeconds(4.8)), "doubling each time");
        Assert.That(policy.DelayFor(12), Is.LessThanOrEqualTo(TimeSpan.FromSeconds(10)), "never past maxDelaySeconds");
    }

    [Test]
    public void One_attempt_is_no_retry()
    {
        Assert.That(new NodeRetry(1, "exponential", 1, 300).ToSpec().ToQuartz(), Is.EqualTo(RetryPolicy.None));
    }
}
