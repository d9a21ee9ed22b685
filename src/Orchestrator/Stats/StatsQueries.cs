using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;
using Orchestrator.Api;
using Orchestrator.Data;
using Orchestrator.Deadlines;
using Orchestrator.Runs;
using Orchestrator.Schedules;
using Orchestrator.Security;
using Quartz;

namespace Orchestrator.Stats;

/// <summary>What the home page shows: counters now, and one bucket per hour of the window, oldest first.</summary>
/// <param name="GeneratedAt">The instant the figures were read; the last bucket (the current hour) holds it.</param>
/// <param name="Hours">How many hourly buckets <paramref name="Buckets"/> holds.</param>
/// <param name="LateSeconds">A start later than this after its due time is counted late.</param>
/// <param name="Schedules">Schedules whose trigger is active (waiting, running) or paused, from Quartz.</param>
/// <param name="Running">Runs running now, on any node.</param>
/// <param name="LastHour">Runs that finished in the last hour, by outcome.</param>
/// <param name="LastDay">Runs that finished in the last 24 hours, by outcome.</param>
/// <param name="LateLastHour">Runs of a due time (schedule and recovery firings) that started late in the last hour.</param>
public sealed record StatsResponse(
    DateTimeOffset GeneratedAt, int Hours, int LateSeconds, ScheduleCounts Schedules, int Running,
    OutcomeCounts LastHour, OutcomeCounts LastDay, int LateLastHour, IReadOnlyList<StatsBucket> Buckets)
{
    /// <summary>Deadline breaches not recovered yet (start, succeed and silence), in the caller's projects.</summary>
    public int DeadlineBreaches { get; init; }
}

public sealed record ScheduleCounts(int Active, int Paused);

/// <summary>Finished runs by outcome; <c>other</c> is cancelled, interrupted and skipped.</summary>
public sealed record OutcomeCounts(int Succeeded, int Failed, int Other);

/// <summary>
/// One clock hour [<c>start</c>, <c>end</c>) (14:00–15:00 in the zone asked for): the runs that finished in it by
/// outcome, and the runs of a due time that started in it — how many, how many late, and the latest start's lateness.
/// The last bucket is the current hour, <c>partial</c>: it ends in the future and holds what happened so far.
/// </summary>
public sealed record StatsBucket(DateTimeOffset Start, DateTimeOffset End, int Succeeded, int Failed, int Other, int Started, int Late, long? MaxLateMs)
{
    public bool Partial { get; init; }
}

/// <summary>
/// The home page's figures in two aggregate statements over the run ledger, each over an indexed time range: outcomes
/// by <c>finished_at</c> (<c>ix_runs_finished</c>), starts and lateness by <c>status, started_at</c>
/// (<c>ix_runs_status_started</c>); the database groups the rows into hours, so the cost does not grow with the
/// rows read back. Schedule counts are Quartz's (counting queries on its trigger table), running runs an indexed count.
/// </summary>
/// <remarks>
/// Lateness is measured on runs of a due time only — a schedule's firing or its recovery — as <c>started_at -
/// scheduled_fire_time</c>: a manual run has no due time and a backfill's is in the past on purpose. A run that was
/// retried is recorded by its latest attempt (the row is the occurrence, not the attempt), so it is left out too.
/// </remarks>
public sealed class StatsQueries(OrchestratorDbContext db, ISchedulerFactory schedulers, ProjectScope scope, TimeProvider time)
{
    public const int DefaultHours = 24;
    public const int MaxHours = 7 * 24;

    private static readonly TimeSpan Hour = TimeSpan.FromHours(1);


