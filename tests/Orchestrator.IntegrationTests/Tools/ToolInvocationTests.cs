using System.Diagnostics;
using System.Net;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Tools;

/// <summary>Operator-defined command tools run as real processes in the project root, invoked directly and through run_task.</summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class ToolInvocationTests
{
    private InProcessServer server = null!;
    private HttpClient admin = null!;
    private string root = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        var workspaces = Directory.CreateTempSubdirectory("orchestrator-tools-ws-").FullName;
        var database = await TestPostgres.CreateDatabaseAsync("toolrun");
        server = InProcessServer.Start(PostgresNode.Environment(database, new Dictionary<string, string?>
        {
            ["Orchestrator__Workspaces__Roots__0"] = workspaces,
            ["Orchestrator__Secrets__LEAK_CHECK"] = "secret-value-should-not-leak",
        }));
        await server.WaitUntilReadyAsync();
        admin = server.CreateClient(server.PrintedAdminKey);
        root = Path.Combine(workspaces, "jobs");
        await admin.PostForJsonAsync("/api/projects", new { id = "jobs", name = "Jobs", rootPath = root }, HttpStatusCode.Created);

        var text = new { type = "object", required = new[] { "text" }, properties = new { text = new { type = "string", maxLength = 1000 } } };
        await admin.PostForJsonAsync("/api/tools", new { name = "say", kind = "command", parameters = text, config = new { argv = new[] { "printf", "[%s]\\n", "{{args.text}}" } } }, HttpStatusCode.Created);
        await admin.PostForJsonAsync("/api/tools", new Dictionary<string, object>
        {
            ["name"] = "greet",
            ["kind"] = "command",
            ["parameters"] = new Dictionary<string, object>
            {
                ["type"] = "object",
                ["properties"] = new { lang = new { @enum = new[] { "en", "fr" } }, text = new { type = "string" } },
                ["if"] = new { properties = new { lang = new Dictionary<string, object> { ["const"] = "fr" } } },
                ["then"] = new { required = new[] { "text" } },
            },
            ["config"] = new { argv = new[] { "printf", "[%s]\\n", "{{args.lang}}" } },
        }, HttpStatusCode.Created);
        await admin.PostForJsonAsync("/api/tools", new { name = "where", kind = "command", parameters = new { type = "object" }, config = new { argv = new[] { "pwd" } } }, HttpStatusCode.Created);
        await admin.PostForJsonAsync("/api/tools", new { name = "env", kind = "command", parameters = new { type = "object" }, config = new { argv = new[] { "env" } } }, HttpStatusCode.Created);
        await admin.PostForJsonAsync("/api/tools", new
        {
            name = "nap",
            kind = "command",
            parameters = new { type = "object", properties = new { s = new { type = "number", minimum = 0, maximum = 30 } } },
            config = new { argv = new[] { "sleep", "{{args.s}}" }, timeoutSeconds = 3 },
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

    private async Task<JsonElement> InvokeAsync(string tool, object arguments) =>
        await admin.PostForJsonAsync($"/api/tools/{tool}/invoke", new { project = "jobs", arguments }, HttpStatusCode.OK);

    [TestCase("; rm -rf /")]
    [TestCase("$(touch /tmp/orchestrator-pwned-1)")]
    [TestCase("`touch /tmp/orchestrator-pwned-2`")]
    [TestCase("a\nb\ntouch /tmp/orchestrator-pwned-3")]
    [TestCase("' OR 1=1 --")]
    [TestCase("&& touch /tmp/orchestrator-pwned-4 || true")]
    [TestCase("| cat /etc/passwd")]
    [TestCase("${HOME} %s %n \\x00")]
    [TestCase("--help")]
    public async Task Hostile_arguments_arrive_as_one_literal_argv_element(string hostile)
    {
        var invoked = await InvokeAsync("say", new { text = hostile });
        Assert.That(invoked.GetProperty("succeeded").GetBoolean(), Is.True, invoked.ToString());
        Assert.That(invoked.GetProperty("result").GetProperty("stdout").GetString(), Is.EqualTo($"[{hostile}]\n"));
        foreach (var n in Enumerable.Range(1, 4))
        {
            Assert.That(File.Exists($"/tmp/orchestrator-pwned-{n}"), Is.False, "nothing was interpreted by a shell");
        }
    }

    [Test]
    public async Task A_run_task_schedule_runs_its_tool_in_the_project_root()
    {
        await admin.CreateScheduleAsync(new
        {
            name = "where-am-i",
            project = "jobs",
            action = new { type = "run_task", config = new { tool = "where" } },
            trigger = new { at = TimeProvider.System.GetUtcNow().AddSeconds(1).ToString("O", System.Globalization.CultureInfo.InvariantCulture) },
        });
        var runs = await Poll.UntilAsync(() => admin.RunsAsync("jobs.where-am-i"), r => r.Count == 1 && r[0].Status() is "succeeded" or "failed",
            TimeSpan.FromSeconds(20), "the run_task run");
        var result = runs[0].GetProperty("result");
        Assert.That(runs[0].Status(), Is.EqualTo("succeeded"), runs[0].ToString());
        Assert.That(result.GetProperty("stdout").GetString(), Is.EqualTo(root + "\n"), "pwd is the project root, not the server's working directory");
        Assert.That(result.GetProperty("exitCode").GetInt32(), Is.Zero);
        Assert.That(result.GetProperty("tool").GetString(), Is.EqualTo("where"));
    }

    [Test]
    public async Task A_run_task_schedule_with_arguments_the_tool_refuses_is_422()
    {
        var response = await admin.PostAsync("/api/schedules", ApiClient.Json(new
        {
            name = "bad-args",
            project = "jobs",
            action = new { type = "run_task", config = new { tool = "say", arguments = new { text = 5 } } },
            trigger = new { intervalSeconds = 60 },
        }));
        var problem = await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity);
        Assert.That(problem.GetProperty("errors").TryGetProperty("action.config.arguments.text", out _), Is.True, problem.ToString());
    }

    [Test]
    public async Task Two_slow_invocations_run_at_the_same_time()
    {
        var clock = Stopwatch.StartNew();
        var results = await Task.WhenAll(InvokeAsync("nap", new { s = 1.5 }), InvokeAsync("nap", new { s = 1.5 }));
        Assert.That(results.Select(r => r.GetProperty("succeeded").GetBoolean()), Is.All.True);
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(2.8)), "1.5 s + 1.5 s finished together, so they overlapped");
    }

    [Test]
    public async Task A_tool_past_its_timeout_is_killed_and_reported()
    {
        var clock = Stopwatch.StartNew();
        var result = await InvokeAsync("nap", new { s = 20 });
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(10)));
        Assert.That(result.GetProperty("succeeded").GetBoolean(), Is.False);
        Assert.That(result.GetProperty("error").GetString(), Does.Contain("timed out"));
    }

    [Test]
    public async Task A_tool_sees_none_of_the_servers_environment()
    {
        var result = await InvokeAsync("env", new { });
        var output = result.GetProperty("result").GetProperty("stdout").GetString()!;
        Assert.That(output, Does.Not.Contain("secret-value-should-not-leak").And.Not.Contain("Orchestrator__").And.Not.Contain("Password"));
        Assert.That(output, Does.Contain("ORCHESTRATOR_IDEMPOTENCY_KEY=invoke-"));
    }

    [Test]
    public async Task Invoking_with_arguments_that_fail_if_then_is_422_and_meeting_it_runs()
    {
        var response = await admin.PostAsync("/api/tools/greet/invoke", ApiClient.Json(new { project = "jobs", arguments = new { lang = "fr" } }));
        var problem = await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity);
        Assert.That(problem.GetProperty("argumentErrors")[0].GetProperty("path").GetString(), Is.EqualTo("$.text"));
        Assert.That(problem.GetProperty("argumentErrors")[0].GetProperty("keyword").GetString(), Is.EqualTo("required"));

        var result = await InvokeAsync("greet", new { lang = "en" });
        Assert.That(result.GetProperty("result").GetProperty("stdout").GetString(), Does.Contain("[en]"));
    }

    [Test]
    public async Task Invoking_with_bad_arguments_is_422_and_runs_nothing()
    {
        var response = await admin.PostAsync("/api/tools/say/invoke", ApiClient.Json(new { project = "jobs", arguments = new { text = new string('x', 1001) } }));
        var problem = await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity);
        Assert.That(problem.GetProperty("argumentErrors")[0].GetProperty("keyword").GetString(), Is.EqualTo("maxLength"));
        // People read errors and detail: sentences naming the argument, with no schema keyword in them.
        var reason = problem.GetProperty("errors").GetProperty("arguments.text")[0].GetString();
        Assert.That(reason, Does.Match(@"^must be at most \d+ characters long\.$"), problem.ToString());
        Assert.That(problem.GetProperty("detail").GetString(), Is.EqualTo($"text {reason}"));
        await ApiAssertions.AssertProblemAsync(await admin.PostAsync("/api/tools/say/invoke", ApiClient.Json(new { project = "nope", arguments = new { text = "x" } })), HttpStatusCode.UnprocessableEntity);
    }
}
