using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Pipelines;

/// <summary>
/// What a schedule refuses, a pipeline node refuses too (issue 10, item 6): an unconfigured secret, an unknown
/// notification placeholder and retries beyond the schedules' limit were saved, because any value with '{{' was
/// judged only at run time. Create, replace and /validate answer 422 naming the node's field; nothing is saved.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class PipelineRefusalTests
{
    private InProcessServer server = null!;
    private HttpClient admin = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        var database = await TestPostgres.CreateDatabaseAsync("pipelinerefusal");
        server = InProcessServer.Start(PostgresNode.Environment(database, new Dictionary<string, string?> { ["Orchestrator__Secrets__KNOWN"] = "value-1234" }));
        await server.WaitUntilReadyAsync();
        admin = server.CreateClient(server.PrintedAdminKey);
        await admin.PostForJsonAsync("/api/channels", new { name = "ops", kind = "webhook", webhook = new { url = "https://hooks.example.com/ops" } }, HttpStatusCode.Created);
        await admin.PostForJsonAsync("/api/pipelines", Pipeline("existing", new JsonObject { ["id"] = "a", ["type"] = "action", ["action"] = Noop() }), HttpStatusCode.Created);
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

    private static JsonObject Noop() => new() { ["type"] = "noop", ["config"] = new JsonObject() };

    private static JsonObject Pipeline(string id, params JsonObject[] nodes) => new()
    {
        ["id"] = id,
        ["name"] = id,
        ["nodes"] = new JsonArray([.. nodes]),
        ["edges"] = new JsonArray(),
    };

    private static JsonObject CallApi(JsonObject headers) => new()
    {
        ["type"] = "call_api",
        ["config"] = new JsonObject { ["url"] = "https://api.example.com/", ["headers"] = headers },
    };

    private static JsonObject Notify(string subject, string message) => new()
    {
        ["type"] = "send_notification",
        ["config"] = new JsonObject { ["channel"] = "ops", ["subject"] = subject, ["message"] = message },
    };

    private static IEnumerable<TestCaseData> Corpus()
    {
        TestCaseData Case(string name, JsonObject node, string field) => new TestCaseData(node, field).SetName("refused pipeline node: " + name);
        yield return Case("unconfigured secret in a header",
            new JsonObject { ["id"] = "n", ["type"] = "action", ["action"] = CallApi(new JsonObject { ["X-Token"] = "{{secret:NOPE}}" }) }, "nodes.n.action.config.headers.X-Token");
        yield return Case("unconfigured secret beside an input",
            new JsonObject { ["id"] = "n", ["type"] = "action", ["action"] = CallApi(new JsonObject { ["Authorization"] = "Bearer {{secret:NOPE}} {{inputs.tenant}}" }) }, "nodes.n.action.config.headers.Authorization");
        yield return Case("secret reference opened around an input",
            new JsonObject { ["id"] = "n", ["type"] = "action", ["action"] = CallApi(new JsonObject { ["X-Token"] = "{{secret:{{inputs.name}}}}" }) }, "nodes.n.action.config.headers.X-Token");
        yield return Case("secret name completed by an input",
            new JsonObject { ["id"] = "n", ["type"] = "action", ["action"] = CallApi(new JsonObject { ["X-Token"] = "{{secret:KNOWN{{inputs.suffix}}}}" }) }, "nodes.n.action.config.headers.X-Token");
        yield return Case("malformed secret reference beside an input",
            new JsonObject { ["id"] = "n", ["type"] = "action", ["action"] = CallApi(new JsonObject { ["X-Token"] = "{{Secret:KNOWN}} {{inputs.tenant}}" }) }, "nodes.n.action.config.headers.X-Token");
        yield return Case("secret in Content-Type",
            new JsonObject { ["id"] = "n", ["type"] = "action", ["action"] = CallApi(new JsonObject { ["Content-Type"] = "text/{{secret:KNOWN}}" }) }, "nodes.n.action.config.headers.Content-Type");
        yield return Case("secret in a notification message beside an input",
            new JsonObject { ["id"] = "n", ["type"] = "action", ["action"] = Notify("done", "{{secret:KNOWN}} {{inputs.y}}") }, "nodes.n.action.config.message");
        yield return Case("secret in a URL beside an input",
            new JsonObject
            {
                ["id"] = "n",
                ["type"] = "action",
                ["action"] = new JsonObject { ["type"] = "call_api", ["config"] = new JsonObject { ["url"] = "https://api.example.com/{{inputs.p}}?k={{secret:KNOWN}}" } },
            }, "nodes.n.action.config.url");
        yield return Case("unknown placeholder in a notification message",
            new JsonObject { ["id"] = "n", ["type"] = "action", ["action"] = Notify("done", "finished {{nope}}") }, "nodes.n.action.config.message");
        yield return Case("unknown placeholder beside a pipeline template",
            new JsonObject { ["id"] = "n", ["type"] = "action", ["action"] = Notify("{{run.id}} {{schedule.nmae}}", "finished") }, "nodes.n.action.config.subject");
        yield return Case("retry maxAttempts above the schedules' limit",
            new JsonObject { ["id"] = "n", ["type"] = "action", ["action"] = Noop(), ["retry"] = new JsonObject { ["maxAttempts"] = 21 } }, "nodes.n.retry.maxAttempts");
        yield return Case("NUL in a sub-pipeline id",
            new JsonObject { ["id"] = "n", ["type"] = "pipeline", ["pipeline"] = "existing\0" }, "nodes.n.pipeline");
        yield return Case("integer beyond 64 bits in a config",
            new JsonObject { ["id"] = "n", ["type"] = "action", ["action"] = new JsonObject { ["type"] = "call_api", ["config"] = new JsonObject { ["url"] = "https://api.example.com/", ["timeoutSeconds"] = JsonNode.Parse("9223372036854775808") } } },
            "nodes.n.action.config.timeoutSeconds");
    }

    [TestCase("name", "a\0b")]
    [TestCase("description", "a\0b")]
    public async Task A_NUL_in_a_pipeline_text_field_is_a_422_not_a_500_or_a_conflict(string field, string value)
    {
        var before = await admin.GetStringAsync("/api/pipelines");
        var body = Pipeline("nul", new JsonObject { ["id"] = "a", ["type"] = "action", ["action"] = Noop() });
        body[field] = value;
        var response = await admin.PostAsync("/api/pipelines", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        var problem = await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity);
        Assert.That(problem.GetProperty("errors").TryGetProperty(field, out _), Is.True, problem.ToString());
        Assert.That(await admin.GetStringAsync("/api/pipelines"), Is.EqualTo(before));
    }

    [TestCaseSource(nameof(Corpus))]
    public async Task A_node_a_schedule_would_refuse_is_refused_on_create_replace_and_validate(JsonObject node, string field)
    {
        var before = await admin.GetStringAsync("/api/pipelines");
        var existing = await admin.GetStringAsync("/api/pipelines/existing");
        foreach (var (method, path, id) in new[] { ("POST", "/api/pipelines", "bad"), ("PUT", "/api/pipelines/existing", "existing"), ("POST", "/api/pipelines/validate", "bad") })
        {
            var body = Pipeline(id, (JsonObject)node.DeepClone());
            var response = await admin.SendAsync(new HttpRequestMessage(new HttpMethod(method), path) { Content = new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json") });
            var problem = await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity);
            Assert.That(problem.GetProperty("errors").TryGetProperty(field, out _), Is.True, $"{method} {path}: expected an error for '{field}': {problem}");
        }

        Assert.That(await admin.GetStringAsync("/api/pipelines"), Is.EqualTo(before), "nothing was saved");
        Assert.That(await admin.GetStringAsync("/api/pipelines/existing"), Is.EqualTo(existing), "the replaced pipeline is as it was");
    }

    /// <summary>
    /// One template language: the same notification text is accepted by a schedule and by a pipeline node, and the same
    /// unknown placeholder is refused by both, naming the field (a pipeline used to accept '{{run.attempt}}' and fail
    /// when the node ran).
    /// </summary>
    [TestCase("{{schedule.name}} {{schedule.id}} {{schedule.project}}", "{{run.id}} {{run.scheduledFireTime}} {{run.attempt}} {{run.idempotencyKey}}", true)]
    [TestCase("done", "attempt {{run.attempt}}", true)]
    [TestCase("done", "attempt {{run.atempt}}", false)]
    [TestCase("{{schedule.nmae}}", "done", false)]
    [TestCase("done", "for {{inputs.tenant}}", false)]
    public async Task A_schedules_notification_and_a_pipeline_nodes_notification_accept_the_same_placeholders(string subject, string message, bool accepted)
    {
        var schedule = new JsonObject
        {
            ["name"] = $"same-{Guid.NewGuid():N}"[..20],
            ["action"] = Notify(subject, message),
            ["trigger"] = new JsonObject { ["cron"] = "0 0 0 1 1 ?" },
            ["enabled"] = false,
        };
        var scheduleResponse = await admin.PostAsync("/api/schedules", new StringContent(schedule.ToJsonString(), Encoding.UTF8, "application/json"));
        var pipeline = Pipeline("same", new JsonObject { ["id"] = "tell", ["type"] = "action", ["action"] = Notify(subject, message) });
        var pipelineResponse = await admin.PostAsync("/api/pipelines/validate", new StringContent(pipeline.ToJsonString(), Encoding.UTF8, "application/json"));

        // A pipeline's notification also offers the pipeline's own data; the schedule must refuse it. Only that case differs.
        var pipelineAccepts = accepted || message.Contains("{{inputs.", StringComparison.Ordinal);
        Assert.That(scheduleResponse.StatusCode, Is.EqualTo(accepted ? HttpStatusCode.Created : HttpStatusCode.UnprocessableEntity), await scheduleResponse.Content.ReadAsStringAsync());
        Assert.That(pipelineResponse.StatusCode, Is.EqualTo(pipelineAccepts ? HttpStatusCode.OK : HttpStatusCode.UnprocessableEntity), await pipelineResponse.Content.ReadAsStringAsync());
        if (!accepted)
        {
            var field = subject.Contains("{{", StringComparison.Ordinal) ? "subject" : "message";
            var problem = await ApiAssertions.AssertProblemAsync(scheduleResponse, HttpStatusCode.UnprocessableEntity);
            Assert.That(problem.GetProperty("errors").EnumerateObject().Select(e => e.Name), Is.EqualTo(new[] { $"action.config.{field}" }), problem.ToString());
        }

        if (!pipelineAccepts)
        {
            var field = subject.Contains("{{", StringComparison.Ordinal) ? "subject" : "message";
            var problem = await ApiAssertions.AssertProblemAsync(pipelineResponse, HttpStatusCode.UnprocessableEntity);
            Assert.That(problem.GetProperty("errors").EnumerateObject().Select(e => e.Name), Is.EqualTo(new[] { $"nodes.tell.action.config.{field}" }), problem.ToString());
        }
    }

    [TestCase("X-Attempt", "{{run.attempt}}")]
    [TestCase("X-Fired", "{{run.scheduledFireTime}} {{inputs.t}}")]
    [TestCase("X-Schedule", "{{schedule.name}}")]
    public async Task A_placeholder_only_a_notification_fills_is_refused_elsewhere_in_a_node_naming_the_field(string header, string value)
    {
        var body = Pipeline("elsewhere", new JsonObject { ["id"] = "call", ["type"] = "action", ["action"] = CallApi(new JsonObject { [header] = value }) });
        var response = await admin.PostAsync("/api/pipelines/validate", new StringContent(body.ToJsonString(), Encoding.UTF8, "application/json"));
        var problem = await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity);
        Assert.That(problem.GetProperty("errors").GetProperty($"nodes.call.action.config.headers.{header}")[0].GetString(), Does.Contain("is not a known placeholder in a pipeline node's config"), problem.ToString());
    }

    [Test]
    public async Task Configured_secrets_and_known_placeholders_beside_pipeline_templates_are_accepted()
    {
        var body = Pipeline("fine",
            new JsonObject { ["id"] = "call", ["type"] = "action", ["action"] = CallApi(new JsonObject { ["Authorization"] = "Bearer {{secret:KNOWN}} {{inputs.tenant}}" }) },
            new JsonObject { ["id"] = "tell", ["type"] = "action", ["action"] = Notify("{{schedule.name}} {{run.id}}", "tenant {{inputs.tenant}} at {{run.scheduledFireTime}}") });
        await admin.PostForJsonAsync("/api/pipelines/validate", body, HttpStatusCode.OK);
    }
}
