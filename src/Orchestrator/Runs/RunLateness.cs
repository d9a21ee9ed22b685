using System.Globalization;
using Orchestrator.Schedules;

namespace Orchestrator.Runs;

/// <summary>
/// The one definition of a late start, used by the home page's counters and charts (<c>GET /api/stats</c>) and by the
/// runs list's <c>late</c> filter, so the list a counter links to holds exactly what it counted: a run of a due time (a
/// schedule's firing or its recovery, never a manual run or a backfill, whose due time is in the past on purpose) that
/// has started (running or finished, not skipped) and whose <c>started_at</c> is more than the tolerance
/// (<see cref="OccurrenceTimeline.OnTimeTolerance"/> unless the caller asks for another) after its <c>scheduled_fire_time</c>.
/// Written as SQL conditions on the <c>runs</c> table, because the SQLite store keeps an instant in EF Core's binary form,
/// whose difference LINQ cannot translate.
/// </summary>
public static class RunLateness
{
    /// <summary>The statuses of a run that has started.</summary>
    public static readonly RunStatus[] Started = [RunStatus.Running, RunStatus.Succeeded, RunStatus.Failed, RunStatus.Cancelled, RunStatus.Interrupted];

    /// <summary>The triggers of a run of a due time.</summary>
    public static readonly RunTrigger[] DueTimeTriggers = [RunTrigger.Schedule, RunTrigger.Recovery];

    /// <summary>A start later than this after its due time is late, unless the caller asks for another tolerance.</summary>
    public static TimeSpan DefaultTolerance => OccurrenceTimeline.OnTimeTolerance;

    // SQLite stores a DateTimeOffset as EF Core's binary form: (clock ticks / 1000) << 11 | offset minutes (11 bits,
    // signed). A "unit" here is 1000 ticks (0.1 ms); SqliteUtc() turns a column back into UTC units inside the statement.
    internal const long TicksPerUnit = 1000;
    private static readonly long UnitsPerMinute = TimeSpan.TicksPerMinute / TicksPerUnit;

    /// <summary>A binary-stored instant column as UTC units (0.1 ms) inside a SQLite statement.</summary>
    internal static string SqliteUtc(string column) =>
        string.Create(CultureInfo.InvariantCulture, $"(({column} >> 11) - ((({column} << 53) >> 53) * {UnitsPerMinute}))");

    /// <summary>The condition "a started run of a due time" (enum names only are written in as literals).</summary>
    public static string OfAStartedDueTime() =>
        $"status IN ({Literals(Started.Select(s => s.ToString()))}) AND triggered_by IN ({Literals(DueTimeTriggers.Select(t => t.ToString()))})";

    /// <summary>The condition "started more than the tolerance after its due time", the tolerance being parameter <paramref name="parameter"/> (see <see cref="Tolerance"/>).</summary>
    public static string StartedLate(bool postgres, int parameter) => postgres
        ? $"started_at - scheduled_fire_time > {{{parameter}}}"
        : $"({SqliteUtc("started_at")} - {SqliteUtc("scheduled_fire_time")}) > {{{parameter}}}";

    /// <summary>The tolerance as the parameter <see cref="StartedLate"/> compares with: an interval, or SQLite's units.</summary>
    public static object Tolerance(bool postgres, TimeSpan tolerance) => postgres ? tolerance : tolerance.Ticks / TicksPerUnit;

    private static string Literals(IEnumerable<string> names) => string.Join(", ", names.Select(n => $"'{n}'"));
}
