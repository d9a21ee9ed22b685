using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Schedules;

/// <summary>
/// The schedule list pages through Quartz's paged job query (issue 11, item 5): more schedules than a page, in three
/// projects of which one ('2nd') sorts before the server's own '_system' group in byte order and two after it (an ICU
/// collation puts '_system' first), so the system jobs must be left out wherever the database sorts them. Every page, filter and total must be as if the whole list were cut.
/// The fixture runs twice: on the test server's byte-order collation, and on an ICU 'en' collation where the '_'
/// groups sort before the digits (Quartz orders its queries in the database's collation).
/// </summary>
[TestFixture(null)]
[TestFixture("en")]
[NonParallelizable]
public sealed class ScheduleListingTests(string? icuLocale)
{
    private static readonly string[] Default = ["default.a1", "default.a2", "default.a3", "default.a4", "default.a5"];
    private static readonly string[] Second = ["2nd.b1", "2nd.b2", "2nd.b3", "2nd.b4"];
    private static readonly string[] Zeta = ["zeta.c1", "zeta.c2", "zeta.c3"];

    /// <summary>The listing's order: group, then name, ordinal ('2' before '_' before 'd' before 'z').</summary>
    private static readonly string[] All = [.. Second, .. Default, .. Zeta];

    private ServerProcess server = null!;
    private HttpClient admin = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        var database = icuLocale is null
            ? await TestPostgres.CreateDatabaseAsync("listing")
            : await TestPostgres.CreateDatabaseAsync("listing_icu", icuLocale);
        var workspaceRoot = Directory.CreateTempSubdirectory("orchestrator-ws-").FullName;
        server = ServerProcess.Start(PostgresNode.Environment(database, new Dictionary<string, string?> { ["Orchestrator__Workspaces__Roots__0"] = workspaceRoot }));
        await server.WaitUntilReadyAsync();
        admin = server.CreateClient(server.PrintedAdminKey);
        foreach (var project in new[] { "2nd", "zeta" })
        {
            await admin.PostForJsonAsync("/api/projects", new { id = project, name = project, rootPath = Path.Combine(workspaceRoot, project) }, HttpStatusCode.Created);
        }

        // Created out of order, so the listing's order is the store's and not the creation order.
        foreach (var id in All.Reverse())
        {
            var dot = id.IndexOf('.', StringComparison.Ordinal);
            var project = id[..dot];
            object action = project == "2nd"
                ? new { type = "call_api", config = new { url = "https://api.example.com/hook" } }
                : new { type = "noop", config = new { } };
            await admin.CreateScheduleAsync(new { name = id[(dot + 1)..], project, action, trigger = new { cron = "0 0 3 1 1 ?" } });
        }

        foreach (var id in new[] { "default.a2", "2nd.b3", "zeta.c1" })
        {
            await admin.PostForJsonAsync($"/api/schedules/{id}/pause", null, HttpStatusCode.OK);
        }
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

    [TestCase(5)]
    [TestCase(4)]
    [TestCase(1)]
    public async Task Pages_of_every_project_hold_each_schedule_once_in_order_and_never_a_system_job(int pageSize)
    {
        var listed = await ReadAllPagesAsync("", pageSize, All.Length);
        Assert.That(listed, Is.EqualTo(All));
    }

    [Test]
    public async Task A_page_past_the_end_is_empty_with_the_total_still_right()
    {
        var page = await admin.GetFromJsonAsync<JsonElement>("/api/schedules?page=4&pageSize=5");
        Assert.That(page.GetProperty("items").GetArrayLength(), Is.Zero);
        Assert.That(page.GetProperty("total").GetInt32(), Is.EqualTo(All.Length));
        Assert.That(page.GetProperty("page").GetInt32(), Is.EqualTo(4));
        Assert.That(page.GetProperty("pageSize").GetInt32(), Is.EqualTo(5));
    }

    [Test]
    public async Task A_project_is_paged_on_its_own()
    {
        Assert.That(await ReadAllPagesAsync("project=default&", 2, Default.Length), Is.EqualTo(Default));
        Assert.That(await ReadAllPagesAsync("project=2nd&", 3, Second.Length), Is.EqualTo(Second));
    }

