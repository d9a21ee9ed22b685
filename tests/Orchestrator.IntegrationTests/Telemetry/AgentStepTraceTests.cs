using System.Collections.Concurrent;
using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;
using Orchestrator.IntegrationTests.Infrastructure;
using static Orchestrator.IntegrationTests.Infrastructure.ScriptedChatServer;

namespace Orchestrator.IntegrationTests.Telemetry;

/// <summary>
/// Each step of an agent run is a span under the run's span (issue 15): the in-process server on PostgreSQL runs an
/// agent task against the scripted OpenAI-compatible server on loopback, and the in-memory exporter collects the spans.
/// The attributes say which step, kind, tool or model, tokens and status; never what was said or passed.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class AgentStepTraceTests
{
    private const string Goal = "Write the secret-looking note gl-7f3a and stop.";
    private const string FileContent = "payload-9b1e-must-not-be-traced";

    private readonly SpanList spans = new();
    private ScriptedChatServer model = null!;
    private InProcessServer server = null!;
    private HttpClient admin = null!;
    private string workspace = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        model = await ScriptedChatServer.StartAsync();
        var roots = Directory.CreateTempSubdirectory("orchestrator-agent-trace-").FullName;
        workspace = Directory.CreateDirectory(Path.Combine(roots, "traced")).FullName;
        var database = await TestPostgres.CreateDatabaseAsync("agenttrace");
        server = InProcessServer.Start(
            PostgresNode.Environment(database, new Dictionary<string, string?>
            {
                ["Orchestrator__Workspaces__Roots__0"] = roots,
                ["Orchestrator__Secrets__model-key"] = "sk-trace-test",
                ["Orchestrator__Agents__Models__default__Endpoint"] = model.Endpoint,
                ["Orchestrator__Agents__Models__default__Model"] = "scripted-1",
                ["Orchestrator__Agents__Models__default__ApiKeySecret"] = "model-key",
                ["Orchestrator__Outbound__AllowedHosts__0"] = "127.0.0.1",
            }),
            configureServices: services => services.AddOpenTelemetry().WithTracing(tracing => tracing.AddInMemoryExporter(spans)));
        await server.WaitUntilReadyAsync();
        admin = server.CreateClient(server.PrintedAdminKey);
        await admin.PostForJsonAsync("/api/projects", new { id = "traced", name = "traced", rootPath = workspace }, HttpStatusCode.Created);
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
    }

    [Test]
    public async Task Model_turns_and_tool_calls_are_child_spans_of_the_run_with_step_attributes_and_no_content()
    {
        model.Enqueue(
            new Reply(ToolCalls: [new ToolCall("call_1", "files_write", JsonSerializer.Serialize(new { path = "note.txt", content = FileContent }))], PromptTokens: 30, CompletionTokens: 7),
            new Reply(ToolCalls: [new ToolCall("call_2", "shell_exec", "{\"cmd\":\"rm -rf /\"}")], PromptTokens: 50, CompletionTokens: 6),
            Reply.Answer("Written.", promptTokens: 70, completionTokens: 3));
        await admin.CreateScheduleAsync(new
        {
            name = "traced-agent",
            project = "traced",
            action = new { type = "run_task", config = new { agent = new { goal = Goal, model = "default", tools = new[] { "files.write" } } } },
            trigger = new { at = TimeProvider.System.GetUtcNow().AddYears(5).ToString("O", CultureInfo.InvariantCulture) },
        });
        var started = await admin.PostForJsonAsync("/api/schedules/traced.traced-agent/run", null, HttpStatusCode.Accepted);
        var runId = started.GetProperty("id").GetString();
        var run = await Poll.UntilAsync(() => admin.GetFromJsonAsync<JsonElement>($"/api/runs/{runId}"),
            r => r.Status() is "succeeded" or "failed" or "cancelled", TimeSpan.FromSeconds(30), "the agent run to finish");
        Assert.That(run.Status(), Is.EqualTo("succeeded"), run.ToString());

        // The run span ends after the run is recorded; the step spans ended before it.
        var runSpan = await Poll.UntilAsync(
            () => Task.FromResult(spans.Snapshot().FirstOrDefault(s => s.Source.Name == "Orchestrator" && (string?)s.GetTagItem("orchestrator.run.id") == runId)),
            s => s is not null, TimeSpan.FromSeconds(10), "the run span");
        var steps = spans.Snapshot().Where(s => s.ParentSpanId == runSpan!.SpanId && s.GetTagItem("orchestrator.agent.step.number") is not null)
            .OrderBy(s => (int)s.GetTagItem("orchestrator.agent.step.number")!).ToList();

        Assert.That(steps.Select(s => $"{s.GetTagItem("orchestrator.agent.step.number")}:{s.GetTagItem("orchestrator.agent.step.kind")}:{s.GetTagItem("orchestrator.agent.tool")}:{s.GetTagItem("orchestrator.agent.step.status")}"),
            Is.EqualTo(new[] { "1:model::succeeded", "2:tool:files.write:succeeded", "3:model::succeeded", "4:tool:shell_exec:refused", "5:model::succeeded" }));
        Assert.Multiple(() =>
        {
            Assert.That(steps.Select(s => s.DisplayName), Is.EqualTo(new[] { "agent model", "agent tool files.write", "agent model", "agent tool shell_exec", "agent model" }));
            Assert.That(steps.All(s => s.Source.Name == "Orchestrator" && s.TraceId == runSpan!.TraceId), Is.True);
            Assert.That(steps.Where(s => (string?)s.GetTagItem("orchestrator.agent.step.kind") == "model").Select(s => s.GetTagItem("gen_ai.request.model")), Has.All.EqualTo("default"));
            Assert.That(steps.Select(s => s.GetTagItem("gen_ai.usage.input_tokens")), Is.EqualTo(new object?[] { 30L, null, 50L, null, 70L }));
            Assert.That(steps.Select(s => s.GetTagItem("gen_ai.usage.output_tokens")), Is.EqualTo(new object?[] { 7L, null, 6L, null, 3L }));
            Assert.That(steps.Select(s => s.GetTagItem("orchestrator.agent.usage.total_tokens")), Is.EqualTo(new object?[] { 37L, null, 56L, null, 73L }));
            Assert.That(steps.Select(s => s.GetTagItem("orchestrator.agent.step.attempt")), Has.All.EqualTo(1));
            Assert.That(steps.All(s => s.Status != ActivityStatusCode.Error), Is.True, "no step failed");
            Assert.That(steps.Zip(steps.Skip(1)).All(p => p.First.StartTimeUtc + p.First.Duration <= p.Second.StartTimeUtc), Is.True, "one step after another");
        });

        // Nothing of the conversation: not the goal, not a call's arguments, not the answer.
        var texts = spans.Snapshot().Where(s => s.TraceId == runSpan!.TraceId)
            .SelectMany(s => s.TagObjects.Select(t => t.Value?.ToString() ?? "").Append(s.DisplayName).Append(s.StatusDescription ?? "")).ToList();
        Assert.That(texts, Has.None.Contains(FileContent).And.None.Contains("gl-7f3a").And.None.Contains("rm -rf").And.None.Contains("Written."));
        Assert.That(File.ReadAllText(Path.Combine(workspace, "note.txt")), Is.EqualTo(FileContent), "the tool call did run");
    }

    [Test]
    public async Task A_model_turn_that_fails_is_an_error_span_without_the_endpoint_s_text()
    {
        model.Enqueue(Reply.Error(400));
        await admin.CreateScheduleAsync(new
        {
            name = "failing-agent",
            project = "traced",
            action = new { type = "run_task", config = new { agent = new { goal = Goal, model = "default", tools = new[] { "files.write" } } } },
            trigger = new { at = TimeProvider.System.GetUtcNow().AddYears(5).ToString("O", CultureInfo.InvariantCulture) },
        });
        var started = await admin.PostForJsonAsync("/api/schedules/traced.failing-agent/run", null, HttpStatusCode.Accepted);
        var runId = started.GetProperty("id").GetString();
        var run = await Poll.UntilAsync(() => admin.GetFromJsonAsync<JsonElement>($"/api/runs/{runId}"),
            r => r.Status() is "succeeded" or "failed" or "cancelled", TimeSpan.FromSeconds(30), "the agent run to finish");
        Assert.That(run.Status(), Is.EqualTo("failed"), run.ToString());

        var runSpan = await Poll.UntilAsync(
            () => Task.FromResult(spans.Snapshot().FirstOrDefault(s => s.Source.Name == "Orchestrator" && (string?)s.GetTagItem("orchestrator.run.id") == runId)),
            s => s is not null, TimeSpan.FromSeconds(10), "the run span");
        var first = spans.Snapshot().Single(s => s.ParentSpanId == runSpan!.SpanId && s.GetTagItem("orchestrator.agent.step.number") is 1);
        Assert.Multiple(() =>
        {
            Assert.That(first.GetTagItem("orchestrator.agent.step.kind"), Is.EqualTo("model"));
            Assert.That(first.GetTagItem("orchestrator.agent.step.status"), Is.EqualTo("failed"));
            Assert.That(first.Status, Is.EqualTo(ActivityStatusCode.Error));
            Assert.That(first.GetTagItem("error.type"), Is.Not.Null);
            Assert.That(first.StatusDescription, Is.EqualTo("agent step failed"));
        });
    }

    /// <summary>The exporter adds from the threads spans end on while the test reads.</summary>
    private sealed class SpanList : ICollection<Activity>
    {
        private readonly ConcurrentQueue<Activity> items = new();

        public int Count => items.Count;

        public bool IsReadOnly => false;

        public List<Activity> Snapshot() => [.. items];

        public void Add(Activity item) => items.Enqueue(item);

        public void Clear() => items.Clear();

        public bool Contains(Activity item) => items.Contains(item);

        public void CopyTo(Activity[] array, int arrayIndex) => items.CopyTo(array, arrayIndex);

        public bool Remove(Activity item) => throw new NotSupportedException("The exporter only adds.");

        public IEnumerator<Activity> GetEnumerator() => Snapshot().GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
