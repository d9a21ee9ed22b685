using Orchestrator.Runs;
using Orchestrator.Schedules;

namespace Orchestrator.UnitTests.Schedules;

public sealed class OccurrenceTimelineTests
{
    private static readonly DateTimeOffset T0 = new(2030, 1, 1, 9, 0, 0, TimeSpan.Zero);

    /// <summary>Due every minute from 09:00.</summary>
    private static List<DateTimeOffset> Due(int count) => [.. Enumerable.Range(0, count).Select(i => T0.AddMinutes(i))];

    private static OccurrenceRun Run(int minute, double startedAfterSeconds, RunStatus status = RunStatus.Succeeded, int attempt = 1,
        RunTrigger by = RunTrigger.Schedule, double extraSeconds = 0) =>
        new(Guid.CreateVersion7(), T0.AddMinutes(minute).AddSeconds(extraSeconds), T0.AddMinutes(minute).AddSeconds(extraSeconds + startedAfterSeconds), status, by, attempt, null);

    private static IReadOnlyList<ScheduleOccurrence> Classify(List<DateTimeOffset> due, List<OccurrenceRun> runs, List<OccurrenceMisfire>? misfires = null,
        DateTimeOffset? paused = null, MisfirePolicy policy = MisfirePolicy.FireOnce, DateTimeOffset? now = null) =>
        OccurrenceTimeline.Classify(due, runs, misfires ?? [], paused, policy, now ?? T0.AddHours(1));

    [Test]
    public void Every_due_time_has_exactly_one_outcome_in_due_order()
    {
        var due = Due(6);
        var result = Classify(due, [Run(0, 0.05), Run(2, 0.1)]);
        Assert.That(result.Select(o => o.DueAt), Is.EqualTo(due));
    }

    [Test]
    public void A_run_that_started_within_a_second_is_on_time_and_a_later_one_says_how_late()
    {
        var result = Classify(Due(2), [Run(0, 0.2), Run(1, 42)]);
        Assert.That(result[0], Has.Property("Outcome").EqualTo("ran").And.Property("Late").False.And.Property("LateByMs").EqualTo(200));
        Assert.That(result[1], Has.Property("Outcome").EqualTo("ran").And.Property("Late").True.And.Property("LateByMs").EqualTo(42_000));
        Assert.That(result[1].Reason, Does.Contain("late by 42000 ms"));
    }

    [Test]
    public void A_run_that_needed_a_second_attempt_is_retried_and_a_run_under_way_or_a_future_time_is_pending()
    {
        var now = T0.AddMinutes(1).AddSeconds(30);
        var result = Classify(Due(3), [Run(0, 0.1, attempt: 2, by: RunTrigger.Retry), Run(1, 0.1, RunStatus.Running)], now: now);
        Assert.That(result.Select(o => o.Outcome), Is.EqualTo(new[] { "retried", "pending", "pending" }));
        Assert.That(result[0].Attempts, Is.EqualTo(2));
    }

    [Test]
    public void A_firing_quartz_dropped_for_overlap_is_skipped_with_that_reason()
    {
        var result = Classify(Due(3), [Run(0, 0.1), Run(2, 0.1)], [new OccurrenceMisfire(T0.AddMinutes(1), "overlap")]);
        Assert.That(result[1].Outcome, Is.EqualTo("skipped"));
        Assert.That(result[1].Reason, Does.StartWith("overlap"));
    }

    [Test]
    public void Due_times_while_paused_are_skipped_as_paused()
    {
        var result = Classify(Due(4), [Run(0, 0.1)], paused: T0.AddSeconds(30));
        Assert.That(result.Skip(1).Select(o => (o.Outcome, o.Reason)), Is.All.EqualTo(("skipped", "paused")));
    }

    [Test]
    public void A_fire_once_catch_up_keyed_on_the_first_missed_time_stands_for_every_time_it_covered()
    {
        // Down from 09:00:30 to 09:03:10: 09:01 ran at 09:03:10 for 09:01, 09:02 and 09:03; 09:04 ran on time.
        var catchUp = Run(1, 130);
        var result = Classify(Due(5), [Run(0, 0.1), catchUp, Run(4, 0.1)], [new OccurrenceMisfire(T0.AddMinutes(1), "missed")]);
        Assert.That(result.Select(o => o.Outcome), Is.EqualTo(new[] { "ran", "coalesced", "coalesced", "coalesced", "ran" }));
        Assert.That(result[1].CoalescedCount, Is.EqualTo(3));
        Assert.That(result.Skip(1).Take(3).Select(o => o.RunId), Is.All.EqualTo(catchUp.Id));
    }

