using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;
using static Orchestrator.IntegrationTests.Infrastructure.ScriptedChatServer;

namespace Orchestrator.IntegrationTests.Agents;

/// <summary>
/// An agent run on a node stopped normally (SIGTERM, the shutdown timeout passing while a model turn is in flight) is
/// interrupted, not ended: when the server starts again on the same database, Quartz's recovery of the firing the
/// shutdown cancelled resumes it from the stored steps, never running the completed tool call or asking the completed
/// model turn again. The SIGKILL case is <see cref="AgentCrashTests"/>.
/// </summary>
[TestFixture]
[Category("Cluster")]
[NonParallelizable]
public sealed class AgentShutdownTests
{
    [Test]
    public async Task An_agent_run_interrupted_by_a_graceful_shutdown_resumes_on_restart_without_repeating_a_step()
    {
        await using var model = await ScriptedChatServer.StartAsync();
        await using var peer = await RecordingHttpServer.StartAsync();
        var held = new TaskCompletionSource();
        model.Enqueue(
            Reply.Calls(new ToolCall("call_hit", "target_hit", "{}")),
            new Reply(Content: "never delivered: the node stops first", Hold: held.Task),
            Reply.Answer("The target was hit once."));
        var database = await TestPostgres.CreateDatabaseAsync("agentstop");
        var environment = PostgresNode.Environment(database, new Dictionary<string, string?>
        {
            ["Orchestrator__Outbound__AllowedHosts__0"] = "127.0.0.1",
            ["Orchestrator__Secrets__model-key"] = "sk-stop-61d0",
            ["Orchestrator__Agents__Models__default__Endpoint"] = model.Endpoint,
            ["Orchestrator__Agents__Models__default__Model"] = "scripted-1",
            ["Orchestrator__Agents__Models__default__ApiKeySecret"] = "model-key",
            ["Orchestrator__Scheduler__ShutdownTimeout"] = "00:00:02",
        });

        try
        {
            string key;
            string runId;
            await using (var node = ServerProcess.Start(environment))
            {
                await node.WaitUntilReadyAsync();
                key = node.PrintedAdminKey!;
                using var api = node.CreateClient(key);
                await api.PostForJsonAsync("/api/tools", new
                {
                    name = "target.hit",
                    kind = "http",
                    parameters = new { type = "object" },
                    config = new { method = "POST", url = peer.BaseUrl + "/agentstop/hit" },
                }, HttpStatusCode.Created);
                await api.CreateScheduleAsync(new
                {
                    name = "agent-stop",
                    action = new { type = "run_task", config = new { agent = new { goal = "Hit the target once, then say so.", model = "default", tools = new[] { "target.hit" } } } },
                    trigger = new { at = TimeProvider.System.GetUtcNow().AddSeconds(2).ToString("O", CultureInfo.InvariantCulture) },
                });

                // The tool call has completed and the second model turn is being answered (held): stop the server normally.
                await peer.WaitForRequestsAsync("/agentstop/hit", 1, TimeSpan.FromSeconds(30));
                await Poll.UntilAsync(() => Task.FromResult(model.Remaining), remaining => remaining == 1, TimeSpan.FromSeconds(30), "the second model turn to be in flight");
                runId = (await api.RunsAsync("default.agent-stop")).Single().GetProperty("id").GetString()!;
                Assert.That(await node.StopGracefullyAsync(TimeSpan.FromSeconds(30)), Is.Zero, node.Output);
            }

            // Stopped: the run is recorded as interrupted, its cut-off model turn still open for whoever resumes it.
            Assert.That(model.Requests.Count(r => r.Path == CompletionsPath), Is.EqualTo(2));

            await using var restarted = ServerProcess.Start(environment);
            await restarted.WaitUntilReadyAsync();
            using var again = restarted.CreateClient(key);
            var run = await Poll.UntilAsync(() => again.GetFromJsonAsync<JsonElement>($"/api/runs/{runId}"), r => r.Status() is "succeeded" or "failed" or "cancelled",
                TimeSpan.FromSeconds(90), "the restarted server to resume and finish the agent run");
            var dump = await DatabaseDump.QuartzAndLedgerAsync(database);

            Assert.That(run.Status(), Is.EqualTo("succeeded"), run + "\n" + dump);
            Assert.That(run.GetProperty("triggeredBy").GetString(), Is.EqualTo("recovery"), dump);
            Assert.That(run.GetProperty("attempt").GetInt32(), Is.EqualTo(2));
            Assert.That(run.GetProperty("result").GetProperty("answer").GetString(), Is.EqualTo("The target was hit once."));
            Assert.That(peer.RequestsTo("/agentstop/hit"), Has.Count.EqualTo(1), "the completed tool call was not run again");

            var asked = model.Requests.Where(r => r.Path == CompletionsPath).OrderBy(r => r.At).ToList();
            Assert.That(asked, Has.Count.EqualTo(3), "turn 1, turn 2 cut off by the shutdown, turn 2 asked again; never turn 1 again");
            Assert.That(asked.Count(r => !r.Body.Contains("call_hit", StringComparison.Ordinal)), Is.EqualTo(1),
                "only the first request lacks the tool call: the restarted node replayed turn 1 from storage");

            var steps = (await again.GetFromJsonAsync<JsonElement>($"/api/runs/{runId}/steps")).EnumerateArray().ToList();
            Assert.That(steps.Select(s => $"{s.GetProperty("kind").GetString()}:{s.GetProperty("status").GetString()}:{s.GetProperty("attempt").GetInt32()}"),
                Is.EqualTo(new[] { "model:succeeded:1", "tool:succeeded:1", "model:succeeded:2" }), "turn 2 is the one step taken again");
            Assert.That(run.GetProperty("usage").GetProperty("steps").GetInt32(), Is.EqualTo(3));
            Assert.That(run.GetProperty("usage").GetProperty("totalTokens").GetInt64(), Is.EqualTo(30), "two answered turns of 15 tokens: the cut-off one spent none");
        }
        finally
        {
            held.TrySetResult();
        }
    }
}
