using System.Buffers.Binary;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Orchestrator.Actions;
using Orchestrator.Api;
using Quartz;

namespace Orchestrator.Schedules;

/// <summary>
/// <c>jitterSeconds</c> (SPEC §4): a stable offset in [0, N) whole seconds, derived from the schedule's id, that moves
/// every fire time of the schedule's trigger later by the same amount, so schedules due on one instant (every minute,
/// every hour on the hour) arrive spread over N seconds instead of as one burst. The occurrence keeps its nominal
/// fire time: the ledger row, the idempotency key, the run's <c>scheduledFireTime</c> and backfill ranges are all in
/// nominal time; only Quartz's trigger fires at nominal + offset, and the offset is stored in the job's data so the
/// ledger middleware subtracts it again.
/// </summary>
/// <remarks>
/// The trigger is moved rather than the firing delayed: a delay inside the job would hold a worker thread and leave
/// Quartz's own acquisition and firing in the burst. Interval, calendar and one-time triggers move by their start
/// (and end); a cron trigger moves by its seconds field, so it can move only within its minute: its N is at most
/// 60 − its second, and only a cron with a single second value can be moved at all.
/// </remarks>
public static class ScheduleJitter
{
    public const int MaxSeconds = 3600;

    /// <summary>The stable offset of <paramref name="scheduleId"/> for <paramref name="jitterSeconds"/>: whole seconds in [0, N).</summary>
    public static TimeSpan OffsetFor(string scheduleId, int jitterSeconds)
    {
        if (jitterSeconds <= 1)
        {
            return TimeSpan.Zero;
        }

        // A hash, not string.GetHashCode: the same id must give the same offset on every node and after every restart.
        var hash = SHA256.HashData(Encoding.UTF8.GetBytes(scheduleId));
        return TimeSpan.FromSeconds((long)(BinaryPrimitives.ReadUInt64LittleEndian(hash) % (ulong)jitterSeconds));
    }

    /// <summary>The offset a job's firings were moved by (none for a job saved without one).</summary>
    public static TimeSpan OffsetOf(JobDataMap data) =>
        int.TryParse(data.GetString(JobDataKeys.JitterOffsetSeconds), NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            ? TimeSpan.FromSeconds(seconds)
            : TimeSpan.Zero;

    /// <summary>
    /// How many seconds a cron expression may be moved by: 60 − its second when the seconds field is one number, else
    /// <see langword="null"/> (it fires at several seconds of a minute, which one offset cannot move within it).
    /// </summary>
    public static int? CronAllowance(string expression)
    {
        var seconds = expression.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries)[0];
        return int.TryParse(seconds, NumberStyles.None, CultureInfo.InvariantCulture, out var second) && second is >= 0 and < 60 ? 60 - second : null;
    }

    /// <summary>The cron expression with its second moved by <paramref name="offset"/> (within what <see cref="CronAllowance"/> allows).</summary>
    public static string ShiftCron(string expression, TimeSpan offset)
    {
        var fields = expression.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        fields[0] = (int.Parse(fields[0], NumberStyles.None, CultureInfo.InvariantCulture) + (int)offset.TotalSeconds).ToString(CultureInfo.InvariantCulture);
        return string.Join(' ', fields);
    }

    /// <summary>
    /// The schedule's jitter: the request's, validated (field <c>jitterSeconds</c>), or the server's default
    /// (<c>Orchestrator:Scheduler:DefaultJitterSeconds</c>), which a cron trigger takes only as far as it can move.
    /// </summary>
    public static int Resolve(int? requested, int serverDefault, TriggerSpec? trigger, FieldErrors errors)
    {
        var allowance = trigger is CronTriggerSpec cron ? CronAllowance(cron.Expression) ?? 0 : MaxSeconds;
        if (requested is not { } seconds)
        {
            return Math.Min(serverDefault, allowance);
        }

        if (seconds is < 0 or > MaxSeconds)
        {
            errors.Add("jitterSeconds", $"must be between 0 and {MaxSeconds}.");
        }
        else if (seconds > allowance)
        {
            errors.Add("jitterSeconds", allowance == 0
                ? "needs a cron expression with a single second (e.g. '0 */5 * * * ?'): a cron trigger is moved within its minute."
                : $"must be at most {allowance} for this cron expression: a cron trigger is moved within its minute, after its second.");
        }

        return seconds;
    }
}
