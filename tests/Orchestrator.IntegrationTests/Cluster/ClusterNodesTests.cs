using System.Diagnostics;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Cluster;

[TestFixture]
[Category("Cluster")]
[NonParallelizable]
public sealed class ClusterNodesTests
{
    private sealed record Node(string InstanceId, string State, bool IsThisNode, DateTimeOffset? LastCheckIn);

    private static async Task<List<Node>> NodesAsync(HttpClient http)
    {
        var json = await http.GetFromJsonAsync<JsonElement>("/api/cluster/nodes");
        return
        [
            .. json.EnumerateArray().Select(n => new Node(
                n.GetProperty("instanceId").GetString()!,
                n.GetProperty("state").GetString()!,
                n.GetProperty("isThisNode").GetBoolean(),
                n.GetProperty("lastCheckIn").ValueKind == JsonValueKind.Null ? null : n.GetProperty("lastCheckIn").GetDateTimeOffset())),
        ];
    }

    private static async Task<string> DumpSchedulerStateAsync(string connectionString)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT instance_name, last_checkin_time, checkin_interval FROM qrtz_scheduler_state", connection);
        await using var reader = await command.ExecuteReaderAsync();
        var rows = new List<string>();
        while (await reader.ReadAsync())
        {
            rows.Add($"{reader.GetString(0)} checkin={reader.GetInt64(1)} interval={reader.GetInt64(2)}");
        }

        return "qrtz_scheduler_state:\n" + string.Join("\n", rows);
    }

    [Test]
    public async Task Two_nodes_on_one_database_both_appear_and_a_killed_node_drops_out_within_a_bounded_time()
    {
        var database = await TestPostgres.CreateDatabaseAsync("cluster");
        var environment = PostgresNode.Environment(database);

        // The first node migrates and bootstraps; the second joins an existing database.
        await using var survivor = ServerProcess.Start(environment);
        await survivor.WaitUntilReadyAsync();
        var key = survivor.PrintedAdminKey!;
        await using var victim = ServerProcess.Start(environment);
        await victim.WaitUntilReadyAsync();
        Assert.That(victim.PrintedAdminKey, Is.Null, "only one node creates the first admin key");

        using var http = survivor.CreateClient(key);
        using var victimHttp = victim.CreateClient(key);
        var victimId = (await NodesAsync(victimHttp)).Single(n => n.IsThisNode).InstanceId;
        var survivorId = (await NodesAsync(http)).Single(n => n.IsThisNode).InstanceId;
        Assert.That(victimId, Is.Not.EqualTo(survivorId), "each node generates its own instance id");

        var deadline = Stopwatch.StartNew();
        List<Node> nodes = [];
        while (deadline.Elapsed < TimeSpan.FromSeconds(20))
        {
            nodes = await NodesAsync(http);
            if (nodes.Any(n => n.InstanceId == victimId && n.State == "alive") && nodes.Any(n => n.InstanceId == survivorId && n.State == "alive"))
            {
                break;
            }

            await Task.Delay(250);
        }

        Assert.That(nodes.Select(n => n.InstanceId), Is.SupersetOf(new[] { victimId, survivorId }), await DumpSchedulerStateAsync(database));
        Assert.That(nodes.Single(n => n.InstanceId == victimId).LastCheckIn, Is.Not.Null);

        victim.Kill();
        var killedAt = Stopwatch.StartNew();

        // Check-in 1 s + threshold 2 s: the cluster should write the node off in a few seconds; 30 s is the bound.
        string? lastSeenState = "alive";
        while (killedAt.Elapsed < TimeSpan.FromSeconds(30))
        {
            nodes = await NodesAsync(http);
            lastSeenState = nodes.SingleOrDefault(n => n.InstanceId == victimId)?.State;
            if (lastSeenState is null or "failed")
            {
                break;
            }

            await Task.Delay(250);
        }

        Assert.That(lastSeenState, Is.Null.Or.EqualTo("failed"),
            $"the killed node is still reported '{lastSeenState}' after {killedAt.Elapsed}.\n{await DumpSchedulerStateAsync(database)}");
        // The survivor stays listed and is not written off; on a loaded machine its own 1 s check-in can be a moment
        // late, which Quartz reports as "overdue" rather than "alive".
        Assert.That(nodes.Single(n => n.InstanceId == survivorId).State, Is.EqualTo("alive").Or.EqualTo("overdue"));
        await TestContext.Out.WriteLineAsync($"killed node dropped out after {killedAt.Elapsed.TotalSeconds:F1} s");
    }
}
