using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Actions;

/// <summary>
/// <c>GET /api/actions</c>: the action types with the config schemas the server validates with, so a form built from a
/// served schema makes configs the server accepts, and one missing a property the schema requires is refused.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class ActionTypesEndpointTests
{
    private InProcessServer server = null!;
    private HttpClient admin = null!;
    private HttpClient viewer = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        var database = await TestPostgres.CreateDatabaseAsync("actions");
        var environment = PostgresNode.Environment(database);
        server = InProcessServer.Start(environment);
        await server.WaitUntilReadyAsync();
        admin = server.CreateClient(server.PrintedAdminKey);
        var (exitCode, output) = await ServerProcess.RunCommandAsync(environment, server.WorkingDirectory, "keys", "create", "--role", "viewer");
        Assert.That(exitCode, Is.Zero, output);
        viewer = server.CreateClient(output.Split('\n').Select(l => l.Trim()).Single(l => l.StartsWith("orch_", StringComparison.Ordinal)));
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        admin?.Dispose();
        viewer?.Dispose();
        if (server is not null)
        {
            await server.DisposeAsync();
        }
    }

    private async Task<JsonArray> ActionsAsync() =>
        (await viewer.GetFromJsonAsync<JsonNode>("/api/actions"))!.AsArray();

    private async Task<JsonObject> SchemaOfAsync(string type) =>
        (await ActionsAsync()).Single(a => (string?)a!["name"] == type)!["schema"]!.AsObject();

    /// <summary>A config made from the schema alone: each required property given a value its declaration allows.</summary>
    private static JsonObject MinimalConfig(JsonObject schema)
    {
        var config = new JsonObject();
        foreach (var name in schema["required"]?.AsArray().Select(n => (string)n!) ?? [])
        {
            var property = schema["properties"]![name]!.AsObject();
            config[name] = property["enum"] is JsonArray allowed ? allowed[0]!.DeepClone()
                : (string?)property["format"] == "uri" ? "https://api.example.com/from-the-served-schema"
                : (string?)property["type"] == "object" ? new JsonObject()
                : "x";
        }

        return config;
    }

    private static StringContent Schedule(string name, JsonObject config) => new(new JsonObject
    {
        ["name"] = name,
        ["action"] = new JsonObject { ["type"] = "call_api", ["config"] = config },
        ["trigger"] = new JsonObject { ["cron"] = "0 0 3 * * ?", ["timeZone"] = "Europe/Paris" },
    }.ToJsonString(), Encoding.UTF8, "application/json");

    [Test]
    public async Task Without_a_key_it_is_401()
    {
        using var anonymous = server.CreateClient();
        await ApiAssertions.AssertProblemAsync(await anonymous.GetAsync("/api/actions"), HttpStatusCode.Unauthorized);
    }

    [Test]
    public async Task A_viewer_gets_every_action_type_by_name_with_a_description_and_its_schema_as_an_object()
    {
        var response = await viewer.GetAsync("/api/actions");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
        var actions = JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsArray();

        var names = actions.Select(a => (string)a!["name"]!).ToList();
        Assert.That(names, Is.SupersetOf(new[] { "call_api", "send_notification", "run_task", "execute_pipeline", "noop" }));
        Assert.That(names, Is.Ordered.Using((IComparer<string>)StringComparer.Ordinal), "a stable order: by name");
        foreach (var action in actions)
        {
            Assert.That((string?)action!["description"], Is.Not.Empty, names[action.GetElementIndex()]);
            Assert.That(action["schema"], Is.InstanceOf<JsonObject>(), "the schema is a JSON object, not its text");
            Assert.That((string?)action["schema"]!["type"], Is.EqualTo("object"), names[action.GetElementIndex()]);
        }

        Assert.That(actions.Single(a => (string?)a!["name"] == "call_api")!["schema"]!["required"]!.AsArray().Select(n => (string?)n), Does.Contain("url"));
    }

    [Test]
    public async Task A_call_api_config_made_from_the_served_schema_is_accepted()
    {
        var config = MinimalConfig(await SchemaOfAsync("call_api"));
        var response = await admin.PostAsync("/api/schedules", Schedule("from-served-schema", config));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created), await response.Content.ReadAsStringAsync());
    }

    [Test]
    public async Task A_call_api_config_missing_a_property_the_served_schema_requires_is_422_naming_it()
    {
        var schema = await SchemaOfAsync("call_api");
        var required = schema["required"]!.AsArray().Select(n => (string)n!).ToList();
        Assert.That(required, Is.Not.Empty);
        foreach (var name in required)
        {
            var config = MinimalConfig(schema);
            config.Remove(name);
            var response = await admin.PostAsync("/api/schedules", Schedule($"missing-{name}", config));
            var problem = await ApiAssertions.AssertProblemAsync(response, (HttpStatusCode)422);
            Assert.That(problem.GetProperty("errors").GetProperty($"action.config.{name}")[0].GetString(), Is.EqualTo($"'{name}' is required."),
                $"the refusal is a sentence keyed by the field '{name}': {problem}");
        }
    }

    [Test]
    public async Task A_property_the_served_schema_does_not_declare_is_refused_when_it_declares_no_others()
    {
        var schema = await SchemaOfAsync("call_api");
        Assert.That(schema["additionalProperties"]?.GetValueKind(), Is.EqualTo(JsonValueKind.False), "the served schema says what the server enforces");
        var config = MinimalConfig(schema);
        config["notInTheSchema"] = 1;
        var response = await admin.PostAsync("/api/schedules", Schedule("undeclared", config));
        var problem = await ApiAssertions.AssertProblemAsync(response, (HttpStatusCode)422);
        Assert.That(problem.GetProperty("errors").GetRawText(), Does.Contain("notInTheSchema"));
    }

    [Test]
    public async Task The_openapi_document_lists_it_with_a_name_summary_and_tag()
    {
        using var anonymous = server.CreateClient();
        using var document = JsonDocument.Parse(await anonymous.GetStringAsync("/openapi/v1.json"));
        var operation = document.RootElement.GetProperty("paths").GetProperty("/api/actions").GetProperty("get");
        Assert.That(operation.GetProperty("operationId").GetString(), Is.EqualTo("ListActions"));
        Assert.That(operation.GetProperty("summary").GetString(), Is.Not.Empty);
        Assert.That(operation.GetProperty("tags").EnumerateArray().Select(t => t.GetString()), Does.Contain("Actions"));
    }
}
