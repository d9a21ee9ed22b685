using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Data;
using Orchestrator.IntegrationTests.Infrastructure;
using static Orchestrator.IntegrationTests.Infrastructure.ScriptedChatServer;

namespace Orchestrator.IntegrationTests.Agents;

/// <summary>
/// Agent tasks end to end: the in-process server on PostgreSQL asks the scripted OpenAI-compatible server on loopback,
/// runs the tool calls it answers with in a project's workspace, and records steps and usage. Tests share the scripted
/// server's queue, so they run one after another.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class AgentTaskTests
{
    private const string ModelKey = "sk-agent-test-5c1e7a";
    private const string HttpSecret = "tok-agent-9d2f-never-to-the-model";
    private const long Budget = 1000;

    private ScriptedChatServer model = null!;
    private RecordingHttpServer peer = null!;
    private InProcessServer server = null!;
    private HttpClient admin = null!;
    private string workspaces = null!;
    private int schedules;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        model = await ScriptedChatServer.StartAsync();
        peer = await RecordingHttpServer.StartAsync();
        workspaces = Directory.CreateTempSubdirectory("orchestrator-agents-ws-").FullName;
        var database = await TestPostgres.CreateDatabaseAsync("agents");
        server = InProcessServer.Start(PostgresNode.Environment(database, new Dictionary<string, string?>
        {
            ["Orchestrator__Workspaces__Roots__0"] = workspaces,
            ["Orchestrator__Outbound__AllowedHosts__0"] = "127.0.0.1",
            ["Orchestrator__Secrets__model-key"] = ModelKey,
            ["Orchestrator__Secrets__HTTP_TOKEN"] = HttpSecret,
            ["Orchestrator__Agents__Models__default__Endpoint"] = model.Endpoint,
            ["Orchestrator__Agents__Models__default__Model"] = "scripted-1",
            ["Orchestrator__Agents__Models__default__ApiKeySecret"] = "model-key",
            ["Orchestrator__Agents__MaxSteps"] = "12",
            ["Orchestrator__Agents__MaxTokens"] = "5000",
            ["Orchestrator__Agents__DailyTokenBudget"] = Budget.ToString(CultureInfo.InvariantCulture),
            ["Orchestrator__Agents__ToolResultMaxChars"] = "2000",
        }));
        await server.WaitUntilReadyAsync();
        admin = server.CreateClient(server.PrintedAdminKey);
        foreach (var project in new[] { "agents", "budget" })
        {
            await admin.PostForJsonAsync("/api/projects", new { id = project, name = project, rootPath = Path.Combine(workspaces, project) }, HttpStatusCode.Created);
            Directory.CreateDirectory(Path.Combine(workspaces, project));
        }

        // An http tool whose template carries a secret: the peer echoes the Authorization header it got back in its body.
        await admin.PostForJsonAsync("/api/tools", new
        {
            name = "peer.echo",
            kind = "http",
            parameters = new { type = "object", properties = new { n = new { type = "integer" } } },
            config = new { method = "GET", url = peer.BaseUrl + "/echo/agent", headers = new Dictionary<string, string> { ["Authorization"] = "Bearer {{secret:HTTP_TOKEN}}" } },
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

        if (model is not null)
        {
            await model.DisposeAsync();
        }

        if (peer is not null)
        {
            await peer.DisposeAsync();
        }
    }

    [TearDown]
    public void ScriptUsedUp() => Assert.That(model.Remaining, Is.Zero, "every scripted reply was asked for");

    private static string FarFuture => TimeProvider.System.GetUtcNow().AddYears(5).ToString("O", CultureInfo.InvariantCulture);

    /// <summary>Creates an agent schedule (firing far in the future) and runs it now; returns the finished run.</summary>
    private async Task<JsonElement> RunAgentAsync(object agent, string project = "agents")
    {
        var name = $"agent-{Interlocked.Increment(ref schedules)}";
        await admin.CreateScheduleAsync(new { name, project, action = new { type = "run_task", config = new { agent } }, trigger = new { at = FarFuture } });
        var started = await admin.PostForJsonAsync($"/api/schedules/{project}.{name}/run", null, HttpStatusCode.Accepted);
        var id = started.GetProperty("id").GetString();
        return await Poll.UntilAsync(() => admin.GetFromJsonAsync<JsonElement>($"/api/runs/{id}"),
            r => r.Status() is "succeeded" or "failed" or "cancelled", TimeSpan.FromSeconds(30), $"agent run {id} to finish");
    }

    private async Task<List<JsonElement>> StepsAsync(JsonElement run) =>
        [.. (await admin.GetFromJsonAsync<JsonElement>($"/api/runs/{run.GetProperty("id").GetString()}/steps")).EnumerateArray()];

    private static ToolCall Call(string id, string name, object arguments) => new(id, name, JsonSerializer.Serialize(arguments));

    private int AskedSoFar => model.Requests.Count;

    [Test]
    public async Task A_goal_done_in_three_turns_with_two_tool_calls_writes_the_file_adds_up_usage_lists_steps_and_keeps_no_content()
    {
        var before = AskedSoFar;
        model.Enqueue(
            new Reply(ToolCalls: [Call("call_1", "files_write", new { path = "notes/today.txt", content = "hello from the agent" })], PromptTokens: 40, CompletionTokens: 12),
            new Reply(ToolCalls: [Call("call_2", "files_read", new { path = "notes/today.txt" })], PromptTokens: 60, CompletionTokens: 9),
            Reply.Answer("The file says: hello from the agent.", promptTokens: 80, completionTokens: 11));

        var run = await RunAgentAsync(new { goal = "Write a note for run {{run.id}} and read it back.", model = "default", tools = new[] { "files.write", "files.read" }, inputs = new { who = "{{schedule.name}}" } });

        Assert.That(run.Status(), Is.EqualTo("succeeded"), run.ToString());
        Assert.That(File.ReadAllText(Path.Combine(workspaces, "agents", "notes", "today.txt")), Is.EqualTo("hello from the agent"));
        Assert.That(run.GetProperty("result").GetProperty("answer").GetString(), Is.EqualTo("The file says: hello from the agent."));
        var usage = run.GetProperty("usage");
        Assert.That(usage.GetProperty("inputTokens").GetInt64(), Is.EqualTo(180));
        Assert.That(usage.GetProperty("outputTokens").GetInt64(), Is.EqualTo(32));
        Assert.That(usage.GetProperty("totalTokens").GetInt64(), Is.EqualTo(212));
        Assert.That(usage.GetProperty("steps").GetInt32(), Is.EqualTo(5));

        var steps = await StepsAsync(run);
        Assert.That(steps.Select(s => $"{s.GetProperty("step").GetInt32()}:{s.GetProperty("kind").GetString()}:{(s.GetProperty("tool").ValueKind == JsonValueKind.Null ? "" : s.GetProperty("tool").GetString())}:{s.GetProperty("status").GetString()}"),
            Is.EqualTo(new[] { "1:model::succeeded", "2:tool:files.write:succeeded", "3:model::succeeded", "4:tool:files.read:succeeded", "5:model::succeeded" }));
        Assert.That(steps.Where(s => s.GetProperty("kind").GetString() == "model").Sum(s => s.GetProperty("totalTokens").GetInt64()), Is.EqualTo(212));
        Assert.That(steps[1].GetProperty("idempotencyKey").GetString(), Is.EqualTo(run.GetProperty("idempotencyKey").GetString() + "-step-2"));
        Assert.That(steps.All(s => s.GetProperty("durationMs").ValueKind == JsonValueKind.Number && s.GetProperty("attempt").GetInt32() == 1), Is.True);
        Assert.That(steps.Select(s => s.GetRawText()), Has.None.Contains("hello from the agent"), "the steps route shows no content");

        await using (var scope = server.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>();
            var runId = Guid.Parse(run.GetProperty("id").GetString()!);
            var stored = await db.AgentSteps.AsNoTracking().Where(s => s.RunId == runId).ToListAsync();
            Assert.That(stored, Has.Count.EqualTo(5));
            Assert.That(stored.Select(s => s.Content), Is.All.Null, "the transcript is deleted when the run ends");
        }

        var asked = model.Requests.Skip(before).ToList();
        Assert.That(asked, Has.Count.EqualTo(3));
        Assert.That(asked.Select(r => r.Authorization), Is.All.EqualTo("Bearer " + ModelKey), "the API key is sent as the bearer token");
        var offered = asked[0].Json!["tools"]!.AsArray().Select(t => t!["function"]!["name"]!.GetValue<string>());
        Assert.That(offered, Is.EquivalentTo(new[] { "files_write", "files_read" }), "only the listed tools are offered");
        Assert.That(asked[0].Json!["tools"]![0]!["function"]!["parameters"]!["required"]!.ToJsonString(), Is.EqualTo("""["path","content"]"""), "each with its registry schema");
        Assert.That(asked[0].Body, Does.Contain(run.GetProperty("id").GetString()!), "the goal is templated with the run");
        Assert.That(asked[0].Body, Does.Contain($"agent-{schedules}"), "and so are the inputs");
        Assert.That(asked[2].Body, Does.Contain("hello from the agent"), "the read file went back to the model");
        Assert.That(asked[2].Body, Does.Contain("call_2"));
    }

    [Test]
    public async Task Invalid_arguments_are_answered_with_the_errors_and_the_corrected_call_runs()
    {
        var before = AskedSoFar;
        model.Enqueue(
            Reply.Calls(Call("bad", "files_write", new { path = 5, content = "x" })),
            Reply.Calls(Call("good", "files_write", new { path = "corrected.txt", content = "fixed" })),
            Reply.Answer("Written."));

        var run = await RunAgentAsync(new { goal = "Write corrected.txt.", model = "default", tools = new[] { "files.write" } });

        Assert.That(run.Status(), Is.EqualTo("succeeded"), run.ToString());
        Assert.That(File.ReadAllText(Path.Combine(workspaces, "agents", "corrected.txt")), Is.EqualTo("fixed"));
        var steps = await StepsAsync(run);
        Assert.That(steps.Select(s => s.GetProperty("status").GetString()), Is.EqualTo(new[] { "succeeded", "refused", "succeeded", "succeeded", "succeeded" }));
        Assert.That(steps[1].GetProperty("error").GetString(), Does.Contain("$.path").And.Contain("type"));
        Assert.That(run.GetProperty("usage").GetProperty("steps").GetInt32(), Is.EqualTo(5), "a refused call counts as a step");
        var toolMessage = model.Requests[before + 1].Json!["messages"]!.AsArray().Single(m => m!["role"]!.GetValue<string>() == "tool");
        Assert.That(toolMessage!.ToJsonString(), Does.Contain("$.path").And.Contain("keyword").And.Contain("bad"), "the model gets the errors by path, keyword and message");
    }

    [Test]
    public async Task A_tool_not_offered_is_refused_and_never_runs()
    {
        var before = AskedSoFar;
        model.Enqueue(
            Reply.Calls(Call("sneak", "files_write", new { path = "sneaked.txt", content = "no" })),
            Reply.Answer("I could not write it."));

        var run = await RunAgentAsync(new { goal = "Read something.", model = "default", tools = new[] { "files.read" } });

        Assert.That(run.Status(), Is.EqualTo("succeeded"), run.ToString());
        Assert.That(File.Exists(Path.Combine(workspaces, "agents", "sneaked.txt")), Is.False, "the tool not offered did not run");
        var steps = await StepsAsync(run);
        Assert.That(steps[1].GetProperty("status").GetString(), Is.EqualTo("refused"));
        Assert.That(steps[1].GetProperty("error").GetString(), Does.Contain("not offered").And.Contain("files_read"));
        Assert.That(model.Requests[before + 1].Body, Does.Contain("not offered"));
    }

    [Test]
    public async Task The_step_limit_fails_the_run_naming_it()
    {
        model.Enqueue(
            Reply.Calls(Call("a", "files_list", new { })),
            Reply.Calls(Call("b", "files_list", new { })));

        var run = await RunAgentAsync(new { goal = "List forever.", model = "default", tools = new[] { "files.list" }, maxSteps = 3 });

        Assert.That(run.Status(), Is.EqualTo("failed"), run.ToString());
        Assert.That(run.GetProperty("error").GetString(), Does.Contain("step limit").And.Contain("maxSteps = 3"));
        Assert.That(run.GetProperty("usage").GetProperty("steps").GetInt32(), Is.EqualTo(3));
    }

    [Test]
    public async Task The_token_limit_fails_the_run_naming_it()
    {
        model.Enqueue(new Reply(ToolCalls: [Call("a", "files_list", new { })], PromptTokens: 30, CompletionTokens: 10));

        var run = await RunAgentAsync(new { goal = "Spend.", model = "default", tools = new[] { "files.list" }, maxTokens = 25 });

        Assert.That(run.Status(), Is.EqualTo("failed"), run.ToString());
        Assert.That(run.GetProperty("error").GetString(), Does.Contain("token limit").And.Contain("maxTokens = 25"));
        Assert.That(run.GetProperty("usage").GetProperty("totalTokens").GetInt64(), Is.EqualTo(40));
        Assert.That((await StepsAsync(run)).Count, Is.EqualTo(1), "no tool call ran past the limit");
    }

    [Test]
    public async Task The_time_limit_fails_the_run_naming_it_while_the_model_is_still_answering()
    {
        var release = new TaskCompletionSource();
        model.Enqueue(new Reply(Content: "too late", Hold: release.Task));
        try
        {
            var run = await RunAgentAsync(new { goal = "Take your time.", model = "default", timeoutSeconds = 2 });

            Assert.That(run.Status(), Is.EqualTo("failed"), run.ToString());
            Assert.That(run.GetProperty("error").GetString(), Does.Contain("time limit").And.Contain("timeoutSeconds = 2"));
            var steps = await StepsAsync(run);
            Assert.That(steps.Single().GetProperty("status").GetString(), Is.EqualTo("failed"), "the model turn cut off is not left running");
        }
        finally
        {
            release.TrySetResult();
        }
    }

    [Test]
    public async Task Cancel_interrupts_the_model_call_at_once()
    {
        var release = new TaskCompletionSource();
        model.Enqueue(new Reply(Content: "never delivered", Hold: release.Task));
        try
        {
            var name = $"agent-{Interlocked.Increment(ref schedules)}";
            await admin.CreateScheduleAsync(new { name, project = "agents", action = new { type = "run_task", config = new { agent = new { goal = "Wait.", model = "default", timeoutSeconds = 120 } } }, trigger = new { at = FarFuture } });
            var started = await admin.PostForJsonAsync($"/api/schedules/agents.{name}/run", null, HttpStatusCode.Accepted);
            var id = started.GetProperty("id").GetString();
            await Poll.UntilAsync(() => Task.FromResult(model.Remaining), remaining => remaining == 0, TimeSpan.FromSeconds(20), "the model call to be under way");

            var clock = System.Diagnostics.Stopwatch.StartNew();
            await admin.PostForJsonAsync($"/api/runs/{id}/cancel", null, HttpStatusCode.Accepted);
            var run = await Poll.UntilAsync(() => admin.GetFromJsonAsync<JsonElement>($"/api/runs/{id}"), r => r.Status() is "cancelled" or "failed" or "succeeded",
                TimeSpan.FromSeconds(20), "the run to stop");

            Assert.That(run.Status(), Is.EqualTo("cancelled"), run.ToString());
            Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(10)), "the held model call did not have to finish");
            await Poll.UntilAsync(() => Task.FromResult(model.Requests is { Count: > 0 } requests ? requests[^1] : null), r => r?.Aborted == true, TimeSpan.FromSeconds(10), "the model request to be aborted");
            var steps = await StepsAsync(run);
            Assert.That(steps.Single().GetProperty("status").GetString(), Is.EqualTo("cancelled"));
        }
        finally
        {
            release.TrySetResult();
        }
    }

    [Test]
    public async Task Past_the_daily_budget_a_new_run_is_refused_before_any_model_call()
    {
        model.Enqueue(Reply.Answer("Expensive.", promptTokens: (int)Budget, completionTokens: 1));
        var first = await RunAgentAsync(new { goal = "Spend the budget.", model = "default" }, project: "budget");
        Assert.That(first.Status(), Is.EqualTo("succeeded"), first.ToString());

        var before = AskedSoFar;
        var second = await RunAgentAsync(new { goal = "Spend more.", model = "default" }, project: "budget");

        Assert.That(second.Status(), Is.EqualTo("failed"), second.ToString());
        Assert.That(second.GetProperty("error").GetString(), Does.Contain("daily token budget").And.Contain("DailyTokenBudget = 1000").And.Contain("'budget'"));
        Assert.That(AskedSoFar, Is.EqualTo(before), "the model was not asked");
    }

    [Test]
    public async Task A_secret_in_the_runs_http_tool_never_reaches_the_model()
    {
        var before = AskedSoFar;
        model.Enqueue(
            Reply.Calls(Call("echo", "peer_echo", new { n = 1 })),
            Reply.Answer("The peer answered."));

        var run = await RunAgentAsync(new { goal = "Call the peer.", model = "default", tools = new[] { "peer.echo" } });

        Assert.That(run.Status(), Is.EqualTo("succeeded"), run.ToString());
        Assert.That(peer.RequestsTo("/echo/agent").Select(r => r.Headers.GetValueOrDefault("Authorization")), Has.Some.EqualTo("Bearer " + HttpSecret),
            "the tool did send the secret to its target, which echoed it back");
        var asked = model.Requests.Skip(before).ToList();
        Assert.That(asked, Has.Count.EqualTo(2));
        Assert.That(asked[1].Body, Does.Contain("/echo/agent"), "the tool's result went back to the model");
        Assert.That(model.Requests.Select(r => r.Body), Has.None.Contains(HttpSecret), "no request to the model carried the secret");
    }

    [Test]
    public async Task A_model_naming_a_secret_in_its_arguments_is_refused()
    {
        model.Enqueue(
            Reply.Calls(Call("leak", "files_write", new { path = "leak.txt", content = "{{secret:HTTP_TOKEN}}" })),
            Reply.Answer("Refused."));

        var run = await RunAgentAsync(new { goal = "Leak.", model = "default", tools = new[] { "files.write" } });

        Assert.That(run.Status(), Is.EqualTo("succeeded"), run.ToString());
        Assert.That(File.Exists(Path.Combine(workspaces, "agents", "leak.txt")), Is.False);
        Assert.That((await StepsAsync(run))[1].GetProperty("status").GetString(), Is.EqualTo("refused"));
    }

    [TestCase("""{"goal":"g","model":"absent"}""", "action.config.agent.model", "absent")]
    [TestCase("""{"goal":"g","model":"default","tools":["files.read","no.such.tool"]}""", "action.config.agent.tools[1]", "no.such.tool")]
    [TestCase("""{"goal":"g","model":"default","maxSteps":13}""", "action.config.agent.maxSteps", "MaxSteps = 12")]
    [TestCase("""{"goal":"g","model":"default","maxTokens":5001}""", "action.config.agent.maxTokens", "MaxTokens = 5000")]
    [TestCase("""{"goal":"g","model":"default","maxSteps":0}""", "action.config.agent.maxSteps", "must be at least 1")]
    [TestCase("""{"goal":"for {{run.nope}}","model":"default"}""", "action.config.agent.goal", "run.nope")]
    [TestCase("""{"goal":"g","model":"default","inputs":{"a":["{{schedule.nope}}"]}}""", "action.config.agent.inputs.a[0]", "schedule.nope")]
    [TestCase("""{"model":"default"}""", "action.config.agent.goal", "required")]
    public async Task An_agent_task_the_server_cannot_run_is_refused_at_creation_naming_the_field(string agent, string field, string reason)
    {
        var response = await admin.PostAsync("/api/schedules", new StringContent(
            $$$"""{"name":"refused","project":"agents","action":{"type":"run_task","config":{"agent":{{{agent}}}}},"trigger":{"at":"{{{FarFuture}}}"}}""",
            System.Text.Encoding.UTF8, "application/json"));
        var problem = await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity);
        var errors = problem.GetProperty("errors");
        Assert.That(errors.TryGetProperty(field, out var messages), Is.True, problem.ToString());
        Assert.That(messages.ToString(), Does.Contain(reason));
        Assert.That((await admin.GetAsync("/api/schedules/agents.refused")).StatusCode, Is.EqualTo(HttpStatusCode.NotFound), "nothing was stored");
    }

    [Test]
    public async Task Both_forms_at_once_is_refused_at_creation()
    {
        var response = await admin.PostAsync("/api/schedules", ApiClient.Json(new
        {
            name = "both",
            project = "agents",
            action = new { type = "run_task", config = new { tool = "files.read", arguments = new { path = "x" }, agent = new { goal = "g", model = "default" } } },
            trigger = new { at = FarFuture },
        }));
        var problem = await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity);
        Assert.That(problem.GetProperty("errors").GetProperty("action.config").ToString(), Does.Contain("not both"));
    }

    [Test]
    public async Task The_actions_listing_shows_the_agent_form()
    {
        var actions = await admin.GetFromJsonAsync<JsonElement>("/api/actions");
        var runTask = actions.EnumerateArray().Single(a => a.GetProperty("name").GetString() == "run_task");
        var agent = runTask.GetProperty("schema").GetProperty("properties").GetProperty("agent");
        Assert.That(agent.GetProperty("required").ToString(), Does.Contain("goal").And.Contain("model"));
        Assert.That(agent.GetProperty("properties").TryGetProperty("maxSteps", out _), Is.True);
    }

    [Test]
    public async Task An_agent_node_of_a_pipeline_hands_its_final_answer_to_the_next_node()
    {
        model.Enqueue(Reply.Answer("forty-two"));
        await admin.PostForJsonAsync("/api/pipelines", new
        {
            id = "ask-then-write",
            name = "ask then write",
            project = "agents",
            nodes = new object[]
            {
                new { id = "ask", type = "action", action = new { type = "run_task", config = new { agent = new { goal = "What is the answer to {{inputs.question}}?", model = "default" } } } },
                new { id = "write", type = "action", action = new { type = "run_task", config = new { tool = "files.write", arguments = new { path = "answer.txt", content = "{{nodes.ask.output.answer}}" } } } },
            },
            edges = new[] { new { from = "ask", to = "write" } },
        }, HttpStatusCode.Created);

        var runId = (await admin.PostForJsonAsync("/api/pipelines/ask-then-write/run", new { inputs = new { question = "everything" } }, HttpStatusCode.Accepted)).GetProperty("id").GetString();
        var done = await Poll.UntilAsync(() => admin.GetFromJsonAsync<JsonElement>($"/api/pipeline-runs/{runId}"),
            d => d.GetProperty("run").GetProperty("status").GetString() is not ("running" or "pending"), TimeSpan.FromSeconds(30), "the pipeline run");

        Assert.That(done.GetProperty("run").GetProperty("status").GetString(), Is.EqualTo("succeeded"), done.ToString());
        Assert.That(File.ReadAllText(Path.Combine(workspaces, "agents", "answer.txt")), Is.EqualTo("forty-two"));
        Assert.That(model.Requests[^1].Body, Does.Contain("What is the answer to everything?"), "the pipeline filled the goal");
        var steps = (await admin.GetFromJsonAsync<JsonElement>($"/api/runs/{runId}/steps")).EnumerateArray().ToList();
        Assert.That(steps.Single().GetProperty("kind").GetString(), Is.EqualTo("model"));
    }

    [Test]
    public async Task Steps_of_an_unknown_run_are_404()
    {
        await ApiAssertions.AssertProblemAsync(await admin.GetAsync($"/api/runs/{Guid.NewGuid()}/steps"), HttpStatusCode.NotFound);
        await ApiAssertions.AssertProblemAsync(await admin.GetAsync("/api/runs/not-a-run/steps"), HttpStatusCode.NotFound);
    }
}
