using System.Text.Json;
using Orchestrator.Actions;
using Orchestrator.Actions.NoOp;
using Orchestrator.Api;
using Orchestrator.Schedules;
using Quartz;

namespace Orchestrator.UnitTests.Schedules;

/// <summary>
/// <c>jitterSeconds</c>: a stable per-schedule offset in [0, N) that moves every fire time of the trigger by the same
/// amount, while the occurrence stays keyed by its nominal time.
/// </summary>
public sealed class JitterTests
{
    private static readonly DateTimeOffset Now = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static ScheduleSpec Spec(string name, TriggerSpec trigger, int jitterSeconds) =>
        new ScheduleSpec("default", name, null, "noop", JsonDocument.Parse("{}").RootElement, trigger, MisfirePolicy.FireOnce, null, ScheduleOverlap.Forbid, null, null, null, true)
        {
            JitterSeconds = jitterSeconds,
        };

    /// <summary>A schedule name whose offset for <paramref name="jitterSeconds"/> is not zero, so a shift shows.</summary>
    private static string NameWithOffset(int jitterSeconds) =>
        Enumerable.Range(0, 1000).Select(i => $"s{i}").First(n => ScheduleJitter.OffsetFor($"default.{n}", jitterSeconds) > TimeSpan.FromSeconds(1));