    [Test]
    public void A_catch_up_keyed_on_the_instant_the_misfire_was_handled_stands_for_the_times_before_it()
    {
        var catchUp = Run(2, 0.1, extraSeconds: 17);
        var result = Classify(Due(4), [Run(0, 0.1), catchUp, Run(3, 0.1)]);
        Assert.That(result.Select(o => o.Outcome), Is.EqualTo(new[] { "ran", "coalesced", "coalesced", "ran" }));
        Assert.That(result[1].RunId, Is.EqualTo(catchUp.Id));
    }

    [Test]
    public void A_misfire_under_the_skip_policy_is_skipped_and_without_a_stand_in_under_fire_once_it_is_missed()
    {
        List<OccurrenceMisfire> misfire = [new OccurrenceMisfire(T0.AddMinutes(1), "missed")];
        var skipped = Classify(Due(4), [Run(0, 0.1), Run(3, 0.1)], misfire, policy: MisfirePolicy.Skip);
        Assert.That(skipped.Select(o => o.Outcome), Is.EqualTo(new[] { "ran", "skipped", "skipped", "ran" }));
        Assert.That(skipped[1].Reason, Does.StartWith("misfire policy skip"));

        var missed = Classify(Due(4), [Run(0, 0.1), Run(3, 0.1)], misfire);
        Assert.That(missed.Select(o => o.Outcome), Is.EqualTo(new[] { "ran", "missed", "missed", "ran" }));
    }

    [Test]
    public void Under_the_skip_policy_a_late_run_coalesces_nothing_and_the_due_times_after_it_are_the_misfires()
    {
        // Blocked under forbid from 09:00: Quartz ran 09:01 late (at 09:03:30) and skipped 09:02 and 09:03, which
        // passed before it started; 09:04 ran on time. The skip policy never makes a catch-up.
        var late = Run(1, 150);
        var result = Classify(Due(5), [Run(0, 0.1), late, Run(4, 0.1)], policy: MisfirePolicy.Skip);
        Assert.That(result.Select(o => o.Outcome), Is.EqualTo(new[] { "ran", "ran", "skipped", "skipped", "ran" }));
        Assert.That(result[1].Late, Is.True);
        Assert.That(result[1].CoalescedCount, Is.Null);
        Assert.That(result.Skip(2).Take(2).Select(o => o.Reason), Is.All.StartWith("misfire policy skip"));
        Assert.That(result.Count(o => o.RunId == late.Id), Is.EqualTo(1), "the late run stands for its own due time only");
    }

    [Test]
    public void A_backfilled_time_ran_and_a_backfill_never_stands_in_for_another_time()
    {
        var result = Classify(Due(3), [Run(0, 3600, by: RunTrigger.Backfill)]);
        Assert.That(result[0].Outcome, Is.EqualTo("ran"));
        Assert.That(result[0].Reason, Does.StartWith("backfilled"));
        Assert.That(result.Skip(1).Select(o => o.Outcome), Is.All.EqualTo("missed"));
    }

    [Test]
    public void The_counts_add_up_to_the_due_times()
    {
        var result = Classify(Due(5), [Run(0, 0.1), Run(1, 5)], [new OccurrenceMisfire(T0.AddMinutes(2), "overlap")]);
        var counts = OccurrenceTimeline.Count(result);
        Assert.That(counts.Ran + counts.Retried + counts.Coalesced + counts.Skipped + counts.Missed + counts.Pending, Is.EqualTo(5));
        Assert.That((counts.Ran, counts.Late, counts.Skipped, counts.Missed), Is.EqualTo((2, 1, 1, 2)));
    }

