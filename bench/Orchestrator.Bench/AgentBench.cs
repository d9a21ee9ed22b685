using System.ClientModel;
using System.Diagnostics;
using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Logging;
using OpenAI;

/// <summary>
/// The agent loop's own cost per step (issue 12): a scripted OpenAI-compatible model on loopback that answers at once
/// (latency 0) with <c>--turns</c> tool calls of <c>files.list</c>, then a final answer; Orchestrator runs it as a
/// durable agent task (each step persisted, tokens counted), and next to it a plain in-memory loop over the same
/// endpoint with Microsoft.Extensions.AI's function invocation (nothing persisted). Printed: wall time per step of
/// each, and Orchestrator's database transactions and statements per step (PostgreSQL's own counters, the server's
/// idle background over the same time subtracted).
/// </summary>
internal static class AgentBench
{
    public static async Task RunAsync(string[] args)
    {
        string? Value(string name) => args.SkipWhile(a => a != name).Skip(1).FirstOrDefault();
        var postgres = Value("--postgres") ?? Environment.GetEnvironmentVariable("ORCHESTRATOR_BENCH_POSTGRES")
            ?? throw new ArgumentException("Give --postgres \"Host=…;Username=…\" (a role that may create databases).");
        var turns = int.Parse(Value("--turns") ?? "20", CultureInfo.InvariantCulture);
        var runs = int.Parse(Value("--runs") ?? "3", CultureInfo.InvariantCulture);
        Console.WriteLine($"settings: agent task with {turns} tool calls (files.list) + 1 final answer per run = {2 * turns + 1} steps; {runs} runs per system, interleaved; model latency 0 (scripted, loopback); store=PostgreSQL");

        await using var model = await ScriptedModel.StartAsync(turns);
        var settings = new BenchSettings(postgres, 0, TimeSpan.Zero, TimeSpan.Zero, 10);
        var database = await settings.CreateDatabaseAsync("bench_agent");
        var (server, http, output) = await OrchestratorServer.StartAsync(database, 10, new Dictionary<string, string>
        {
            ["Orchestrator__Secrets__bench-model"] = "sk-bench",
            ["Orchestrator__Agents__Models__default__Endpoint"] = model.Endpoint,
            ["Orchestrator__Agents__Models__default__Model"] = "scripted",
            ["Orchestrator__Agents__Models__default__ApiKeySecret"] = "bench-model",
            ["Orchestrator__Agents__MaxSteps"] = "1000",
        });
        try
        {
            var create = await http.PostAsJsonAsync("/api/schedules", new
            {
                name = "agent-bench",
                action = new { type = "run_task", config = new { agent = new { goal = "List the files, again and again.", model = "default", tools = new[] { "files.list" }, maxSteps = 2 * turns + 1 } } },
                trigger = new { cron = "0 0 3 1 1 ? 2099" },
            });
            if (!create.IsSuccessStatusCode)
            {
                throw new InvalidOperationException("schedule refused: " + await create.Content.ReadAsStringAsync());
            }

            var plain = CreatePlainClient(model.Endpoint);
            var ours = new List<(double MsPerStep, double TxPerStep, double StmtsPerStep)>();
            var plainMs = new List<double>();
            for (var i = 0; i < runs; i++)
            {
                ours.Add(await RunOrchestratorAsync(http, database, turns));
                plainMs.Add(await RunPlainAsync(plain, turns));
            }

            var medianOurs = ours.OrderBy(o => o.MsPerStep).ElementAt(runs / 2);
            var medianPlain = plainMs.Order().ElementAt(runs / 2);
            Console.WriteLine();
            Console.WriteLine($"{"system",-34} {"ms/step",9} {"xact/step",10} {"stmts/step",11}");
            foreach (var (o, n) in ours.Select((o, n) => (o, n + 1)))
            {
                Console.WriteLine($"{"Orchestrator agent task, run " + n,-34} {o.MsPerStep,9:F2} {o.TxPerStep,10:F2} {o.StmtsPerStep,11:F2}");
            }

            foreach (var (p, n) in plainMs.Select((p, n) => (p, n + 1)))
            {
                Console.WriteLine($"{"plain IChatClient loop, run " + n,-34} {p,9:F2} {"—",10} {"—",11}");
            }

            Console.WriteLine($"median: Orchestrator {medianOurs.MsPerStep:F2} ms/step ({medianOurs.TxPerStep:F2} transactions, {medianOurs.StmtsPerStep:F2} statements per step), " +
                              $"plain loop {medianPlain:F2} ms/step; overhead {medianOurs.MsPerStep - medianPlain:F2} ms/step ({medianOurs.MsPerStep / medianPlain:F1}x)");
        }
        finally
        {
            server.Kill();
            server.Dispose();
            _ = output;
        }
    }

