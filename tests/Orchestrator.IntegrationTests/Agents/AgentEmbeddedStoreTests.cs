using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;
using static Orchestrator.IntegrationTests.Infrastructure.ScriptedChatServer;

namespace Orchestrator.IntegrationTests.Agents;

/// <summary>An agent run on the embedded SQLite default: steps, usage and the daily budget's sum work on that store too.</summary>
[TestFixture]
[NonParallelizable]
public sealed class AgentEmbeddedStoreTests
{
    [Test]
    public async Task An_agent_run_records_its_steps_and_usage_on_sqlite()
    {
        await using var model = await ScriptedChatServer.StartAsync();
        model.Enqueue(
            Reply.Calls(new ToolCall("c1", "files_write", """{"path":"out.txt","content":"sqlite"}""")),
            Reply.Answer("Done.", promptTokens: 12, completionTokens: 3));
        await using var server = InProcessServer.Start(new Dictionary<string, string?>
        {
            ["Orchestrator__Outbound__AllowedHosts__0"] = "127.0.0.1",
            ["Orchestrator__Secrets__model-key"] = "sk-sqlite",
            ["Orchestrator__Agents__Models__default__Endpoint"] = model.Endpoint,
            ["Orchestrator__Agents__Models__default__Model"] = "scripted-1",
            ["Orchestrator__Agents__Models__default__ApiKeySecret"] = "model-key",
            ["Orchestrator__Agents__DailyTokenBudget"] = "100000",
        });
        await server.WaitUntilReadyAsync();
        using var admin = server.CreateClient(server.PrintedAdminKey);
        await admin.CreateScheduleAsync(new
        {
            name = "writer",
            action = new { type = "run_task", config = new { agent = new { goal = "Write out.txt.", model = "default", tools = new[] { "files.write" } } } },
            trigger = new { at = TimeProvider.System.GetUtcNow().AddYears(5).ToString("O", CultureInfo.InvariantCulture) },
        });
        var runId = (await admin.PostForJsonAsync("/api/schedules/default.writer/run", null, HttpStatusCode.Accepted)).GetProperty("id").GetString();

        var run = await Poll.UntilAsync(() => admin.GetFromJsonAsync<JsonElement>($"/api/runs/{runId}"), r => r.Status() is "succeeded" or "failed", TimeSpan.FromSeconds(30), "the agent run");

        Assert.That(run.Status(), Is.EqualTo("succeeded"), run.ToString());
        Assert.That(run.GetProperty("usage").GetProperty("totalTokens").GetInt64(), Is.EqualTo(30));
        Assert.That(run.GetProperty("usage").GetProperty("steps").GetInt32(), Is.EqualTo(3));
        var steps = (await admin.GetFromJsonAsync<JsonElement>($"/api/runs/{runId}/steps")).EnumerateArray().Select(s => s.GetProperty("status").GetString());
        Assert.That(steps, Is.EqualTo(new[] { "succeeded", "succeeded", "succeeded" }));
    }

    [Test]
    public async Task On_sqlite_too_an_older_attempt_of_a_step_does_not_overwrite_a_newer_one()
    {
        await using var server = InProcessServer.Start(new Dictionary<string, string?>());
        await server.WaitUntilReadyAsync();
        await AgentStepStoreTests.OlderAttemptIsNotWrittenOverAsync(server);
    }
}