    [Test]
    public void The_offset_is_whole_seconds_in_0_to_N_stable_per_schedule_and_spreads_schedules()
    {
        var offsets = Enumerable.Range(0, 1000).Select(i => ScheduleJitter.OffsetFor($"default.s{i}", 60)).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(offsets, Is.All.GreaterThanOrEqualTo(TimeSpan.Zero).And.LessThan(TimeSpan.FromSeconds(60)));
            Assert.That(offsets.Select(o => o.Ticks % TimeSpan.TicksPerSecond), Is.All.Zero, "whole seconds: the ledger keys runs per second");
            Assert.That(offsets.Distinct().Count(), Is.EqualTo(60), "1,000 schedules use every second of the window");
            Assert.That(offsets.GroupBy(o => o).Max(g => g.Count()), Is.LessThan(40), "no second gets a burst (uniform: ~17 each)");
            Assert.That(ScheduleJitter.OffsetFor("default.s7", 60), Is.EqualTo(offsets[7]), "the same id gives the same offset");
            Assert.That(ScheduleJitter.OffsetFor("default.s7", 0), Is.EqualTo(TimeSpan.Zero));
            Assert.That(ScheduleJitter.OffsetFor("default.s7", 1), Is.EqualTo(TimeSpan.Zero));
        });
    }

    [TestCase("interval")]
    [TestCase("cron")]
    [TestCase("calendar")]
    [TestCase("once")]
    public void Every_fire_time_moves_by_the_offset_and_nothing_else(string form)
    {
        TriggerSpec trigger = form switch
        {
            "interval" => new IntervalTriggerSpec(TimeSpan.FromMinutes(5), Now.AddMinutes(1), null, null),
            "cron" => new CronTriggerSpec("0 */15 * * * ?", TimeZoneInfo.Utc, null, null, null),
            "calendar" => new CalendarTriggerSpec(1, IntervalUnit.Day, TimeZoneInfo.Utc, Now.AddHours(9), null, null),
            _ => new OnceTriggerSpec(Now.AddHours(1)),
        };
        var name = NameWithOffset(30);
        var offset = ScheduleJitter.OffsetFor($"default.{name}", 30);

        var nominal = ScheduleMapping.NextFireTimes(ScheduleMapping.BuildTrigger(Spec(name, trigger, 0), Now), 5, Now);
        var moved = ScheduleMapping.NextFireTimes(ScheduleMapping.BuildTrigger(Spec(name, trigger, 30), Now), 5, Now);

        Assert.That(moved, Is.EqualTo(nominal.Select(t => t + offset)));
    }

    [Test]
    public void A_cron_trigger_with_max_runs_and_jitter_fires_exactly_max_runs_times()
    {
        var name = NameWithOffset(30);
        var trigger = ScheduleMapping.BuildTrigger(Spec(name, new CronTriggerSpec("0 * * * * ?", TimeZoneInfo.Utc, null, null, 3), 30), Now);
        Assert.That(ScheduleMapping.NextFireTimes(trigger, 10, Now), Has.Count.EqualTo(3));
    }

    [Test]
    public void The_job_carries_the_offset_for_the_ledger_and_a_schedule_without_jitter_carries_none()
    {
        var name = NameWithOffset(30);
        var action = new NoOpAction();
        var document = new ScheduleDocument($"default.{name}", name, "default", null, new ScheduleActionView("noop", JsonDocument.Parse("{}").RootElement), null, null, new MisfireView("fire_once", null), "forbid", null, null, null);
        var with = ScheduleMapping.BuildJob(Spec(name, new OnceTriggerSpec(Now.AddHours(1)), 30), action, document);
        var without = ScheduleMapping.BuildJob(Spec(name, new OnceTriggerSpec(Now.AddHours(1)), 0), action, document);

        Assert.Multiple(() =>
        {
            Assert.That(ScheduleJitter.OffsetOf(with.JobDataMap), Is.EqualTo(ScheduleJitter.OffsetFor($"default.{name}", 30)));
            Assert.That(without.JobDataMap.ContainsKey(JobDataKeys.JitterOffsetSeconds), Is.False);
            Assert.That(ScheduleJitter.OffsetOf(without.JobDataMap), Is.EqualTo(TimeSpan.Zero));
        });
    }

    [TestCase("0 0 * * * ?", 60)]
    [TestCase("15 0 * * * ?", 45)]
    [TestCase("0/30 * * * * ?", null)]
    [TestCase("* * * * * ?", null)]
    [TestCase("5,10 * * * * ?", null)]
    public void A_cron_trigger_moves_within_its_minute(string expression, int? allowance) =>
        Assert.That(ScheduleJitter.CronAllowance(expression), Is.EqualTo(allowance));

    [TestCase(null, 0, "interval", 0, null)]
    [TestCase(null, 120, "interval", 120, null)]
    [TestCase(null, 120, "cron-at-0", 60, null)]
    [TestCase(null, 3600, "cron-at-0", 60, null)]
    [TestCase(null, 120, "cron-every-30s", 0, null)]
    [TestCase(30, 0, "interval", 30, null)]
    [TestCase(0, 120, "interval", 0, null)]
    [TestCase(-1, 0, "interval", -1, "must be between 0 and 3600.")]
    [TestCase(3601, 0, "interval", 3601, "must be between 0 and 3600.")]
    [TestCase(61, 0, "cron-at-0", 61, "must be at most 60 for this cron expression: a cron trigger is moved within its minute, after its second.")]
    [TestCase(10, 0, "cron-every-30s", 10, "needs a cron expression with a single second (e.g. '0 */5 * * * ?'): a cron trigger is moved within its minute.")]
    public void The_request_value_is_validated_and_the_server_default_applies_only_as_far_as_the_trigger_can_move(
        int? requested, int serverDefault, string form, int expected, string? error)
    {
        TriggerSpec trigger = form switch
        {
            "cron-at-0" => new CronTriggerSpec("0 * * * * ?", TimeZoneInfo.Utc, null, null, null),
            "cron-every-30s" => new CronTriggerSpec("0/30 * * * * ?", TimeZoneInfo.Utc, null, null, null),
            _ => new IntervalTriggerSpec(TimeSpan.FromMinutes(1), null, null, null),
        };
        var errors = new FieldErrors();

        var resolved = ScheduleJitter.Resolve(requested, serverDefault, trigger, errors);

        Assert.Multiple(() =>
        {
            Assert.That(resolved, Is.EqualTo(expected));
            if (error is null)
            {
                Assert.That(errors.Any, Is.False);
            }
            else
            {
                Assert.That(errors.Entries["jitterSeconds"], Is.EqualTo(new[] { error }));
            }
        });
    }
}
