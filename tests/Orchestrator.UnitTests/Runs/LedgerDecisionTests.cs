using Orchestrator.Runs;

namespace Orchestrator.UnitTests.Runs;

/// <summary>The ledger's decision table, row by row: what a firing does with the row already held for its fire time.</summary>
public sealed class LedgerDecisionTests
{
    public enum Kind { Schedule, Backfill, Retry, Recovery, RunNow, RecoveredRunNow }

    /// <summary>Whose firing the existing row records.</summary>
    public enum Owner { ThisFiring, AnotherFiringOnThisNode, AnotherNode }

    private const string ThisNode = "node-a";
    private const string ThisFireInstance = "fire-1";

    private static LedgerFiring Firing(Kind kind) =>
        new(kind is Kind.Recovery or Kind.RecoveredRunNow, kind is Kind.RunNow or Kind.RecoveredRunNow, ThisNode, ThisFireInstance);

    private static LedgerRow Row(RunStatus status, Owner owner) => owner switch
    {
        Owner.ThisFiring => new(status, ThisNode, ThisFireInstance),
        Owner.AnotherFiringOnThisNode => new(status, ThisNode, "fire-0"),
        _ => new(status, "node-b", "fire-0"),
    };

    [TestCase(Kind.Schedule, ExpectedResult = LedgerDecision.ClaimFirstAttempt, TestName = "A_schedule_firing_with_no_row_claims_attempt_1")]
    [TestCase(Kind.Backfill, ExpectedResult = LedgerDecision.ClaimFirstAttempt, TestName = "A_backfill_of_a_time_that_never_ran_claims_attempt_1")]
    [TestCase(Kind.Retry, ExpectedResult = LedgerDecision.ClaimFirstAttempt, TestName = "A_retry_firing_with_no_row_claims_attempt_1")]
    [TestCase(Kind.Recovery, ExpectedResult = LedgerDecision.ClaimFirstAttempt, TestName = "A_recovery_firing_whose_first_attempt_never_wrote_its_row_claims_attempt_1")]
    [TestCase(Kind.RunNow, ExpectedResult = LedgerDecision.SkipRunGone, TestName = "A_run_now_firing_whose_pending_row_was_deleted_does_not_run")]
    [TestCase(Kind.RecoveredRunNow, ExpectedResult = LedgerDecision.SkipRunGone, TestName = "A_recovered_run_now_firing_whose_pending_row_was_deleted_does_not_run")]
    public LedgerDecision No_row(Kind kind) => LedgerDecisions.Decide(null, Firing(kind), ownerExecutingIt: false);

    [TestCase(RunStatus.Succeeded, Kind.Schedule, TestName = "A_second_schedule_firing_of_a_succeeded_time_skips_it_as_a_duplicate")]
    [TestCase(RunStatus.Succeeded, Kind.Recovery, TestName = "Recovery_firing_skips_an_action_that_already_succeeded")]
    [TestCase(RunStatus.Succeeded, Kind.Backfill, TestName = "A_backfill_of_a_time_that_succeeded_skips_it")]
    [TestCase(RunStatus.Succeeded, Kind.Retry, TestName = "A_retry_of_a_time_that_succeeded_skips_it")]
    [TestCase(RunStatus.Succeeded, Kind.RunNow, TestName = "A_run_now_firing_of_a_run_that_already_succeeded_skips_it")]
    [TestCase(RunStatus.Skipped, Kind.Schedule, TestName = "A_schedule_firing_of_a_skipped_time_skips_it")]
    [TestCase(RunStatus.Skipped, Kind.Recovery, TestName = "A_recovery_firing_of_a_skipped_time_skips_it")]
    [TestCase(RunStatus.Skipped, Kind.Backfill, TestName = "A_backfill_of_a_skipped_time_skips_it")]
    [TestCase(RunStatus.Cancelled, Kind.Schedule, TestName = "A_schedule_firing_of_a_cancelled_time_skips_it")]
    [TestCase(RunStatus.Cancelled, Kind.Recovery, TestName = "A_recovery_firing_of_a_cancelled_run_does_not_revive_it")]
    [TestCase(RunStatus.Cancelled, Kind.Retry, TestName = "A_retry_of_a_cancelled_run_does_not_revive_it")]
    [TestCase(RunStatus.Cancelled, Kind.RunNow, TestName = "A_run_now_firing_of_a_run_cancelled_before_it_started_skips_it")]
    public void A_finished_row_is_not_run_again(RunStatus status, Kind kind)
    {
        foreach (var owner in Enum.GetValues<Owner>())
        {
            Assert.That(LedgerDecisions.Decide(Row(status, owner), Firing(kind), ownerExecutingIt: true), Is.EqualTo(LedgerDecision.SkipFinished), $"{owner}, owner executing");
            Assert.That(LedgerDecisions.Decide(Row(status, owner), Firing(kind), ownerExecutingIt: false), Is.EqualTo(LedgerDecision.SkipFinished), $"{owner}, owner not executing");
        }
    }