    [Test]
    public async Task The_state_and_action_type_filters_page_what_matched_and_count_it()
    {
        Assert.That(await ReadAllPagesAsync("state=paused&", 2, 3), Is.EqualTo(new[] { "2nd.b3", "default.a2", "zeta.c1" }));
        Assert.That(await ReadAllPagesAsync("state=active&project=zeta&", 1, 2), Is.EqualTo(new[] { "zeta.c2", "zeta.c3" }));
        Assert.That(await ReadAllPagesAsync("actionType=call_api&", 3, Second.Length), Is.EqualTo(Second));
        Assert.That(await ReadAllPagesAsync("actionType=noop&state=active&", 3, 6),
            Is.EqualTo(new[] { "default.a1", "default.a3", "default.a4", "default.a5", "zeta.c2", "zeta.c3" }));
    }

    [Test]
    public async Task The_server_s_own_groups_are_not_a_project_to_list()
    {
        var problem = await ApiAssertions.AssertProblemAsync(await admin.GetAsync("/api/schedules?project=_system"), HttpStatusCode.NotFound);
        Assert.That(problem.GetProperty("detail").GetString(), Does.Contain("'_system'"));
    }

    [Test]
    public async Task A_project_filter_that_names_nothing_is_a_404_naming_it_on_the_schedule_and_pipeline_lists()
    {
        foreach (var path in new[] { "/api/schedules?project=zeta-typo", "/api/pipelines?project=zeta-typo" })
        {
            var problem = await ApiAssertions.AssertProblemAsync(await admin.GetAsync(path), HttpStatusCode.NotFound);
            Assert.That(problem.GetProperty("detail").GetString(), Does.Contain("project").And.Contain("'zeta-typo'"), path);
        }

        // A project that exists but holds nothing (the seeded default project has no pipeline here) is an empty page.
        Assert.That((await admin.GetFromJsonAsync<JsonElement>("/api/pipelines?project=default")).GetProperty("total").GetInt32(), Is.Zero);

        // A project whose schedules are stored is there (zeta is made by the fixture's schedules).
        Assert.That((await admin.GetFromJsonAsync<JsonElement>("/api/schedules?project=zeta")).GetProperty("total").GetInt32(), Is.GreaterThan(0));
    }

    [Test]
    public async Task A_listed_schedule_is_the_same_document_as_the_one_read_by_id()
    {
        var page = await admin.GetFromJsonAsync<JsonElement>("/api/schedules?project=default&pageSize=2");
        var listed = page.GetProperty("items")[1];
        var read = await admin.GetFromJsonAsync<JsonElement>("/api/schedules/default.a2");
        Assert.That(listed.GetRawText(), Is.EqualTo(read.GetRawText()));
        Assert.That(read.GetProperty("state").GetString(), Is.EqualTo("paused"));
        Assert.That(read.GetProperty("enabled").GetBoolean(), Is.False);
    }

    [Test]
    public async Task Each_listed_schedule_shows_its_own_last_run_read_for_the_whole_page_at_once()
    {
        // Two runs one after the other, so the last one is the later fire time without a tie; zeta.c3 never runs.
        foreach (var expected in new[] { 1, 2 })
        {
            await admin.PostForJsonAsync("/api/schedules/zeta.c2/run", null, HttpStatusCode.Accepted);
            await Poll.UntilAsync(() => admin.RunsAsync("zeta.c2"), r => r.Count == expected && r.All(x => x.Status() == "succeeded"),
                TimeSpan.FromSeconds(30), $"run {expected} of zeta.c2 to succeed");
        }

        var newest = (await admin.RunsAsync("zeta.c2"))[0];
        var page = await admin.GetFromJsonAsync<JsonElement>("/api/schedules?project=zeta");
        var listed = page.GetProperty("items").EnumerateArray().ToDictionary(s => s.GetProperty("id").GetString()!);
        var last = listed["zeta.c2"].GetProperty("lastRun");
        Assert.That(last.GetProperty("id").GetString(), Is.EqualTo(newest.GetProperty("id").GetString()));
        Assert.That(last.GetProperty("status").GetString(), Is.EqualTo("succeeded"));
        Assert.That(last.GetProperty("scheduledFireTime").GetDateTimeOffset(), Is.EqualTo(newest.GetProperty("scheduledFireTime").GetDateTimeOffset()));
        Assert.That(last.GetProperty("finishedAt").GetDateTimeOffset(), Is.EqualTo(newest.GetProperty("finishedAt").GetDateTimeOffset()));
        foreach (var id in new[] { "zeta.c1", "zeta.c3" })
        {
            Assert.That(listed[id].TryGetProperty("lastRun", out var none) ? none.ValueKind : JsonValueKind.Null, Is.EqualTo(JsonValueKind.Null), id);
        }

        var read = await admin.GetFromJsonAsync<JsonElement>("/api/schedules/zeta.c2");
        Assert.That(read.GetProperty("lastRun").GetRawText(), Is.EqualTo(last.GetRawText()), "a schedule read by id has the same last run");
    }