    [Test]
    public void Failed_counts_each_due_time_whose_own_run_failed_once_and_never_a_due_time_a_failed_catch_up_stood_for()
    {
        // 0: on time and failed; 1: retried and failed; 2: succeeded; 3 and 4: a fire_once catch-up keyed on 3, started
        // after 4 had passed, that failed (it stands for 4 too, but is one failed run).
        var result = Classify(Due(5), [Run(0, 0.1, RunStatus.Failed), Run(1, 0.1, RunStatus.Failed, attempt: 3), Run(2, 0.1), Run(3, 90, RunStatus.Failed)]);
        Assert.That(result.Select(o => o.Outcome), Is.EqualTo(new[] { "ran", "retried", "ran", "coalesced", "coalesced" }));
        var counts = OccurrenceTimeline.Count(result);
        Assert.That(counts.Failed, Is.EqualTo(3));
        Assert.That(result[0].Reason, Does.Contain("failed"), "the reason says it failed, not only that it was on time");
    }

    private static IReadOnlyList<ScheduleOccurrence> WithPauses(List<DateTimeOffset> due, List<OccurrenceRun> runs, List<OccurrencePause> pauses,
        List<OccurrenceMisfire>? misfires = null, MisfirePolicy policy = MisfirePolicy.FireOnce) =>
        OccurrenceTimeline.Classify(due, runs, misfires ?? [], pauses, policy, T0.AddHours(1));

    [Test]
    public void Due_times_inside_a_pause_that_has_ended_are_skipped_as_paused_saying_by_whom_and_why()
    {
        // Paused 09:00:30 to 09:03:30 by ops; the times after the resume ran, and a missed one after it stays missed.
        var pause = new OccurrencePause(T0.AddSeconds(30), T0.AddMinutes(3).AddSeconds(30), "ops", "database upgrade");
        var result = WithPauses(Due(6), [Run(0, 0.1), Run(4, 0.1)], [pause]);
        Assert.That(result.Select(o => o.Outcome), Is.EqualTo(new[] { "ran", "skipped", "skipped", "skipped", "ran", "missed" }));
        Assert.That(result.Skip(1).Take(3).Select(o => o.Reason), Is.All.EqualTo("paused by ops: database upgrade"));
    }

    [Test]
    public void A_pause_without_a_reason_or_a_requester_says_only_paused_and_a_long_reason_is_cut()
    {
        var bare = WithPauses(Due(2), [Run(0, 0.1)], [new OccurrencePause(T0.AddSeconds(30), T0.AddMinutes(5), null, null)]);
        Assert.That(bare[1].Reason, Is.EqualTo("paused"));

        var longReason = new string('x', 200);
        var cut = WithPauses(Due(2), [Run(0, 0.1)], [new OccurrencePause(T0.AddSeconds(30), null, "ops", longReason)]);
        Assert.That(cut[1].Reason, Does.StartWith("paused by ops: xxx").And.EndWith("…"));
        Assert.That(cut[1].Reason!.Length, Is.LessThan(longReason.Length));
    }

    [Test]
    public void Several_pauses_each_skip_their_own_due_times_and_the_time_between_them_is_judged_as_usual()
    {
        List<OccurrencePause> pauses =
        [
            new(T0.AddSeconds(30), T0.AddMinutes(1).AddSeconds(30), "ops", null),
            new(T0.AddMinutes(3).AddSeconds(30), null, "ci", "freeze"),
        ];
        var result = WithPauses(Due(6), [Run(0, 0.1), Run(2, 0.1)], pauses);
        Assert.That(result.Select(o => o.Outcome), Is.EqualTo(new[] { "ran", "skipped", "ran", "missed", "skipped", "skipped" }));
        Assert.That(result[1].Reason, Is.EqualTo("paused by ops"));
        Assert.That(result[4].Reason, Is.EqualTo("paused by ci: freeze"));
    }

    [Test]
    public void A_run_inside_a_pause_keeps_its_outcome()
    {
        // A firing under way when the pause came, or one Quartz had already acquired, ran: the ledger outranks the pause.
        var result = WithPauses(Due(3), [Run(0, 0.1), Run(1, 0.2)], [new OccurrencePause(T0.AddSeconds(50), T0.AddMinutes(10), "ops", null)]);
        Assert.That(result.Select(o => o.Outcome), Is.EqualTo(new[] { "ran", "ran", "skipped" }));
    }

