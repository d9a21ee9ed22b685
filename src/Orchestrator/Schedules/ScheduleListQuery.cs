using System.Data.Common;
using System.Globalization;
using System.Text;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Orchestrator.Actions;
using Orchestrator.Data;
using Orchestrator.Hosting;
using Quartz;

namespace Orchestrator.Schedules;

/// <summary>What a schedule list selects: every filter is optional and all given must match.</summary>
/// <param name="Project">The project (Quartz job group); null for every project the caller may see.</param>
/// <param name="AllowedProjects">A scoped key's projects; null when the caller sees every project.</param>
/// <param name="ActionType">The action type (the job's class); an unknown type matches nothing.</param>
/// <param name="State">active, paused, running, complete or error; anything else matches nothing.</param>
/// <param name="Search">Text the schedule's name or id contains, case-insensitive.</param>
/// <param name="After">A cursor: the page starts after this schedule (group, name) in list order.</param>
public sealed record ScheduleSelection(
    string? Project, IReadOnlyList<string>? AllowedProjects, string? ActionType, string? State, string? Search, JobKey? After);

/// <summary>One page of schedule keys in list order, with each one's trigger state (Complete when it has no trigger).</summary>
public sealed record ScheduleKeyPage(IReadOnlyList<(JobKey Key, TriggerState State)> Rows, int? Total, bool HasMore);

/// <summary>
/// One page of schedules read straight from Quartz's tables with one indexed statement (and one count when asked),
/// on PostgreSQL and SQLite alike. Quartz's own queries cannot select by trigger state or job class, so at 100,000
/// schedules a filtered page would otherwise read every job and trigger header; this reads the page's rows only.
/// Quartz still owns the rows: nothing is written here, and the page's jobs are then read through Quartz.
/// The order is project (ordinal), then name in the database's collation (Quartz's own order within a group); a job
/// key is unique, so a page never skips or repeats one, by offset or by cursor.
/// </summary>
public sealed class ScheduleListQuery(OrchestratorDbContext db, ActionCatalog actions, IOptions<OrchestratorOptions> options)
{
    /// <summary>The trigger states Quartz's ADO.NET store reads as something other than Normal (GetTriggerState).</summary>
    private const string NotActive = "'COMPLETE', 'PAUSED', 'PAUSED_BLOCKED', 'ERROR', 'BLOCKED', 'DELETED'";

    /// <param name="count">Whether to count what matched.</param>
    /// <param name="countLimit">Count at most this many (the total is then null when more matched): a count of every match
    /// reads every matching index row, which at 100,000 schedules costs more than the page itself.</param>
    public async Task<ScheduleKeyPage> PageAsync(ScheduleSelection selection, int skip, int take, bool count, CancellationToken ct, int? countLimit = null)
    {
        var prefix = options.Value.Database.TablePrefix;
        var postgres = db.Database.ProviderName?.Contains("Npgsql", StringComparison.Ordinal) == true;
        var connection = db.Database.GetDbConnection();
        var opened = connection.State != System.Data.ConnectionState.Open;
        if (opened)
        {
            await connection.OpenAsync(ct);
        }

        try
        {
            await using var command = connection.CreateCommand();
            var from = From(selection, prefix, command, out var group, out var name);
            // Ordinal project order on PostgreSQL whatever the database's collation ("C"); SQLite compares bytes anyway.
            var ordinal = postgres ? " COLLATE \"C\"" : "";
            var order = selection.Project is not null ? name : $"{group}{ordinal}, {name}";
            var where = new List<string>(from.Where);
            if (selection.After is { } after)
            {
                where.Add(selection.Project is not null
                    ? $"{name} > {Parameter(command, after.Name)}"
                    : $"({group}{ordinal} > {Parameter(command, after.Group)}{ordinal} OR ({group} = {Parameter(command, after.Group)} AND {name} > {Parameter(command, after.Name)}))");
            }

            // The page is cut first on the indexed columns alone; only its rows are joined to their triggers' states.
            command.CommandText =
                $"SELECT p.g, p.n, s.trigger_state FROM (SELECT {group} AS g, {name} AS n FROM {from.Tables} WHERE {string.Join(" AND ", where)} " +
                $"ORDER BY {order} LIMIT {Parameter(command, take + 1)} OFFSET {Parameter(command, skip)}) p " +
                $"LEFT JOIN {prefix}triggers s ON s.sched_name = {Parameter(command, SchedulerHosting.SchedulerName)} AND s.trigger_name = p.n AND s.trigger_group = p.g " +
                $"ORDER BY p.g{ordinal}, p.n";
            var rows = new List<(JobKey, TriggerState)>(take + 1);
            await using (var reader = await command.ExecuteReaderAsync(ct))
            {
                while (await reader.ReadAsync(ct))
                {
                    rows.Add((new JobKey(reader.GetString(1), reader.GetString(0)), StateOf(reader.IsDBNull(2) ? null : reader.GetString(2))));
                }
            }

            int? total = null;
            if (count)
            {
                await using var counting = connection.CreateCommand();
                var counted = From(selection, prefix, counting, out _, out _);
                counting.CommandText = countLimit is { } limit
                    ? $"SELECT COUNT(*) FROM (SELECT 1 AS x FROM {counted.Tables} WHERE {string.Join(" AND ", counted.Where)} LIMIT {Parameter(counting, limit + 1)}) c"
                    : $"SELECT COUNT(*) FROM {counted.Tables} WHERE {string.Join(" AND ", counted.Where)}";
                total = Convert.ToInt32(await counting.ExecuteScalarAsync(ct), CultureInfo.InvariantCulture);
                if (total > countLimit)
                {
                    total = null;
                }
            }

            var hasMore = rows.Count > take;
            return new ScheduleKeyPage(hasMore ? rows[..take] : rows, total, hasMore);
        }
        finally
        {
            if (opened)
            {
                await connection.CloseAsync();
            }
        }
    }