    [TestCase("/api/schedules", "get", "200", new[] { "400" })]
    [TestCase("/api/schedules", "post", "201", new[] { "400", "409", "422" })]
    [TestCase("/api/schedules/preview", "post", "200", new[] { "400", "422" })]
    [TestCase("/api/schedules/{id}", "get", "200", new[] { "404" })]
    [TestCase("/api/schedules/{id}", "put", "200", new[] { "400", "404", "422" })]
    [TestCase("/api/schedules/{id}", "delete", "204", new[] { "404" })]
    [TestCase("/api/schedules/{id}/pause", "post", "200", new[] { "404" })]
    [TestCase("/api/schedules/{id}/resume", "post", "200", new[] { "404" })]
    [TestCase("/api/schedules/{id}/run", "post", "202", new[] { "404" })]
    [TestCase("/api/schedules/{id}/backfill", "post", "200", new[] { "400", "404", "422" })]
    [TestCase("/api/schedules/{id}/runs", "get", "200", new[] { "400", "404", "422" })]
    [TestCase("/api/schedules/{id}/misfires", "get", "200", new[] { "400", "404" })]
    [TestCase("/api/cron/describe", "post", "200", new[] { "400", "422" })]
    [TestCase("/api/cron/parse", "post", "200", new[] { "400", "422" })]
    public async Task The_openapi_document_gives_each_schedule_route_its_response_schema_and_problems(string path, string method, string success, string[] problems)
    {
        using var document = JsonDocument.Parse(await admin.GetStringAsync("/openapi/v1.json"));
        var responses = document.RootElement.GetProperty("paths").GetProperty(path).GetProperty(method).GetProperty("responses");
        Assert.That(responses.EnumerateObject().Select(r => r.Name), Is.SupersetOf(problems.Append(success)), responses.GetRawText());
        if (success != "204")
        {
            Assert.That(responses.GetProperty(success).GetProperty("content").GetProperty("application/json").TryGetProperty("schema", out _), Is.True,
                $"{method} {path} answers a typed body");
        }

        foreach (var status in problems)
        {
            Assert.That(responses.GetProperty(status).GetProperty("content").TryGetProperty("application/problem+json", out _), Is.True,
                $"{method} {path} declares its {status} as a problem");
        }
    }

    /// <summary>Every page of the query, checking that each says the same total; the ids in the order listed.</summary>
    private async Task<List<string>> ReadAllPagesAsync(string query, int pageSize, int expectedTotal)
    {
        var ids = new List<string>();
        var pages = (expectedTotal + pageSize - 1) / pageSize;
        for (var number = 1; number <= pages; number++)
        {
            var page = await admin.GetFromJsonAsync<JsonElement>($"/api/schedules?{query}page={number}&pageSize={pageSize}");
            Assert.That(page.GetProperty("total").GetInt32(), Is.EqualTo(expectedTotal), $"total on page {number} of '{query}'");
            var items = page.GetProperty("items").EnumerateArray().Select(s => s.GetProperty("id").GetString()!).ToList();
            Assert.That(items, Has.Count.EqualTo(Math.Min(pageSize, expectedTotal - ids.Count)), $"items on page {number} of '{query}'");
            ids.AddRange(items);
        }

        return ids;
    }
}