    /// <param name="timeZone">
    /// The IANA zone whose clock hours the buckets follow (the dashboard sends the browser's); UTC when omitted. Only
    /// zones whose offset is not whole hours (Asia/Kolkata, +05:30) place them differently from UTC's.
    /// </param>
    public async Task<Outcome<StatsResponse>> GetAsync(int? hours, int? lateSeconds, string? timeZone, CancellationToken ct)
    {
        var errors = new FieldErrors();
        var zone = TimeZoneInfo.Utc;
        if (timeZone is not null && !TimeZoneInfo.TryFindSystemTimeZoneById(timeZone, out zone!))
        {
            errors.Add("timeZone", $"'{(timeZone.Length <= 64 ? timeZone : timeZone[..64] + "…")}' is not a time zone id (e.g. 'Europe/Paris', 'UTC').");
            zone = TimeZoneInfo.Utc;
        }

        if (hours is < 1 or > MaxHours)
        {
            errors.Add("hours", $"must be between 1 and {MaxHours} (a week).");
        }

        if (lateSeconds is < 0 or > 86_400)
        {
            errors.Add("lateSeconds", "must be between 0 and 86400 (a day).");
        }

        if (errors.Any)
        {
            return errors.ToProblemDetails();
        }

        var shown = hours ?? DefaultHours;
        var late = lateSeconds is { } seconds ? TimeSpan.FromSeconds(seconds) : RunLateness.DefaultTolerance;
        var now = time.GetUtcNow();
        // The buckets are clock hours: the last one is the hour now is in (partial), the others the whole hours before it.
        // The counters stay rolling (the last 60 minutes, the last 24 hours): each row is also marked by how recent it is.
        var currentHour = HourStart(now, zone);
        var origin = currentHour - ((shown - 1) * Hour);
        var dayAgo = now - (24 * Hour);
        var from = origin < dayAgo ? origin : dayAgo;
        var recent = new Recency(now - Hour, dayAgo);
        var outcomes = await OutcomesAsync(origin, from, now, recent, ct);
        var starts = await StartsAsync(origin, from, now, recent, late, ct);
        var running = await Visible(db.Runs.AsNoTracking()).CountAsync(r => r.Status == RunStatus.Running, ct);
        var schedules = await ScheduleCountsAsync(ct);
        var breaches = db.Set<DeadlineBreach>().AsNoTracking().Where(b => b.RecoveredAt == null);
        if (scope.Projects is { } allowedProjects)
        {
            breaches = breaches.Where(b => allowedProjects.Contains(b.Project));
        }

        var openBreaches = await breaches.CountAsync(ct);

        var buckets = new List<StatsBucket>(shown);
        for (var b = 0; b < shown; b++)
        {
            var count = (RunStatus s) => (int)outcomes.Where(o => o.Bucket == b && o.Status == s.ToString()).Sum(o => o.Count);
            var other = (int)outcomes.Where(o => o.Bucket == b && o.Status != nameof(RunStatus.Succeeded) && o.Status != nameof(RunStatus.Failed)).Sum(o => o.Count);
            var inBucket = starts.Where(s => s.Bucket == b).ToList();
            buckets.Add(new StatsBucket(origin + (b * Hour), origin + ((b + 1) * Hour), count(RunStatus.Succeeded), count(RunStatus.Failed), other,
                (int)inBucket.Sum(s => s.Started), (int)inBucket.Sum(s => s.Late), inBucket.Max(s => s.MaxLateMs))
            { Partial = b == shown - 1 });
        }

        OutcomeCounts Since(int recency)
        {
            var rows = outcomes.Where(o => o.Recency >= recency).ToList();
            var succeeded = (int)rows.Where(o => o.Status == nameof(RunStatus.Succeeded)).Sum(o => o.Count);
            var failed = (int)rows.Where(o => o.Status == nameof(RunStatus.Failed)).Sum(o => o.Count);
            return new OutcomeCounts(succeeded, failed, (int)rows.Sum(o => o.Count) - succeeded - failed);
        }

        return new StatsResponse(now, shown, (int)late.TotalSeconds, schedules, running, Since(Recency.LastHour), Since(Recency.LastDay),
            (int)starts.Where(s => s.Recency == Recency.LastHour).Sum(s => s.Late), buckets)
        { DeadlineBreaches = openBreaches };
    }

    /// <summary>The start of the clock hour <paramref name="now"/> is in, on the clock of <paramref name="zone"/>.</summary>
    private static DateTimeOffset HourStart(DateTimeOffset now, TimeZoneInfo zone)
    {
        var local = TimeZoneInfo.ConvertTime(now, zone);
        return now - TimeSpan.FromTicks(local.Ticks % TimeSpan.TicksPerHour);
    }

    /// <summary>
    /// Which rolling counter a row belongs to, computed by the statement beside its bucket: 2 = the last 60 minutes,
    /// 1 = the last 24 hours, 0 = older (read for the chart's window only).
    /// </summary>
    private sealed record Recency(DateTimeOffset HourAgo, DateTimeOffset DayAgo)
    {
        public const int LastHour = 2;
        public const int LastDay = 1;
    }

    private IQueryable<RunRecord> Visible(IQueryable<RunRecord> runs) =>
        scope.Projects is { } allowed ? runs.Where(r => r.ProjectId != null && allowed.Contains(r.ProjectId)) : runs;

