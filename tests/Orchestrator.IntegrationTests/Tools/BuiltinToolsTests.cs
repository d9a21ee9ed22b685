using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Tools;

/// <summary>
/// The built-in tools on a real server process: workspace files, shell.run, http.request and notify against a real
/// local HTTP server, the schedules.* tools, and the registry rules around them.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class BuiltinToolsTests
{
    private const string Canary = "CANARY-builtin-tools-outside-the-root";
    private ServerProcess server = null!;
    private RecordingHttpServer peer = null!;
    private HttpClient admin = null!;
    private HttpClient op = null!;
    private string root = null!;
    private string workspaces = null!;
    private string outside = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        peer = await RecordingHttpServer.StartAsync();
        workspaces = Directory.CreateTempSubdirectory("orchestrator-builtin-ws-").FullName;
        outside = Directory.CreateTempSubdirectory("orchestrator-builtin-outside-").FullName;
        await File.WriteAllTextAsync(Path.Combine(outside, "canary.txt"), Canary);
        await File.WriteAllTextAsync(Path.Combine(workspaces, "canary.txt"), Canary); // beside the project root, still outside it

        var database = await TestPostgres.CreateDatabaseAsync("builtin");
        var environment = PostgresNode.Environment(database, new Dictionary<string, string?>
        {
            ["Orchestrator__Workspaces__Roots__0"] = workspaces,
            ["Orchestrator__Outbound__AllowedHosts__0"] = "127.0.0.1",
            ["Orchestrator__Secrets__API_TOKEN"] = "s3cr3t-token-value",
            ["SERVER_ONLY_VARIABLE"] = "must-not-reach-a-tool",
            ["TZ"] = "Europe/Paris",
        });
        server = ServerProcess.Start(environment);
        await server.WaitUntilReadyAsync();
        admin = server.CreateClient(server.PrintedAdminKey);
        var (exitCode, output) = await ServerProcess.RunCommandAsync(environment, server.WorkingDirectory, "keys", "create", "--role", "operator");
        Assert.That(exitCode, Is.Zero, output);
        op = server.CreateClient(output.Split('\n').Select(l => l.Trim()).Single(l => l.StartsWith("orch_", StringComparison.Ordinal)));

        root = Path.Combine(workspaces, "ws");
        await admin.PostForJsonAsync("/api/projects", new { id = "ws", name = "Workspace", rootPath = root }, HttpStatusCode.Created);
        Directory.CreateDirectory(Path.Combine(root, "docs"));
        await File.WriteAllTextAsync(Path.Combine(root, "docs", "readme.txt"), "inside");
        Directory.CreateSymbolicLink(Path.Combine(root, "escape"), outside);
        File.CreateSymbolicLink(Path.Combine(root, "link.txt"), Path.Combine(outside, "canary.txt"));
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        admin?.Dispose();
        op?.Dispose();
        if (server is not null)
        {
            await server.DisposeAsync();
        }

        if (peer is not null)
        {
            await peer.DisposeAsync();
        }
    }

    private Task<JsonElement> InvokeAsync(string tool, object arguments, HttpClient? as_ = null) =>
        (as_ ?? admin).PostForJsonAsync($"/api/tools/{tool}/invoke", new { project = "ws", arguments }, HttpStatusCode.OK);

    private async Task<JsonElement> InvokeSucceededAsync(string tool, object arguments)
    {
        var invoked = await InvokeAsync(tool, arguments);
        Assert.That(invoked.GetProperty("succeeded").GetBoolean(), Is.True, invoked.ToString());
        return invoked.GetProperty("result");
    }

    private async Task<JsonElement> InvokeRefusedAsync(string tool, object arguments, HttpStatusCode status = HttpStatusCode.UnprocessableEntity)
    {
        var response = await admin.PostAsync($"/api/tools/{tool}/invoke", ApiClient.Json(new { project = "ws", arguments }));
        return await ApiAssertions.AssertProblemAsync(response, status);
    }

    [Test]
    public async Task Built_in_tools_are_listed_with_their_schemas_and_cannot_be_registered_replaced_or_deleted()
    {
        var tools = await admin.GetFromJsonAsync<JsonElement>("/api/tools");
        var builtins = tools.EnumerateArray().Where(t => t.GetProperty("kind").GetString() == "builtin").Select(t => t.GetProperty("name").GetString()).ToList();
        Assert.That(builtins, Is.SupersetOf(new[]
        {
            "files.read", "files.write", "files.list", "files.delete", "shell.run", "http.request", "notify", "workspace.cleanup",
            "schedules.create", "schedules.list", "schedules.pause", "schedules.resume", "schedules.run", "schedules.delete",
        }));
        var read = await admin.GetFromJsonAsync<JsonElement>("/api/tools/files.read");
        Assert.That(read.GetProperty("parameters").GetProperty("required")[0].GetString(), Is.EqualTo("path"));

        var register = await admin.PostAsync("/api/tools", ApiClient.Json(new { name = "shell.run", kind = "command", parameters = new { type = "object" }, config = new { argv = new[] { "true" } } }));
        await ApiAssertions.AssertProblemAsync(register, HttpStatusCode.Conflict);
        var replace = await admin.PutAsync("/api/tools/files.read", ApiClient.Json(new { kind = "command", parameters = new { type = "object" }, config = new { argv = new[] { "true" } } }));
        await ApiAssertions.AssertProblemAsync(replace, HttpStatusCode.Conflict);
        await ApiAssertions.AssertProblemAsync(await admin.DeleteAsync("/api/tools/files.read"), HttpStatusCode.Conflict);
        Assert.That((await admin.GetAsync("/api/tools/files.read")).StatusCode, Is.EqualTo(HttpStatusCode.OK), "still there");
    }

    [Test]
    public async Task Files_tools_write_read_list_and_delete_inside_the_project_root()
    {
        var written = await InvokeSucceededAsync("files.write", new { path = "out/report.txt", content = "line 1\n" });
        Assert.That(written.GetProperty("created").GetBoolean(), Is.True);
        await InvokeSucceededAsync("files.write", new { path = "out/report.txt", content = "line 2\n", append = true });
        Assert.That(await File.ReadAllTextAsync(Path.Combine(root, "out", "report.txt")), Is.EqualTo("line 1\nline 2\n"), "written where the project root says");

        var read = await InvokeSucceededAsync("files.read", new { path = "out/report.txt" });
        Assert.That(read.GetProperty("content").GetString(), Is.EqualTo("line 1\nline 2\n"));
        var capped = await InvokeSucceededAsync("files.read", new { path = "out/report.txt", maxBytes = 4, encoding = "base64" });
        Assert.That(capped.GetProperty("content").GetString(), Is.EqualTo(Convert.ToBase64String("line"u8.ToArray())));
        Assert.That(capped.GetProperty("truncated").GetBoolean(), Is.True);
        Assert.That(capped.GetProperty("size").GetInt64(), Is.EqualTo(14));

        await InvokeSucceededAsync("files.write", new { path = "out/data.bin", content = Convert.ToBase64String([0, 1, 2, 255]), encoding = "base64" });
        Assert.That(await File.ReadAllBytesAsync(Path.Combine(root, "out", "data.bin")), Is.EqualTo(new byte[] { 0, 1, 2, 255 }));

        var listed = await InvokeSucceededAsync("files.list", new { recursive = true, pattern = "**/*.txt" });
        var paths = listed.GetProperty("entries").EnumerateArray().Select(e => e.GetProperty("path").GetString()).ToList();
        Assert.That(paths, Does.Contain("out/report.txt").And.Contain("docs/readme.txt"));
        Assert.That(paths, Has.None.StartsWith("escape/"), "a symlinked directory is listed, never descended into");
        var top = await InvokeSucceededAsync("files.list", new { });
        var escape = top.GetProperty("entries").EnumerateArray().Single(e => e.GetProperty("path").GetString() == "escape");
        Assert.That(escape.GetProperty("type").GetString(), Is.EqualTo("link"));

        var notEmpty = await InvokeAsync("files.delete", new { path = "out" });
        Assert.That(notEmpty.GetProperty("succeeded").GetBoolean(), Is.False);
        Assert.That(notEmpty.GetProperty("error").GetString(), Does.Contain("not empty"));
        await InvokeSucceededAsync("files.delete", new { path = "out/data.bin" });
        Assert.That(File.Exists(Path.Combine(root, "out", "data.bin")), Is.False);
        await InvokeSucceededAsync("files.delete", new { path = "out", recursive = true });
        Assert.That(Directory.Exists(Path.Combine(root, "out")), Is.False);
    }

    [Test]
    public async Task A_recursive_delete_removes_a_symlink_inside_without_following_it_out_of_the_root()
    {
        var trash = Path.Combine(root, "trash");
        Directory.CreateDirectory(trash);
        Directory.CreateSymbolicLink(Path.Combine(trash, "to-outside"), outside);
        await InvokeSucceededAsync("files.delete", new { path = "trash", recursive = true });
        Assert.That(Directory.Exists(trash), Is.False);
        Assert.That(await File.ReadAllTextAsync(Path.Combine(outside, "canary.txt")), Is.EqualTo(Canary), "the link's target is untouched");
    }

    /// <summary>Path arguments an attacker or a confused operator would send; every one must be refused before anything runs.</summary>
    private static readonly string[] TraversalCorpus =
    [
        "../canary.txt",
        "../../../../etc/passwd",
        "docs/../../canary.txt",
        "docs/../docs/../../canary.txt",
        "..",
        ".",
        "./../canary.txt",
        "docs/./readme.txt",
        "/etc/passwd",
        "//etc/passwd",
        "/",
        "~/canary.txt",
        "~root/.ssh/id_rsa",
        "C:\\Windows\\win.ini",
        "C:/Windows/win.ini",
        "c:canary.txt",
        "\\\\server\\share\\x",
        "..\\canary.txt",
        "docs\\..\\..\\canary.txt",
        "docs/readme.txt\0.png",
        "docs/\u0001readme.txt",
        "docs/\nreadme.txt",
        "escape/canary.txt",
        "escape",
        "link.txt",
        "docs/../escape/canary.txt",
        "escape/../../canary.txt",
        "bad\uFFFDname",
        "docs/" + string.Concat(Enumerable.Repeat("a/", 600)) + "x",
    ];

    private static IEnumerable<TestCaseData> TraversalCases()
    {
        foreach (var path in TraversalCorpus)
        {
            var shown = path.Length > 40 ? path[..40] + "…" : path;
            yield return new TestCaseData("files.read", "path", path).SetArgDisplayNames("files.read", shown);
            yield return new TestCaseData("files.write", "path", path).SetArgDisplayNames("files.write", shown);
            yield return new TestCaseData("files.delete", "path", path).SetArgDisplayNames("files.delete", shown);
        }

        // The directory arguments of the other tools go through the same resolver.
        foreach (var path in new[] { "..", "../", "/tmp", "escape", "docs/../..", "C:\\" })
        {
            yield return new TestCaseData("files.list", "path", path).SetArgDisplayNames("files.list", path);
            yield return new TestCaseData("workspace.cleanup", "directory", path).SetArgDisplayNames("workspace.cleanup", path);
            yield return new TestCaseData("shell.run", "workingDirectory", path).SetArgDisplayNames("shell.run", path);
        }
    }

    [TestCaseSource(nameof(TraversalCases))]
    public async Task A_path_argument_that_escapes_the_project_root_is_refused_and_touches_nothing(string tool, string argument, string path)
    {
        var arguments = new Dictionary<string, object> { [argument] = path };
        switch (tool)
        {
            case "files.write":
                arguments["content"] = "PWNED";
                break;
            case "workspace.cleanup":
                arguments["maxFiles"] = 0;
                break;
            case "shell.run":
                arguments["argv"] = new[] { "pwd" };
                break;
            case "files.delete":
                arguments["recursive"] = true;
                break;
        }

        var problem = await InvokeRefusedAsync(tool, arguments);
        Assert.That(problem.GetProperty("errors").EnumerateObject().Select(e => e.Name), Does.Contain($"arguments.{argument}"), problem.ToString());
        Assert.That(await File.ReadAllTextAsync(Path.Combine(outside, "canary.txt")), Is.EqualTo(Canary));
        Assert.That(await File.ReadAllTextAsync(Path.Combine(workspaces, "canary.txt")), Is.EqualTo(Canary));
        Assert.That(Directory.GetFiles(outside), Has.Length.EqualTo(1), "nothing written beside the canary");
        Assert.That(Directory.GetFileSystemEntries(workspaces).Select(Path.GetFileName), Is.EquivalentTo(new[] { "canary.txt", "default", "ws" }), "nothing written beside the project root (the default project lives here too)");
        Assert.That(File.Exists(Path.Combine(root, "docs", "readme.txt")), Is.True);
    }

    [Test]
    public async Task Shell_run_works_in_the_project_root_with_literal_argv_and_only_allowlisted_environment()
    {
        var pwd = await InvokeSucceededAsync("shell.run", new { argv = new[] { "pwd" } });
        Assert.That(pwd.GetProperty("stdout").GetString(), Is.EqualTo(root + "\n"));
        var docs = await InvokeSucceededAsync("shell.run", new { argv = new[] { "pwd" }, workingDirectory = "docs" });
        Assert.That(docs.GetProperty("stdout").GetString(), Is.EqualTo(Path.Combine(root, "docs") + "\n"));

        const string hostile = "$(touch /tmp/orchestrator-shell-pwned); `id` && rm -rf / | cat\nnext";
        var literal = await InvokeSucceededAsync("shell.run", new { argv = new[] { "printf", "<%s>", hostile } });
        Assert.That(literal.GetProperty("stdout").GetString(), Is.EqualTo($"<{hostile}>"));
        Assert.That(File.Exists("/tmp/orchestrator-shell-pwned"), Is.False);

        var env = await InvokeSucceededAsync("shell.run", new { argv = new[] { "env" }, env = new { LC_ALL = "C" } });
        var lines = env.GetProperty("stdout").GetString()!.Split('\n', StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Does.Contain("LC_ALL=C").And.Contain("TZ=Europe/Paris").And.Contain($"HOME={root}"));
        Assert.That(string.Join("\n", lines), Does.Not.Contain("must-not-reach-a-tool").And.Not.Contain("s3cr3t").And.Not.Contain("Orchestrator__"));

        var problem = await InvokeRefusedAsync("shell.run", new { argv = new[] { "env" }, env = new { LD_PRELOAD = "/tmp/evil.so" } });
        Assert.That(problem.GetProperty("errors").TryGetProperty("arguments.env.LD_PRELOAD", out _), Is.True, problem.ToString());

        var piped = await InvokeSucceededAsync("shell.run", new { argv = new[] { "cat" }, stdin = "from stdin" });
        Assert.That(piped.GetProperty("stdout").GetString(), Is.EqualTo("from stdin"));

        var failed = await InvokeAsync("shell.run", new { argv = new[] { "sh", "-c", "echo oops >&2; exit 3" } });
        Assert.That(failed.GetProperty("succeeded").GetBoolean(), Is.False);
        Assert.That(failed.GetProperty("result").GetProperty("exitCode").GetInt32(), Is.EqualTo(3));
        Assert.That(failed.GetProperty("result").GetProperty("stderr").GetString(), Is.EqualTo("oops\n"));

        var clock = System.Diagnostics.Stopwatch.StartNew();
        var slow = await InvokeAsync("shell.run", new { argv = new[] { "sleep", "30" }, timeoutSeconds = 1 });
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(10)));
        Assert.That(slow.GetProperty("error").GetString(), Does.Contain("timed out"));
    }

    [Test]
    public async Task Invoking_a_tool_directly_needs_the_role_of_the_route_it_stands_for()
    {
        var shell = await op.PostAsync("/api/tools/shell.run/invoke", ApiClient.Json(new { project = "ws", arguments = new { argv = new[] { "id" } } }));
        await ApiAssertions.AssertProblemAsync(shell, HttpStatusCode.Forbidden);
        var create = await op.PostAsync("/api/tools/schedules.create/invoke", ApiClient.Json(new
        {
            project = "ws",
            arguments = new { name = "by-operator", action = new { type = "noop", config = new { } }, trigger = new { intervalSeconds = 60 } },
        }));
        await ApiAssertions.AssertProblemAsync(create, HttpStatusCode.Forbidden);
        Assert.That((await admin.GetAsync("/api/schedules/ws.by-operator")).StatusCode, Is.EqualTo(HttpStatusCode.NotFound));

        foreach (var (tool, arguments) in new (string, object)[]
        {
            ("http.request", new { url = $"{peer.BaseUrl}/x", headers = new { Authorization = "Bearer {{secret:API_TOKEN}}" } }),
            ("notify", new { channel = "any", message = "x" }),
            ("schedules.delete", new { name = "victim" }),
        })
        {
            var refused = await op.PostAsync($"/api/tools/{tool}/invoke", ApiClient.Json(new { project = "ws", arguments }));
            await ApiAssertions.AssertProblemAsync(refused, HttpStatusCode.Forbidden);
        }

        Assert.That(peer.RequestsTo("/x"), Is.Empty, "nothing was sent for the operator");
        var read = await InvokeAsync("files.read", new { path = "docs/readme.txt" }, op);
        Assert.That(read.GetProperty("result").GetProperty("content").GetString(), Is.EqualTo("inside"), "an operator may use the workspace tools");
    }

    [Test]
    public async Task Http_request_uses_the_call_api_executor_with_its_address_policy_and_secrets()
    {
        var result = await InvokeSucceededAsync("http.request", new
        {
            method = "POST",
            url = $"{peer.BaseUrl}/echo/tool-call",
            headers = new Dictionary<string, string> { ["Authorization"] = "Bearer {{secret:API_TOKEN}}" },
            body = new { hello = "world" },
        });
        Assert.That(result.GetProperty("status").GetInt32(), Is.EqualTo(200));
        var request = peer.RequestsTo("/echo/tool-call").Single();
        Assert.That(request.IdempotencyKey, Does.StartWith("invoke-"));
        Assert.That(request.Headers["Authorization"], Is.EqualTo("Bearer s3cr3t-token-value"));
        Assert.That(request.Body, Does.Contain("\"hello\":\"world\""));
        Assert.That(result.GetProperty("body").GetString(), Does.Contain("authorization"), "the peer echoed the header back");
        Assert.That(result.ToString(), Does.Not.Contain("s3cr3t"), "the secret is sent, and masked in what is recorded even when the peer echoes it");

        foreach (var url in new[] { "http://169.254.169.254/latest/meta-data/", "http://10.1.2.3/", "http://[::1]:1/", "ftp://127.0.0.1/" })
        {
            var problem = await InvokeRefusedAsync("http.request", new { url });
            Assert.That(problem.GetProperty("errors").TryGetProperty("arguments.url", out _), Is.True, $"{url}: {problem}");
        }

        var unknownSecret = await InvokeRefusedAsync("http.request", new { url = $"{peer.BaseUrl}/x", headers = new { X_Token = "{{secret:NOPE}}" } });
        Assert.That(unknownSecret.ToString(), Does.Contain("NOPE"));
    }

    [Test]
    public async Task Notify_renders_the_run_templates_and_reaches_a_webhook()
    {
        await admin.PostForJsonAsync("/api/channels", new { name = "tool-hook", kind = "webhook", webhook = new { url = $"{peer.BaseUrl}/tool-hook" } }, HttpStatusCode.Created);
        var result = await InvokeSucceededAsync("notify", new { channel = "tool-hook", subject = "from {{schedule.name}}", message = "run {{run.id}} in {{schedule.project}}" });
        Assert.That(result.GetProperty("status").GetInt32(), Is.EqualTo(200));
        var body = JsonDocument.Parse(peer.RequestsTo("/tool-hook").Single().Body).RootElement;
        Assert.That(body.GetProperty("subject").GetString(), Is.EqualTo("from invoke:notify"));
        Assert.That(body.GetProperty("message").GetString(), Does.Match("^run [0-9a-f-]{36} in ws$"));

        var problem = await InvokeRefusedAsync("notify", new { channel = "no-such-channel", message = "x" });
        Assert.That(problem.GetProperty("errors").TryGetProperty("arguments.channel", out _), Is.True, problem.ToString());
    }

    [Test]
    public async Task Schedules_tools_create_list_pause_resume_run_and_delete_what_the_schedules_api_then_shows()
    {
        var created = await InvokeSucceededAsync("schedules.create", new
        {
            name = "made-by-tool",
            action = new { type = "noop", config = new { } },
            trigger = new { cron = "0 0 3 * * ?", timeZone = "Europe/Paris" },
        });
        Assert.That(created.GetProperty("id").GetString(), Is.EqualTo("ws.made-by-tool"), "created in the task's own project");
        var shown = await admin.GetFromJsonAsync<JsonElement>("/api/schedules/ws.made-by-tool");
        Assert.That(shown.GetProperty("state").GetString(), Is.EqualTo("active"));

        var listed = await InvokeSucceededAsync("schedules.list", new { });
        Assert.That(listed.GetProperty("items").EnumerateArray().Select(s => s.GetProperty("id").GetString()), Does.Contain("ws.made-by-tool"));

        await InvokeSucceededAsync("schedules.pause", new { name = "made-by-tool" });
        Assert.That((await admin.GetFromJsonAsync<JsonElement>("/api/schedules/ws.made-by-tool")).GetProperty("state").GetString(), Is.EqualTo("paused"));
        await InvokeSucceededAsync("schedules.resume", new { name = "made-by-tool" });
        Assert.That((await admin.GetFromJsonAsync<JsonElement>("/api/schedules/ws.made-by-tool")).GetProperty("state").GetString(), Is.EqualTo("active"));

        var run = await InvokeSucceededAsync("schedules.run", new { name = "made-by-tool" });
        Assert.That(run.GetProperty("triggeredBy").GetString(), Is.EqualTo("manual"));
        await Poll.UntilAsync(() => admin.RunsAsync("ws.made-by-tool"), r => r.Count == 1 && r[0].Status() == "succeeded", TimeSpan.FromSeconds(20), "the run started by schedules.run");

        var invalid = await InvokeRefusedAsync("schedules.create", new { name = "bad-cron", action = new { type = "noop", config = new { } }, trigger = new { cron = "61 * * * * ?" } });
        Assert.That(invalid.GetProperty("errors").TryGetProperty("arguments.trigger.cron", out _), Is.True, invalid.ToString());
        var elsewhere = await InvokeRefusedAsync("schedules.create", new { name = "elsewhere", project = "default", action = new { type = "noop", config = new { } }, trigger = new { intervalSeconds = 60 } });
        Assert.That(elsewhere.GetProperty("errors").TryGetProperty("arguments.project", out _), Is.True, elsewhere.ToString());

        await InvokeSucceededAsync("schedules.delete", new { name = "made-by-tool" });
        Assert.That((await admin.GetAsync("/api/schedules/ws.made-by-tool")).StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        var missing = await InvokeAsync("schedules.pause", new { name = "made-by-tool" });
        Assert.That(missing.GetProperty("succeeded").GetBoolean(), Is.False);
    }

    [Test]
    public async Task A_run_task_schedule_pauses_another_schedule_through_the_schedules_pause_tool()
    {
        await admin.CreateScheduleAsync(new { name = "victim", project = "ws", action = new { type = "noop", config = new { } }, trigger = new { intervalSeconds = 3600 } });
        await admin.CreateScheduleAsync(new
        {
            name = "pauser",
            project = "ws",
            action = new { type = "run_task", config = new { tool = "schedules.pause", arguments = new { name = "victim" } } },
            trigger = new { at = TimeProvider.System.GetUtcNow().AddSeconds(1).ToString("O", CultureInfo.InvariantCulture) },
        });
        var runs = await Poll.UntilAsync(() => admin.RunsAsync("ws.pauser"), r => r.Count == 1 && r[0].Status() is "succeeded" or "failed", TimeSpan.FromSeconds(20), "the pauser run");
        Assert.That(runs[0].Status(), Is.EqualTo("succeeded"), runs[0].ToString());
        Assert.That((await admin.GetFromJsonAsync<JsonElement>("/api/schedules/ws.victim")).GetProperty("state").GetString(), Is.EqualTo("paused"));
    }

    [Test]
    public async Task A_run_task_schedule_runs_shell_run_in_the_project_root()
    {
        await admin.CreateScheduleAsync(new
        {
            name = "shell-pwd",
            project = "ws",
            action = new { type = "run_task", config = new { tool = "shell.run", arguments = new { argv = new[] { "pwd" } } } },
            trigger = new { at = TimeProvider.System.GetUtcNow().AddSeconds(1).ToString("O", CultureInfo.InvariantCulture) },
        });
        var runs = await Poll.UntilAsync(() => admin.RunsAsync("ws.shell-pwd"), r => r.Count == 1 && r[0].Status() is "succeeded" or "failed", TimeSpan.FromSeconds(20), "the shell.run run");
        Assert.That(runs[0].Status(), Is.EqualTo("succeeded"), runs[0].ToString());
        Assert.That(runs[0].GetProperty("result").GetProperty("stdout").GetString(), Is.EqualTo(root + "\n"));
        Assert.That(runs[0].GetProperty("result").GetProperty("tool").GetString(), Is.EqualTo("shell.run"));
    }

    [Test]
    public async Task A_run_task_schedule_with_a_traversal_path_is_refused_at_creation()
    {
        var response = await admin.PostAsync("/api/schedules", ApiClient.Json(new
        {
            name = "sneaky",
            project = "ws",
            action = new { type = "run_task", config = new { tool = "files.read", arguments = new { path = "../canary.txt" } } },
            trigger = new { intervalSeconds = 60 },
        }));
        var problem = await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity);
        Assert.That(problem.GetProperty("errors").TryGetProperty("action.config.arguments.path", out _), Is.True, problem.ToString());
        Assert.That((await admin.GetAsync("/api/schedules/ws.sneaky")).StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task A_symlink_planted_after_the_schedule_was_accepted_is_refused_when_the_task_runs()
    {
        await admin.CreateScheduleAsync(new
        {
            name = "planted",
            project = "ws",
            action = new { type = "run_task", config = new { tool = "files.read", arguments = new { path = "planted/canary.txt" } } },
            trigger = new { at = TimeProvider.System.GetUtcNow().AddSeconds(2).ToString("O", CultureInfo.InvariantCulture) },
        });
        // Valid when checked; the disk changes before the run.
        Directory.CreateSymbolicLink(Path.Combine(root, "planted"), outside);
        var runs = await Poll.UntilAsync(() => admin.RunsAsync("ws.planted"), r => r.Count == 1 && r[0].Status() is "succeeded" or "failed", TimeSpan.FromSeconds(20), "the planted run");
        Assert.That(runs[0].Status(), Is.EqualTo("failed"));
        Assert.That(runs[0].GetProperty("error").GetString(), Does.Contain("path"));
        Assert.That(runs[0].ToString(), Does.Not.Contain(Canary), "nothing from outside the root was read");
    }

    [Test]
    public async Task A_symlink_loop_is_a_refusal_not_a_server_error()
    {
        File.CreateSymbolicLink(Path.Combine(root, "loop"), Path.Combine(root, "loop"));
        var problem = await InvokeRefusedAsync("files.read", new { path = "loop/x" });
        Assert.That(problem.GetProperty("errors").TryGetProperty("arguments.path", out _), Is.True, problem.ToString());
    }

    [Test]
    public async Task A_background_child_holding_the_output_open_does_not_hold_up_the_run()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var result = await InvokeSucceededAsync("shell.run", new { argv = new[] { "sh", "-c", "sleep 30 & echo started" } });
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(10)));
        Assert.That(result.GetProperty("exitCode").GetInt32(), Is.Zero);
    }

    [Test]
    public async Task A_relative_program_runs_from_the_project_and_a_bare_name_only_from_the_path()
    {
        var script = Path.Combine(root, "hello.sh");
        await File.WriteAllTextAsync(script, "#!/bin/sh\necho hi from the project\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        var result = await InvokeSucceededAsync("shell.run", new { argv = new[] { "./hello.sh" } });
        Assert.That(result.GetProperty("stdout").GetString(), Is.EqualTo("hi from the project\n"));

        var missing = await InvokeAsync("shell.run", new { argv = new[] { "hello.sh" } });
        Assert.That(missing.GetProperty("succeeded").GetBoolean(), Is.False, "a bare name is not looked up in the working directory");
        Assert.That(missing.GetProperty("error").GetString(), Does.Contain("not found on the PATH"));
    }

    [TestCase("/bin/cat")]
    [TestCase("../ws/hello.sh")]
    [TestCase("docs/../../x")]
    [TestCase("~/bin/cat")]
    public async Task Shell_run_with_an_absolute_or_escaping_argv0_is_refused_naming_argv0(string program)
    {
        // '/bin/cat' used to run: a path in argv[0] was taken as it was, though it must lie inside the project root.
        var problem = await InvokeRefusedAsync("shell.run", new { argv = new[] { program, "/etc/hostname" } });
        Assert.That(problem.GetProperty("errors").TryGetProperty("arguments.argv[0]", out var reasons), Is.True, problem.ToString());
        Assert.That(reasons[0].GetString(), Does.Contain($"'{program}'").And.Contain("PATH"));
    }

    [Test]
    public async Task Shell_run_program_through_a_symlink_leading_out_of_the_project_is_refused_when_it_runs()
    {
        var evil = Path.Combine(outside, "evil.sh");
        await File.WriteAllTextAsync(evil, "#!/bin/sh\necho escaped\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(evil, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        var invoked = await InvokeAsync("shell.run", new { argv = new[] { "escape/evil.sh" } });
        Assert.That(invoked.GetProperty("succeeded").GetBoolean(), Is.False, invoked.ToString());
        Assert.That(invoked.GetProperty("error").GetString(), Does.Contain("argv[0]").And.Contain("'escape/evil.sh'").And.Contain("symbolic link"));
    }

    [Test]
    public async Task Shell_run_program_path_is_relative_to_its_working_directory_inside_the_project()
    {
        var script = Path.Combine(root, "docs", "here.sh");
        await File.WriteAllTextAsync(script, "#!/bin/sh\necho from docs\n");
        if (!OperatingSystem.IsWindows())
        {
            File.SetUnixFileMode(script, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        }

        var result = await InvokeSucceededAsync("shell.run", new { argv = new[] { "./here.sh" }, workingDirectory = "docs" });
        Assert.That(result.GetProperty("stdout").GetString(), Is.EqualTo("from docs\n"));
        var fromRoot = await InvokeSucceededAsync("shell.run", new { argv = new[] { "docs/here.sh" } });
        Assert.That(fromRoot.GetProperty("stdout").GetString(), Is.EqualTo("from docs\n"));
    }

    [Test]
    public async Task Schedule_fields_of_the_wrong_type_are_a_422_not_a_server_error()
    {
        var problem = await InvokeRefusedAsync("schedules.create", new { name = "typed", action = new { type = 5 }, trigger = new { intervalSeconds = 60 } });
        Assert.That(problem.GetProperty("errors").TryGetProperty("arguments", out _), Is.True, problem.ToString());
        var huge = await InvokeRefusedAsync("schedules.create", new { name = "typed", action = new { type = "noop", config = new { } }, trigger = new { intervalSeconds = 60 }, timeoutSeconds = 3000000000 });
        Assert.That(huge.ToString(), Does.Contain("timeoutSeconds"));
    }

    [Test]
    public async Task A_misspelled_schedule_field_is_refused_not_dropped()
    {
        // As through POST /api/schedules: "backof" was dropped and the retry stored as exponential.
        var problem = await InvokeRefusedAsync("schedules.create", new { name = "typo", action = new { type = "noop", config = new { } }, trigger = new { intervalSeconds = 60 }, retry = new { backof = "fixed" } });
        Assert.That(problem.ToString(), Does.Contain("'backof'").And.Contain("$.retry.backof").And.Not.Contain("Orchestrator."));
    }

    [Test]
    public async Task Writing_under_a_path_whose_directory_is_a_file_fails_cleanly()
    {
        var invoked = await InvokeAsync("files.write", new { path = "docs/readme.txt/child.txt", content = "x" });
        Assert.That(invoked.GetProperty("succeeded").GetBoolean(), Is.False, invoked.ToString());
        Assert.That(await File.ReadAllTextAsync(Path.Combine(root, "docs", "readme.txt")), Is.EqualTo("inside"));
    }
}
