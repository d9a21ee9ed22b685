using Orchestrator.Runs;
using Quartz;

namespace Orchestrator.Schedules;

/// <summary>What a backfill found in its range and what it did, in the words the API answers with.</summary>
public sealed record BackfillSummary(int SlotsFound, int Scheduled, int AlreadyScheduled, int AlreadyRun, DateTimeOffset? FirstSlot, DateTimeOffset? LastSlot);

/// <summary>
/// A backfill through Quartz's, minus the fire times that already ran. Quartz skips only a slot whose backfill trigger
/// is still stored; once that trigger has fired it is gone, so the same range again would schedule every slot anew,
/// report them as scheduled, and then have the ledger skip each one. A slot whose ledger row is final (succeeded,
/// skipped, cancelled: the ledger would never run it again) is therefore left out and counted as already scheduled;
/// a failed, interrupted or running row is still scheduled, and the ledger decides (a retry, a takeover, or nothing
/// while the run is alive).
/// </summary>
public static class ScheduleBackfill
{
    /// <summary>
    /// The most fire times one backfill runs: Quartz's <see cref="BackfillOptions.DefaultMaxSlots"/> (1,000), passed
    /// explicitly. Not a setting: a larger range is done in parts, each one request of bounded size.
    /// </summary>
    public const int MaxSlots = BackfillOptions.DefaultMaxSlots;

    /// <summary>How far a range is counted before the refusal says "more than" instead of the exact count.</summary>
    private const int CountCeiling = 1_000_000;

    private static readonly RunStatus[] Final = [RunStatus.Succeeded, RunStatus.Skipped, RunStatus.Cancelled];

    /// <exception cref="BackfillTooLargeException">The range holds more than <see cref="MaxSlots"/> fire times.</exception>
    /// <exception cref="ArgumentException">Quartz refuses the range.</exception>
    /// <exception cref="SchedulerException">The schedule's trigger is gone.</exception>
    public static async Task<BackfillSummary> RunAsync(IScheduler scheduler, RunQueries runs, JobKey key, DateTimeOffset from, DateTimeOffset to, CancellationToken ct)
    {
        var triggerKey = new TriggerKey(key.Name, key.Group);
        var trigger = await scheduler.GetTrigger(triggerKey, ct) ?? throw new ObjectDoesNotExistException($"Schedule '{ScheduleIds.Of(key)}' has no trigger left to backfill (it has completed).");
        var scheduleId = ScheduleIds.Of(key);
        var finished = await runs.FireTimesAsync(scheduleId, from, to, Final, ct);
        // The range and the ledger are in nominal time; a trigger with jitter fires its offset later, so both move by
        // it to meet the trigger's slots, and the slots found are reported back in nominal time.
        var jitter = (await scheduler.GetJobDetail(key, ct)) is { } job ? ScheduleJitter.OffsetOf(job.JobDataMap) : TimeSpan.Zero;
        (from, to) = (from + jitter, to + jitter);
        var ran = finished.Select(t => RunLedger.KeyTime(t) + jitter).Where(t => IsSlot(trigger, t)).Distinct().Order().ToList();

        // Counted here, not left to Quartz, so the refusal is in the product's words (Quartz's names its options parameter)
        // and says where a range of the allowed size would end.
        var (count, firstOver) = CountSlots(trigger, from, to, CountCeiling);
        if (count > MaxSlots)
        {
            throw new BackfillTooLargeException(count, count >= CountCeiling, firstOver!.Value - jitter);
        }

        // The range in pieces around the fire times that ran: [from, ran0), (ran0, ran1), … (ranN, to). Quartz's
        // BackfillOptions cannot leave fire times out (MaxSlots, Spacing and ExecutionGroup are all it takes), so each
        // gap is its own call; the gaps together hold at most MaxSlots fire times.
        var scheduled = 0;
        var pending = 0;
        var found = ran.Count;
        DateTimeOffset? first = ran.Count > 0 ? ran[0] : null;
        DateTimeOffset? last = ran.Count > 0 ? ran[^1] : null;
        var start = from;
        foreach (var end in ran.Append(to))
        {
            if (end > start)
            {
                // Each backfilled firing carries the schedule trigger's retry policy and execution group (Quartz copies
                // both onto its one-shot triggers when BackfillOptions.ExecutionGroup is left unset).
                var piece = await scheduler.Backfill(triggerKey, start, end, new BackfillOptions { MaxSlots = MaxSlots }, ct);
                scheduled += piece.Scheduled;
                pending += piece.AlreadyScheduled;
                found += piece.SlotsFound;
                first = Min(first, piece.FirstSlot);
                last = Max(last, piece.LastSlot);
            }

            start = end.AddTicks(1);
        }

        return new BackfillSummary(found, scheduled, pending + ran.Count, ran.Count, first - jitter, last - jitter);
    }

    /// <summary>Whether <paramref name="time"/> is one of the trigger's fire times (stepping from just before it, as Quartz's backfill walks).</summary>
    private static bool IsSlot(ITrigger trigger, DateTimeOffset time)
    {
        var next = trigger.GetFireTimeAfter(time.AddSeconds(-2));
        while (next is { } n && n < time)
        {
            next = trigger.GetFireTimeAfter(n);
        }

        return next == time;
    }

    /// <summary>The fire times in [from, to), counted up to <paramref name="upTo"/>, and the first one past <see cref="MaxSlots"/>.</summary>
    private static (int Count, DateTimeOffset? FirstOverLimit) CountSlots(ITrigger trigger, DateTimeOffset from, DateTimeOffset to, int upTo)
    {
        var count = 0;
        DateTimeOffset? firstOver = null;
        var next = trigger.GetFireTimeAfter(from.AddSeconds(-2));
        while (next is { } n && n < to && count < upTo)
        {
            if (n >= from)
            {
                count++;
                if (count == MaxSlots + 1)
                {
                    firstOver = n;
                }
            }

            next = trigger.GetFireTimeAfter(n);
        }

        return (count, firstOver);
    }

    private static DateTimeOffset? Min(DateTimeOffset? a, DateTimeOffset? b) => a is null ? b : b is null ? a : a < b ? a : b;

    private static DateTimeOffset? Max(DateTimeOffset? a, DateTimeOffset? b) => a is null ? b : b is null ? a : a > b ? a : b;
}

/// <summary>A backfill range holding more fire times than <see cref="ScheduleBackfill.MaxSlots"/>; nothing was scheduled.</summary>
public sealed class BackfillTooLargeException(int slots, bool atLeast, DateTimeOffset firstOverLimit)
    : Exception($"The range holds {(atLeast ? "more than " : "")}{slots.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)} fire times; "
        + $"a backfill runs at most {ScheduleBackfill.MaxSlots.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)} at a time. "
        + $"Backfill it in parts: 'to' up to {firstOverLimit.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture)} covers the first "
        + $"{ScheduleBackfill.MaxSlots.ToString("N0", System.Globalization.CultureInfo.InvariantCulture)}; nothing was scheduled.")
{
    public int Slots { get; } = slots;
}