    /// <summary>
    /// Finished runs in [<paramref name="from"/>, <paramref name="to"/>) by hour since <paramref name="origin"/> (-1
    /// before it), recency and status.
    /// </summary>
    private async Task<List<OutcomeRow>> OutcomesAsync(DateTimeOffset origin, DateTimeOffset from, DateTimeOffset to, Recency recent, CancellationToken ct)
    {
        var parameters = new List<object>();
        if (IsPostgres)
        {
            parameters.AddRange([from, to, origin, recent.HourAgo, recent.DayAgo]);
            var sql = $$"""
                SELECT {{PostgresBucket("finished_at")}} AS "Bucket", {{PostgresRecency("finished_at")}} AS "Recency", status AS "Status", count(*) AS "Count"
                FROM runs WHERE finished_at >= {0} AND finished_at < {1}{{ProjectFilter(parameters)}}
                GROUP BY 1, 2, 3
                """;
            return await db.Database.SqlQueryRaw<OutcomeRow>(sql, [.. parameters]).ToListAsync(ct);
        }

        parameters.AddRange([Stored(from), Stored(to), Units(origin), Units(recent.HourAgo), Units(recent.DayAgo)]);
        var sqlite = $$"""
            SELECT {{SqliteBucket("finished_at")}} AS "Bucket", {{SqliteRecency("finished_at")}} AS "Recency", status AS "Status", count(*) AS "Count"
            FROM runs WHERE finished_at >= {0} AND finished_at < {1}{{ProjectFilter(parameters)}}
            GROUP BY 1, 2, 3
            """;
        return await db.Database.SqlQueryRaw<OutcomeRow>(sqlite, [.. parameters]).ToListAsync(ct);
    }

    /// <summary>
    /// Runs of a due time that started in [<paramref name="from"/>, <paramref name="to"/>), by hour since
    /// <paramref name="origin"/> and recency: how many, how many late, the latest.
    /// </summary>
    private async Task<List<StartRow>> StartsAsync(DateTimeOffset origin, DateTimeOffset from, DateTimeOffset to, Recency recent, TimeSpan late, CancellationToken ct)
    {
        var parameters = new List<object>();
        if (IsPostgres)
        {
            parameters.AddRange([from, to, origin, recent.HourAgo, recent.DayAgo, RunLateness.Tolerance(postgres: true, late)]);
            // Late is RunLateness's definition, the one the runs list's late filter uses.
            var sql = $$"""
                SELECT {{PostgresBucket("started_at")}} AS "Bucket", {{PostgresRecency("started_at")}} AS "Recency", count(*) AS "Started",
                  count(*) FILTER (WHERE {{RunLateness.StartedLate(postgres: true, 5)}}) AS "Late",
                  max(floor(extract(epoch FROM (started_at - scheduled_fire_time)) * 1000))::bigint AS "MaxLateMs"
                FROM runs
                WHERE {{RunLateness.OfAStartedDueTime()}} AND started_at >= {0} AND started_at < {1}{{ProjectFilter(parameters)}}
                GROUP BY 1, 2
                """;
            return await db.Database.SqlQueryRaw<StartRow>(sql, [.. parameters]).ToListAsync(ct);
        }

        parameters.AddRange([Stored(from), Stored(to), Units(origin), Units(recent.HourAgo), Units(recent.DayAgo), RunLateness.Tolerance(postgres: false, late)]);
        var lateness = $"({Utc("started_at")} - {Utc("scheduled_fire_time")})";
        var sqlite = $$"""
            SELECT {{SqliteBucket("started_at")}} AS "Bucket", {{SqliteRecency("started_at")}} AS "Recency", count(*) AS "Started",
              sum(CASE WHEN {{RunLateness.StartedLate(postgres: false, 5)}} THEN 1 ELSE 0 END) AS "Late",
              max({{lateness}}) / {{UnitsPerMillisecond}} AS "MaxLateMs"
            FROM runs
            WHERE {{RunLateness.OfAStartedDueTime()}} AND started_at >= {0} AND started_at < {1}{{ProjectFilter(parameters)}}
            GROUP BY 1, 2
            """;
        return await db.Database.SqlQueryRaw<StartRow>(sqlite, [.. parameters]).ToListAsync(ct);
    }

