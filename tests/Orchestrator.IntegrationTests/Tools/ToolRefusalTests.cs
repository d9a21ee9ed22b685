using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Tools;

/// <summary>
/// Tool configs and arguments that were stored or run though they could not mean what they say (issue 10, item 6):
/// refused at registration with a 422 naming the field, and a NUL in an argument is refused instead of cutting it short.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class ToolRefusalTests
{
    private InProcessServer server = null!;
    private HttpClient admin = null!;

    private static readonly JsonObject TextParameters = new()
    {
        ["type"] = "object",
        ["properties"] = new JsonObject { ["text"] = new JsonObject { ["type"] = "string" } },
    };

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        var database = await TestPostgres.CreateDatabaseAsync("toolrefusal");
        server = InProcessServer.Start(PostgresNode.Environment(database));
        await server.WaitUntilReadyAsync();
        admin = server.CreateClient(server.PrintedAdminKey);
        await RegisterAsync("say", TextParameters, new JsonObject { ["argv"] = new JsonArray("printf", "[%s]", "{{args.text}}") }, HttpStatusCode.Created);
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

    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, JsonNode body) =>
        await admin.SendAsync(new HttpRequestMessage(method, path) { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") });

    private async Task RegisterAsync(string name, JsonNode parameters, JsonNode config, HttpStatusCode expected, string kind = "command")
    {
        var response = await SendAsync(HttpMethod.Post, "/api/tools", new JsonObject { ["name"] = name, ["kind"] = kind, ["parameters"] = parameters.DeepClone(), ["config"] = config.DeepClone() });
        Assert.That(response.StatusCode, Is.EqualTo(expected), await response.Content.ReadAsStringAsync());
    }

    private static IEnumerable<TestCaseData> BadConfigs()
    {
        TestCaseData Case(string name, string kind, JsonNode parameters, JsonNode config, string field) =>
            new TestCaseData(kind, parameters, config, field).SetName("refused tool: " + name);
        JsonArray Argv(params string[] items) => new([.. items.Select(i => (JsonNode)JsonValue.Create(i))]);
        yield return Case("command with shell: true", "command", TextParameters, new JsonObject { ["argv"] = Argv("echo", "{{args.text}}"), ["shell"] = true }, "config.shell");
        yield return Case("command with an env setting", "command", TextParameters, new JsonObject { ["argv"] = Argv("echo"), ["env"] = new JsonObject { ["A"] = "1" } }, "config.env");
        yield return Case("command timeout negative", "command", TextParameters, new JsonObject { ["argv"] = Argv("echo"), ["timeoutSeconds"] = -5 }, "config.timeoutSeconds");
        yield return Case("command timeout huge", "command", TextParameters, new JsonObject { ["argv"] = Argv("echo"), ["timeoutSeconds"] = 99_999_999 }, "config.timeoutSeconds");
        yield return Case("command timeout a string", "command", TextParameters, new JsonObject { ["argv"] = Argv("echo"), ["timeoutSeconds"] = "60" }, "config.timeoutSeconds");
        yield return Case("command NUL in argv", "command", TextParameters, new JsonObject { ["argv"] = Argv("echo", "a\0b") }, "config.argv[1]");
        yield return Case("command argument naming no parameter", "command", TextParameters, new JsonObject { ["argv"] = Argv("echo", "--name={{args.name}}") }, "config.argv[1]");
        yield return Case("command argument with no parameters declared", "command", new JsonObject { ["type"] = "object" }, new JsonObject { ["argv"] = Argv("echo", "{{args.text}}") }, "config.argv[1]");
        yield return Case("parameters a string schema", "command", new JsonObject { ["type"] = "string" }, new JsonObject { ["argv"] = Argv("echo") }, "parameters.type");
        yield return Case("parameters without a type", "command", new JsonObject { ["properties"] = new JsonObject() }, new JsonObject { ["argv"] = Argv("echo") }, "parameters.type");
        yield return Case("http url naming no parameter", "http", TextParameters, new JsonObject { ["url"] = "https://api.example.com/{{args.id}}" }, "config.url");
        yield return Case("http body naming no parameter", "http", TextParameters, new JsonObject { ["url"] = "https://api.example.com/", ["body"] = new JsonObject { ["a"] = new JsonArray("{{args.other}}") } }, "config.body.a[0]");
        yield return Case("http unknown property", "http", TextParameters, new JsonObject { ["url"] = "https://api.example.com/", ["shell"] = true }, "config.shell");
        yield return Case("http parameters an array schema", "http", new JsonObject { ["type"] = "array" }, new JsonObject { ["url"] = "https://api.example.com/" }, "parameters.type");
    }

    [TestCaseSource(nameof(BadConfigs))]
    public async Task A_tool_config_that_could_not_work_as_written_is_a_422_naming_the_field_and_nothing_is_stored(string kind, JsonNode parameters, JsonNode config, string field)
    {
        var before = await admin.GetStringAsync("/api/tools");
        foreach (var (method, path) in new[] { (HttpMethod.Post, "/api/tools"), (HttpMethod.Put, "/api/tools/say") })
        {
            var body = new JsonObject { ["name"] = method == HttpMethod.Post ? "bad" : "say", ["kind"] = kind, ["parameters"] = parameters.DeepClone(), ["config"] = config.DeepClone() };
            var problem = await ApiAssertions.AssertProblemAsync(await SendAsync(method, path, body), HttpStatusCode.UnprocessableEntity);
            Assert.That(problem.GetProperty("errors").TryGetProperty(field, out _), Is.True, $"{method}: expected an error for '{field}': {problem}");
        }

        Assert.That(await admin.GetStringAsync("/api/tools"), Is.EqualTo(before), "nothing stored changed");
    }

    [Test]
    public async Task A_NUL_in_a_tool_description_or_invoke_project_is_a_422_not_a_500()
    {
        var before = await admin.GetStringAsync("/api/tools");
        var body = new JsonObject { ["name"] = "described", ["description"] = "a\0b", ["kind"] = "command", ["parameters"] = new JsonObject { ["type"] = "object" }, ["config"] = new JsonObject { ["argv"] = new JsonArray("true") } };
        var problem = await ApiAssertions.AssertProblemAsync(await SendAsync(HttpMethod.Post, "/api/tools", body), HttpStatusCode.UnprocessableEntity);
        Assert.That(problem.GetProperty("errors").TryGetProperty("description", out _), Is.True, problem.ToString());
        Assert.That(await admin.GetStringAsync("/api/tools"), Is.EqualTo(before));

        var invoke = await SendAsync(HttpMethod.Post, "/api/tools/say/invoke", new JsonObject { ["project"] = "default\0", ["arguments"] = new JsonObject { ["text"] = "x" } });
        problem = await ApiAssertions.AssertProblemAsync(invoke, HttpStatusCode.UnprocessableEntity);
        Assert.That(problem.GetProperty("errors").TryGetProperty("project", out _), Is.True, problem.ToString());
    }

    [Test]
    public async Task A_NUL_in_a_command_argument_is_a_422_naming_it_not_an_argument_cut_short()
    {
        foreach (var route in new[] { "/api/tools/say/validate", "/api/tools/say/invoke" })
        {
            var response = await SendAsync(HttpMethod.Post, route, new JsonObject { ["arguments"] = new JsonObject { ["text"] = "a\0b" } });
            var problem = await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity);
            Assert.That(problem.GetProperty("errors").TryGetProperty("arguments.text", out var reasons), Is.True, problem.ToString());
            Assert.That(reasons.ToString(), Does.Contain("NUL"));
        }

        // The same text without the NUL runs, so the refusal is about the NUL alone.
        var ok = await admin.PostForJsonAsync("/api/tools/say/invoke", new { arguments = new { text = "ab" } }, HttpStatusCode.OK);
        Assert.That(ok.GetProperty("result").GetProperty("stdout").GetString(), Is.EqualTo("[ab]"), ok.ToString());
    }

    [Test]
    public async Task An_integer_argument_beyond_64_bits_is_a_422_naming_it_not_a_500()
    {
        var parameters = new JsonObject { ["type"] = "object", ["properties"] = new JsonObject { ["n"] = new JsonObject { ["type"] = "integer", ["maximum"] = 10 } } };
        await RegisterAsync("count", parameters, new JsonObject { ["argv"] = new JsonArray("echo", "{{args.n}}") }, HttpStatusCode.Created);
        foreach (var route in new[] { "/api/tools/count/validate", "/api/tools/count/invoke" })
        {
            var response = await admin.PostAsync(route, new StringContent("""{"arguments": {"n": 9223372036854775808}}""", Encoding.UTF8, "application/json"));
            var problem = await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity);
            Assert.That(problem.GetProperty("errors").TryGetProperty("arguments.n", out _), Is.True, problem.ToString());
        }
    }

    [Test]
    public async Task A_run_task_run_whose_argument_has_a_NUL_fails_naming_the_argument()
    {
        // Created while the tool did not pass 'note' to its process, so the schedule was valid then; the tool's new
        // version does, and the run checks the arguments against the version it runs.
        var parameters = new JsonObject { ["type"] = "object", ["properties"] = new JsonObject { ["note"] = new JsonObject { ["type"] = "string" } } };
        await RegisterAsync("note", parameters, new JsonObject { ["argv"] = new JsonArray("true") }, HttpStatusCode.Created);
        var schedule = new JsonObject
        {
            ["name"] = "noted",
            ["action"] = new JsonObject { ["type"] = "run_task", ["config"] = new JsonObject { ["tool"] = "note", ["arguments"] = new JsonObject { ["note"] = "a\0b" } } },
            ["trigger"] = new JsonObject { ["cron"] = "0 0 3 1 1 ?" },
        };
        Assert.That((await SendAsync(HttpMethod.Post, "/api/schedules", schedule)).StatusCode, Is.EqualTo(HttpStatusCode.Created));
        var replaced = await SendAsync(HttpMethod.Put, "/api/tools/note", new JsonObject { ["kind"] = "command", ["parameters"] = parameters.DeepClone(), ["config"] = new JsonObject { ["argv"] = new JsonArray("printf", "%s", "{{args.note}}") } });
        Assert.That(replaced.StatusCode, Is.EqualTo(HttpStatusCode.OK), await replaced.Content.ReadAsStringAsync());

        await admin.PostForJsonAsync("/api/schedules/default.noted/run", null, HttpStatusCode.Accepted);
        var runs = await Poll.UntilAsync(() => admin.RunsAsync("default.noted"), r => r.Count == 1 && r[0].Status() is "succeeded" or "failed", TimeSpan.FromSeconds(30), "the run-now run");
        Assert.That(runs[0].Status(), Is.EqualTo("failed"), runs[0].ToString());
        Assert.That(runs[0].GetProperty("error").GetString(), Does.Contain(": note contains a NUL character"), runs[0].ToString());
    }
}
