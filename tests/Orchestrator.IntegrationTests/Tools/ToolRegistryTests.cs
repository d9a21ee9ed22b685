using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Tools;

[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class ToolRegistryTests
{
    private InProcessServer server = null!;
    private HttpClient admin = null!;
    private Dictionary<string, string?> environment = null!;

    private static readonly object ArchiveSchema = new Dictionary<string, object>
    {
        ["type"] = "object",
        ["additionalProperties"] = false,
        ["required"] = new[] { "files", "mode" },
        ["properties"] = new Dictionary<string, object>
        {
            ["mode"] = new { type = "string", @enum = new[] { "zip", "tar" } },
            ["level"] = new { type = "integer", minimum = 0, maximum = 9 },
            ["files"] = new
            {
                type = "array",
                minItems = 1,
                items = new { type = "object", required = new[] { "name" }, properties = new { name = new { type = "string", minLength = 1 }, size = new { type = "integer" } } },
            },
        },
    };

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        var database = await TestPostgres.CreateDatabaseAsync("tools");
        environment = PostgresNode.Environment(database);
        server = InProcessServer.Start(environment);
        await server.WaitUntilReadyAsync();
        admin = server.CreateClient(server.PrintedAdminKey);
        await admin.PostForJsonAsync("/api/tools", new
        {
            name = "archive",
            description = "Archive files in the project",
            kind = "command",
            parameters = ArchiveSchema,
            config = new { argv = new[] { "tar", "-cf", "{{args.mode}}" } },
        }, HttpStatusCode.Created);
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
    public async Task Argument_errors_name_the_path_and_keyword_in_nested_objects_and_arrays()
    {
        var response = await admin.PostAsync("/api/tools/archive/validate", ApiClient.Json(new
        {
            arguments = new { mode = "rar", level = 12, files = new object[] { new { name = "a.txt", size = "big" }, new { size = 3 } }, extra = true },
        }));
        var problem = await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity);
        var errors = problem.GetProperty("argumentErrors").EnumerateArray()
            .Select(e => (Path: e.GetProperty("path").GetString(), Keyword: e.GetProperty("keyword").GetString())).ToList();

        Assert.That(errors, Does.Contain(("$.mode", "enum")));
        Assert.That(errors, Does.Contain(("$.level", "maximum")));
        Assert.That(errors, Does.Contain(("$.files[0].size", "type")));
        Assert.That(errors.Any(e => e.Path is "$.files[1]" or "$.files[1].name" && e.Keyword == "required"), Is.True, problem.ToString());
        Assert.That(errors.Any(e => e.Keyword == "additionalProperties"), Is.True, problem.ToString());
        Assert.That(problem.GetProperty("errors").TryGetProperty("arguments.mode", out _), Is.True);
        // The detail is sentences naming each argument by its path, without the schema's keywords.
        var detail = problem.GetProperty("detail").GetString();
        Assert.That(detail, Does.Contain("level must be at most 9.").And.Contain("mode must be one of \"zip\", \"tar\".").And.Contain("'files[1].name' is required."), detail);
        Assert.That(detail, Does.Not.Contain("keyword").And.Not.Contain("(maximum)"), detail);
    }

    // Draft 2020-12 keywords NJsonSchema parsed and then ignored (so they used to be refused at registration).
    private static readonly object DeploySchema = new Dictionary<string, object>
    {
        ["type"] = "object",
        ["required"] = new[] { "env", "kind" },
        ["properties"] = new Dictionary<string, object>
        {
            ["env"] = new { @enum = new[] { "staging", "prod" } },
            ["kind"] = new Dictionary<string, object> { ["const"] = "service" },
            ["confirm"] = new { type = "boolean" },
            ["pair"] = new Dictionary<string, object> { ["type"] = "array", ["prefixItems"] = new object[] { new { type = "string" }, new { type = "integer" } }, ["items"] = false },
        },
        ["if"] = new { properties = new { env = new Dictionary<string, object> { ["const"] = "prod" } } },
        ["then"] = new Dictionary<string, object> { ["required"] = new[] { "confirm" }, ["properties"] = new { confirm = new Dictionary<string, object> { ["const"] = true } } },
        ["unevaluatedProperties"] = false,
    };

    private static IEnumerable<TestCaseData> DeployViolations()
    {
        TestCaseData Case(string name, object arguments, params string[] expected) => new TestCaseData(arguments, expected).SetName("2020-12 violation: " + name);
        yield return Case("const", new { env = "staging", kind = "job" }, "$.kind const");
        yield return Case("then requires", new { env = "prod", kind = "service" }, "$.confirm required");
        yield return Case("then const", new { env = "prod", kind = "service", confirm = false }, "$.confirm const");
        yield return Case("prefixItems positions", new { env = "staging", kind = "service", pair = new object[] { 1, "x" } }, "$.pair[0] type", "$.pair[1] type");
        yield return Case("items beyond prefixItems", new { env = "staging", kind = "service", pair = new object[] { "a", 1, 2 } }, "$.pair[2] items");
        yield return Case("unevaluatedProperties", new { env = "staging", kind = "service", extra = 1 }, "$.extra unevaluatedProperties");
    }

    private async Task<string> RegisterDeployAsync()
    {
        if (!(await admin.GetAsync("/api/tools/deploy")).IsSuccessStatusCode)
        {
            await admin.PostForJsonAsync("/api/tools", new { name = "deploy", kind = "command", parameters = DeploySchema, config = new { argv = new[] { "true" } } }, HttpStatusCode.Created);
        }

        return "/api/tools/deploy/validate";
    }

    [TestCaseSource(nameof(DeployViolations))]
    public async Task A_schema_with_const_if_then_prefixItems_and_unevaluatedProperties_is_accepted_and_enforced(object arguments, string[] expected)
    {
        var route = await RegisterDeployAsync();
        var problem = await ApiAssertions.AssertProblemAsync(await admin.PostAsync(route, ApiClient.Json(new { arguments })), HttpStatusCode.UnprocessableEntity);
        var errors = problem.GetProperty("argumentErrors").EnumerateArray().ToList();
        Assert.That(errors.Select(e => $"{e.GetProperty("path").GetString()} {e.GetProperty("keyword").GetString()}"), Is.EquivalentTo(expected), problem.ToString());
        Assert.That(errors.Select(e => e.GetProperty("message").GetString()), Has.All.Not.Empty);
    }

    [Test]
    public async Task Arguments_that_meet_const_if_then_and_prefixItems_pass()
    {
        var route = await RegisterDeployAsync();
        foreach (var arguments in new object[] { new { env = "prod", kind = "service", confirm = true, pair = new object[] { "a", 1 } }, new { env = "staging", kind = "service" } })
        {
            var result = await admin.PostForJsonAsync(route, new { arguments }, HttpStatusCode.OK);
            Assert.That(result.GetProperty("valid").GetBoolean(), Is.True);
        }
    }

    [Test]
    public async Task A_const_violation_names_the_value_it_must_be()
    {
        var route = await RegisterDeployAsync();
        var problem = await ApiAssertions.AssertProblemAsync(await admin.PostAsync(route, ApiClient.Json(new { arguments = new { env = "staging", kind = "job" } })), HttpStatusCode.UnprocessableEntity);
        Assert.That(problem.GetProperty("argumentErrors")[0].GetProperty("message").GetString(), Is.EqualTo("must be exactly service."));
    }

    [Test]
    public async Task Valid_arguments_pass_with_the_tool_version()
    {
        var result = await admin.PostForJsonAsync("/api/tools/archive/validate",
            new { arguments = new { mode = "zip", files = new[] { new { name = "a.txt" } } } }, HttpStatusCode.OK);
        Assert.That(result.GetProperty("valid").GetBoolean(), Is.True);
    }

    private static IEnumerable<TestCaseData> BadTools()
    {
        TestCaseData Case(string name, object body, string field) => new TestCaseData(body, field).SetName("bad tool: " + name);
        var ok = new { type = "object" };
        yield return Case("no name", new { kind = "command", parameters = ok, config = new { argv = new[] { "ls" } } }, "name");
        yield return Case("name with slash", new { name = "a/b", kind = "command", parameters = ok, config = new { argv = new[] { "ls" } } }, "name");
        yield return Case("builtin kind", new { name = "x", kind = "builtin", parameters = ok }, "kind");
        yield return Case("unknown kind", new { name = "x", kind = "lambda", parameters = ok }, "kind");
        yield return Case("no schema", new { name = "x", kind = "command", config = new { argv = new[] { "ls" } } }, "parameters");
        yield return Case("unknown type", new { name = "x", kind = "command", parameters = new { type = "strnig" }, config = new { argv = new[] { "ls" } } }, "parameters.type");
        yield return Case("nested unknown type", new { name = "x", kind = "command", parameters = new { type = "object", properties = new { a = new { type = "float" } } }, config = new { argv = new[] { "ls" } } }, "parameters.properties.a.type");
        yield return Case("type a number", new { name = "x", kind = "command", parameters = new { type = "object", properties = new { a = new { type = 5 } } }, config = new { argv = new[] { "ls" } } }, "parameters.properties.a.type");
        yield return Case("minimum a string", new { name = "x", kind = "command", parameters = new { type = "object", minimum = "x" }, config = new { argv = new[] { "ls" } } }, "parameters.minimum");
        yield return Case("local ref to nothing", new { name = "x", kind = "command", parameters = new Dictionary<string, object> { ["type"] = "object", ["properties"] = new Dictionary<string, object> { ["a"] = new Dictionary<string, string> { ["$ref"] = "#/$defs/none" } } }, config = new { argv = new[] { "ls" } } }, "parameters.properties.a.$ref");
        yield return Case("required not an array", new { name = "x", kind = "command", parameters = new { type = "object", required = "a" }, config = new { argv = new[] { "ls" } } }, "parameters.required");
        yield return Case("bad regex", new { name = "x", kind = "command", parameters = new { type = "string", pattern = "([a-z" }, config = new { argv = new[] { "ls" } } }, "parameters.pattern");
        yield return Case("negative maxLength", new { name = "x", kind = "command", parameters = new { type = "string", maxLength = -1 }, config = new { argv = new[] { "ls" } } }, "parameters.maxLength");
        yield return Case("remote ref", new Dictionary<string, object> { ["name"] = "x", ["kind"] = "command", ["parameters"] = new Dictionary<string, string> { ["$ref"] = "http://169.254.169.254/schema.json" }, ["config"] = new { argv = new[] { "ls" } } }, "parameters.$ref");
        yield return Case("schema not an object", new { name = "x", kind = "command", parameters = "object", config = new { argv = new[] { "ls" } } }, "parameters");
        yield return Case("argv missing", new { name = "x", kind = "command", parameters = ok }, "config.argv");
        yield return Case("absolute program", new { name = "x", kind = "command", parameters = ok, config = new { argv = new[] { "/bin/cat", "/etc/passwd" } } }, "config.argv[0]");
        yield return Case("program outside the project", new { name = "x", kind = "command", parameters = ok, config = new { argv = new[] { "../bin/tool" } } }, "config.argv[0]");
        yield return Case("program from an argument", new { name = "x", kind = "command", parameters = ok, config = new { argv = new[] { "{{args.cmd}}" } } }, "config.argv[0]");
        yield return Case("http without url", new { name = "x", kind = "http", parameters = ok, config = new { } }, "config.url");
        yield return Case("invalid result schema", new { name = "x", kind = "command", parameters = ok, result = new { type = "obj" }, config = new { argv = new[] { "ls" } } }, "result.type");
        yield return Case("result schema not an object", new { name = "x", kind = "command", parameters = ok, result = "object", config = new { argv = new[] { "ls" } } }, "result");
        yield return Case("remote ref in a result schema", new { name = "x", kind = "command", parameters = ok, result = new { type = "array", items = new object[] { new Dictionary<string, string> { ["$ref"] = "http://169.254.169.254/r.json" } } }, config = new { argv = new[] { "ls" } } }, "result.items[0].$ref");
        yield return Case("remote ref in a tuple item", new { name = "x", kind = "command", parameters = new { type = "array", items = new object[] { new Dictionary<string, string> { ["$ref"] = "http://169.254.169.254/s.json" } } }, config = new { argv = new[] { "ls" } } }, "parameters.items[0].$ref");
        yield return Case("remote ref in dependencies", new { name = "x", kind = "command", parameters = new { type = "object", dependencies = new { a = new Dictionary<string, string> { ["$ref"] = "http://169.254.169.254/s.json" } } }, config = new { argv = new[] { "ls" } } }, "parameters.dependencies.a.$ref");
        yield return Case("command config not an object", new { name = "x", kind = "command", parameters = ok, config = new[] { "ls" } }, "config");
        yield return Case("http to metadata", new { name = "x", kind = "http", parameters = ok, config = new { url = "http://169.254.169.254/{{args.path}}" } }, "config.url");
    }

    [TestCaseSource(nameof(BadTools))]
    public async Task Invalid_tool_definitions_are_422_naming_the_field_and_nothing_is_stored(object body, string field)
    {
        var before = await admin.GetStringAsync("/api/tools");
        var problem = await ApiAssertions.AssertProblemAsync(await admin.PostAsync("/api/tools", ApiClient.Json(body)), HttpStatusCode.UnprocessableEntity);
        Assert.That(problem.GetProperty("errors").TryGetProperty(field, out _), Is.True, problem.ToString());
        Assert.That(await admin.GetStringAsync("/api/tools"), Is.EqualTo(before));
    }

    [Test]
    public async Task A_tool_with_a_result_schema_is_stored_with_it()
    {
        var result = new { type = "object", required = new[] { "stdout" }, properties = new { stdout = new { type = "string" }, exitCode = new { type = "integer" } } };
        var created = await admin.PostForJsonAsync("/api/tools", new { name = "with-result", kind = "command", parameters = new { type = "object" }, result, config = new { argv = new[] { "true" } } },
            HttpStatusCode.Created);
        Assert.That(created.GetProperty("result").GetProperty("required")[0].GetString(), Is.EqualTo("stdout"));
        var stored = await admin.GetFromJsonAsync<JsonElement>("/api/tools/with-result");
        Assert.That(stored.GetProperty("result").GetProperty("properties").GetProperty("exitCode").GetProperty("type").GetString(), Is.EqualTo("integer"));
    }

    [Test]
    public async Task Replacing_a_tool_makes_a_new_version_and_duplicates_are_409()
    {
        var body = new { name = "echo", kind = "command", parameters = new { type = "object", properties = new { text = new { type = "string" } } }, config = new { argv = new[] { "echo", "{{args.text}}" } } };
        var created = await admin.PostForJsonAsync("/api/tools", body, HttpStatusCode.Created);
        Assert.That(created.GetProperty("version").GetInt32(), Is.EqualTo(1));
        await ApiAssertions.AssertProblemAsync(await admin.PostAsync("/api/tools", ApiClient.Json(body)), HttpStatusCode.Conflict);

        var replaced = await admin.PutAsync("/api/tools/echo", ApiClient.Json(body with { }));
        var json = JsonDocument.Parse(await replaced.Content.ReadAsStringAsync()).RootElement;
        Assert.That(json.GetProperty("version").GetInt32(), Is.EqualTo(2));
        Assert.That((await admin.DeleteAsync("/api/tools/echo")).StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        await ApiAssertions.AssertProblemAsync(await admin.GetAsync("/api/tools/echo"), HttpStatusCode.NotFound);
        await ApiAssertions.AssertProblemAsync(await admin.PostAsync("/api/tools/echo/validate", ApiClient.Json(new { arguments = new { } })), HttpStatusCode.NotFound);
    }

    [Test]
    public async Task A_viewer_can_validate_arguments_but_not_register_tools()
    {
        var (exitCode, output) = await ServerProcess.RunCommandAsync(environment, server.WorkingDirectory, "keys", "create", "--role", "viewer");
        Assert.That(exitCode, Is.Zero, output);
        using var viewer = server.CreateClient(output.Split('\n').Select(l => l.Trim()).Single(l => l.StartsWith("orch_", StringComparison.Ordinal)));
        var validate = await viewer.PostAsync("/api/tools/archive/validate", ApiClient.Json(new { arguments = new { mode = "zip", files = new[] { new { name = "a" } } } }));
        Assert.That(validate.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        await ApiAssertions.AssertProblemAsync(await viewer.PostAsync("/api/tools", ApiClient.Json(new { name = "v", kind = "command" })), HttpStatusCode.Forbidden);
    }
}
