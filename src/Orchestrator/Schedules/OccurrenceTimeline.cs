using Orchestrator.Runs;

namespace Orchestrator.Schedules;

/// <summary>One due time of a schedule and what became of it.</summary>
/// <param name="DueAt">The fire time the trigger called for.</param>
/// <param name="Outcome"><c>ran</c>, <c>retried</c>, <c>coalesced</c>, <c>skipped</c>, <c>missed</c> or <c>pending</c>.</param>
/// <param name="Reason">Why, in a few words: how late, which policy, what it was coalesced into.</param>
/// <param name="LateByMs">For a run: how long after the due time its (latest) attempt started.</param>
/// <param name="Late">Whether it started later than <see cref="OccurrenceTimeline.OnTimeTolerance"/> after the due time.</param>
/// <param name="RunId">The ledger run that ran this due time, or that a coalesced one was folded into.</param>
/// <param name="RunStatus">That run's status.</param>
/// <param name="Attempts">That run's attempts.</param>
/// <param name="CoalescedCount">For the run a <c>fire_once</c> catch-up made: how many due times it stood for.</param>
public sealed record ScheduleOccurrence(
    DateTimeOffset DueAt,
    string Outcome,
    string? Reason,
    long? LateByMs,
    bool Late,
    Guid? RunId,
    string? RunStatus,
    int? Attempts,
    int? CoalescedCount);

/// <summary>
/// How many due times in the range had each outcome. <c>late</c> counts the <c>ran</c> ones that started late, and
/// <c>failed</c> the due times whose own run (<c>ran</c>, <c>retried</c>, or a catch-up's own due time) ended failed:
/// an outcome says whether a due time was run, and this says how many of those runs did not succeed.
/// </summary>
public sealed record OccurrenceCounts(int Ran, int Late, int Retried, int Coalesced, int Skipped, int Missed, int Pending, int Failed);

/// <summary>Every due time of a schedule in [<c>from</c>, <c>to</c>), oldest first, each with one outcome.</summary>
public sealed record OccurrenceList(string ScheduleId, DateTimeOffset From, DateTimeOffset To, OccurrenceCounts Counts, IReadOnlyList<ScheduleOccurrence> Items);

/// <summary>What the timeline needs of a ledger row (runs the schedule's own trigger, a recovery, a retry or a backfill made).</summary>
public sealed record OccurrenceRun(Guid Id, DateTimeOffset ScheduledFireTime, DateTimeOffset? StartedAt, RunStatus Status, RunTrigger TriggeredBy, int Attempt, string? Error);

/// <summary>What the timeline needs of a misfire history row: the fire time Quartz named, and why it did not fire.</summary>
public sealed record OccurrenceMisfire(DateTimeOffset ScheduledFireTime, string Reason);

/// <summary>A pause of the schedule (<see cref="SchedulePause"/>): from when, to when (null: still paused), by whom and why.</summary>
public sealed record OccurrencePause(DateTimeOffset From, DateTimeOffset? To, string? By, string? Reason)
{
    /// <summary>Whether a firing at <paramref name="fires"/> fell inside this pause.</summary>
    public bool Holds(DateTimeOffset fires) => fires >= From && (To is not { } to || fires < to);
}

/// <summary>
/// Joins a schedule's due times (computed by its Quartz trigger) with the ledger's runs and Quartz's misfire history,
/// giving each due time exactly one outcome. Free of I/O, so every rule is a unit test.
/// </summary>
/// <remarks>
/// The facts each outcome rests on: a ledger row keyed on the due time (<c>ran</c>, <c>retried</c>, <c>pending</c>);
/// a misfire history row Quartz wrote for it (<c>skipped</c> for an overlap or a veto); a pause in force since before it
/// (<c>skipped</c>, paused), whether that pause is current or has ended; a run of the schedule that started after the due time had passed and before the next run,
/// which is what Quartz's <c>fire_once</c> misfire instruction makes (<c>coalesced</c> into that run); a recorded
/// misfire under the <c>skip</c> policy (<c>skipped</c>); otherwise nothing ran it (<c>missed</c>).
/// </remarks>
public static class OccurrenceTimeline
{
    /// <summary>A run that starts within this of its due time is on time; Quartz fires within milliseconds when idle.</summary>
    public static readonly TimeSpan OnTimeTolerance = TimeSpan.FromSeconds(1);

