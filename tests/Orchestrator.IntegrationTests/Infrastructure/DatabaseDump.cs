using System.Text;
using Npgsql;

namespace Orchestrator.IntegrationTests.Infrastructure;

/// <summary>What a failed cluster test prints: the Quartz tables that drive recovery and the run ledger.</summary>
public static class DatabaseDump
{
    public static async Task<string> QuartzAndLedgerAsync(string connectionString)
    {
        var text = new StringBuilder();
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        foreach (var sql in new[]
        {
            "SELECT instance_name, last_checkin_time, checkin_interval FROM qrtz_scheduler_state",
            "SELECT entry_id, trigger_name, trigger_group, instance_name, state, sched_time, requests_recovery FROM qrtz_fired_triggers",
            "SELECT trigger_name, trigger_group, trigger_state, next_fire_time, prev_fire_time FROM qrtz_triggers",
            "SELECT schedule_id, scheduled_fire_time, status, triggered_by, attempt, node, idempotency_key, error FROM runs ORDER BY scheduled_fire_time",
        })
        {
            text.AppendLine("-- " + sql);
            await using var command = new NpgsqlCommand(sql, connection);
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync())
            {
                text.AppendLine(string.Join(" | ", Enumerable.Range(0, reader.FieldCount).Select(i => reader.IsDBNull(i) ? "null" : Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture))));
            }
        }

        return text.ToString();
    }
}
