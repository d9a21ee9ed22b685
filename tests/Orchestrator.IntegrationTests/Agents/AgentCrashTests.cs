using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;
using static Orchestrator.IntegrationTests.Infrastructure.ScriptedChatServer;

namespace Orchestrator.IntegrationTests.Agents;

/// <summary>
/// An agent run whose node is killed (SIGKILL) after a tool call completed and while the next model turn is in flight:
/// the survivor's recovered firing resumes from the persisted steps, never calling the tool or asking a completed
/// model turn again.
/// </summary>
[TestFixture]
[Category("Cluster")]
[NonParallelizable]
public sealed class AgentCrashTests
{
    private const string ModelKey = "sk-crash-3e8a";

    [Test]
    public async Task A_node_killed_mid_loop_is_resumed_by_the_survivor_without_repeating_a_tool_call_or_a_model_turn()
    {
        await using var model = await ScriptedChatServer.StartAsync();
        await using var peer = await RecordingHttpServer.StartAsync();
        var held = new TaskCompletionSource();
        model.Enqueue(
            Reply.Calls(new ToolCall("call_hit", "target_hit", "{}")),
            new Reply(Content: "never delivered: the node dies first", Hold: held.Task),
            Reply.Answer("The target was hit once."));
        var database = await TestPostgres.CreateDatabaseAsync("agentcrash");
        var environment = PostgresNode.Environment(database, new Dictionary<string, string?>
        {
            ["Orchestrator__Outbound__AllowedHosts__0"] = "127.0.0.1",
            ["Orchestrator__Secrets__model-key"] = ModelKey,
            ["Orchestrator__Agents__Models__default__Endpoint"] = model.Endpoint,
            ["Orchestrator__Agents__Models__default__Model"] = "scripted-1",
            ["Orchestrator__Agents__Models__default__ApiKeySecret"] = "model-key",
        });
        await using var first = ServerProcess.Start(environment);
        await first.WaitUntilReadyAsync();
        var key = first.PrintedAdminKey!;
        await using var second = ServerProcess.Start(environment);
        await second.WaitUntilReadyAsync();
        var nodes = new Dictionary<string, ServerProcess>
        {
            [await InstanceIdAsync(first, key)] = first,
            [await InstanceIdAsync(second, key)] = second,
        };

        try
        {
            using var api = first.CreateClient(key);
            await api.PostForJsonAsync("/api/tools", new
            {
                name = "target.hit",
                kind = "http",
                parameters = new { type = "object" },
                config = new { method = "POST", url = peer.BaseUrl + "/agentcrash/hit" },
            }, HttpStatusCode.Created);
            await api.CreateScheduleAsync(new
            {
                name = "agent-crash",
                action = new { type = "run_task", config = new { agent = new { goal = "Hit the target once, then say so.", model = "default", tools = new[] { "target.hit" } } } },
                trigger = new { at = TimeProvider.System.GetUtcNow().AddSeconds(2).ToString("O", CultureInfo.InvariantCulture) },
            });

            // The tool call has completed and the second model turn is being answered (held): kill the node running it.
            await peer.WaitForRequestsAsync("/agentcrash/hit", 1, TimeSpan.FromSeconds(30));
            await Poll.UntilAsync(() => Task.FromResult(model.Remaining), remaining => remaining == 1, TimeSpan.FromSeconds(30), "the second model turn to be in flight");
            var ledger = (await api.RunsAsync("default.agent-crash")).Single();
            var victimId = ledger.GetProperty("node").GetString()!;
            var survivor = nodes.Single(n => n.Key != victimId).Value;
            nodes[victimId].Kill();

            using var survivorApi = survivor.CreateClient(key);
            var finished = await Poll.UntilAsync(() => survivorApi.RunsAsync("default.agent-crash"), r => r.Count == 1 && r[0].Status() is "succeeded" or "failed",
                TimeSpan.FromSeconds(90), "the survivor to finish the agent run");
            var dump = await DatabaseDump.QuartzAndLedgerAsync(database);
            var run = finished[0];

            Assert.That(run.Status(), Is.EqualTo("succeeded"), run + "\n" + dump);
            Assert.That(run.GetProperty("triggeredBy").GetString(), Is.EqualTo("recovery"));
            Assert.That(run.GetProperty("attempt").GetInt32(), Is.EqualTo(2));
            Assert.That(run.GetProperty("result").GetProperty("answer").GetString(), Is.EqualTo("The target was hit once."));
            Assert.That(peer.RequestsTo("/agentcrash/hit"), Has.Count.EqualTo(1), "the completed tool call was not run again");

            var asked = model.Requests.Where(r => r.Path == CompletionsPath).OrderBy(r => r.At).ToList();
            Assert.That(asked, Has.Count.EqualTo(3), "turn 1, turn 2 cut off by the kill, turn 2 asked again; never turn 1 again");
            Assert.That(asked.Count(r => !r.Body.Contains("call_hit", StringComparison.Ordinal)), Is.EqualTo(1),
                "only the first request lacks the tool call: the survivor replayed turn 1 from storage");
            Assert.That(asked[^1].Body, Does.Contain("/agentcrash/hit"), "the survivor fed the stored tool result back");

            var steps = (await survivorApi.GetFromJsonAsync<JsonElement>($"/api/runs/{run.GetProperty("id").GetString()}/steps")).EnumerateArray().ToList();
            Assert.That(steps.Select(s => $"{s.GetProperty("kind").GetString()}:{s.GetProperty("status").GetString()}:{s.GetProperty("attempt").GetInt32()}"),
                Is.EqualTo(new[] { "model:succeeded:1", "tool:succeeded:1", "model:succeeded:2", }), "turn 2 is the one step taken again");
            Assert.That(run.GetProperty("usage").GetProperty("steps").GetInt32(), Is.EqualTo(3));
        }
        finally
        {
            held.TrySetResult();
        }
    }

    private static async Task<string> InstanceIdAsync(ServerProcess server, string key)
    {
        using var http = server.CreateClient(key);
        var nodes = await http.GetFromJsonAsync<JsonElement>("/api/cluster/nodes");
        return nodes.EnumerateArray().Single(n => n.GetProperty("isThisNode").GetBoolean()).GetProperty("instanceId").GetString()!;
    }
}