    /// <summary>
    /// A due time this recent with no ledger row yet is in flight (acquired, not yet claimed), not missed: a firing
    /// writes its row as it starts, within the misfire threshold.
    /// </summary>
    public static readonly TimeSpan InFlightGrace = TimeSpan.FromSeconds(5);

    /// <summary>The longest pause reason an occurrence's reason repeats whole; a longer one is cut.</summary>
    public const int ShortReasonLength = 80;

    /// <summary>Classifies with only the current pause known (since <paramref name="pausedSince"/>, by nobody said).</summary>
    public static IReadOnlyList<ScheduleOccurrence> Classify(
        IReadOnlyList<DateTimeOffset> dueTimes,
        IReadOnlyList<OccurrenceRun> runs,
        IReadOnlyList<OccurrenceMisfire> misfires,
        DateTimeOffset? pausedSince,
        MisfirePolicy misfirePolicy,
        DateTimeOffset now,
        TimeSpan jitter = default) =>
        Classify(dueTimes, runs, misfires, pausedSince is { } since ? [new OccurrencePause(since, null, null, null)] : [], misfirePolicy, now, jitter);

    /// <summary>
    /// Gives each due time its outcome. A due time whose firing fell inside one of <paramref name="pauses"/> (current or
    /// ended) and that did not run is <c>skipped</c>, paused; the catch-up Quartz made at a resume (its misfire policy)
    /// keeps its own outcome: a run keyed on a due time is that due time's, and one keyed on no due time (a
    /// <c>fire_once</c> catch-up at the instant of the resume) stands for the pause's last due time, <c>coalesced</c>.
    /// </summary>
    public static IReadOnlyList<ScheduleOccurrence> Classify(
        IReadOnlyList<DateTimeOffset> dueTimes,
        IReadOnlyList<OccurrenceRun> runs,
        IReadOnlyList<OccurrenceMisfire> misfires,
        IReadOnlyList<OccurrencePause> pauses,
        MisfirePolicy misfirePolicy,
        DateTimeOffset now,
        TimeSpan jitter = default)
    {
        var ordered = runs.OrderBy(r => r.ScheduledFireTime).ToList();
        var byTime = ordered.GroupBy(r => r.ScheduledFireTime).ToDictionary(g => g.Key, g => g.First());
        var due = dueTimes.ToHashSet();
        var occurrences = new ScheduleOccurrence[dueTimes.Count];
        var folded = new Dictionary<Guid, int>();
        for (var i = 0; i < dueTimes.Count; i++)
        {
            // Due times, runs and misfires are keyed in nominal time (ScheduleJitter); the trigger fires the schedule's
            // offset later, and that is the instant compared with the clock, a pause and a run's start.
            var t = dueTimes[i];
            var fires = t + jitter;
            if (byTime.TryGetValue(t, out var own))
            {
                occurrences[i] = FromRun(t, own, jitter);
                continue;
            }

            if (fires > now)
            {
                occurrences[i] = Other(t, "pending", "not due yet");
                continue;
            }

            // A firing vetoed inside an ended pause is the pause's (PausedFiringVeto: a resume never floods), not a veto's.
            var misfire = misfires.FirstOrDefault(m => m.ScheduledFireTime == t && m.Reason != "missed");
            if (misfire is not null && !(misfire.Reason == "vetoed" && pauses.Any(p => p.Holds(fires))))
            {
                occurrences[i] = Other(t, "skipped", misfire.Reason == "overlap"
                    ? "overlap: the previous run was still going (concurrency skip)"
                    : $"{misfire.Reason}: the firing did not run");
                continue;
            }

            if (pauses.FirstOrDefault(p => p.Holds(fires)) is { } pause)
            {
                occurrences[i] = Other(t, "skipped", Paused(pause));
                continue;
            }

            if (fires > now - InFlightGrace)
            {
                occurrences[i] = Other(t, "pending", "due; its run has not started yet");
                continue;
            }

            // The run that stands for this due time, if any: the last run before it, when it only started after this
            // time had passed (a catch-up keyed on the first missed time), or else the first run after it, when that
            // run is keyed on no due time at all (a catch-up keyed on the instant the misfire was handled).
            var previous = ordered.LastOrDefault(r => r.ScheduledFireTime < t && r.TriggeredBy != RunTrigger.Backfill);
            var next = ordered.FirstOrDefault(r => r.ScheduledFireTime > t && r.TriggeredBy != RunTrigger.Backfill);
            var blocked = previous is { StartedAt: { } started, TriggeredBy: RunTrigger.Schedule or RunTrigger.Recovery } && started > fires;
            if (blocked && misfirePolicy == MisfirePolicy.Skip)
            {
                // The skip policy makes no catch-up: the late run (the first due time a blocked trigger came to, under
                // forbid) ran its own due time only, and the due times that passed before it started were skipped.
                occurrences[i] = Other(t, "skipped", "misfire policy skip: missed by more than the misfire threshold, not run");
                continue;
            }

            var standIn = blocked
                ? previous
                : next is not null && !due.Contains(next.ScheduledFireTime) && next.ScheduledFireTime > t ? next : null;
            if (standIn is not null)
            {
                folded[standIn.Id] = folded.GetValueOrDefault(standIn.Id) + 1;
                occurrences[i] = new ScheduleOccurrence(t, "coalesced", $"fire_once catch-up: run {standIn.Id} due {standIn.ScheduledFireTime.UtcDateTime:O} stood for it",
                    null, false, standIn.Id, RunResponse.Name(standIn.Status), standIn.Attempt, null);
                continue;
            }

            var since = previous?.ScheduledFireTime ?? DateTimeOffset.MinValue;
            var misfired = misfires.Any(m => m.Reason == "missed" && m.ScheduledFireTime > since && m.ScheduledFireTime <= t);
            occurrences[i] = misfired && misfirePolicy == MisfirePolicy.Skip
                ? Other(t, "skipped", "misfire policy skip: missed by more than the misfire threshold, not run")
                : Other(t, "missed", misfired ? "misfired: not fired within the misfire threshold, and no run stood for it" : "no run was recorded for it");
        }

        CatchUpsAtResume(dueTimes, ordered, due, pauses, occurrences, folded, jitter);

        // The catch-up run's own due time says how many due times it stood for.
        for (var i = 0; i < occurrences.Length; i++)
        {
            if (occurrences[i] is { Outcome: "ran", RunId: { } id } own && folded.TryGetValue(id, out var count))
            {
                occurrences[i] = own with { Outcome = "coalesced", CoalescedCount = count + 1, Reason = $"fire_once catch-up standing for {count + 1} due times; {own.Reason}" };
            }
        }

        return occurrences;
    }

