using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Schedules;

/// <summary>
/// Schedules at scale (issue 13 item 6): the batch create (all or nothing, one 422 naming items[i].field, audited per
/// schedule) and the list read from Quartz's tables in the database — filters by project, action type, state and text,
/// pages by number with a total or by cursor, in one stable order. On PostgreSQL and on the SQLite default.
/// </summary>
[TestFixture(true)]
[TestFixture(false)]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class ScheduleScaleTests(bool postgres)
{
    private const int Count = 240;
    private InProcessServer server = null!;
    private HttpClient admin = null!;
    private string workspaces = null!;

    /// <summary>The ids the batch created, in list order (name order within the project).</summary>
    private List<string> ids = null!;

    private static object Item(string name, string project, bool enabled, string type = "noop") => new
    {
        name,
        project,
        action = type == "noop" ? (object)new { type, config = new { } } : new { type, config = new { url = "https://api.example.com/x" } },
        // Yearly: nothing fires while the test runs, so each state is the one the batch set.
        trigger = new { cron = "0 0 3 1 1 ?" },
        enabled,
    };

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        workspaces = Directory.CreateTempSubdirectory("orchestrator-scale-ws-").FullName;
        var settings = new Dictionary<string, string?> { ["Orchestrator__Workspaces__Roots__0"] = workspaces };
        server = postgres
            ? InProcessServer.Start(PostgresNode.Environment(await TestPostgres.CreateDatabaseAsync("scale"), settings))
            : InProcessServer.Start(settings);
        await server.WaitUntilReadyAsync();
        admin = server.CreateClient(server.PrintedAdminKey);
        foreach (var project in new[] { "many", "other", "empty" })
        {
            await admin.PostForJsonAsync("/api/projects", new { id = project, name = project, rootPath = Path.Combine(workspaces, project) }, HttpStatusCode.Created);
        }

        // Every third paused, every fifth a call_api; created in reverse so the list's order is the store's, not the batch's.
        var names = Enumerable.Range(0, Count).Select(i => $"s{i:D4}").ToList();
        var items = names.AsEnumerable().Reverse().Select(n =>
        {
            var i = int.Parse(n[1..], CultureInfo.InvariantCulture);
            return Item(n, "many", enabled: i % 3 != 0, type: i % 5 == 0 ? "call_api" : "noop");
        }).ToList();
        var created = await admin.PostForJsonAsync("/api/schedules/batch", new { items }, HttpStatusCode.Created);
        Assert.That(created.GetProperty("created").GetInt32(), Is.EqualTo(Count));
        await admin.PostForJsonAsync("/api/schedules/batch", new { items = new[] { Item("elsewhere", "other", true) } }, HttpStatusCode.Created);
        ids = [.. names.Select(n => $"many.{n}")];
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

    private async Task<List<string>> WalkByCursorAsync(string filters, int pageSize)
    {
        var listed = new List<string>();
        string? cursor = null;
        for (var guard = 0; guard < 1000; guard++)
        {
            var page = await admin.GetFromJsonAsync<JsonElement>(
                $"/api/schedules?{filters}&pageSize={pageSize}{(cursor is null ? "" : "&cursor=" + Uri.EscapeDataString(cursor))}");
            listed.AddRange(page.GetProperty("items").EnumerateArray().Select(s => s.GetProperty("id").GetString()!));
            if (cursor is not null)
            {
                Assert.That(page.GetProperty("total").ValueKind, Is.EqualTo(JsonValueKind.Null), "a cursor page counts nothing");
            }

            if (!page.GetProperty("hasMore").GetBoolean())
            {
                Assert.That(page.GetProperty("nextCursor").ValueKind, Is.EqualTo(JsonValueKind.Null));
                return listed;
            }

            cursor = page.GetProperty("nextCursor").GetString();
        }

        throw new AssertionException("the cursor never reached the end");
    }

    [Test]
    public async Task A_batch_creates_each_schedule_in_its_state_and_audits_each()
    {
        var paused = await admin.GetFromJsonAsync<JsonElement>("/api/schedules/many.s0003");
        Assert.That(paused.GetProperty("state").GetString(), Is.EqualTo("paused"));
        var active = await admin.GetFromJsonAsync<JsonElement>("/api/schedules/many.s0004");
        Assert.That(active.GetProperty("state").GetString(), Is.EqualTo("active"));
        Assert.That(active.GetProperty("nextFireTime").GetDateTimeOffset().Month, Is.EqualTo(1));
        var call = await admin.GetFromJsonAsync<JsonElement>("/api/schedules/many.s0005");
        Assert.That(call.GetProperty("action").GetProperty("type").GetString(), Is.EqualTo("call_api"));

        var audit = await admin.GetFromJsonAsync<JsonElement>("/api/audit?resource=schedule:many.s0004&action=schedule.create");
        Assert.That(audit.GetProperty("items").GetArrayLength(), Is.EqualTo(1));
        var all = await admin.GetFromJsonAsync<JsonElement>("/api/audit?action=schedule.create&project=many&pageSize=200");
        Assert.That(all.GetProperty("items").GetArrayLength(), Is.EqualTo(200), "one entry per schedule (the first page of 240)");
    }

    [Test]
    public async Task A_batch_with_bad_items_names_each_and_stores_nothing()
    {
        var items = new object[]
        {
            Item("fine-1", "empty", true),
            new { name = "bad-cron", project = "empty", action = new { type = "noop", config = new { } }, trigger = new { cron = "not a cron" } },
            Item("fine-1", "empty", true),
            new { name = "no-project", project = "nowhere", action = new { type = "noop", config = new { } }, trigger = new { cron = "0 0 3 1 1 ?" } },
        };
        using var response = await admin.PostAsJsonAsync("/api/schedules/batch", new { items });
        var problem = await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity);
        var errors = problem.GetProperty("errors").EnumerateObject().Select(e => e.Name).ToList();
        Assert.That(errors, Does.Contain("items[1].trigger.cron").Or.Contain("items[1].trigger"), string.Join(", ", errors));
        Assert.That(errors, Does.Contain("items[2].name"));
        Assert.That(errors, Does.Contain("items[3].project"));
        Assert.That(errors.Any(e => e.StartsWith("items[0]", StringComparison.Ordinal)), Is.False);

        var listed = await admin.GetFromJsonAsync<JsonElement>("/api/schedules?project=empty");
        Assert.That(listed.GetProperty("total").GetInt32(), Is.Zero, "nothing of the batch was stored");
    }

    [Test]
    public async Task A_batch_naming_an_existing_schedule_is_a_conflict_and_stores_nothing()
    {
        using var response = await admin.PostAsJsonAsync("/api/schedules/batch", new { items = new[] { Item("new-one", "other", true), Item("elsewhere", "other", true) } });
        var problem = await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.Conflict);
        Assert.That(problem.GetProperty("detail").GetString(), Does.Contain("items[1]").And.Contain("other.elsewhere"));
        using var missing = await admin.GetAsync("/api/schedules/other.new-one");
        Assert.That(missing.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task A_batch_over_the_cap_or_empty_is_refused_naming_items()
    {
        var tooMany = Enumerable.Range(0, 1001).Select(i => Item($"cap-{i}", "empty", true)).ToList();
        using var over = await admin.PostAsJsonAsync("/api/schedules/batch", new { items = tooMany });
        var problem = await ApiAssertions.AssertProblemAsync(over, HttpStatusCode.UnprocessableEntity);
        Assert.That(problem.GetProperty("errors").GetProperty("items")[0].GetString(), Does.Contain("at most 1000"));
        using var empty = await admin.PostAsJsonAsync("/api/schedules/batch", new { items = Array.Empty<object>() });
        await ApiAssertions.AssertProblemAsync(empty, HttpStatusCode.UnprocessableEntity);
    }

    [Test]
    public async Task Pages_by_number_and_by_cursor_list_each_schedule_once_in_the_same_order()
    {
        var byCursor = await WalkByCursorAsync("project=many", 37);
        Assert.That(byCursor, Is.EqualTo(ids));

        var byNumber = new List<string>();
        for (var page = 1; page <= 7; page++)
        {
            var listed = await admin.GetFromJsonAsync<JsonElement>($"/api/schedules?project=many&page={page}&pageSize=37");
            Assert.That(listed.GetProperty("total").GetInt32(), Is.EqualTo(Count));
            Assert.That(listed.GetProperty("hasMore").GetBoolean(), Is.EqualTo(page < 7));
            byNumber.AddRange(listed.GetProperty("items").EnumerateArray().Select(s => s.GetProperty("id").GetString()!));
        }

        Assert.That(byNumber, Is.EqualTo(ids));
        // Across projects: 'many' before 'other', and the server's own jobs never.
        Assert.That(await WalkByCursorAsync("", 100), Is.EqualTo(ids.Append("other.elsewhere")));
    }

    [Test]
    public async Task State_action_type_and_text_filters_page_what_matched_and_count_it()
    {
        static int N(string id) => int.Parse(id[^4..], CultureInfo.InvariantCulture);
        var paused = ids.Where(i => N(i) % 3 == 0).ToList();
        var activeCalls = ids.Where(i => N(i) % 3 != 0 && N(i) % 5 == 0).ToList();

        Assert.That(await WalkByCursorAsync("project=many&state=paused", 25), Is.EqualTo(paused));
        Assert.That(await WalkByCursorAsync("state=active&actionType=call_api", 9), Is.EqualTo(activeCalls));
        var second = await admin.GetFromJsonAsync<JsonElement>("/api/schedules?project=many&state=paused&page=2&pageSize=25");
        Assert.That(second.GetProperty("total").GetInt32(), Is.EqualTo(paused.Count));
        Assert.That(second.GetProperty("items").EnumerateArray().Select(s => s.GetProperty("id").GetString()), Is.EqualTo(paused.Skip(25).Take(25)));
        Assert.That(second.GetProperty("items").EnumerateArray().All(s => s.GetProperty("state").GetString() == "paused"), Is.True);

        // Text in the id, case-insensitive, with LIKE's wildcards taken literally.
        var found = await admin.GetFromJsonAsync<JsonElement>("/api/schedules?q=S012");
        Assert.That(found.GetProperty("items").EnumerateArray().Select(s => s.GetProperty("id").GetString()), Is.EqualTo(ids.Where(i => i.Contains("s012", StringComparison.Ordinal))));
        Assert.That(found.GetProperty("total").GetInt32(), Is.EqualTo(10));
        var literal = await admin.GetFromJsonAsync<JsonElement>("/api/schedules?q=s_01");
        Assert.That(literal.GetProperty("total").GetInt32(), Is.Zero, "'_' is not a wildcard");
        var byProjectText = await admin.GetFromJsonAsync<JsonElement>("/api/schedules?q=other.");
        Assert.That(byProjectText.GetProperty("items").EnumerateArray().Select(s => s.GetProperty("id").GetString()), Is.EqualTo(new[] { "other.elsewhere" }));

        // A project that is not there (or the server's own group) is a 404 naming it, not an empty page.
        foreach (var unknown in new[] { "project=_system", "project=nowhere" })
        {
            await ApiAssertions.AssertProblemAsync(await admin.GetAsync($"/api/schedules?{unknown}"), HttpStatusCode.NotFound);
        }

        // A state or action type that does not exist is a typo, refused naming it, not an empty list.
        foreach (var (query, field) in new[] { ("state=sleeping", "state"), ("actionType=nothing", "actionType") })
        {
            using var refused = await admin.GetAsync($"/api/schedules?{query}");
            var problem = await ApiAssertions.AssertProblemAsync(refused, HttpStatusCode.UnprocessableEntity);
            Assert.That(problem.GetProperty("errors").TryGetProperty(field, out _), Is.True, query);
        }
    }

    [Test]
    public async Task A_cursor_this_list_did_not_give_out_is_refused_naming_it()
    {
        using var response = await admin.GetAsync("/api/schedules?cursor=not-a-cursor");
        var problem = await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity);
        Assert.That(problem.GetProperty("errors").TryGetProperty("cursor", out _), Is.True);
    }
}
