using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Security;

/// <summary>
/// What a key scoped to project alpha cannot do even in alpha, because it would reach past the project: move a
/// project's root (into another project's files), put a {{secret:…}} reference into a schedule or pipeline (secrets are
/// cluster-wide), or run a program of its choosing (command tools, shell.run; invoked, scheduled, as a pipeline node,
/// listed for an agent). Each refusal is a 403 naming the field, stores nothing, and an unscoped admin still can. And
/// for every caller, no project's root may be, contain or lie inside another's (422 naming rootPath and that project).
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class ScopedKeyLimitsTests
{
    private const string Alpha = "alpha";
    private const string Beta = "beta";
    private InProcessServer server = null!;
    private HttpClient admin = null!;
    private HttpClient scoped = null!;
    private string workspaceRoot = null!;

    private static readonly object Cron = new { cron = "0 0 3 * * ?", timeZone = "UTC" };

    private static object SecretCall(string name, string project) => new
    {
        name, project,
        action = new { type = "call_api", config = new { url = "https://api.example.com/", headers = new Dictionary<string, string> { ["X-Token"] = "Bearer {{secret:TOKEN}}" } } },
        trigger = Cron,
    };

    private static object RunTask(string name, string project, object config) => new { name, project, action = new { type = "run_task", config }, trigger = Cron };

    private static object Flow(string id, string project, object action) =>
        new { id, name = id, project, nodes = new[] { new { id = "a", type = "action", action } } };

    [OneTimeSetUp]
    public async Task StartServer()
    {
        var database = await TestPostgres.CreateDatabaseAsync("scopedlimits");
        workspaceRoot = Directory.CreateTempSubdirectory("orchestrator-limits-ws-").FullName;
        server = InProcessServer.Start(PostgresNode.Environment(database, new Dictionary<string, string?>
        {
            ["Orchestrator__Workspaces__Roots__0"] = workspaceRoot,
            ["Orchestrator__Secrets__TOKEN"] = "tok-limits-secret",
            ["Orchestrator__Agents__Models__default__Endpoint"] = "http://127.0.0.1:9/v1",
            ["Orchestrator__Agents__Models__default__Model"] = "none",
            ["Orchestrator__Agents__Models__default__ApiKeySecret"] = "model-key",
            ["Orchestrator__Secrets__model-key"] = "unused",
            ["Orchestrator__Outbound__AllowedHosts__0"] = "127.0.0.1",
        }));
        await server.WaitUntilReadyAsync();
        admin = server.CreateClient(server.PrintedAdminKey ?? throw new InvalidOperationException("no admin key printed:\n" + server.Output));
        foreach (var p in new[] { Alpha, Beta })
        {
            await admin.PostForJsonAsync("/api/projects", new { id = p, name = p, rootPath = Path.Combine(workspaceRoot, p) }, HttpStatusCode.Created);
        }

        await admin.CreateScheduleAsync(new { name = "job", project = Alpha, action = new { type = "noop", config = new { } }, trigger = Cron });
        await admin.PostForJsonAsync("/api/pipelines", Flow("alpha-flow", Alpha, new { type = "noop", config = new { } }), HttpStatusCode.Created);
        await admin.PostForJsonAsync("/api/tools", new
        {
            name = "echo-cmd",
            kind = "command",
            parameters = new { type = "object", properties = new { text = new { type = "string" } } },
            config = new { argv = new[] { "echo", "{{args.text}}" } },
        }, HttpStatusCode.Created);
        var key = await admin.PostForJsonAsync("/api/keys", new { name = "alpha-admin", role = "admin", projects = new[] { Alpha } }, HttpStatusCode.Created);
        scoped = server.CreateClient(key.GetProperty("key").GetString());
    }

    [OneTimeTearDown]
    public async Task StopServer()
    {
        admin?.Dispose();
        scoped?.Dispose();
        if (server is not null)
        {
            await server.DisposeAsync();
        }
    }

    private static async Task<JsonElement> RefusedAsync(HttpResponseMessage response, string field, HttpStatusCode status = HttpStatusCode.Forbidden)
    {
        var problem = await ApiAssertions.AssertProblemAsync(response, status);
        Assert.That(problem.GetProperty("errors").TryGetProperty(field, out _), Is.True, $"the problem names {field}: {problem}");
        if (status == HttpStatusCode.Forbidden)
        {
            Assert.That(problem.GetProperty("detail").GetString(), Does.Contain("scoped to project 'alpha'").And.Contain(field));
        }

        return problem;
    }

    private async Task AssertMissingAsync(string path)
    {
        using var response = await admin.GetAsync(path);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.NotFound), $"{path} was stored");
    }

    private async Task<JsonElement> GetAsync(string path) => await admin.GetFromJsonAsync<JsonElement>(path);

    [Test]
    public async Task A_scoped_key_cannot_change_a_project_root_and_nothing_changes()
    {
        var own = Path.Combine(workspaceRoot, Alpha);
        foreach (var target in new[] { Path.Combine(workspaceRoot, Beta), Path.Combine(workspaceRoot, Beta, "src"), Path.Combine(workspaceRoot, "elsewhere") })
        {
            using var response = await scoped.PutAsync($"/api/projects/{Alpha}", ApiClient.Json(new { name = "moved", rootPath = target }));
            await RefusedAsync(response, "rootPath");
            var project = await GetAsync($"/api/projects/{Alpha}");
            Assert.That(project.GetProperty("rootPath").GetString(), Is.EqualTo(own));
            Assert.That(project.GetProperty("name").GetString(), Is.EqualTo(Alpha));
        }

        // The same root (its name changed) is fine; the files of beta stay out of reach.
        using var same = await scoped.PutAsync($"/api/projects/{Alpha}", ApiClient.Json(new { name = "renamed", rootPath = own }));
        Assert.That(same.StatusCode, Is.EqualTo(HttpStatusCode.OK), await same.Content.ReadAsStringAsync());
        using var renameBack = await scoped.PutAsync($"/api/projects/{Alpha}", ApiClient.Json(new { name = Alpha, rootPath = own }));
        Assert.That(renameBack.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task Overlapping_project_roots_are_refused_on_create_and_replace()
    {
        var betaRoot = Path.Combine(workspaceRoot, Beta);
        foreach (var (root, relation) in new[] { (betaRoot, "is the root of"), (Path.Combine(betaRoot, "inner"), "lies inside the root of") })
        {
            using var create = await admin.PostAsync("/api/projects", ApiClient.Json(new { id = "overlap", name = "o", rootPath = root }));
            var problem = await RefusedAsync(create, "rootPath", HttpStatusCode.UnprocessableEntity);
            Assert.That(problem.GetProperty("errors").GetProperty("rootPath")[0].GetString(), Does.Contain(relation).And.Contain("project 'beta'"));
            await AssertMissingAsync("/api/projects/overlap");
        }

        await admin.PostForJsonAsync("/api/projects", new { id = "deep", name = "deep", rootPath = Path.Combine(workspaceRoot, "outer", "deep") }, HttpStatusCode.Created);
        using (var containing = await admin.PostAsync("/api/projects", ApiClient.Json(new { id = "outer", name = "o", rootPath = Path.Combine(workspaceRoot, "outer") })))
        {
            var problem = await RefusedAsync(containing, "rootPath", HttpStatusCode.UnprocessableEntity);
            Assert.That(problem.GetProperty("errors").GetProperty("rootPath")[0].GetString(), Does.Contain("contains the root of project 'deep'"));
            await AssertMissingAsync("/api/projects/outer");
        }

        var gammaRoot = Path.Combine(workspaceRoot, "gamma");
        await admin.PostForJsonAsync("/api/projects", new { id = "gamma", name = "gamma", rootPath = gammaRoot }, HttpStatusCode.Created);
        foreach (var (root, other) in new[] { (betaRoot, Beta), (Path.Combine(betaRoot, "x"), Beta), (Path.Combine(workspaceRoot, "outer"), "deep") })
        {
            using var replace = await admin.PutAsync("/api/projects/gamma", ApiClient.Json(new { name = "gamma", rootPath = root }));
            var problem = await RefusedAsync(replace, "rootPath", HttpStatusCode.UnprocessableEntity);
            Assert.That(problem.GetProperty("errors").GetProperty("rootPath")[0].GetString(), Does.Contain($"project '{other}'"));
            Assert.That((await GetAsync("/api/projects/gamma")).GetProperty("rootPath").GetString(), Is.EqualTo(gammaRoot));
        }

        // A project keeps its own root, and an unscoped admin may still move one to a free place.
        var moved = Path.Combine(workspaceRoot, "gamma2");
        await admin.PutAsync("/api/projects/gamma", ApiClient.Json(new { name = "gamma", rootPath = gammaRoot }));
        using var move = await admin.PutAsync("/api/projects/gamma", ApiClient.Json(new { name = "gamma", rootPath = moved }));
        Assert.That(move.StatusCode, Is.EqualTo(HttpStatusCode.OK), await move.Content.ReadAsStringAsync());
        Assert.That((await GetAsync("/api/projects/gamma")).GetProperty("rootPath").GetString(), Is.EqualTo(moved));
    }

    [Test]
    public async Task A_scoped_key_cannot_put_a_secret_reference_in_a_schedule_and_nothing_is_stored()
    {
        using (var create = await scoped.PostAsync("/api/schedules", ApiClient.Json(SecretCall("leak", Alpha))))
        {
            await RefusedAsync(create, "action.config.headers.X-Token");
            await AssertMissingAsync("/api/schedules/alpha.leak");
        }

        using (var replace = await scoped.PutAsync("/api/schedules/alpha.job", ApiClient.Json(SecretCall("job", Alpha))))
        {
            await RefusedAsync(replace, "action.config.headers.X-Token");
            Assert.That((await GetAsync("/api/schedules/alpha.job")).GetProperty("action").GetProperty("type").GetString(), Is.EqualTo("noop"));
        }

        // Anywhere in the config, and however it is spelled.
        using var body = await scoped.PostAsync("/api/schedules", ApiClient.Json(new
        {
            name = "leak2", project = Alpha,
            action = new { type = "call_api", config = new { url = "https://api.example.com/", method = "POST", body = new { nested = new[] { "{{ Secret:TOKEN}}" } } } },
            trigger = Cron,
        }));
        await RefusedAsync(body, "action.config.body.nested[0]");
        await AssertMissingAsync("/api/schedules/alpha.leak2");

        await admin.CreateScheduleAsync(SecretCall("admin-secret", Alpha));
    }

    [Test]
    public async Task A_scoped_key_cannot_put_a_secret_reference_in_a_pipeline_and_nothing_is_stored()
    {
        var call = new { type = "call_api", config = new { url = "https://api.example.com/", headers = new Dictionary<string, string> { ["X-Token"] = "{{secret:TOKEN}}" } } };
        using (var create = await scoped.PostAsync("/api/pipelines", ApiClient.Json(Flow("leaky", Alpha, call))))
        {
            await RefusedAsync(create, "nodes[0].action.config.headers.X-Token");
            await AssertMissingAsync("/api/pipelines/leaky");
        }

        var version = (await GetAsync("/api/pipelines/alpha-flow")).GetProperty("version").GetInt32();
        using (var replace = await scoped.PutAsync("/api/pipelines/alpha-flow", ApiClient.Json(Flow("alpha-flow", Alpha, call))))
        {
            await RefusedAsync(replace, "nodes[0].action.config.headers.X-Token");
            Assert.That((await GetAsync("/api/pipelines/alpha-flow")).GetProperty("version").GetInt32(), Is.EqualTo(version));
        }

        await admin.PostForJsonAsync("/api/pipelines", Flow("admin-leaky", Alpha, call), HttpStatusCode.Created);
    }

    public static IEnumerable<TestCaseData> ProgramConfigs()
    {
        yield return new TestCaseData(new { tool = "echo-cmd", arguments = new { text = "hi" } }, "action.config.tool").SetName("a command tool");
        yield return new TestCaseData(new { tool = "shell.run", arguments = new { command = "id" } }, "action.config.tool").SetName("shell.run");
        yield return new TestCaseData(new { agent = new { goal = "Look around.", model = "default", tools = new[] { "files.list", "shell.run" } } }, "action.config.agent.tools[1]").SetName("an agent listing shell.run");
        yield return new TestCaseData(new { agent = new { goal = "Echo.", model = "default", tools = new[] { "echo-cmd" } } }, "action.config.agent.tools[0]").SetName("an agent listing a command tool");
        yield return new TestCaseData(new
        {
            tool = "schedules.create",
            arguments = new { name = "later", project = Alpha, action = new { type = "run_task", config = new { tool = "shell.run", arguments = new { command = "id" } } }, trigger = Cron },
        }, "action.config.arguments.action.config.tool").SetName("shell.run in a schedule a tool creates later");
    }

    [TestCaseSource(nameof(ProgramConfigs))]
    public async Task A_scoped_key_cannot_schedule_a_program_and_nothing_is_stored(object config, string field)
    {
        var name = "prog-" + Guid.NewGuid().ToString("N")[..8];
        using (var create = await scoped.PostAsync("/api/schedules", ApiClient.Json(RunTask(name, Alpha, config))))
        {
            await RefusedAsync(create, field);
            await AssertMissingAsync($"/api/schedules/{Alpha}.{name}");
        }

        using (var replace = await scoped.PutAsync("/api/schedules/alpha.job", ApiClient.Json(RunTask("job", Alpha, config))))
        {
            await RefusedAsync(replace, field);
            Assert.That((await GetAsync("/api/schedules/alpha.job")).GetProperty("action").GetProperty("type").GetString(), Is.EqualTo("noop"));
        }

        var action = new { type = "run_task", config };
        using (var pipeline = await scoped.PostAsync("/api/pipelines", ApiClient.Json(Flow(name, Alpha, action))))
        {
            await RefusedAsync(pipeline, "nodes[0]." + field);
            await AssertMissingAsync($"/api/pipelines/{name}");
        }

        var version = (await GetAsync("/api/pipelines/alpha-flow")).GetProperty("version").GetInt32();
        using (var replaced = await scoped.PutAsync("/api/pipelines/alpha-flow", ApiClient.Json(Flow("alpha-flow", Alpha, action))))
        {
            await RefusedAsync(replaced, "nodes[0]." + field);
            Assert.That((await GetAsync("/api/pipelines/alpha-flow")).GetProperty("version").GetInt32(), Is.EqualTo(version));
        }
    }

    [Test]
    public async Task An_unscoped_admin_can_still_schedule_a_command_tool()
    {
        await admin.CreateScheduleAsync(RunTask("admin-echo", Alpha, new { tool = "echo-cmd", arguments = new { text = "hi" } }));
        await admin.PostForJsonAsync("/api/pipelines", Flow("admin-echo", Alpha, new { type = "run_task", config = new { tool = "echo-cmd", arguments = new { text = "hi" } } }), HttpStatusCode.Created);
    }

    [TestCase("echo-cmd", """{"text": "hi"}""", "name")]
    [TestCase("shell.run", """{"command": "id"}""", "name")]
    [TestCase("http.request", """{"url": "https://api.example.com/", "headers": {"X-Token": "{{secret:TOKEN}}"}}""", "arguments.headers.X-Token")]
    public async Task A_scoped_key_cannot_invoke_a_program_or_pass_a_secret(string tool, string arguments, string field)
    {
        using var response = await scoped.PostAsync($"/api/tools/{tool}/invoke", ApiClient.Json(new { project = Alpha, arguments = JsonDocument.Parse(arguments).RootElement }));
        await RefusedAsync(response, field);
    }

    [Test]
    public async Task An_unscoped_admin_can_still_invoke_a_command_tool_and_a_scoped_key_a_file_tool()
    {
        var echoed = await admin.PostForJsonAsync("/api/tools/echo-cmd/invoke", new { project = Alpha, arguments = new { text = "hi" } }, HttpStatusCode.OK);
        Assert.That(echoed.GetRawText(), Does.Contain("hi"));
        await scoped.PostForJsonAsync("/api/tools/files.list/invoke", new { project = Alpha, arguments = new { } }, HttpStatusCode.OK);
    }
}
