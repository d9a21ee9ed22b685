using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Pipelines;

/// <summary>Invalid definitions are a 422 naming each problem by node or edge, and nothing is saved.</summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class PipelineValidationTests
{
    private InProcessServer server = null!;
    private HttpClient admin = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        var database = await TestPostgres.CreateDatabaseAsync("pipelinebad");
        server = InProcessServer.Start(PostgresNode.Environment(database));
        await server.WaitUntilReadyAsync();
        admin = server.CreateClient(server.PrintedAdminKey);
        await admin.PostForJsonAsync("/api/pipelines", new { id = "existing", name = "existing", nodes = new[] { Noop("x") } }, HttpStatusCode.Created);
        var otherRoot = Path.Combine(server.DefaultDataDirectory, "workspaces", "other");
        await admin.PostForJsonAsync("/api/projects", new { id = "other", name = "other", rootPath = otherRoot }, HttpStatusCode.Created);
        await admin.PostForJsonAsync("/api/pipelines", new { id = "elsewhere", name = "elsewhere", project = "other", nodes = new[] { Noop("x") } }, HttpStatusCode.Created);
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

    private static object Noop(string id) => new { id, type = "action", action = new { type = "noop", config = new { } } };

    private static object Edge(string from, string to) => new { from, to };

    private static IEnumerable<TestCaseData> Corpus()
    {
        object Bad(object[] nodes, object[]? edges = null, object? extra = null) => new { id = "bad", name = "bad", nodes, edges = edges ?? [], failurePolicy = (extra as string) ?? "stop" };
        yield return new TestCaseData(Bad([Noop("a"), Noop("b"), Noop("c")], [Edge("a", "b"), Edge("b", "c"), Edge("c", "a")]), "edges", "cycle").SetName("a cycle");
        yield return new TestCaseData(Bad([Noop("a")], [Edge("a", "nowhere")]), "edges[0].to", "not a node").SetName("a dangling edge");
        yield return new TestCaseData(Bad([Noop("a")], [Edge("a", "a")]), "edges[0]", "loop").SetName("a self loop");
        yield return new TestCaseData(Bad([Noop("a"), Noop("a")]), "nodes.a.id", "more than one").SetName("duplicate node ids");
        yield return new TestCaseData(Bad([new { id = "a", type = "teleport" }]), "nodes.a.type", "not a node type").SetName("an unknown node type");
        yield return new TestCaseData(Bad([Noop("a"), new { id = "c", type = "condition", expression = "nodes.a.status == = 1" }], [new { from = "a", to = "c" }]), "nodes.c.expression", "position").SetName("a bad expression");
        yield return new TestCaseData(Bad([new { id = "c", type = "condition", expression = "System.IO.File.Delete('/x')" }]), "nodes.c.expression", "").SetName("code in an expression");
        yield return new TestCaseData(Bad([new { id = "c", type = "condition", expression = new string('(', 1990) + "true" }]), "nodes.c.expression", "levels deep").SetName("parentheses nested 1,990 deep");
        yield return new TestCaseData(Bad([new { id = "me", type = "pipeline", pipeline = "bad" }]), "nodes.me.pipeline", "cannot run itself").SetName("a self-recursive sub-pipeline");
        yield return new TestCaseData(Bad([new { id = "s", type = "pipeline", pipeline = "ghost" }]), "nodes.s.pipeline", "no pipeline").SetName("an unknown sub-pipeline");
        yield return new TestCaseData(Bad([new { id = "a", type = "action", action = new { type = "call_api", config = new { url = "http://169.254.169.254/" } } }]), "nodes.a.action.config.url", "link-local").SetName("a config against the address policy");
        yield return new TestCaseData(Bad([new { id = "a", type = "action", action = new { type = "call_api", config = new { method = "YELL", url = "https://example.com" } } }]), "nodes.a.action.config.method", "").SetName("a config against its schema");
        yield return new TestCaseData(Bad([new { id = "a", type = "action", action = new { type = "execute_pipeline", config = new { pipeline = "existing" } } }]), "nodes.a.action.type", "").SetName("execute_pipeline as an action node");
        yield return new TestCaseData(Bad([Noop("a"), new { id = "b", type = "action", action = new { type = "call_api", config = new { url = "{{nodes.c.output.body.url}}" } } }, Noop("c")], [Edge("a", "b")]), "nodes.b.action.config", "does not run before").SetName("a template reading a node that is not upstream");
        yield return new TestCaseData(Bad([Noop("a"), new { id = "c", type = "condition", expression = "true" }, Noop("b")], [Edge("a", "c"), Edge("c", "b")]), "nodes.c", "when").SetName("a condition edge without when");
        yield return new TestCaseData(Bad([Noop("a"), Noop("b")], [new { from = "a", to = "b", when = true }]), "nodes.a", "only edges leaving a condition").SetName("when on an ordinary edge");
        yield return new TestCaseData(Bad([new { id = "1bad", type = "action" }]), "nodes[0].id", "").SetName("a malformed node id");
        yield return new TestCaseData(Bad([Noop("a")], null, "explode"), "failurePolicy", "").SetName("an unknown failure policy");
        yield return new TestCaseData(Bad([new { id = "t", type = "action", action = new { type = "run_task", config = new { tool = "{{inputs.tool}}" } } }]), "nodes.t.action.config.tool", "literally").SetName("a templated tool name");
        yield return new TestCaseData(Bad([new { id = "s", type = "pipeline", pipeline = "elsewhere" }]), "nodes.s.pipeline", "same project").SetName("a sub-pipeline in another project");
        yield return new TestCaseData(new { id = "bad", name = "bad", maxParallelism = 0, nodes = new[] { Noop("a") } }, "maxParallelism", "").SetName("zero parallelism");
        yield return new TestCaseData(new { id = "bad", name = "bad", nodes = Array.Empty<object>() }, "nodes", "at least one").SetName("no nodes");
        yield return new TestCaseData(new { id = "Bad Id", name = "bad", nodes = new[] { Noop("a") } }, "id", "").SetName("a bad pipeline id");
        yield return new TestCaseData(Bad([new { id = "a", type = "action", action = new { type = "noop", config = new { } }, retry = new { maxAttempts = 99 }, timeoutSeconds = 0 }]), "nodes.a.retry.maxAttempts", "").SetName("retry and timeout out of range");
    }

    [TestCaseSource(nameof(Corpus))]
    public async Task An_invalid_definition_is_a_422_naming_the_problem_and_nothing_is_saved(object definition, string field, string reason)
    {
        var before = await admin.GetFromJsonAsync<JsonElement>("/api/pipelines");
        foreach (var path in new[] { "/api/pipelines/validate", "/api/pipelines" })
        {
            var problem = await ApiAssertions.AssertProblemAsync(await admin.PostAsync(path, ApiClient.Json(definition)), HttpStatusCode.UnprocessableEntity);
            Assert.That(problem.GetProperty("errors").TryGetProperty(field, out var messages), Is.True, problem.ToString());
            Assert.That(messages.ToString(), Does.Contain(reason));
        }

        var after = await admin.GetFromJsonAsync<JsonElement>("/api/pipelines");
        Assert.That(after.GetProperty("total").GetInt32(), Is.EqualTo(before.GetProperty("total").GetInt32()));
        Assert.That((await admin.GetAsync("/api/pipelines/bad")).StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task Every_problem_of_a_definition_is_listed_at_once()
    {
        var problem = await ApiAssertions.AssertProblemAsync(await admin.PostAsync("/api/pipelines/validate", ApiClient.Json(new
        {
            name = "many",
            nodes = new object[] { Noop("a"), new { id = "b", type = "nope" }, new { id = "c", type = "condition", expression = "((" } },
            edges = new object[] { Edge("a", "zz") },
        })), HttpStatusCode.UnprocessableEntity);
        Assert.That(problem.GetProperty("errors").EnumerateObject().Select(e => e.Name), Is.SupersetOf(new[] { "nodes.b.type", "nodes.c.expression", "edges[0].to" }));
    }

    [Test]
    public async Task Ten_thousand_nodes_over_the_configured_cap_are_refused_before_anything_else()
    {
        var nodes = Enumerable.Range(0, 10_000).Select(i => Noop($"n{i}")).ToArray();
        var response = await admin.PostAsync("/api/pipelines", ApiClient.Json(new { id = "huge", name = "huge", nodes }));
        var problem = await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity);
        Assert.That(problem.GetProperty("errors").GetProperty("nodes")[0].GetString(), Does.Contain("at most 2000"));
        Assert.That((await admin.GetAsync("/api/pipelines/huge")).StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task A_valid_definition_validates_with_its_topological_order_and_a_duplicate_id_is_409()
    {
        var result = await admin.PostForJsonAsync("/api/pipelines/validate", new
        {
            name = "ok",
            nodes = new[] { Noop("d"), Noop("b"), Noop("a"), Noop("c") },
            edges = new[] { Edge("a", "b"), Edge("a", "c"), Edge("b", "d"), Edge("c", "d") },
        }, HttpStatusCode.OK);
        var order = result.GetProperty("order").EnumerateArray().Select(e => e.GetString()).ToList();
        Assert.That(order[0], Is.EqualTo("a"));
        Assert.That(order[^1], Is.EqualTo("d"));

        await ApiAssertions.AssertProblemAsync(await admin.PostAsync("/api/pipelines", ApiClient.Json(new { id = "existing", name = "again", nodes = new[] { Noop("x") } })), HttpStatusCode.Conflict);
        await ApiAssertions.AssertProblemAsync(await admin.GetAsync("/api/pipelines/ghost"), HttpStatusCode.NotFound);
        await ApiAssertions.AssertProblemAsync(await admin.PostAsync("/api/pipelines/ghost/run", ApiClient.Json(new { })), HttpStatusCode.NotFound);
        await ApiAssertions.AssertProblemAsync(await admin.PostAsync("/api/pipelines/existing/run", ApiClient.Json(new { inputs = 5 })), HttpStatusCode.UnprocessableEntity);
    }
}