    public static OccurrenceCounts Count(IReadOnlyList<ScheduleOccurrence> occurrences) => new(
        occurrences.Count(o => o.Outcome == "ran"),
        occurrences.Count(o => o.Outcome == "ran" && o.Late),
        occurrences.Count(o => o.Outcome == "retried"),
        occurrences.Count(o => o.Outcome == "coalesced"),
        occurrences.Count(o => o.Outcome == "skipped"),
        occurrences.Count(o => o.Outcome == "missed"),
        occurrences.Count(o => o.Outcome == "pending"),
        occurrences.Count(o => o.RunStatus == FailedStatus && (o.Outcome is "ran" or "retried" || o.CoalescedCount is not null)));

    private static readonly string FailedStatus = RunResponse.Name(RunStatus.Failed);

    private static ScheduleOccurrence FromRun(DateTimeOffset t, OccurrenceRun run, TimeSpan jitter)
    {
        var status = RunResponse.Name(run.Status);
        if (run.Status is RunStatus.Pending or RunStatus.Running)
        {
            return new ScheduleOccurrence(t, "pending", $"in flight: attempt {run.Attempt} {status}", null, false, run.Id, status, run.Attempt, null);
        }

        if (run.Attempt > 1 || run.TriggeredBy == RunTrigger.Retry)
        {
            return new ScheduleOccurrence(t, "retried", $"{run.Attempt} attempts, {status}" + (run.Error is null ? "" : $": {run.Error}"), null, false, run.Id, status, run.Attempt, null);
        }

        // Late after the instant the trigger fired it: a jittered schedule's run starts its offset after the due time.
        var lateBy = run.StartedAt is { } started ? (long)Math.Max(0, (started - (t + jitter)).TotalMilliseconds) : (long?)null;
        var late = lateBy > OnTimeTolerance.TotalMilliseconds;
        var how = run.TriggeredBy == RunTrigger.Backfill ? "backfilled" : late ? $"late by {lateBy} ms" : "on time";
        return new ScheduleOccurrence(t, "ran", $"{how}, {status}" + (run.Error is null ? "" : $": {run.Error}"), lateBy, late, run.Id, status, run.Attempt, null);
    }

