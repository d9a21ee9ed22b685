using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Schedules;

/// <summary>
/// Input that was a 500 or was stored as given though it could never work (issue 10, items 5 and 6): each is a 422
/// (or a 400 for a body that cannot be read) naming the field, and nothing stored changes.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class ScheduleRefusalTests
{
    private InProcessServer server = null!;
    private HttpClient admin = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        var database = await TestPostgres.CreateDatabaseAsync("refusals");
        server = InProcessServer.Start(PostgresNode.Environment(database));
        await server.WaitUntilReadyAsync();
        admin = server.CreateClient(server.PrintedAdminKey);
        await admin.CreateScheduleAsync(JsonSerializer.Deserialize<JsonElement>(Valid("existing").ToJsonString()));
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

    private static JsonObject Valid(string name) => new()
    {
        ["name"] = name,
        ["action"] = new JsonObject { ["type"] = "call_api", ["config"] = new JsonObject { ["url"] = "https://api.example.com/hook" } },
        ["trigger"] = new JsonObject { ["cron"] = "0 0 3 * * ?", ["timeZone"] = "Europe/Paris" },
    };

    private static StringContent Body(string json) => new(json, Encoding.UTF8, "application/json");

    private async Task<string> StoredAsync()
    {
        var list = await admin.GetFromJsonAsync<JsonElement>("/api/schedules?pageSize=200");
        return list.GetProperty("items").GetRawText();
    }

    /// <summary>Create must be a 422 naming <paramref name="field"/>, and a PUT of the same over 'existing' too; nothing stored changes.</summary>
    private async Task AssertRefusedOnCreateAndReplaceAsync(JsonObject schedule, string field)
    {
        var before = await StoredAsync();
        foreach (var (method, path, body) in new[] { ("POST", "/api/schedules", schedule.ToJsonString()), ("PUT", "/api/schedules/default.existing", WithName(schedule, "existing")) })
        {
            var response = await admin.SendAsync(new HttpRequestMessage(new HttpMethod(method), path) { Content = Body(body) });
            var problem = await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity);
            Assert.That(problem.GetProperty("errors").TryGetProperty(field, out _), Is.True, $"{method}: expected an error for '{field}': {problem}");
        }

        Assert.That(await StoredAsync(), Is.EqualTo(before), "nothing stored changed");
    }

    private static string WithName(JsonObject schedule, string name)
    {
        var copy = schedule.DeepClone().AsObject();
        copy["name"] = name;
        return copy.ToJsonString();
    }

    [TestCase("timeoutSeconds", "9223372036854775808")]
    [TestCase("timeoutSeconds", "-9223372036854775809")]
    [TestCase("maxResponseChars", "18446744073709551616")]
    [TestCase("acceptedStatusCodes", "[200, 99999999999999999999]")]
    public async Task Call_api_numbers_beyond_64_bits_are_a_422_not_a_500(string field, string value)
    {
        var schedule = Valid("huge");
        schedule["action"]!["config"]![field] = JsonNode.Parse(value);
        var expected = value.StartsWith('[') ? $"action.config.{field}[1]" : $"action.config.{field}";
        await AssertRefusedOnCreateAndReplaceAsync(schedule, expected);
    }

    [Test]
    public async Task A_call_api_body_may_still_carry_integers_beyond_64_bits()
    {
        // No schema check reads a body's numbers, so such a number is data to send, not a field to refuse.
        var schedule = Valid("big-body");
        schedule["action"]!["config"]!["body"] = JsonNode.Parse("""{"id": 123456789012345678901234567890}""");
        var created = await admin.CreateScheduleAsync(JsonSerializer.Deserialize<JsonElement>(schedule.ToJsonString()));
        Assert.That(created.GetProperty("action").GetProperty("config").GetProperty("body").GetProperty("id").GetRawText(), Is.EqualTo("123456789012345678901234567890"));
    }

    [Test]
    public async Task A_NUL_in_a_description_is_a_422_not_a_500()
    {
        var schedule = Valid("nul-description");
        schedule["description"] = "a\0b";
        await AssertRefusedOnCreateAndReplaceAsync(schedule, "description");
    }

    [TestCase("send_notification", "channel")]
    [TestCase("run_task", "tool")]
    public async Task A_NUL_in_a_name_the_action_looks_up_is_a_422_not_a_500(string type, string field)
    {
        var schedule = Valid("nul-lookup");
        schedule["action"] = new JsonObject
        {
            ["type"] = type,
            ["config"] = type == "run_task" ? new JsonObject { ["tool"] = "files.list\0" } : new JsonObject { ["channel"] = "ops\0", ["message"] = "m" },
        };
        await AssertRefusedOnCreateAndReplaceAsync(schedule, $"action.config.{field}");
    }

    [TestCase("/api/runs?scheduleId=default.a%00b")]
    [TestCase("/api/runs?project=a%00b")]
    [TestCase("/api/pipelines?project=a%00b")]
    public async Task A_NUL_that_reaches_a_database_query_is_a_400_problem_not_a_500(string path)
    {
        var problem = await ApiAssertions.AssertProblemAsync(await admin.GetAsync(path), HttpStatusCode.BadRequest);
        Assert.That(problem.GetProperty("detail").GetString(), Does.Contain("NUL"));
    }

    [TestCase("P1000000000D")]
    [TestCase("PT99999999999999999999S")]
    public async Task Interval_of_a_billion_days_is_a_422_not_a_500(string interval)
    {
        var schedule = Valid("long-interval");
        schedule["trigger"] = new JsonObject { ["interval"] = interval };
        await AssertRefusedOnCreateAndReplaceAsync(schedule, "trigger.interval");
    }

    private static IEnumerable<TestCaseData> FarInstants()
    {
        foreach (var instant in new[] { "0001-01-01T00:00:00Z", "9999-12-31T00:00:00Z" })
        {
            var year = instant[..4];
            yield return new TestCaseData(new JsonObject { ["cron"] = "0 0 3 * * ?", ["startAt"] = instant }, "trigger.startAt").SetName($"cron starting in year {year}");
            yield return new TestCaseData(new JsonObject { ["intervalSeconds"] = 60, ["startAt"] = instant }, "trigger.startAt").SetName($"interval starting in year {year}");
            yield return new TestCaseData(new JsonObject { ["every"] = 1, ["unit"] = "day", ["startAt"] = instant }, "trigger.startAt").SetName($"calendar starting in year {year}");
            yield return new TestCaseData(new JsonObject { ["cron"] = "0 0 3 * * ?", ["endAt"] = instant }, "trigger.endAt").SetName($"cron ending in year {year}");
            yield return new TestCaseData(new JsonObject { ["at"] = instant }, "trigger.at").SetName($"one-time at in year {year}");
        }

        // Within the accepted range but past the last year Quartz's cron computes: it would never fire.
        yield return new TestCaseData(new JsonObject { ["cron"] = "0 0 3 * * ?", ["startAt"] = "2900-01-01T00:00:00Z" }, "trigger.cron").SetName("cron starting in year 2900");
    }

    [TestCaseSource(nameof(FarInstants))]
    public async Task Trigger_instants_that_quartz_cannot_fire_are_a_422_not_a_500_or_a_schedule_that_never_fires(JsonObject trigger, string field)
    {
        var schedule = Valid("far");
        schedule["trigger"] = trigger;
        await AssertRefusedOnCreateAndReplaceAsync(schedule, field);
    }

    [Test]
    public async Task A_one_time_at_in_year_0001_is_refused_not_stored_as_a_schedule_that_never_fires()
    {
        var schedule = Valid("ancient");
        schedule["trigger"] = new JsonObject { ["at"] = "0001-01-01T00:00:00Z" };
        await AssertRefusedOnCreateAndReplaceAsync(schedule, "trigger.at");
        await ApiAssertions.AssertProblemAsync(await admin.GetAsync("/api/schedules/default.ancient"), HttpStatusCode.NotFound);
    }

    [TestCase("{\"trigger\": {\"at\": \"0001-01-01T00:00:00Z\"}}", "trigger.at")]
    [TestCase("{\"trigger\": {\"cron\": \"0 0 3 * * ?\", \"startAt\": \"9999-12-31T23:59:59Z\"}}", "trigger.startAt")]
    [TestCase("{\"trigger\": {\"interval\": \"P1000000000D\"}}", "trigger.interval")]
    [TestCase("{\"trigger\": {\"cron\": \"0 0 3 * * ?\", \"timeZone\": \"Europe//Paris\"}}", "trigger.timeZone")]
    public async Task Preview_of_input_that_crashed_or_was_accepted_is_a_422(string body, string field)
    {
        var response = await admin.PostAsync("/api/schedules/preview", Body(body));
        var problem = await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity);
        Assert.That(problem.GetProperty("errors").TryGetProperty(field, out _), Is.True, problem.ToString());
    }

    [Test]
    public async Task Backfill_from_year_0001_is_a_422_naming_from()
    {
        var response = await admin.PostAsync("/api/schedules/default.existing/backfill", Body("{\"from\": \"0001-01-01T00:00:00Z\", \"to\": \"2020-01-01T00:00:00Z\"}"));
        var problem = await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity);
        Assert.That(problem.GetProperty("errors").TryGetProperty("from", out _), Is.True, problem.ToString());
    }

    [Test]
    public async Task Backfill_past_the_slot_limit_is_refused_in_the_products_words_naming_the_limit_not_quartzs_parameter()
    {
        var now = TimeProvider.System.GetUtcNow();
        var minute = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, now.Minute, 0, TimeSpan.Zero);
        var schedule = Valid("every-minute");
        schedule["trigger"] = new JsonObject { ["cron"] = "0 * * * * ?", ["startAt"] = minute.AddDays(-30).ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture) };
        schedule["misfire"] = new JsonObject { ["policy"] = "skip" };
        schedule["enabled"] = false;
        Assert.That((await admin.PostAsync("/api/schedules", Body(schedule.ToJsonString()))).StatusCode, Is.EqualTo(HttpStatusCode.Created));
        var from = minute.AddDays(-29);

        // 29 days of minutes: 41,760 fire times.
        var response = await admin.PostAsync("/api/schedules/default.every-minute/backfill", Body(
            $$"""{"from": "{{from:yyyy-MM-ddTHH:mm:ssZ}}", "to": "{{minute:yyyy-MM-ddTHH:mm:ssZ}}"}"""));
        var problem = await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity);
        var reason = problem.GetProperty("errors").GetProperty("to")[0].GetString();
        Assert.That(reason, Does.Contain("41,760 fire times").And.Contain("at most 1,000 at a time"), problem.ToString());
        Assert.That(reason, Does.Contain($"'to' up to {from.AddMinutes(1000):yyyy-MM-ddTHH:mm:ssZ}"), problem.ToString());
        Assert.That(problem.GetProperty("detail").GetString(), Does.Not.Contain("Parameter").And.Not.Contain("BackfillOptions"));
        var runs = await admin.GetFromJsonAsync<JsonElement>("/api/schedules/default.every-minute/runs");
        Assert.That(runs.GetProperty("total").GetInt32(), Is.Zero, "nothing was scheduled");
    }

    [TestCase("Europe//Paris")]
    [TestCase("europe/paris")]
    [TestCase("posix/Europe/Paris")]
    [TestCase("right/Europe/Paris")]
    [TestCase("Romance Standard Time")]
    [TestCase("Europe/Paris/")]
    public async Task Time_zone_spellings_that_are_not_the_IANA_id_are_refused_not_stored_as_given(string zone)
    {
        var cron = Valid("zoned");
        cron["trigger"]!["timeZone"] = zone;
        await AssertRefusedOnCreateAndReplaceAsync(cron, "trigger.timeZone");

        var calendar = Valid("zoned");
        calendar["trigger"] = new JsonObject { ["every"] = 1, ["unit"] = "day", ["timeZone"] = zone };
        await AssertRefusedOnCreateAndReplaceAsync(calendar, "trigger.timeZone");

        var preview = await admin.PostAsync("/api/schedules/preview", Body(new JsonObject { ["trigger"] = calendar["trigger"]!.DeepClone() }.ToJsonString()));
        Assert.That((await ApiAssertions.AssertProblemAsync(preview, HttpStatusCode.UnprocessableEntity)).GetProperty("errors").TryGetProperty("trigger.timeZone", out _), Is.True);

        var describe = await admin.PostAsync("/api/cron/describe", Body(new JsonObject { ["expression"] = "0 0 3 * * ?", ["timeZone"] = zone }.ToJsonString()));
        Assert.That((await ApiAssertions.AssertProblemAsync(describe, HttpStatusCode.UnprocessableEntity)).GetProperty("errors").TryGetProperty("timeZone", out _), Is.True);
    }

    [TestCase("US/Eastern")]
    [TestCase("Etc/UTC")]
    [TestCase("America/Argentina/Buenos_Aires")]
    public async Task IANA_zone_ids_and_links_are_accepted_and_stored_as_given(string zone)
    {
        var schedule = Valid("zone-" + zone.Replace('/', '-').ToLowerInvariant());
        schedule["trigger"]!["timeZone"] = zone;
        var created = await admin.CreateScheduleAsync(JsonSerializer.Deserialize<JsonElement>(schedule.ToJsonString()));
        Assert.That(created.GetProperty("trigger").GetProperty("timeZone").GetString(), Is.EqualTo(zone));
    }

    private static IEnumerable<TestCaseData> Duplicates()
    {
        TestCaseData Case(string name, string method, string path, string body, string property) =>
            new TestCaseData(method, path, body, property).SetName("duplicate property: " + name);
        yield return Case("schedule name", "POST", "/api/schedules",
            """{"name": "dup", "name": "dup2", "action": {"type": "noop", "config": {}}, "trigger": {"cron": "0 0 3 * * ?"}}""", "name");
        yield return Case("schedule name differing in case", "POST", "/api/schedules",
            """{"name": "dup", "Name": "dup2", "action": {"type": "noop", "config": {}}, "trigger": {"cron": "0 0 3 * * ?"}}""", "name");
        yield return Case("call_api url inside the config", "POST", "/api/schedules",
            """{"name": "dup", "action": {"type": "call_api", "config": {"url": "https://api.example.com/", "url": "https://other.example.com/"}}, "trigger": {"cron": "0 0 3 * * ?"}}""", "url");
        yield return Case("trigger cron on replace", "PUT", "/api/schedules/default.existing",
            """{"action": {"type": "noop", "config": {}}, "trigger": {"cron": "0 0 3 * * ?", "cron": "0 0 4 * * ?"}}""", "cron");
        yield return Case("tool argv", "POST", "/api/tools",
            """{"name": "dup", "kind": "command", "parameters": {"type": "object"}, "config": {"argv": ["true"], "argv": ["false"]}}""", "argv");
        yield return Case("tool parameter schema", "POST", "/api/tools",
            """{"name": "dup", "kind": "command", "parameters": {"type": "object", "type": "string"}, "config": {"argv": ["true"]}}""", "type");
        yield return Case("pipeline node type", "POST", "/api/pipelines",
            """{"id": "dup", "name": "dup", "nodes": [{"id": "a", "type": "action", "type": "condition", "action": {"type": "noop", "config": {}}}]}""", "type");
        yield return Case("pipeline validate", "POST", "/api/pipelines/validate",
            """{"id": "dup", "name": "dup", "name": "again", "nodes": [{"id": "a", "type": "action", "action": {"type": "noop", "config": {}}}]}""", "name");
        yield return Case("channel webhook url", "POST", "/api/channels",
            """{"name": "dup", "kind": "webhook", "webhook": {"url": "https://hooks.example.com/a", "url": "https://hooks.example.com/b"}}""", "url");
        yield return Case("project root", "POST", "/api/projects",
            """{"id": "dup", "name": "dup", "rootPath": "/tmp/a", "rootPath": "/tmp/b"}""", "rootPath");
    }

    [TestCaseSource(nameof(Duplicates))]
    public async Task Duplicate_property_names_are_refused_naming_the_property_not_last_one_wins(string method, string path, string body, string property)
    {
        var before = string.Join("|", await Task.WhenAll(new[] { "/api/schedules?pageSize=200", "/api/tools", "/api/pipelines", "/api/channels", "/api/projects" }.Select(admin.GetStringAsync)));
        var response = await admin.SendAsync(new HttpRequestMessage(new HttpMethod(method), path) { Content = Body(body) });
        var problem = await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.BadRequest);
        var detail = problem.GetProperty("detail").GetString()!;
        Assert.That(detail, Does.Contain($"'{property}'").IgnoreCase.And.Contains("more than once"), detail);
        Assert.That(detail, Does.Not.Contain("Orchestrator."), "the problem is in the product's words, not a .NET type name");
        var after = string.Join("|", await Task.WhenAll(new[] { "/api/schedules?pageSize=200", "/api/tools", "/api/pipelines", "/api/channels", "/api/projects" }.Select(admin.GetStringAsync)));
        Assert.That(after, Is.EqualTo(before), "nothing stored changed");
    }

    /// <summary>
    /// The server's own jobs live in '_' groups of the same Quartz store; a schedule id naming one was parsed like any
    /// other, so an operator could pause the run housekeeping and an admin delete it. Every schedule route answers
    /// such an id as an unknown schedule, and the job is left as it was (delete comes last, so it would show).
    /// </summary>
    [TestCase("_system.run-housekeeping")]
    [TestCase("_pipeline-runs.anything")]
    public async Task A_system_job_id_is_no_schedule_on_any_schedule_route(string id)
    {
        var before = await admin.GetStringAsync("/api/schedules?pageSize=200");
        var backfill = new { from = "2026-01-01T00:00:00Z", to = "2026-01-02T00:00:00Z" };
        var requests = new (HttpMethod Method, string Path, object? Body)[]
        {
            (HttpMethod.Get, $"/api/schedules/{id}", null),
            (HttpMethod.Put, $"/api/schedules/{id}", JsonSerializer.Deserialize<JsonElement>(Valid("ignored").ToJsonString())),
            (HttpMethod.Post, $"/api/schedules/{id}/pause", null),
            (HttpMethod.Post, $"/api/schedules/{id}/resume", null),
            (HttpMethod.Post, $"/api/schedules/{id}/run", null),
            (HttpMethod.Post, $"/api/schedules/{id}/backfill", backfill),
            (HttpMethod.Get, $"/api/schedules/{id}/runs", null),
            (HttpMethod.Get, $"/api/schedules/{id}/misfires", null),
            (HttpMethod.Delete, $"/api/schedules/{id}", null),
        };
        foreach (var (method, path, body) in requests)
        {
            using var request = new HttpRequestMessage(method, path) { Content = body is null ? null : JsonContent.Create(body) };
            var response = await admin.SendAsync(request);
            var problem = await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.NotFound);
            Assert.That(problem.GetProperty("detail").GetString(), Is.EqualTo($"No schedule with id '{id}'."), $"{method} {path}");
        }

        Assert.That(await admin.GetStringAsync("/api/schedules?pageSize=200"), Is.EqualTo(before), "no schedule changed");
    }
}