    /// <summary>Which of <paramref name="keys"/> are stored jobs: one statement per project and 500 names, not one per key.</summary>
    public async Task<IReadOnlyList<JobKey>> ExistingAsync(IEnumerable<JobKey> keys, CancellationToken ct)
    {
        var prefix = options.Value.Database.TablePrefix;
        var connection = db.Database.GetDbConnection();
        var opened = connection.State != System.Data.ConnectionState.Open;
        if (opened)
        {
            await connection.OpenAsync(ct);
        }

        try
        {
            var existing = new List<JobKey>();
            foreach (var group in keys.GroupBy(k => k.Group))
            {
                foreach (var chunk in group.Select(k => k.Name).Chunk(500))
                {
                    await using var command = connection.CreateCommand();
                    command.CommandText =
                        $"SELECT job_name FROM {prefix}job_details WHERE sched_name = {Parameter(command, SchedulerHosting.SchedulerName)} " +
                        $"AND job_group = {Parameter(command, group.Key)} AND job_name IN ({string.Join(", ", chunk.Select(n => Parameter(command, n)))})";
                    await using var reader = await command.ExecuteReaderAsync(ct);
                    while (await reader.ReadAsync(ct))
                    {
                        existing.Add(new JobKey(reader.GetString(0), group.Key));
                    }
                }
            }

            return existing;
        }
        finally
        {
            if (opened)
            {
                await connection.CloseAsync();
            }
        }
    }

