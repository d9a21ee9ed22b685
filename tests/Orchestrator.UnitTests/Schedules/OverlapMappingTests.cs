using System.Text.Json;
using Orchestrator.Actions;
using Orchestrator.Schedules;
using Quartz;

namespace Orchestrator.UnitTests.Schedules;

public sealed class OverlapMappingTests
{
    private static readonly DateTimeOffset Now = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static ScheduleSpec Spec(ScheduleOverlap overlap) =>
        new("default", "s", null, "noop", JsonDocument.Parse("{}").RootElement,
            new IntervalTriggerSpec(TimeSpan.FromSeconds(1), null, null, null), MisfirePolicy.FireOnce, null, overlap, null, null, null, true);

    private static ScheduleRequest Request(string? concurrency) =>
        new("s", "default", null, null, new TriggerRequest(null, null, 1, null, null, null, null, null, null, null), null, concurrency, null, null, null, null);

    private sealed class AnyJob : IJob
    {
        public ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }

    private sealed class AnyAction : ActionDefinition
    {
        public override string Type => "noop";

        public override Type JobType => typeof(AnyJob);

        public override string Description => "test";

        public override string SchemaJson => "{}";
    }

    private static AnyAction Action() => new();

    [TestCase(ScheduleOverlap.Forbid, true, OverlapPolicy.Default)]
    [TestCase(ScheduleOverlap.Skip, false, OverlapPolicy.Skip)]
    [TestCase(ScheduleOverlap.BufferOne, false, OverlapPolicy.BufferOne)]
    [TestCase(ScheduleOverlap.CancelPrevious, false, OverlapPolicy.CancelPrevious)]
    [TestCase(ScheduleOverlap.Allow, false, OverlapPolicy.AllowAll)]
    public void Each_overlap_policy_is_the_jobs_concurrency_flag_and_the_triggers_own_quartz_policy(ScheduleOverlap overlap, bool disallowed, OverlapPolicy policy)
    {
        var spec = Spec(overlap);
        var job = ScheduleMapping.BuildJob(spec, Action(), ScheduleMapping.Document(spec, Request(ScheduleOverlaps.Name(overlap)), Now));
        var trigger = ScheduleMapping.BuildTrigger(spec, Now);

        Assert.That(job.ConcurrentExecutionDisallowed, Is.EqualTo(disallowed), "only forbid holds the whole job; a held job never reaches its trigger's policy");
        Assert.That(trigger.OverlapPolicy, Is.EqualTo(policy));
    }

    [Test]
    public void A_replace_that_keeps_the_trigger_takes_the_new_overlap_policy()
    {
        var existing = ScheduleMapping.BuildTrigger(Spec(ScheduleOverlap.Skip), Now);
        var continued = ScheduleMapping.ContinueTrigger(existing, Spec(ScheduleOverlap.CancelPrevious));
        Assert.That(continued.OverlapPolicy, Is.EqualTo(OverlapPolicy.CancelPrevious));
    }

    [TestCase(null, ScheduleOverlap.Forbid)]
    [TestCase("forbid", ScheduleOverlap.Forbid)]
    [TestCase("skip", ScheduleOverlap.Skip)]
    [TestCase("buffer_one", ScheduleOverlap.BufferOne)]
    [TestCase("cancel_previous", ScheduleOverlap.CancelPrevious)]
    [TestCase("allow", ScheduleOverlap.Allow)]
    public void The_api_names_read_back_as_they_were_given(string? name, ScheduleOverlap expected)
    {
        Assert.That(ScheduleOverlaps.TryParse(name, out var overlap), Is.True);
        Assert.That(overlap, Is.EqualTo(expected));
        Assert.That(ScheduleOverlaps.Name(overlap), Is.EqualTo(name ?? "forbid"));
    }

    [TestCase("bufferOne")]
    [TestCase("Skip")]
    [TestCase("")]
    public void Another_spelling_is_not_an_overlap_policy(string name) => Assert.That(ScheduleOverlaps.TryParse(name, out _), Is.False);
}