    /// <summary>How often the bench asks whether the run has finished: seldom, so its own reads stay a small share.</summary>
    private static readonly TimeSpan PollInterval = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// One run through the API: time per step from the run's own start and finish; database counts per step between
    /// two reads of the counters (each after the statistics settle: backends report them up to a second late), less
    /// the server's idle background (check-ins, acquisition) over the same window, measured just before, and the
    /// bench's own polls of <c>GET /api/runs/{id}</c> at what one poll costs, measured just before too.
    /// </summary>
    private static async Task<(double, double, double)> RunOrchestratorAsync(HttpClient http, string database, int turns)
    {
        var settle = TimeSpan.FromMilliseconds(1500);
        await Task.Delay(settle);
        var idleStart = await DatabaseCounters.ReadNowAsync(database);
        var idleClock = Stopwatch.StartNew();
        await Task.Delay(TimeSpan.FromSeconds(5));
        await Task.Delay(settle);
        var polling = await DatabaseCounters.ReadNowAsync(database);
        var idleSeconds = idleClock.Elapsed.TotalSeconds;
        var idleTx = (polling.Transactions - idleStart.Transactions - 2) / idleSeconds;
        var idleStatements = (polling.Statements - idleStart.Statements) / idleSeconds;

        // What one poll costs: a burst of them (a run that does not exist is read the same way), less the background.
        const int probePolls = 20;
        var probeClock = Stopwatch.StartNew();
        for (var i = 0; i < probePolls; i++)
        {
            using var poll = await http.GetAsync($"/api/runs/{Guid.NewGuid()}");
        }

        await Task.Delay(settle);
        var before = await DatabaseCounters.ReadNowAsync(database);
        var probeSeconds = probeClock.Elapsed.TotalSeconds;
        var pollTx = Math.Max(0, (before.Transactions - polling.Transactions - 2 - idleTx * probeSeconds) / probePolls);
        var pollStatements = Math.Max(0, (before.Statements - polling.Statements - idleStatements * probeSeconds) / probePolls);

        var window = Stopwatch.StartNew();
        var started = await (await http.PostAsync("/api/schedules/default.agent-bench/run", null)).Content.ReadFromJsonAsync<JsonElement>();
        var id = started.GetProperty("id").GetString();
        JsonElement run;
        var polls = 0;
        while (true)
        {
            polls++;
            run = await http.GetFromJsonAsync<JsonElement>($"/api/runs/{id}");
            if (run.GetProperty("status").GetString() is not ("pending" or "running"))
            {
                break;
            }

            await Task.Delay(PollInterval);
        }

        if (run.GetProperty("status").GetString() != "succeeded")
        {
            throw new InvalidOperationException("the agent run did not succeed: " + run);
        }

        await Task.Delay(settle);
        var after = await DatabaseCounters.ReadNowAsync(database);
        var seconds = window.Elapsed.TotalSeconds;
        var steps = 2 * turns + 1;
        var took = run.GetProperty("finishedAt").GetDateTimeOffset() - run.GetProperty("startedAt").GetDateTimeOffset();
        // Each read of the counters is two statements and two transactions of its own; the polls of GET /api/runs are
        // the bench's, not the loop's, and are subtracted at the measured cost of one.
        var tx = after.Transactions - before.Transactions - 2 - idleTx * seconds - pollTx * polls;
        var statements = after.Statements - before.Statements - idleStatements * seconds - pollStatements * polls;
        return (took.TotalMilliseconds / steps, tx / steps, statements / steps);
    }

    private static IChatClient CreatePlainClient(string endpoint) =>
        new OpenAIClient(new ApiKeyCredential("sk-bench"), new OpenAIClientOptions { Endpoint = new Uri(endpoint) })
            .GetChatClient("scripted").AsIChatClient().AsBuilder().UseFunctionInvocation(configure: f => f.MaximumIterationsPerRequest = 10_000).Build();

    /// <summary>The same conversation with the tool run in memory: what a loop costs when nothing is made durable.</summary>
    private static async Task<double> RunPlainAsync(IChatClient client, int turns)
    {
        var root = Directory.CreateTempSubdirectory("agent-bench-plain-").FullName;
        var list = AIFunctionFactory.Create((string? path) => string.Join("\n", Directory.EnumerateFileSystemEntries(Path.Combine(root, path ?? ""))), "files_list");
        var clock = Stopwatch.StartNew();
        var response = await client.GetResponseAsync([new ChatMessage(ChatRole.User, "List the files, again and again.")], new ChatOptions { Tools = [list] });
        var elapsed = clock.Elapsed;
        if (response.Text != "done")
        {
            throw new InvalidOperationException("the plain loop did not finish: " + response.Text);
        }

        return elapsed.TotalMilliseconds / (2 * turns + 1);
    }
}

/// <summary>Chat completions on loopback: a tool call of files_list until the conversation holds <c>turns</c> tool results, then "done".</summary>
internal sealed class ScriptedModel : IAsyncDisposable
{
    private readonly WebApplication app;

    private ScriptedModel(WebApplication app, string endpoint) => (this.app, Endpoint) = (app, endpoint);

    public string Endpoint { get; }

    public static async Task<ScriptedModel> StartAsync(int turns)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        app.MapPost("/v1/chat/completions", async (HttpRequest request) =>
        {
            var body = (await JsonNode.ParseAsync(request.Body))!;
            var toolResults = body["messages"]!.AsArray().Count(m => m?["role"]?.GetValue<string>() == "tool");
            JsonObject message = toolResults < turns
                ? new JsonObject
                {
                    ["role"] = "assistant",
                    ["content"] = null,
                    ["tool_calls"] = new JsonArray(new JsonObject
                    {
                        ["id"] = $"call_{toolResults}",
                        ["type"] = "function",
                        ["function"] = new JsonObject { ["name"] = "files_list", ["arguments"] = "{\"path\":\"\"}" },
                    }),
                }
                : new JsonObject { ["role"] = "assistant", ["content"] = "done" };
            return Results.Json(new JsonObject
            {
                ["id"] = "chatcmpl-bench",
                ["object"] = "chat.completion",
                ["created"] = 0,
                ["model"] = "scripted",
                ["choices"] = new JsonArray(new JsonObject { ["index"] = 0, ["message"] = message, ["finish_reason"] = toolResults < turns ? "tool_calls" : "stop" }),
                ["usage"] = new JsonObject { ["prompt_tokens"] = 10, ["completion_tokens"] = 5, ["total_tokens"] = 15 },
            });
        });
        await app.StartAsync();
        var address = app.Urls.First();
        return new ScriptedModel(app, address + "/v1");
    }

    public async ValueTask DisposeAsync() => await app.DisposeAsync();
}
