using System.Diagnostics;
using System.Diagnostics.Metrics;
using Orchestrator.Runs;

namespace Orchestrator.Telemetry;

/// <summary>
/// The product's meter, <c>Orchestrator</c>, and every instrument on it. Each measurement is taken through a method
/// here, so an instrument's name, unit and tags are written once; <c>/metrics</c> and OTLP both read this meter.
/// </summary>
/// <remarks>
/// Created through the host's <see cref="IMeterFactory"/> rather than as a static, so the meter belongs to its
/// container: two servers in one process (the in-process tests) do not share measurements. Tags are low-cardinality
/// on purpose — project, action type, status, never a schedule or run id — because every tag value combination is a
/// separate Prometheus series kept for the life of the process.
/// </remarks>
public sealed class OrchestratorMetrics
{
    public const string MeterName = "Orchestrator";

    /// <summary>Seconds, from "on time" to "an hour late": lateness is normally milliseconds, and minutes when the cluster is overloaded or down.</summary>
    private static readonly IReadOnlyList<double> LatenessBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600];

    /// <summary>Seconds, from a no-op to a long agent task.</summary>
    private static readonly IReadOnlyList<double> DurationBuckets = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 14_400];

    private readonly Counter<long> firings;
    private readonly Histogram<double> lateness;
    private readonly Counter<long> outcomes;
    private readonly Histogram<double> duration;
    private readonly Counter<long> ledgerDecisions;
    private readonly Counter<long> recoveries;
    private readonly Counter<long> deadlineBreaches;
    private readonly Counter<long> deadlineRecoveries;
    private readonly Counter<long> agentTokens;
    private readonly Counter<long> occurrences;

    public OrchestratorMetrics(IMeterFactory meters)
    {
        var meter = meters.Create(MeterName, typeof(OrchestratorMetrics).Assembly.GetName().Version?.ToString());
        firings = meter.CreateCounter<long>("orchestrator.firings", "{firing}",
            "Firings of schedules' action jobs, whatever the ledger then decided, by project, action type and trigger.");
        lateness = meter.CreateHistogram("orchestrator.firing.lateness", "s",
            "How long after its scheduled fire time a firing started (start - scheduled fire time), by project and action type.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = LatenessBuckets });
        outcomes = meter.CreateCounter<long>("orchestrator.run.outcomes", "{run}",
            "Runs that ended, by project, action type and status (succeeded, failed, cancelled, interrupted).");
        duration = meter.CreateHistogram("orchestrator.run.duration", "s",
            "How long a run's action took, by action type and status.",
            advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = DurationBuckets });
        ledgerDecisions = meter.CreateCounter<long>("orchestrator.ledger.decisions", "{firing}",
            "What the run ledger decided for a firing: ran, skipped_duplicate, skipped_run_gone or taken_over; 'reason' is the ledger's rule.");
        recoveries = meter.CreateCounter<long>("orchestrator.recoveries", "{firing}",
            "Firings Quartz recovered (from a dead node, or handed back by a shutdown), by project and action type.");
        deadlineBreaches = meter.CreateCounter<long>("orchestrator.deadline.breaches", "{breach}",
            "Schedule and pipeline deadlines missed, by project and kind (start, succeed, silence: the dead man's switch).");
        deadlineRecoveries = meter.CreateCounter<long>("orchestrator.deadline.recoveries", "{breach}",
            "Deadline breaches that recovered (the occurrence, or a later one, started or succeeded), by project and kind.");
        agentTokens = meter.CreateCounter<long>("orchestrator.agent.tokens", "{token}",
            "Model tokens agent runs spent, by project, model and token type (input, output).");
        occurrences = meter.CreateCounter<long>("orchestrator.occurrences", "{occurrence}",
            "Due times of schedules' own triggers, each counted once by the node that decided its outcome: on_time or late (its "
            + "first attempt started within 1 s of the due time, or later; counted when that attempt is its last), retried (a "
            + "retry or recovery ran it again), coalesced (folded into one fire_once catch-up), skipped (reason misfire_policy, "
            + "overlap, vetoed or paused). The words of GET /api/schedules/{id}/occurrences, which alone infers 'missed' (nothing happens "
            + "when a due time is missed); by project, outcome and reason.");
    }

    /// <summary>One firing of a ledgered job, before the ledger decides, with its lateness.</summary>
    public void RecordFiring(string project, string actionType, RunTrigger trigger, TimeSpan late)
    {
        firings.Add(1, new TagList { { "project", project }, { "action_type", actionType }, { "trigger", TriggerName(trigger) } });
        // A clock step or a fire time in the future (a run-now trigger's own instant) is not negative lateness.
        lateness.Record(Math.Max(0, late.TotalSeconds), new TagList { { "project", project }, { "action_type", actionType } });
    }

    /// <summary>A firing Quartz recovered; counted whether or not the ledger then runs it again.</summary>
    public void RecordRecovery(string project, string actionType) =>
        recoveries.Add(1, new TagList { { "project", project }, { "action_type", actionType } });

    public void RecordLedgerDecision(LedgerDecision decision) =>
        ledgerDecisions.Add(1, new TagList { { "decision", DecisionName(decision) }, { "reason", ReasonName(decision) } });

    /// <summary>A run that ended, with how long its action took.</summary>
    public void RecordOutcome(string project, string actionType, RunStatus status, TimeSpan took)
    {
        var name = StatusName(status);
        outcomes.Add(1, new TagList { { "project", project }, { "action_type", actionType }, { "status", name } });
        duration.Record(Math.Max(0, took.TotalSeconds), new TagList { { "action_type", actionType }, { "status", name } });
    }

    /// <summary>
    /// A deadline a schedule (or pipeline) missed: <paramref name="kind"/> is <c>start</c> (startWithinSeconds),
    /// <c>succeed</c> (succeedWithinSeconds) or <c>silence</c> (expectSuccessEvery, the dead man's switch). Counted once
    /// per occurrence by whoever alerts it.
    /// </summary>
    public void RecordDeadlineBreach(string project, string kind) =>
        deadlineBreaches.Add(1, new TagList { { "project", project }, { "kind", kind } });

    /// <summary>A deadline breach that recovered; counted once, by the check that marked it.</summary>
    public void RecordDeadlineRecovery(string project, string kind) =>
        deadlineRecoveries.Add(1, new TagList { { "project", project }, { "kind", kind } });

    /// <summary>Tokens one model turn of an agent run spent; called once per completed turn, never for a turn replayed from its step.</summary>
    public void RecordAgentTokens(string project, string model, long inputTokens, long outputTokens)
    {
        if (inputTokens > 0)
        {
            agentTokens.Add(inputTokens, new TagList { { "project", project }, { "model", model }, { "token_type", "input" } });
        }

        if (outputTokens > 0)
        {
            agentTokens.Add(outputTokens, new TagList { { "project", project }, { "model", model }, { "token_type", "output" } });
        }
    }

    /// <summary>
    /// <paramref name="count"/> due times of a schedule's trigger that had <paramref name="outcome"/> (one of
    /// <see cref="OccurrenceOutcomes"/>' words), for <paramref name="reason"/> where the outcome has one (a skip's cause).
    /// </summary>
    public void RecordOccurrences(string project, string outcome, string? reason, int count = 1)
    {
        if (count > 0)
        {
            var tags = new TagList { { "project", project }, { "outcome", outcome } };
            if (reason is not null)
            {
                tags.Add("reason", reason);
            }

            occurrences.Add(count, tags);
        }
    }

    /// <summary>The SPEC's three outcomes of a ledger decision (and the fourth, a run-now row deleted before it started).</summary>
    public static string DecisionName(LedgerDecision decision) => decision switch
    {
        LedgerDecision.ClaimFirstAttempt or LedgerDecision.StartPending => "ran",
        LedgerDecision.TakeOverAsRecovery or LedgerDecision.TakeOverAsRetry => "taken_over",
        LedgerDecision.SkipRunGone => "skipped_run_gone",
        _ => "skipped_duplicate",
    };

    // Literals rather than ToString(): no allocation per measurement, and the exported names do not follow a rename.
    public static string ReasonName(LedgerDecision decision) => decision switch
    {
        LedgerDecision.ClaimFirstAttempt => "claim_first_attempt",
        LedgerDecision.StartPending => "start_pending",
        LedgerDecision.TakeOverAsRecovery => "take_over_as_recovery",
        LedgerDecision.TakeOverAsRetry => "take_over_as_retry",
        LedgerDecision.SkipRunGone => "skip_run_gone",
        LedgerDecision.SkipFinished => "skip_finished",
        LedgerDecision.SkipSameFiring => "skip_same_firing",
        LedgerDecision.SkipStillRunning => "skip_still_running",
        _ => "_OTHER",
    };

    public static string StatusName(RunStatus status) => status switch
    {
        RunStatus.Pending => "pending",
        RunStatus.Running => "running",
        RunStatus.Succeeded => "succeeded",
        RunStatus.Failed => "failed",
        RunStatus.Cancelled => "cancelled",
        RunStatus.Interrupted => "interrupted",
        RunStatus.Skipped => "skipped",
        _ => "_OTHER",
    };

    public static string TriggerName(RunTrigger trigger) => trigger switch
    {
        RunTrigger.Schedule => "schedule",
        RunTrigger.Manual => "manual",
        RunTrigger.Recovery => "recovery",
        RunTrigger.Backfill => "backfill",
        RunTrigger.Pipeline => "pipeline",
        RunTrigger.Retry => "retry",
        _ => "_OTHER",
    };
}
