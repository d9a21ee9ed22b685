using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using Orchestrator.IntegrationTests.Infrastructure;
using Orchestrator.Schedules;

namespace Orchestrator.IntegrationTests.Schedules;

/// <summary>
/// The schedule list's indexes on PostgreSQL (issue 13 item 6): the server builds a pg_trgm index on what <c>q</c>
/// searches, covering indexes for pages by state (all, and the paused or failed) and one in the list's order across projects once Quartz's tables exist, both valid; and <c>q</c> still finds
/// exactly the ids holding its text, LIKE's wildcards and escape character taken literally, with and without a state.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class ScheduleListIndexTests
{
    private InProcessServer server = null!;
    private HttpClient admin = null!;
    private string database = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        var workspaces = Directory.CreateTempSubdirectory("orchestrator-listindex-ws-").FullName;
        database = await TestPostgres.CreateDatabaseAsync("listindex");
        server = InProcessServer.Start(PostgresNode.Environment(database, new Dictionary<string, string?> { ["Orchestrator__Workspaces__Roots__0"] = workspaces }));
        await server.WaitUntilReadyAsync();
        admin = server.CreateClient(server.PrintedAdminKey);
        // 'a_b1' holds a literal '_'; 'axb1' is what '_' as a wildcard would also match; 'ab_1' and 'a__b' what a
        // wildcard or a dropped escape would. 'zz-a_b2' created paused, to search within a state too.
        var names = new[] { "a_b1", "axb1", "ab_1", "a__b", "zz-a_b2", "other" };
        var items = names.Select(name => new
        {
            name,
            action = new { type = "noop", config = new { } },
            trigger = new { cron = "0 0 3 1 1 ?" },
            enabled = !name.StartsWith("zz", StringComparison.Ordinal),
        });
        await admin.PostForJsonAsync("/api/schedules/batch", new { items }, HttpStatusCode.Created);
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        admin?.Dispose();
        if (server is not null)
        {
            await server.DisposeAsync();
        }
    }

    [Test]
    public async Task The_search_list_held_and_order_indexes_are_built_valid_on_Quartz_s_tables()
    {
        await using var connection = new NpgsqlConnection(database);
        await connection.OpenAsync();

        async Task<string> DefinitionAsync(string name)
        {
            await using var command = new NpgsqlCommand(
                "SELECT CASE WHEN i.indisvalid THEN pg_get_indexdef(i.indexrelid) ELSE 'invalid' END FROM pg_index i WHERE i.indexrelid = to_regclass(@name)", connection);
            command.Parameters.AddWithValue("name", name);
            return await command.ExecuteScalarAsync() as string ?? "missing";
        }

        // Built in the background after the start: waited for, not assumed.
        var search = await Poll.UntilAsync(() => DefinitionAsync(ScheduleListIndexes.SearchIndexName("qrtz_")), d => d.StartsWith("CREATE", StringComparison.Ordinal),
            TimeSpan.FromMinutes(2), "the search index");
        Assert.That(search, Does.Contain("qrtz_job_details USING gin").And.Contain("gin_trgm_ops").And.Contain("lower("));
        var list = await Poll.UntilAsync(() => DefinitionAsync(ScheduleListIndexes.ListIndexName("qrtz_")), d => d.StartsWith("CREATE", StringComparison.Ordinal),
            TimeSpan.FromMinutes(2), "the list index");
        Assert.That(list, Does.Contain("qrtz_triggers").And.Contain("INCLUDE (trigger_state, job_group)").And.Contain("WHERE (job_name = trigger_name)"));
        var held = await Poll.UntilAsync(() => DefinitionAsync(ScheduleListIndexes.HeldIndexName("qrtz_")), d => d.StartsWith("CREATE", StringComparison.Ordinal),
            TimeSpan.FromMinutes(2), "the held index");
        Assert.That(held, Does.Contain("qrtz_triggers").And.Contain("PAUSED_BLOCKED").And.Contain("ERROR"));
        var order = await Poll.UntilAsync(() => DefinitionAsync(ScheduleListIndexes.OrderIndexName("qrtz_")), d => d.StartsWith("CREATE", StringComparison.Ordinal),
            TimeSpan.FromMinutes(2), "the order index");
        Assert.That(order, Does.Contain("qrtz_job_details").And.Contain("job_group COLLATE \"C\""));
    }

    [TestCase("a_b", "", new[] { "default.a_b1", "default.zz-a_b2" })]
    [TestCase("A_B", "", new[] { "default.a_b1", "default.zz-a_b2" })]
    [TestCase("a_b", "&state=active", new[] { "default.a_b1" })]
    [TestCase("a_b", "&state=paused", new[] { "default.zz-a_b2" })]
    [TestCase("b1", "&project=default", new[] { "default.a_b1", "default.axb1" })]
    [TestCase("__", "", new[] { "default.a__b" })]
    [TestCase("%", "", new string[0])]
    [TestCase("a%b", "", new string[0])]
    [TestCase("a\\_b", "", new string[0])]
    [TestCase("\\", "", new string[0])]
    [TestCase("default.ot", "", new[] { "default.other" })]
    public async Task Q_finds_exactly_the_ids_holding_its_text_with_wildcards_and_escapes_taken_literally(string q, string filters, string[] expected)
    {
        var page = await admin.GetFromJsonAsync<JsonElement>($"/api/schedules?q={Uri.EscapeDataString(q)}{filters}&pageSize=50");
        var ids = page.GetProperty("items").EnumerateArray().Select(s => s.GetProperty("id").GetString()).ToList();
        Assert.That(ids, Is.EqualTo(expected), $"q={q}{filters}");
        Assert.That(page.GetProperty("total").GetInt32(), Is.EqualTo(expected.Length));
    }
}