    [TestCase(Kind.RunNow, TestName = "A_run_now_firing_starts_its_pending_row_as_attempt_1")]
    [TestCase(Kind.RecoveredRunNow, TestName = "A_recovered_run_now_firing_whose_row_never_started_starts_it_as_requested")]
    public void A_pending_row_is_started(Kind kind) =>
        Assert.That(LedgerDecisions.Decide(Row(RunStatus.Pending, Owner.AnotherNode), Firing(kind), ownerExecutingIt: false), Is.EqualTo(LedgerDecision.StartPending));

    [TestCase(Owner.ThisFiring, Kind.Schedule, true, ExpectedResult = LedgerDecision.SkipSameFiring, TestName = "A_firing_that_finds_its_own_row_running_does_not_run_it_twice")]
    [TestCase(Owner.ThisFiring, Kind.Schedule, false, ExpectedResult = LedgerDecision.SkipSameFiring, TestName = "A_firing_that_finds_its_own_row_running_does_not_ask_the_cluster")]
    [TestCase(Owner.ThisFiring, Kind.Recovery, false, ExpectedResult = LedgerDecision.TakeOverAsRecovery, TestName = "A_recovery_firing_takes_over_a_row_of_the_same_firing_id_as_the_next_attempt")]
    [TestCase(Owner.AnotherNode, Kind.Schedule, true, ExpectedResult = LedgerDecision.SkipStillRunning, TestName = "A_second_firing_of_a_time_running_on_a_live_node_is_skipped_as_a_duplicate")]
    [TestCase(Owner.AnotherNode, Kind.Backfill, true, ExpectedResult = LedgerDecision.SkipStillRunning, TestName = "A_backfill_of_a_time_still_running_on_a_live_node_is_skipped")]
    [TestCase(Owner.AnotherNode, Kind.Retry, true, ExpectedResult = LedgerDecision.SkipStillRunning, TestName = "A_retry_of_a_time_still_running_on_a_live_node_is_skipped")]
    [TestCase(Owner.AnotherFiringOnThisNode, Kind.Schedule, true, ExpectedResult = LedgerDecision.SkipStillRunning, TestName = "A_second_firing_of_a_time_this_node_is_still_executing_is_skipped")]
    [TestCase(Owner.AnotherNode, Kind.Schedule, false, ExpectedResult = LedgerDecision.TakeOverAsRetry, TestName = "A_row_left_running_by_a_dead_node_is_taken_over_as_the_next_attempt")]
    [TestCase(Owner.AnotherNode, Kind.Backfill, false, ExpectedResult = LedgerDecision.TakeOverAsRetry, TestName = "A_backfill_of_a_time_left_running_by_a_dead_node_takes_it_over")]
    [TestCase(Owner.AnotherFiringOnThisNode, Kind.Schedule, false, ExpectedResult = LedgerDecision.TakeOverAsRetry, TestName = "A_row_left_running_by_this_node_before_a_restart_is_taken_over")]
    [TestCase(Owner.AnotherNode, Kind.Recovery, false, ExpectedResult = LedgerDecision.TakeOverAsRecovery, TestName = "A_recovery_firing_takes_over_a_row_left_running_by_a_dead_node")]
    [TestCase(Owner.AnotherNode, Kind.Recovery, true, ExpectedResult = LedgerDecision.TakeOverAsRecovery, TestName = "A_recovery_firing_takes_over_without_asking_whether_the_owner_is_executing")]
    [TestCase(Owner.AnotherNode, Kind.RecoveredRunNow, false, ExpectedResult = LedgerDecision.TakeOverAsRecovery, TestName = "A_recovered_run_now_firing_takes_over_a_run_its_dead_node_left_running")]
    public LedgerDecision A_running_row(Owner owner, Kind kind, bool ownerExecutingIt) =>
        LedgerDecisions.Decide(Row(RunStatus.Running, owner), Firing(kind), ownerExecutingIt);

