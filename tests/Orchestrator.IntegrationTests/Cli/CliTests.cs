using System.Net;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Cli;

/// <summary>
/// The operator CLI (issue 15, item 3) run as a separate process against a server process on PostgreSQL: every verb
/// goes through the REST API, and the exit codes are the ones the README promises scripts (0 ok, 1 failed, 2 usage,
/// 3 not found, 4 key refused, 5 unreachable).
/// </summary>
[TestFixture]
[Category("Cli")]
public sealed class CliTests
{
    private ServerProcess server = null!;
    private string adminKey = null!;
    private HttpClient admin = null!;
    private string files = null!;
    private string database = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        database = await TestPostgres.CreateDatabaseAsync("cli");
        // Loopback is allowed as an outbound host only so a call_api run can fail against a closed local port.
        server = ServerProcess.Start(PostgresNode.Environment(database, new Dictionary<string, string?> { ["Orchestrator__Outbound__AllowedHosts__0"] = "127.0.0.1" }));
        await server.WaitUntilReadyAsync();
        adminKey = server.PrintedAdminKey ?? throw new InvalidOperationException("The server printed no admin key:\n" + server.Output);
        admin = server.CreateClient(adminKey);
        files = Directory.CreateTempSubdirectory("orchestrator-cli-files-").FullName;
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        admin.Dispose();
        await server.DisposeAsync();
    }

    private Task<CliProcess.Finished> Cli(params string[] arguments) =>
        CliProcess.RunAsync(null, [.. arguments, "--server", server.BaseAddress.ToString(), "--key", adminKey]);

    /// <summary>The same, with the server and key from ORCHESTRATOR_SERVER and ORCHESTRATOR_KEY.</summary>
    private Task<CliProcess.Finished> CliFromEnvironment(params string[] arguments) =>
        CliProcess.RunAsync(new Dictionary<string, string?> { ["ORCHESTRATOR_SERVER"] = server.BaseAddress.ToString(), ["ORCHESTRATOR_KEY"] = adminKey }, arguments);

    private string File(string name, object content)
    {
        var path = Path.Combine(files, name);
        System.IO.File.WriteAllText(path, JsonSerializer.Serialize(content));
        return path;
    }

    [Test]
    public async Task Create_list_get_pause_resume_run_and_watch_a_schedule()
    {
        var file = File("nightly.json", new { name = "cli-nightly", action = new { type = "noop", config = new { } }, trigger = new { cron = "0 0 3 1 1 ?" } });

        var created = await Cli("schedules", "create", "-f", file);
        Assert.That(created.ExitCode, Is.Zero, created.ToString());
        Assert.That(created.Stdout, Does.Contain("Created schedule default.cli-nightly"));

        var listed = await CliFromEnvironment("schedules", "list");
        Assert.That(listed.ExitCode, Is.Zero, listed.ToString());
        Assert.That(listed.Stdout, Does.Contain("ID").And.Contain("STATE"));
        Assert.That(listed.Stdout.Split('\n').Any(l => l.StartsWith("default.cli-nightly ", StringComparison.Ordinal) && l.Contains("noop", StringComparison.Ordinal)), listed.ToString());

        var shown = await Cli("schedules", "get", "default.cli-nightly");
        Assert.That(shown.ExitCode, Is.Zero, shown.ToString());
        Assert.That(shown.Stdout, Does.Contain("action.type:").And.Contain("noop"));

        var paused = await Cli("schedules", "pause", "default.cli-nightly", "--reason", "maintenance window");
        Assert.That(paused.ExitCode, Is.Zero, paused.ToString());
        using (var state = JsonDocument.Parse((await Cli("schedules", "get", "default.cli-nightly", "--json")).Stdout))
        {
            Assert.That(state.RootElement.GetProperty("state").GetString(), Is.EqualTo("paused"));
        }

        var resumed = await Cli("schedules", "resume", "default.cli-nightly");
        Assert.That(resumed.ExitCode, Is.Zero, resumed.ToString());
        using (var state = JsonDocument.Parse((await Cli("schedules", "get", "default.cli-nightly", "--json")).Stdout))
        {
            Assert.That(state.RootElement.GetProperty("state").GetString(), Is.Not.EqualTo("paused"));
        }

        var run = await Cli("schedules", "run", "default.cli-nightly", "--json");
        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        string runId;
        using (var started = JsonDocument.Parse(run.Stdout))
        {
            runId = started.RootElement.GetProperty("id").GetString()!;
        }

        var watched = await Cli("runs", "watch", runId, "--interval", "0.2", "--timeout", "60");
        Assert.That(watched.ExitCode, Is.Zero, watched.ToString());
        Assert.That(watched.Stdout, Does.Contain("status:").And.Contain("succeeded"));
        Assert.That(watched.Stderr, Does.Contain($"run {runId}: succeeded"));

        var runs = await Cli("runs", "list", "--schedule", "default.cli-nightly", "--json");
        Assert.That(runs.ExitCode, Is.Zero, runs.ToString());
        using (var page = JsonDocument.Parse(runs.Stdout))
        {
            var ids = page.RootElement.GetProperty("items").EnumerateArray().Select(r => r.GetProperty("id").GetString()).ToList();
            Assert.That(ids, Does.Contain(runId));
        }

        var deleted = await Cli("schedules", "delete", "default.cli-nightly");
        Assert.That(deleted.ExitCode, Is.Zero, deleted.ToString());
        using var gone = await admin.GetAsync("/api/schedules/default.cli-nightly");
        Assert.That(gone.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task Watching_a_run_that_fails_exits_1()
    {
        var closedPort = TestPostgres.FreePort();
        var file = File("failing.json", new
        {
            name = "cli-failing",
            action = new { type = "call_api", config = new { method = "GET", url = $"http://127.0.0.1:{closedPort}/nothing" } },
            trigger = new { cron = "0 0 3 1 1 ?" },
            retry = new { maxAttempts = 1 },
        });
        var created = await Cli("schedules", "create", "-f", file);
        Assert.That(created.ExitCode, Is.Zero, created.ToString());
        var run = await Cli("schedules", "run", "default.cli-failing", "--json");
        Assert.That(run.ExitCode, Is.Zero, run.ToString());
        using var started = JsonDocument.Parse(run.Stdout);

        var watched = await Cli("runs", "watch", started.RootElement.GetProperty("id").GetString()!, "--interval", "0.2", "--timeout", "60");
        Assert.That(watched.ExitCode, Is.EqualTo(1), watched.ToString());
        Assert.That(watched.Stdout, Does.Contain("failed"));
    }

    [Test]
    public async Task Watching_a_pipeline_run_follows_its_nodes_and_exits_0_when_it_succeeds()
    {
        await using var peer = await RecordingHttpServer.StartAsync();
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        // The first node's call is held until the test has seen it running, so watch sees the node change state.
        peer.Configure("/cli-first", new RecordingHttpServer.Behaviour(TimeSpan.Zero, Hold: release.Task));
        await admin.PostForJsonAsync("/api/pipelines", new
        {
            id = "cli-watched",
            name = "cli-watched",
            nodes = new[]
            {
                new { id = "first", type = "action", action = new { type = "call_api", config = new { method = "GET", url = peer.BaseUrl + "/cli-first" } } },
                new { id = "second", type = "action", action = new { type = "call_api", config = new { method = "GET", url = peer.BaseUrl + "/cli-second" } } },
            },
            edges = new[] { new { from = "first", to = "second" } },
        }, HttpStatusCode.Created);
        var runId = (await admin.PostForJsonAsync("/api/pipelines/cli-watched/run", new { inputs = new { } }, HttpStatusCode.Accepted)).GetProperty("id").GetString()!;

        var watching = Cli("runs", "watch", runId, "--interval", "0.2", "--timeout", "60");
        await Poll.UntilAsync(() => Task.FromResult(peer.InFlightTo("/cli-first")), n => n == 1, TimeSpan.FromSeconds(20), "the first node's call in flight");
        // Several polls while the first node runs and the second waits.
        await Task.Delay(TimeSpan.FromSeconds(1.5));
        release.SetResult();
        var watched = await watching;

        Assert.That(watched.ExitCode, Is.Zero, watched.ToString());
        var lines = watched.Stderr.Split('\n', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Does.Contain("node first: running").And.Contain("node first: succeeded").And.Contain("node second: succeeded"), watched.ToString());
        Assert.That(lines.First(l => l.StartsWith("pipeline run", StringComparison.Ordinal)), Does.StartWith($"pipeline run {runId} (cli-watched): running"), watched.ToString());
        Assert.That(lines.Last(l => l.StartsWith("pipeline run", StringComparison.Ordinal)), Does.StartWith($"pipeline run {runId} (cli-watched): succeeded"));
        Assert.That(Array.IndexOf(lines, "node first: succeeded"), Is.LessThan(Array.IndexOf(lines, "node second: succeeded")), "in the order they changed");
        Assert.That(lines.Count(l => l == "node first: running"), Is.EqualTo(1), "a state is reported once, when it changes");
        Assert.That(watched.Stdout, Does.Contain("succeeded").And.Contain("NODE").And.Contain("first").And.Contain("second"));

        // --json: stdout is the run's whole document.
        var json = await Cli("runs", "watch", runId, "--json");
        Assert.That(json.ExitCode, Is.Zero, json.ToString());
        using var document = JsonDocument.Parse(json.Stdout);
        Assert.That(document.RootElement.GetProperty("run").GetProperty("status").GetString(), Is.EqualTo("succeeded"));
        Assert.That(document.RootElement.GetProperty("nodes").EnumerateArray().Select(n => n.GetProperty("status").GetString()), Is.EqualTo(new[] { "succeeded", "succeeded" }));
    }

    [Test]
    public async Task Watching_a_pipeline_run_that_fails_exits_1_and_an_id_of_nothing_exits_3()
    {
        var closedPort = TestPostgres.FreePort();
        await admin.PostForJsonAsync("/api/pipelines", new
        {
            id = "cli-watched-failing",
            name = "cli-watched-failing",
            nodes = new object[]
            {
                new { id = "broken", type = "action", action = new { type = "call_api", config = new { method = "GET", url = $"http://127.0.0.1:{closedPort}/nothing" } }, retry = new { maxAttempts = 1 } },
                new { id = "after", type = "action", action = new { type = "call_api", config = new { method = "GET", url = $"http://127.0.0.1:{closedPort}/after" } } },
            },
            edges = new[] { new { from = "broken", to = "after" } },
        }, HttpStatusCode.Created);
        var runId = (await admin.PostForJsonAsync("/api/pipelines/cli-watched-failing/run", new { inputs = new { } }, HttpStatusCode.Accepted)).GetProperty("id").GetString()!;

        var watched = await Cli("runs", "watch", runId, "--interval", "0.2", "--timeout", "60");
        Assert.That(watched.ExitCode, Is.EqualTo(1), watched.ToString());
        Assert.That(watched.Stderr, Does.Contain("node broken: failed").And.Contain($"pipeline run {runId} (cli-watched-failing): failed"));
        Assert.That(watched.Stdout, Does.Contain("failed").And.Contain("broken"));

        var nothing = await Cli("runs", "watch", Guid.NewGuid().ToString(), "--interval", "0.2");
        Assert.That(nothing.ExitCode, Is.EqualTo(3), nothing.ToString());
        Assert.That(nothing.Stderr, Does.Contain("there is no run and no pipeline run"));
    }

    [Test]
    public async Task An_unknown_id_exits_3_with_the_problems_detail()
    {
        using var answer = await admin.GetAsync("/api/schedules/default.no-such-schedule");
        Assert.That(answer.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        using var problem = JsonDocument.Parse(await answer.Content.ReadAsStringAsync());
        var detail = problem.RootElement.GetProperty("detail").GetString()!;

        var shown = await Cli("schedules", "get", "default.no-such-schedule");
        Assert.That(shown.ExitCode, Is.EqualTo(3), shown.ToString());
        Assert.That(shown.Stderr, Does.Contain("404").And.Contain(detail));
        Assert.That(shown.Stdout, Is.Empty);

        var run = await Cli("runs", "get", Guid.NewGuid().ToString());
        Assert.That(run.ExitCode, Is.EqualTo(3), run.ToString());

        var pipeline = await Cli("pipelines", "run", "no-such-pipeline", "--inputs", "{}");
        Assert.That(pipeline.ExitCode, Is.EqualTo(3), pipeline.ToString());
    }

    [Test]
    public async Task Bad_input_exits_1_and_prints_the_field_and_the_reason()
    {
        var file = File("bad-cron.json", new { name = "cli-bad", action = new { type = "noop", config = new { } }, trigger = new { cron = "not a cron" } });
        var created = await Cli("schedules", "create", "-f", file);
        Assert.That(created.ExitCode, Is.EqualTo(1), created.ToString());
        Assert.That(created.Stderr, Does.Contain("error: 4").And.Contain("trigger.cron"));
        var lines = created.Stderr.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.That(lines, Is.Unique, "the detail and a field error that say the same are printed once");
        using var absent = await admin.GetAsync("/api/schedules/default.cli-bad");
        Assert.That(absent.StatusCode, Is.EqualTo(HttpStatusCode.NotFound), "nothing was stored");
    }

    [Test]
    public async Task A_file_that_is_not_json_is_a_usage_error_and_nothing_is_sent()
    {
        var path = Path.Combine(files, "broken.json");
        await System.IO.File.WriteAllTextAsync(path, "{ name: ");
        var created = await Cli("schedules", "create", "-f", path);
        Assert.That(created.ExitCode, Is.EqualTo(2), created.ToString());
        Assert.That(created.Stderr, Does.Contain(path).And.Contain("not valid JSON"));
    }

    [TestCase("orch_not_a_real_key")]
    [TestCase(null)]
    public async Task A_refused_key_exits_4(string? key)
    {
        string[] arguments = key is null
            ? ["schedules", "list", "--server", server.BaseAddress.ToString()]
            : ["schedules", "list", "--server", server.BaseAddress.ToString(), "--key", key];
        var listed = await CliProcess.RunAsync(null, arguments);
        Assert.That(listed.ExitCode, Is.EqualTo(4), listed.ToString());
        Assert.That(listed.Stderr, Does.Contain("401"));
        if (key is null)
        {
            Assert.That(listed.Stderr, Does.Contain("ORCHESTRATOR_KEY"));
        }
    }

    [Test]
    public async Task A_role_below_the_route_exits_4()
    {
        var (exitCode, output) = await ServerProcess.RunCommandAsync(PostgresNode.Environment(database), server.WorkingDirectory, "keys", "create", "--role", "viewer");
        Assert.That(exitCode, Is.Zero, output);
        var viewerKey = output.Split('\n').Select(l => l.Trim()).First(l => l.StartsWith("orch_", StringComparison.Ordinal));
        var file = File("viewer.json", new { name = "cli-viewer", action = new { type = "noop", config = new { } }, trigger = new { cron = "0 0 3 1 1 ?" } });

        var created = await CliProcess.RunAsync(null, "schedules", "create", "-f", file, "--server", server.BaseAddress.ToString(), "--key", viewerKey);
        Assert.That(created.ExitCode, Is.EqualTo(4), created.ToString());
        Assert.That(created.Stderr, Does.Contain("403"));
    }

    [Test]
    public async Task An_unreachable_server_exits_5()
    {
        var nobody = $"http://127.0.0.1:{TestPostgres.FreePort()}";
        var listed = await CliProcess.RunAsync(null, "runs", "list", "--server", nobody, "--key", "orch_x");
        Assert.That(listed.ExitCode, Is.EqualTo(5), listed.ToString());
        Assert.That(listed.Stderr, Does.Contain("cannot reach").And.Contain(nobody));
    }

    [Test]
    public async Task Json_output_is_the_servers_json()
    {
        var tools = await Cli("tools", "list", "--json");
        Assert.That(tools.ExitCode, Is.Zero, tools.ToString());
        using var parsed = JsonDocument.Parse(tools.Stdout);
        using var direct = JsonDocument.Parse(await admin.GetStringAsync("/api/tools"));
        Assert.That(parsed.RootElement.GetArrayLength(), Is.EqualTo(direct.RootElement.GetArrayLength()).And.GreaterThan(0));

        var table = await Cli("tools", "list");
        Assert.That(table.ExitCode, Is.Zero, table.ToString());
        Assert.That(table.Stdout, Does.StartWith("NAME"));
        foreach (var tool in direct.RootElement.EnumerateArray())
        {
            Assert.That(table.Stdout, Does.Contain(tool.GetProperty("name").GetString()));
        }

        var channels = await Cli("channels", "list", "--json");
        Assert.That(channels.ExitCode, Is.Zero, channels.ToString());
        using var channelList = JsonDocument.Parse(channels.Stdout);
        Assert.That(channelList.RootElement.ValueKind, Is.EqualTo(JsonValueKind.Array));

        var pipelines = await Cli("pipelines", "list", "--json");
        Assert.That(pipelines.ExitCode, Is.Zero, pipelines.ToString());
        using var pipelinePage = JsonDocument.Parse(pipelines.Stdout);
        Assert.That(pipelinePage.RootElement.GetProperty("items").ValueKind, Is.EqualTo(JsonValueKind.Array));
    }
}