    // Parameters {2} (the first bucket's start), {3} (an hour ago) and {4} (a day ago) of both statements. A row before
    // the first bucket (read for the day's counter only) is bucket -1: SQLite's integer division would round it to 0.
    private static string PostgresBucket(string column) =>
        $"CASE WHEN {column} < {{2}} THEN -1 ELSE floor(extract(epoch FROM ({column} - {{2}})) / 3600)::bigint END";

    private static string PostgresRecency(string column) => $"CASE WHEN {column} >= {{3}} THEN 2 WHEN {column} >= {{4}} THEN 1 ELSE 0 END";

    private static string SqliteBucket(string column) =>
        $"CASE WHEN {Utc(column)} < {{2}} THEN -1 ELSE ({Utc(column)} - {{2}}) / {UnitsPerHour} END";

    private static string SqliteRecency(string column) => $"CASE WHEN {Utc(column)} >= {{3}} THEN 2 WHEN {Utc(column)} >= {{4}} THEN 1 ELSE 0 END";

    /// <summary>
    /// Schedule triggers by state, counted by Quartz (no trigger is read): a project-scoped key counts its projects
    /// only; an unscoped key counts every group less the server's own ('_' groups: housekeeping, pipeline runs).
    /// A run-now or backfill firing waiting to start is a trigger too, counted for the moment it exists.
    /// </summary>
    private async Task<ScheduleCounts> ScheduleCountsAsync(CancellationToken ct)
    {
        var scheduler = await schedulers.GetScheduler(ct);
        async Task<int> CountAsync(GroupMatcher<TriggerKey>? group, TriggerState state) =>
            (await scheduler.QueryTriggers(new TriggerQuery { Group = group, State = state, Take = 0, IncludeTotalCount = true }, ct)).TotalCount ?? 0;
        async Task<int> CountAllAsync(TriggerState state)
        {
            if (scope.Projects is { } allowed)
            {
                var sum = 0;
                foreach (var project in allowed)
                {
                    sum += await CountAsync(GroupMatcher<TriggerKey>.GroupEquals(project), state);
                }

                return sum;
            }

            var total = await CountAsync(null, state);
            foreach (var system in (await scheduler.GetTriggerGroupNames(ct)).Where(g => g.StartsWith(ScheduleService.SystemGroupPrefix, StringComparison.Ordinal)))
            {
                total -= await CountAsync(GroupMatcher<TriggerKey>.GroupEquals(system), state);
            }

            return total;
        }

        var active = 0;
        foreach (var state in new[] { TriggerState.Normal, TriggerState.Blocked, TriggerState.Executing })
        {
            active += await CountAllAsync(state);
        }

        return new ScheduleCounts(active, await CountAllAsync(TriggerState.Paused));
    }

    private bool IsPostgres => db is PostgresOrchestratorDbContext;

    /// <summary><c> AND project_id IN (…)</c> for a scoped key, each project a parameter; nothing for an unscoped one.</summary>
    private string ProjectFilter(List<object> parameters)
    {
        if (scope.Projects is not { } allowed)
        {
            return "";
        }

        var placeholders = allowed.Select(p =>
        {
            parameters.Add(p);
            return $"{{{parameters.Count - 1}}}";
        });
        return $" AND project_id IN ({string.Join(", ", placeholders)})";
    }

    // SQLite stores a DateTimeOffset as EF Core's binary form: (clock ticks / 1000) << 11 | offset minutes (11 bits,
    // signed). A "unit" here is 1000 ticks (0.1 ms); Utc() turns a column back into UTC units inside the statement.
    private const long TicksPerUnit = RunLateness.TicksPerUnit;
    private const long UnitsPerHour = TimeSpan.TicksPerHour / TicksPerUnit;
    private const long UnitsPerMillisecond = TimeSpan.TicksPerMillisecond / TicksPerUnit;
    private static readonly DateTimeOffsetToBinaryConverter Binary = new();

    private static string Utc(string column) => RunLateness.SqliteUtc(column);

    private static long Stored(DateTimeOffset instant) => (long)Binary.ConvertToProvider(instant)!;

    private static long Units(DateTimeOffset instant) => instant.UtcTicks / TicksPerUnit;

    private sealed class OutcomeRow
    {
        public long Bucket { get; set; }

        public int Recency { get; set; }

        public string Status { get; set; } = "";

        public long Count { get; set; }
    }

    private sealed class StartRow
    {
        public long Bucket { get; set; }

        public int Recency { get; set; }

        public long Started { get; set; }

        public long Late { get; set; }

        public long? MaxLateMs { get; set; }
    }
}