    /// <summary>
    /// The tables and conditions of a selection. Without an action type (the job's class) the trigger table alone
    /// answers a state filter — the schedule's own trigger has the job's name and group — through its (group, name)
    /// index; with one, jobs and triggers are joined. 'complete' is a schedule whose trigger is gone (or done), so it
    /// is read from the jobs. Every value is a parameter; only table and column names are written into the text.
    /// </summary>
    private (string Tables, List<string> Where) From(ScheduleSelection selection, string prefix, DbCommand command, out string group, out string name)
    {
        var where = new List<string>();
        var scheduler = Parameter(command, SchedulerHosting.SchedulerName);
        string tables;
        var stateCondition = selection.State switch
        {
            null => null,
            "active" => $"t.trigger_state NOT IN ({NotActive})",
            "paused" => "t.trigger_state IN ('PAUSED', 'PAUSED_BLOCKED')",
            "running" => "t.trigger_state = 'BLOCKED'",
            "error" => "t.trigger_state = 'ERROR'",
            "complete" => "(t.trigger_state IS NULL OR t.trigger_state = 'COMPLETE')",
            _ => "1 = 0",
        };
        // Text search reads the jobs: the search index (ScheduleListIndexes, PostgreSQL) is on the jobs' ids.
        if (selection.ActionType is null && stateCondition is not null && selection.State != "complete" && string.IsNullOrWhiteSpace(selection.Search))
        {
            tables = $"{prefix}triggers t";
            group = "t.trigger_group";
            name = "t.trigger_name";
            where.Add($"t.sched_name = {scheduler}");
            where.Add("t.job_name = t.trigger_name AND t.job_group = t.trigger_group");
        }
        else
        {
            tables = stateCondition is null
                ? $"{prefix}job_details j"
                : $"{prefix}job_details j {(selection.State == "complete" ? "LEFT " : "")}JOIN {prefix}triggers t " +
                  "ON t.sched_name = j.sched_name AND t.trigger_name = j.job_name AND t.trigger_group = j.job_group";
            group = "j.job_group";
            name = "j.job_name";
            where.Add($"j.sched_name = {scheduler}");
        }

        if (stateCondition is not null)
        {
            where.Add(stateCondition);
        }

        if (selection.Project is not null)
        {
            where.Add($"{group} = {Parameter(command, selection.Project)}");
        }
        else
        {
            // The server's own jobs ('_' groups: housekeeping, pipeline runs) are never schedules.
            where.Add($"SUBSTR({group}, 1, 1) <> '{ScheduleService.SystemGroupPrefix}'");
        }

        if (selection.AllowedProjects is { } allowed)
        {
            where.Add(allowed.Count == 0 ? "1 = 0" : $"{group} IN ({string.Join(", ", allowed.Select(p => Parameter(command, p)))})");
        }

        if (selection.ActionType is not null)
        {
            if (actions.TryGet(selection.ActionType, out var action))
            {
                // Quartz stores the class as 'Namespace.Type, Assembly'.
                where.Add($"(j.job_class_name = {Parameter(command, action.JobType.FullName!)} OR j.job_class_name LIKE {Parameter(command, Escape(action.JobType.FullName!) + ",%")} ESCAPE '\\')");
            }
            else
            {
                where.Add("1 = 0");
            }
        }

        if (!string.IsNullOrWhiteSpace(selection.Search))
        {
            var pattern = Parameter(command, "%" + Escape(selection.Search.Trim().ToLowerInvariant()) + "%");
            where.Add($"LOWER({group} || '.' || {name}) LIKE {pattern} ESCAPE '\\'");
        }

        return (tables, where);
    }

    /// <summary>The trigger state as Quartz's ADO.NET store reads it (GetTriggerState); no trigger is Complete.</summary>
    private static TriggerState StateOf(string? stored) => stored switch
    {
        null or "COMPLETE" => TriggerState.Complete,
        "PAUSED" or "PAUSED_BLOCKED" => TriggerState.Paused,
        "ERROR" => TriggerState.Error,
        "BLOCKED" => TriggerState.Blocked,
        "DELETED" => TriggerState.None,
        _ => TriggerState.Normal,
    };

    private static string Escape(string text) =>
        text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("%", "\\%", StringComparison.Ordinal).Replace("_", "\\_", StringComparison.Ordinal);

    private static string Parameter(DbCommand command, object value)
    {
        var parameter = command.CreateParameter();
        parameter.ParameterName = $"@p{command.Parameters.Count}";
        parameter.Value = value;
        command.Parameters.Add(parameter);
        return parameter.ParameterName;
    }

    /// <summary>An opaque cursor for the schedule after which the next page starts.</summary>
    public static string Cursor(JobKey key) =>
        Convert.ToBase64String(JsonSerializer.SerializeToUtf8Bytes(new[] { key.Group, key.Name })).TrimEnd('=').Replace('+', '-').Replace('/', '_');

    /// <summary>The schedule a cursor names, or null when it is not one this server wrote.</summary>
    public static JobKey? ParseCursor(string cursor)
    {
        try
        {
            var base64 = cursor.Replace('-', '+').Replace('_', '/');
            base64 = base64.PadRight(base64.Length + ((4 - (base64.Length % 4)) % 4), '=');
            var parts = JsonSerializer.Deserialize<string[]>(Encoding.UTF8.GetString(Convert.FromBase64String(base64)));
            return parts is [{ } group, { } name] ? new JobKey(name, group) : null;
        }
        catch (Exception ex) when (ex is FormatException or JsonException)
        {
            return null;
        }
    }
}
