using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Schedules;

/// <summary>
/// What a tired operator or an attacker sends. Every case must be a 4xx problem that names the field, and the
/// stored schedules must be exactly what they were. The node has no outbound allowlist.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class ScheduleBadInputTests
{
    private InProcessServer server = null!;
    private HttpClient admin = null!;
    private Dictionary<string, string?> environment = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        var database = await TestPostgres.CreateDatabaseAsync("badinput");
        environment = PostgresNode.Environment(database, new Dictionary<string, string?> { ["Orchestrator__Secrets__KNOWN"] = "value-1234" });
        server = InProcessServer.Start(environment, listenOnLoopback: true);
        await server.WaitUntilReadyAsync();
        admin = server.CreateClient(server.PrintedAdminKey);
        // One valid schedule, so "unchanged" is checked against a non-empty list and duplicates can be tried.
        await admin.CreateScheduleAsync(JsonSerializer.Deserialize<JsonElement>(Valid().ToJsonString()));
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

    private static JsonObject Valid() => new()
    {
        ["name"] = "existing",
        ["action"] = new JsonObject
        {
            ["type"] = "call_api",
            ["config"] = new JsonObject { ["method"] = "POST", ["url"] = "https://api.example.com/hook", ["headers"] = new JsonObject { ["X-Token"] = "{{secret:KNOWN}}" } },
        },
        ["trigger"] = new JsonObject { ["cron"] = "0 0 3 * * ?", ["timeZone"] = "Europe/Paris" },
    };

    private static TestCaseData Case(string name, string field, Action<JsonObject> mutate) =>
        new TestCaseData(mutate, field).SetName("bad schedule: " + name);

    private static JsonObject Config(JsonObject s) => s["action"]!["config"]!.AsObject();

    private static JsonObject Trigger(JsonObject s) => s["trigger"]!.AsObject();

    private static IEnumerable<TestCaseData> Corpus()
    {
        yield return Case("name missing", "name", s => s.Remove("name"));
        yield return Case("name with a dot", "name", s => s["name"] = "a.b");
        yield return Case("name too long", "name", s => s["name"] = new string('n', 101));
        yield return Case("name with a space", "name", s => s["name"] = "two words");
        yield return Case("name with traversal", "name", s => s["name"] = "../../etc");
        yield return Case("unknown project", "project", s => s["project"] = "no-such-project");
        yield return Case("project not a slug", "project", s => s["project"] = "Bad Project!");
        yield return Case("description too long", "description", s => s["description"] = new string('d', 1001));
        yield return Case("action missing", "action", s => s.Remove("action"));
        yield return Case("action type missing", "action.type", s => s["action"]!.AsObject().Remove("type"));
        yield return Case("action type unknown", "action.type", s => s["action"]!["type"] = "run_sql");
        yield return Case("config missing (call_api: its url)", "action.config", s => s["action"]!.AsObject().Remove("config"));
        yield return Case("config a string", "action.config", s => s["action"]!["config"] = "https://x");
        yield return Case("url missing", "action.config", s => Config(s).Remove("url"));
        yield return Case("url not a URL", "action.config.url", s => Config(s)["url"] = "not a url");
        yield return Case("url ftp", "action.config.url", s => Config(s)["url"] = "ftp://files.example.com/x");
        yield return Case("url file", "action.config.url", s => Config(s)["url"] = "file:///etc/passwd");
        yield return Case("url loopback 127.0.0.1", "action.config.url", s => Config(s)["url"] = "http://127.0.0.1:8080/admin");
        yield return Case("url cloud metadata", "action.config.url", s => Config(s)["url"] = "http://169.254.169.254/latest/meta-data/");
        yield return Case("url private 10.x", "action.config.url", s => Config(s)["url"] = "http://10.1.2.3/internal");
        yield return Case("url private 192.168.x", "action.config.url", s => Config(s)["url"] = "http://192.168.1.1/");
        yield return Case("url private 172.16.x", "action.config.url", s => Config(s)["url"] = "https://172.16.0.5/");
        yield return Case("url localhost", "action.config.url", s => Config(s)["url"] = "http://localhost:5000/");
        yield return Case("url IPv6 loopback", "action.config.url", s => Config(s)["url"] = "http://[::1]/");
        yield return Case("url IPv4-mapped IPv6 loopback", "action.config.url", s => Config(s)["url"] = "http://[::ffff:127.0.0.1]/");
        yield return Case("url 0.0.0.0", "action.config.url", s => Config(s)["url"] = "http://0.0.0.0/");
        yield return Case("url with credentials", "action.config.url", s => Config(s)["url"] = "https://user:pass@api.example.com/");
        yield return Case("url too long", "action.config.url", s => Config(s)["url"] = "https://api.example.com/" + new string('a', 2100));
        yield return Case("method unknown", "action.config.method", s => Config(s)["method"] = "FETCH");
        yield return Case("config timeout zero", "action.config.timeoutSeconds", s => Config(s)["timeoutSeconds"] = 0);
        yield return Case("config timeout a string", "action.config.timeoutSeconds", s => Config(s)["timeoutSeconds"] = "ten");
        yield return Case("header value a number", "action.config.headers", s => Config(s)["headers"] = new JsonObject { ["X-Count"] = 5 });
        yield return Case("header name with a space", "action.config.headers.Bad Header", s => Config(s)["headers"] = new JsonObject { ["Bad Header"] = "x" });
        yield return Case("header CRLF injection", "action.config.headers.X-Evil", s => Config(s)["headers"] = new JsonObject { ["X-Evil"] = "a\r\nSet-Cookie: x=1" });
        yield return Case("header overriding Host", "action.config.headers.Host", s => Config(s)["headers"] = new JsonObject { ["Host"] = "internal" });
        yield return Case("header with unknown secret", "action.config.headers.X-Token", s => Config(s)["headers"] = new JsonObject { ["X-Token"] = "{{secret:NOPE}}" });
        yield return Case("header with a malformed secret reference", "action.config.headers.X-Token", s => Config(s)["headers"] = new JsonObject { ["X-Token"] = "{{secret: KNOWN}}" });
        yield return Case("body with a malformed secret reference", "action.config.body.t", s => Config(s)["body"] = new JsonObject { ["t"] = "{{Secret:KNOWN}}" });
        yield return Case("secret in Content-Type", "action.config.headers.Content-Type", s => Config(s)["headers"] = new JsonObject { ["Content-Type"] = "{{secret:KNOWN}}" });
        yield return Case("unknown config property", "action.config.foo", s => Config(s)["foo"] = 1);
        yield return Case("accepted status out of range", "action.config.acceptedStatusCodes", s => Config(s)["acceptedStatusCodes"] = new JsonArray(200, 700));
        yield return Case("body over 256 KiB", "action.config.body", s => Config(s)["body"] = new string('b', 300 * 1024));
        yield return Case("trigger missing", "trigger", s => s.Remove("trigger"));
        yield return Case("two trigger forms", "trigger", s => Trigger(s)["intervalSeconds"] = 30);
        yield return Case("no trigger form", "trigger", s => s["trigger"] = new JsonObject { ["timeZone"] = "UTC" });
        yield return Case("cron minute 61", "trigger.cron", s => Trigger(s)["cron"] = "0 61 * * * ?");
        yield return Case("cron unix five fields", "trigger.cron", s => Trigger(s)["cron"] = "*/5 * * * *");
        yield return Case("cron garbage", "trigger.cron", s => Trigger(s)["cron"] = "every day at noon");
        yield return Case("cron never fires again", "trigger.cron", s => Trigger(s)["cron"] = "0 0 0 1 1 ? 2001");
        yield return Case("time zone unknown", "trigger.timeZone", s => Trigger(s)["timeZone"] = "Mars/Olympus_Mons");
        yield return Case("time zone traversal", "trigger.timeZone", s => Trigger(s)["timeZone"] = "../../../../etc/passwd");
        yield return Case("interval zero", "trigger.intervalSeconds", s => s["trigger"] = new JsonObject { ["intervalSeconds"] = 0 });
        yield return Case("interval negative", "trigger.intervalSeconds", s => s["trigger"] = new JsonObject { ["intervalSeconds"] = -5 });
        yield return Case("interval not ISO", "trigger.interval", s => s["trigger"] = new JsonObject { ["interval"] = "5 minutes" });
        yield return Case("interval fractional", "trigger.interval", s => s["trigger"] = new JsonObject { ["interval"] = "PT1.5S" });
        yield return Case("one-time in the past under skip", "trigger.at", s =>
        {
            s["trigger"] = new JsonObject { ["at"] = "2020-01-01T00:00:00Z" };
            s["misfire"] = new JsonObject { ["policy"] = "skip" };
        });
        yield return Case("one-time without offset", "trigger.at", s => s["trigger"] = new JsonObject { ["at"] = "2030-01-01T09:00:00" });
        yield return Case("one-time not a date", "trigger.at", s => s["trigger"] = new JsonObject { ["at"] = "tomorrow" });
        yield return Case("calendar every zero", "trigger.every", s => s["trigger"] = new JsonObject { ["every"] = 0, ["unit"] = "day" });
        yield return Case("calendar unit unknown", "trigger.unit", s => s["trigger"] = new JsonObject { ["every"] = 2, ["unit"] = "fortnight" });
        yield return Case("end before start", "trigger.endAt", s =>
        {
            Trigger(s)["startAt"] = "2031-01-02T00:00:00Z";
            Trigger(s)["endAt"] = "2031-01-01T00:00:00Z";
        });
        yield return Case("max runs zero", "trigger.maxRuns", s => Trigger(s)["maxRuns"] = 0);
        yield return Case("misfire policy unknown", "misfire.policy", s => s["misfire"] = new JsonObject { ["policy"] = "sometimes" });
        yield return Case("misfire threshold negative", "misfire.thresholdSeconds", s => s["misfire"] = new JsonObject { ["thresholdSeconds"] = -1 });
        yield return Case("concurrency unknown", "concurrency", s => s["concurrency"] = "maybe");
        yield return Case("retry attempts too many", "retry.maxAttempts", s => s["retry"] = new JsonObject { ["maxAttempts"] = 50 });
        yield return Case("retry backoff unknown", "retry.backoff", s => s["retry"] = new JsonObject { ["backoff"] = "linear" });
        yield return Case("retry max delay below initial", "retry.maxDelaySeconds", s => s["retry"] = new JsonObject { ["initialDelaySeconds"] = 60, ["maxDelaySeconds"] = 5 });
        yield return Case("schedule timeout zero", "timeoutSeconds", s => s["timeoutSeconds"] = 0);
        yield return Case("execution group with spaces", "executionGroup", s => s["executionGroup"] = "a b");
        yield return Case("notification to an unknown channel", "action.config.channel", s => s["action"] = new JsonObject
        {
            ["type"] = "send_notification",
            ["config"] = new JsonObject { ["channel"] = "no-such-channel", ["message"] = "disk full" },
        });
    }

    private async Task<string> ScheduleIdsAsync()
    {
        var list = await admin.GetFromJsonAsync<JsonElement>("/api/schedules?pageSize=200");
        return string.Join(",", list.GetProperty("items").EnumerateArray().Select(s => s.GetProperty("id").GetString() + "@" + s.GetProperty("action").GetRawText()));
    }

    [TestCaseSource(nameof(Corpus))]
    public async Task Is_refused_with_a_problem_naming_the_field_and_nothing_changes(Action<JsonObject> mutate, string field)
    {
        var before = await ScheduleIdsAsync();
        var body = Valid();
        body["name"] = "candidate";
        mutate(body);
        var response = await admin.PostAsync("/api/schedules", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        var problem = await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity);
        var fields = problem.GetProperty("errors").EnumerateObject().Select(p => p.Name).ToList();
        Assert.That(fields.Any(f => f == field || f.StartsWith(field + ".", StringComparison.Ordinal) || f.StartsWith(field + "[", StringComparison.Ordinal)),
            Is.True, $"expected an error for '{field}', got: {problem}");
        Assert.That(await ScheduleIdsAsync(), Is.EqualTo(before));
    }

    [TestCase("{\"name\": 42}", "$.name")]
    [TestCase("{\"name\": \"x\", \"trigger\": \"every day\"}", "$.trigger")]
    [TestCase("{\"name\": \"x\", \"trigger\": {\"intervalSeconds\": \"ten\"}}", "$.trigger.intervalSeconds")]
    [TestCase("{\"name\": \"x\", \"enabled\": \"yes\"}", "$.enabled")]
    [TestCase("[1, 2, 3]", "$")]
    [TestCase("{\"name\": \"x\"", "$")]
    public async Task Wrong_json_types_are_400_naming_the_path(string body, string path)
    {
        var before = await ScheduleIdsAsync();
        var response = await admin.PostAsync("/api/schedules", new StringContent(body, Encoding.UTF8, "application/json"));
        var problem = await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.That(problem.GetProperty("detail").GetString(), Does.Contain(path));
        Assert.That(await ScheduleIdsAsync(), Is.EqualTo(before));
    }

    [Test]
    public async Task A_body_over_one_megabyte_is_413()
    {
        var before = await ScheduleIdsAsync();
        var body = Valid();
        body["name"] = "huge";
        body["description"] = new string('x', 2 * 1024 * 1024);
        var response = await admin.PostAsync("/api/schedules", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.RequestEntityTooLarge);
        Assert.That(await ScheduleIdsAsync(), Is.EqualTo(before));
    }

    [Test]
    public async Task A_duplicate_name_is_409_and_the_original_is_untouched()
    {
        var duplicate = Valid();
        Config(duplicate)["url"] = "https://other.example.com/";
        var response = await admin.PostAsync("/api/schedules", new StringContent(duplicate.ToJsonString(), Encoding.UTF8, "application/json"));
        await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.Conflict);
        var existing = await admin.GetFromJsonAsync<JsonElement>("/api/schedules/default.existing");
        Assert.That(existing.GetProperty("action").GetProperty("config").GetProperty("url").GetString(), Is.EqualTo("https://api.example.com/hook"));
    }

    [TestCase("GET", "/api/schedules/default.nope")]
    [TestCase("DELETE", "/api/schedules/default.nope")]
    [TestCase("POST", "/api/schedules/default.nope/pause")]
    [TestCase("POST", "/api/schedules/default.nope/resume")]
    [TestCase("POST", "/api/schedules/default.nope/run")]
    [TestCase("GET", "/api/schedules/default.nope/runs")]
    [TestCase("GET", "/api/schedules/default.nope/misfires")]
    [TestCase("GET", "/api/runs/00000000-0000-0000-0000-000000000001")]
    [TestCase("POST", "/api/runs/00000000-0000-0000-0000-000000000001/cancel")]
    public async Task Unknown_ids_are_404_problems(string method, string path)
    {
        var response = await admin.SendAsync(new HttpRequestMessage(new HttpMethod(method), path));
        await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.NotFound);
    }

    private static IEnumerable<TestCaseData> BadReplacements()
    {
        yield return new TestCaseData((Action<JsonObject>)(s => Trigger(s)["cron"] = "not cron")).SetName("bad replace: cron");
        yield return new TestCaseData((Action<JsonObject>)(s =>
        {
            s["misfire"] = new JsonObject { ["policy"] = "sometimes" };
            s["enabled"] = false;
        })).SetName("bad replace: misfire policy, with enabled false");
        yield return new TestCaseData((Action<JsonObject>)(s => s["name"] = "renamed")).SetName("bad replace: name not the URL's");
        yield return new TestCaseData((Action<JsonObject>)(s => Config(s)["url"] = "http://169.254.169.254/")).SetName("bad replace: url cloud metadata");
    }

    [TestCaseSource(nameof(BadReplacements))]
    public async Task Replacing_with_an_invalid_definition_keeps_the_stored_one(Action<JsonObject> mutate)
    {
        var before = await admin.GetStringAsync("/api/schedules/default.existing");
        var bad = Valid();
        mutate(bad);
        var response = await admin.PutAsync("/api/schedules/default.existing", new StringContent(bad.ToJsonString(), Encoding.UTF8, "application/json"));
        await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity);
        Assert.That(await admin.GetStringAsync("/api/schedules/default.existing"), Is.EqualTo(before), "the schedule reads back exactly as before");
    }

    [TestCase("{\"count\": 5}", "trigger")]
    [TestCase("{\"trigger\": {\"cron\": \"0 0 3 * * ?\"}, \"count\": 0}", "count")]
    [TestCase("{\"trigger\": {\"cron\": \"0 0 3 * * ?\"}, \"count\": 5000}", "count")]
    [TestCase("{\"trigger\": {\"cron\": \"61 * * * * ?\"}}", "trigger.cron")]
    public async Task Invalid_previews_are_422(string body, string field)
    {
        var response = await admin.PostAsync("/api/schedules/preview", new StringContent(body, Encoding.UTF8, "application/json"));
        var problem = await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity);
        Assert.That(problem.GetProperty("errors").TryGetProperty(field, out _), Is.True, problem.ToString());
    }

    [TestCase("{\"from\": \"2026-01-02T00:00:00Z\", \"to\": \"2026-01-01T00:00:00Z\"}", "to")]
    [TestCase("{\"to\": \"2026-01-01T00:00:00Z\"}", "from")]
    [TestCase("{\"from\": \"yesterday\", \"to\": \"2026-01-01T00:00:00Z\"}", "from")]
    [TestCase("{\"from\": \"2026-01-01T00:00:00Z\", \"to\": \"2999-01-01T00:00:00Z\"}", "to")]
    public async Task Invalid_backfills_are_422(string body, string field)
    {
        var response = await admin.PostAsync("/api/schedules/default.existing/backfill", new StringContent(body, Encoding.UTF8, "application/json"));
        var problem = await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity);
        Assert.That(problem.GetProperty("errors").TryGetProperty(field, out _), Is.True, problem.ToString());
    }

    [Test]
    public async Task A_viewer_cannot_create_or_run_schedules()
    {
        var (exitCode, output) = await ServerProcess.RunCommandAsync(environment, server.WorkingDirectory, "keys", "create", "--role", "viewer");
        Assert.That(exitCode, Is.Zero, output);
        using var viewer = server.CreateClient(output.Split('\n').Select(l => l.Trim()).Single(l => l.StartsWith("orch_", StringComparison.Ordinal)));
        await ApiAssertions.AssertProblemAsync(await viewer.PostAsync("/api/schedules", ApiClient.Json(new { name = "v" })), HttpStatusCode.Forbidden);
        await ApiAssertions.AssertProblemAsync(await viewer.PostAsync("/api/schedules/default.existing/run", null), HttpStatusCode.Forbidden);
        Assert.That((await viewer.GetAsync("/api/schedules/default.existing")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }
}