    /// <summary>"paused", and by whom and why when the pause says (a long reason cut to <see cref="ShortReasonLength"/>).</summary>
    private static string Paused(OccurrencePause pause)
    {
        var reason = pause.Reason is { Length: > ShortReasonLength } longer ? longer[..(ShortReasonLength - 1)] + "…" : pause.Reason;
        return "paused" + (pause.By is null ? "" : $" by {pause.By}") + (string.IsNullOrWhiteSpace(reason) ? "" : $": {reason}");
    }

    /// <summary>
    /// A catch-up run Quartz made at the end of an ended pause keyed on no due time (a <c>fire_once</c> catch-up keyed on
    /// the instant the misfire was handled) has no due time of its own; the pause's last due time before it, skipped as
    /// paused, is shown coalesced into it, so the catch-up shows as what it is.
    /// </summary>
    private static void CatchUpsAtResume(
        IReadOnlyList<DateTimeOffset> dueTimes, List<OccurrenceRun> ordered, HashSet<DateTimeOffset> due, IReadOnlyList<OccurrencePause> pauses,
        ScheduleOccurrence[] occurrences, Dictionary<Guid, int> folded, TimeSpan jitter)
    {
        foreach (var pause in pauses.Where(p => p.To is not null))
        {
            var resumed = pause.To!.Value;
            var catchUp = ordered.FirstOrDefault(r => r.TriggeredBy is RunTrigger.Schedule or RunTrigger.Recovery
                && r.StartedAt is { } started && started >= resumed && r.ScheduledFireTime + jitter < resumed + InFlightGrace);
            if (catchUp is null || due.Contains(catchUp.ScheduledFireTime) || folded.ContainsKey(catchUp.Id))
            {
                continue;
            }

            var last = -1;
            for (var i = 0; i < dueTimes.Count; i++)
            {
                if (occurrences[i] is { Outcome: "skipped", RunId: null } && pause.Holds(dueTimes[i] + jitter) && dueTimes[i] < catchUp.ScheduledFireTime)
                {
                    last = i;
                }
            }

            if (last >= 0)
            {
                folded[catchUp.Id] = 1;
                occurrences[last] = new ScheduleOccurrence(dueTimes[last], "coalesced",
                    $"fire_once catch-up at the resume: run {catchUp.Id} due {catchUp.ScheduledFireTime.UtcDateTime:O} stood for it; the earlier due times of the pause were skipped",
                    null, false, catchUp.Id, RunResponse.Name(catchUp.Status), catchUp.Attempt, 1);
            }
        }
    }

    private static ScheduleOccurrence Other(DateTimeOffset t, string outcome, string reason) => new(t, outcome, reason, null, false, null, null, null, null);
}