    [TestCase(RunStatus.Failed, Kind.Schedule, ExpectedResult = LedgerDecision.TakeOverAsRetry, TestName = "A_schedule_firing_of_a_failed_time_retries_it_as_the_next_attempt")]
    [TestCase(RunStatus.Failed, Kind.Retry, ExpectedResult = LedgerDecision.TakeOverAsRetry, TestName = "A_retry_firing_of_a_failed_run_runs_the_next_attempt")]
    [TestCase(RunStatus.Failed, Kind.Backfill, ExpectedResult = LedgerDecision.TakeOverAsRetry, TestName = "A_backfill_of_a_failed_time_runs_it_again_as_the_next_attempt")]
    [TestCase(RunStatus.Failed, Kind.Recovery, ExpectedResult = LedgerDecision.TakeOverAsRecovery, TestName = "A_recovery_firing_of_a_failed_run_runs_the_next_attempt_as_recovery")]
    [TestCase(RunStatus.Failed, Kind.RunNow, ExpectedResult = LedgerDecision.TakeOverAsRetry, TestName = "A_run_now_firing_of_a_failed_run_runs_the_next_attempt")]
    [TestCase(RunStatus.Interrupted, Kind.Recovery, ExpectedResult = LedgerDecision.TakeOverAsRecovery, TestName = "A_recovery_firing_resumes_a_run_interrupted_by_shutdown_as_the_next_attempt")]
    [TestCase(RunStatus.Interrupted, Kind.Retry, ExpectedResult = LedgerDecision.TakeOverAsRetry, TestName = "A_retry_firing_of_an_interrupted_run_runs_the_next_attempt")]
    [TestCase(RunStatus.Interrupted, Kind.Schedule, ExpectedResult = LedgerDecision.TakeOverAsRetry, TestName = "A_schedule_firing_of_an_interrupted_time_runs_it_again")]
    public LedgerDecision A_failed_or_interrupted_row_runs_again(RunStatus status, Kind kind)
    {
        // Whether the old node lives does not matter once its attempt has ended.
        var whenExecuting = LedgerDecisions.Decide(Row(status, Owner.AnotherNode), Firing(kind), ownerExecutingIt: true);
        Assert.That(LedgerDecisions.Decide(Row(status, Owner.AnotherNode), Firing(kind), ownerExecutingIt: false), Is.EqualTo(whenExecuting));
        return whenExecuting;
    }

    [Test]
    public void The_cluster_is_asked_only_when_a_firing_that_is_not_a_recovery_meets_another_firings_running_row()
    {
        foreach (var status in Enum.GetValues<RunStatus>())
        {
            foreach (var owner in Enum.GetValues<Owner>())
            {
                foreach (var kind in Enum.GetValues<Kind>())
                {
                    var expected = status == RunStatus.Running && owner != Owner.ThisFiring && kind is not (Kind.Recovery or Kind.RecoveredRunNow);
                    Assert.That(LedgerDecisions.DependsOnOwner(Row(status, owner), Firing(kind)), Is.EqualTo(expected), $"{status}, {owner}, {kind}");
                }
            }
        }
    }
}