    [Test]
    public void A_catch_up_keyed_on_a_due_time_of_the_pause_is_that_due_times_run_and_the_rest_of_the_pause_is_skipped()
    {
        // Resumed at 09:03:30; fire_once ran 09:01 (the first missed time) then: late, and the only run of the pause.
        var catchUp = Run(1, 150);
        var result = WithPauses(Due(5), [Run(0, 0.1), catchUp, Run(4, 0.1)], [new OccurrencePause(T0.AddSeconds(30), T0.AddMinutes(3).AddSeconds(30), "ops", null)],
            [new OccurrenceMisfire(T0.AddMinutes(1), "missed")]);
        Assert.That(result.Select(o => o.Outcome), Is.EqualTo(new[] { "ran", "ran", "skipped", "skipped", "ran" }));
        Assert.That(result[1], Has.Property("RunId").EqualTo(catchUp.Id).And.Property("Late").True);
        Assert.That(result[2].Reason, Is.EqualTo("paused by ops"));
    }

    [Test]
    public void A_catch_up_at_the_resume_keyed_on_no_due_time_stands_for_the_pauses_last_due_time()
    {
        // Resumed at 09:03:30 and fired at once, keyed on that instant: the pause's last due time (09:03) is coalesced
        // into it, the earlier ones of the pause are skipped as paused.
        var resumed = T0.AddMinutes(3).AddSeconds(30);
        var catchUp = Run(3, 0.1, extraSeconds: 30.2);
        var result = WithPauses(Due(5), [Run(0, 0.1), catchUp, Run(4, 0.1)], [new OccurrencePause(T0.AddSeconds(30), resumed, "ops", null)]);
        Assert.That(result.Select(o => o.Outcome), Is.EqualTo(new[] { "ran", "skipped", "skipped", "coalesced", "ran" }));
        Assert.That(result[3], Has.Property("RunId").EqualTo(catchUp.Id).And.Property("CoalescedCount").EqualTo(1));
        Assert.That(result[3].Reason, Does.StartWith("fire_once catch-up at the resume"));
        Assert.That(OccurrenceTimeline.Count(result), Has.Property("Skipped").EqualTo(2).And.Property("Coalesced").EqualTo(1));
    }

    [Test]
    public void Under_the_skip_policy_nothing_stands_for_the_pause()
    {
        var result = WithPauses(Due(5), [Run(0, 0.1), Run(4, 0.1)], [new OccurrencePause(T0.AddSeconds(30), T0.AddMinutes(3).AddSeconds(30), "ops", null)],
            [new OccurrenceMisfire(T0.AddMinutes(1), "missed")], MisfirePolicy.Skip);
        Assert.That(result.Select(o => o.Outcome), Is.EqualTo(new[] { "ran", "skipped", "skipped", "skipped", "ran" }));
        Assert.That(result.Skip(1).Take(3).Select(o => o.Reason), Is.All.EqualTo("paused by ops"));
    }

    [Test]
    public void A_firing_vetoed_inside_an_ended_pause_is_skipped_as_paused_and_a_veto_outside_one_stays_a_veto()
    {
        // Paused from 09:00:30 to 09:03:30 (shorter than the misfire threshold would have to be): the due times at 09:01 and
        // 09:02 fired after the resume and were vetoed (Quartz records each as a vetoed misfire); 09:03 ran as fire_once's
        // catch-up; 09:05's veto came from elsewhere.
        var pause = new OccurrencePause(T0.AddSeconds(30), T0.AddMinutes(3).AddSeconds(30), "ops", "deploy");
        var vetoes = new List<OccurrenceMisfire> { new(T0.AddMinutes(1), "vetoed"), new(T0.AddMinutes(2), "vetoed"), new(T0.AddMinutes(5), "vetoed") };
        var result = OccurrenceTimeline.Classify(Due(6), [Run(0, 0.1), Run(3, 31), Run(4, 0.1)], vetoes, [pause], MisfirePolicy.FireOnce, T0.AddHours(1));
        Assert.Multiple(() =>
        {
            Assert.That(result.Select(o => o.Outcome), Is.EqualTo(new[] { "ran", "skipped", "skipped", "ran", "ran", "skipped" }));
            Assert.That(result[1].Reason, Does.StartWith("paused by ops"));
            Assert.That(result[2].Reason, Does.StartWith("paused by ops"));
            Assert.That(result[3].Late, Is.True, "the catch-up ran the pause's last due time, late");
            Assert.That(result[5].Reason, Does.StartWith("vetoed"));
        });
    }
}
