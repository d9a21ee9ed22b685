using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Security;

/// <summary>
/// The known gaps, one test each: a run of project P stays in P through the schedules tools whoever made its schedule;
/// a reference to another project's pipeline reads exactly as a missing one; a key made on the server's console is
/// audited; the server's own jobs are no schedule to /api/runs; and a file path is percent-decoded once, not twice.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class ConfinementGapTests
{
    private const string Canary = "CANARY-3b9e-beside-the-root";
    private InProcessServer server = null!;
    private Dictionary<string, string?> environment = null!;
    private HttpClient admin = null!;
    private HttpClient scoped = null!;
    private string workspaces = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        workspaces = Directory.CreateTempSubdirectory("orchestrator-gaps-ws-").FullName;
        await File.WriteAllTextAsync(Path.Combine(workspaces, "canary.txt"), Canary);
        var database = await TestPostgres.CreateDatabaseAsync("gaps");
        environment = PostgresNode.Environment(database, new Dictionary<string, string?> { ["Orchestrator__Workspaces__Roots__0"] = workspaces });
        server = InProcessServer.Start(environment, listenOnLoopback: true);
        await server.WaitUntilReadyAsync();
        admin = server.CreateClient(server.PrintedAdminKey);
        foreach (var p in new[] { "pa", "pb" })
        {
            await admin.PostForJsonAsync("/api/projects", new { id = p, name = p, rootPath = Path.Combine(workspaces, p) }, HttpStatusCode.Created);
            await admin.CreateScheduleAsync(new { name = "victim", project = p, action = new { type = "noop", config = new { } }, trigger = new { cron = "0 0 3 1 1 ?", timeZone = "UTC" } });
            await admin.PostForJsonAsync("/api/pipelines", new
            {
                id = p + "-pipe",
                name = p + " pipe",
                project = p,
                nodes = new object[] { new { id = "a", type = "action", action = new { type = "noop", config = new { } } } },
                edges = Array.Empty<object>(),
            }, HttpStatusCode.Created);
        }

        var key = await admin.PostForJsonAsync("/api/keys", new { name = "pa-admin", role = "admin", projects = new[] { "pa" } }, HttpStatusCode.Created);
        scoped = server.CreateClient(key.GetProperty("key").GetString());
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        admin?.Dispose();
        scoped?.Dispose();
        if (server is not null)
        {
            await server.DisposeAsync();
        }
    }

    private HttpRequestMessage Raw(HttpMethod method, string pathAndQuery) =>
        new(method, new Uri(server.BaseAddress + pathAndQuery.TrimStart('/'), new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true }));

    private async Task<JsonElement> RunOnceAsync(string name, object arguments, string tool)
    {
        await admin.CreateScheduleAsync(new
        {
            name,
            project = "pa",
            action = new { type = "run_task", config = new { tool, arguments } },
            trigger = new { cron = "0 0 3 1 1 ?", timeZone = "UTC" },
        });
        await admin.PostForJsonAsync($"/api/schedules/pa.{name}/run", null, HttpStatusCode.Accepted);
        var runs = await Poll.UntilAsync(() => admin.RunsAsync($"pa.{name}"), r => r.Count == 1 && r[0].Status() is "succeeded" or "failed",
            TimeSpan.FromSeconds(30), $"the run of pa.{name}");
        return runs[0];
    }

    private async Task<string> StateAsync(string id) => (await admin.GetFromJsonAsync<JsonElement>($"/api/schedules/{id}")).GetProperty("state").GetString()!;

    [Test]
    public async Task A_run_task_of_project_P_made_by_an_unscoped_admin_reaches_no_schedule_of_another_project_through_the_schedules_tools()
    {
        // The schedule's creator sees every project; its run is still confined to the schedule's own project.
        foreach (var (tool, name) in new[] { ("schedules.pause", "pause-pb"), ("schedules.delete", "delete-pb"), ("schedules.run", "run-pb") })
        {
            var run = await RunOnceAsync(name, new { name = "pb.victim" }, tool);
            Assert.That(run.Status(), Is.EqualTo("failed"), $"{tool} of 'pb.victim' from project pa: {run}");
            Assert.That(run.ToString(), Does.Not.Contain("project 'pb'"));
        }

        Assert.That(await StateAsync("pb.victim"), Is.EqualTo("active"), "pb.victim was neither paused nor deleted");
        Assert.That(await admin.RunsAsync("pb.victim"), Is.Empty, "pb.victim was not run");

        var listed = await RunOnceAsync("list-all", new { }, "schedules.list");
        Assert.That(listed.Status(), Is.EqualTo("succeeded"), listed.ToString());
        var ids = listed.GetProperty("result").GetProperty("items").EnumerateArray().Select(s => s.GetProperty("id").GetString()).ToList();
        Assert.That(ids, Does.Contain("pa.victim").And.Not.Contain("pb.victim"));

        // A run's schedules.create is checked when its schedule is made (the project is known then): another project's
        // pipeline is refused as one that does not exist.
        var refused = await ApiAssertions.AssertProblemAsync(await admin.PostAsync("/api/schedules", ApiClient.Json(new
        {
            name = "create-pb",
            project = "pa",
            action = new
            {
                type = "run_task",
                config = new
                {
                    tool = "schedules.create",
                    arguments = new { name = "made-by-run", action = new { type = "execute_pipeline", config = new { pipeline = "pb-pipe" } }, trigger = new { intervalSeconds = 3600 } },
                },
            },
            trigger = new { intervalSeconds = 3600 },
        })), HttpStatusCode.UnprocessableEntity);
        Assert.That(refused.GetProperty("detail").GetString(), Does.Contain("no pipeline with id 'pb-pipe' in project 'pa'").And.Not.Contain("project 'pb'"));
        await ApiAssertions.AssertProblemAsync(await admin.GetAsync("/api/schedules/pa.create-pb"), HttpStatusCode.NotFound);
    }

    [Test]
    public async Task A_reference_to_another_projects_pipeline_is_refused_exactly_as_a_missing_one()
    {
        async Task<string> RefusalAsync(HttpClient http, string path, Func<string, object> body, string pipeline)
        {
            var problem = await ApiAssertions.AssertProblemAsync(await http.PostAsync(path, ApiClient.Json(body(pipeline))), HttpStatusCode.UnprocessableEntity);
            return problem.GetProperty("errors").ToString().Replace(pipeline, "{pipeline}", StringComparison.Ordinal);
        }

        object Schedule(string pipeline) => new
        {
            name = "ref-probe",
            project = "pa",
            action = new { type = "execute_pipeline", config = new { pipeline } },
            trigger = new { intervalSeconds = 3600 },
        };
        object Pipeline(string pipeline) => new
        {
            id = "ref-probe",
            name = "ref probe",
            project = "pa",
            nodes = new object[] { new { id = "sub", type = "pipeline", pipeline } },
            edges = Array.Empty<object>(),
        };

        foreach (var http in new[] { scoped, admin })
        {
            foreach (var (path, body) in new (string, Func<string, object>)[] { ("/api/schedules", Schedule), ("/api/pipelines", Pipeline), ("/api/pipelines/validate", Pipeline) })
            {
                var elsewhere = await RefusalAsync(http, path, body, "pb-pipe");
                var missing = await RefusalAsync(http, path, body, "no-such-pipe");
                Assert.That(elsewhere, Is.EqualTo(missing), $"{path}: another project's pipeline reads as a missing one");
                Assert.That(elsewhere, Does.Not.Contain("pb"), path);
            }
        }
    }

    [Test]
    public async Task Keys_create_on_the_console_is_audited_as_the_cli_by_local()
    {
        var (exitCode, output) = await ServerProcess.RunCommandAsync(environment, server.WorkingDirectory, "keys", "create", "--role", "viewer", "--name", "console-made");
        Assert.That(exitCode, Is.Zero, output);
        var page = await admin.GetFromJsonAsync<JsonElement>("/api/audit?action=key.create&pageSize=200");
        var entry = page.GetProperty("items").EnumerateArray().Single(e => e.GetProperty("after").GetProperty("name").GetString() == "console-made");
        Assert.That(entry.GetProperty("source").GetString(), Is.EqualTo("cli"));
        Assert.That(entry.GetProperty("actor").GetProperty("name").GetString(), Is.EqualTo("local"));
        Assert.That(entry.GetProperty("actor").GetProperty("keyId").ValueKind, Is.EqualTo(JsonValueKind.Null));
        var key = output.Split('\n').Select(l => l.Trim()).Single(l => l.StartsWith("orch_", StringComparison.Ordinal));
        Assert.That(entry.ToString(), Does.Not.Contain(key), "the key itself is never logged");
    }

    [TestCase("_system.run-housekeeping")]
    [TestCase("_system.no-such-job")]
    [TestCase("_anything.x")]
    public async Task The_servers_own_jobs_are_not_found_as_schedules_on_api_runs_as_on_the_schedule_routes(string id)
    {
        var runs = await ApiAssertions.AssertProblemAsync(await admin.GetAsync($"/api/runs?scheduleId={Uri.EscapeDataString(id)}"), HttpStatusCode.NotFound);
        var scheduleRuns = await ApiAssertions.AssertProblemAsync(await admin.GetAsync($"/api/schedules/{Uri.EscapeDataString(id)}/runs"), HttpStatusCode.NotFound);
        Assert.That(runs.GetProperty("detail").GetString(), Is.EqualTo(scheduleRuns.GetProperty("detail").GetString()));
        Assert.That((await admin.GetAsync("/api/runs?scheduleId=pa.victim")).StatusCode, Is.EqualTo(HttpStatusCode.OK), "a project's schedule is still a filter");
    }

    [TestCase("%252e%252e/canary.txt")]
    [TestCase("%252e%252e%252fcanary.txt")]
    [TestCase("docs/%252e%252e/%252e%252e/canary.txt")]
    [TestCase("%25%32%65%25%32%65/canary.txt")]
    public async Task A_double_encoded_path_is_refused_on_the_files_route_and_never_read_as_dot_dot(string path)
    {
        Directory.CreateDirectory(Path.Combine(workspaces, "pa", "docs"));
        foreach (var method in new[] { HttpMethod.Get, HttpMethod.Put, HttpMethod.Delete })
        {
            using var request = Raw(method, $"/api/projects/pa/files/{path}");
            if (method == HttpMethod.Put)
            {
                request.Content = new StringContent("overwritten", Encoding.UTF8);
            }

            var problem = await ApiAssertions.AssertProblemAsync(await admin.SendAsync(request), HttpStatusCode.UnprocessableEntity);
            var reason = problem.GetProperty("errors").GetProperty("path")[0].GetString();
            Assert.That(reason, Does.Contain("encoded twice"), method.Method);
            Assert.That(problem.ToString(), Does.Not.Contain(Canary));
        }

        Assert.That(await File.ReadAllTextAsync(Path.Combine(workspaces, "canary.txt")), Is.EqualTo(Canary));
        Assert.That(Directory.GetFiles(Path.Combine(workspaces, "pa"), "*", SearchOption.AllDirectories).Where(f => File.ReadAllText(f) == "overwritten"), Is.Empty);
    }

    [Test]
    public async Task A_path_encoded_once_still_names_its_file_and_an_encoded_slash_is_a_separator()
    {
        var put = await admin.SendAsync(new HttpRequestMessage(HttpMethod.Put, "/api/projects/pa/files/enc/100%25%20sure.txt") { Content = new StringContent("once", Encoding.UTF8) });
        Assert.That(put.StatusCode, Is.EqualTo(HttpStatusCode.OK), await put.Content.ReadAsStringAsync());
        Assert.That(await File.ReadAllTextAsync(Path.Combine(workspaces, "pa", "enc", "100% sure.txt")), Is.EqualTo("once"));
        using var get = await admin.SendAsync(Raw(HttpMethod.Get, "/api/projects/pa/files/enc%2F100%25%20sure.txt"));
        Assert.That(await get.Content.ReadAsStringAsync(), Is.EqualTo("once"));
    }

    [TestCase("%252e%252e/canary.txt")]
    [TestCase("%2e%2e/canary.txt")]
    [TestCase("%2e%2e%2fcanary.txt")]
    public async Task The_files_tools_take_a_path_as_written_and_never_decode_it_into_dot_dot(string path)
    {
        var response = await admin.PostAsync("/api/tools/files.read/invoke", ApiClient.Json(new { project = "pa", arguments = new { path } }));
        var text = await response.Content.ReadAsStringAsync();
        Assert.That((int)response.StatusCode, Is.LessThan(500), text);
        Assert.That(text, Does.Not.Contain(Canary));
        var write = await admin.PostAsync("/api/tools/files.write/invoke", ApiClient.Json(new { project = "pa", arguments = new { path, content = "overwritten" } }));
        Assert.That((int)write.StatusCode, Is.LessThan(500), await write.Content.ReadAsStringAsync());
        Assert.That(await File.ReadAllTextAsync(Path.Combine(workspaces, "canary.txt")), Is.EqualTo(Canary), "nothing beside the root was written");
        if (write.IsSuccessStatusCode && (await write.Content.ReadFromJsonAsync<JsonElement>()).TryGetProperty("succeeded", out var ok) && ok.GetBoolean())
        {
            // Written, then as the literal name it was given, inside the root.
            Assert.That(File.Exists(Path.Combine(workspaces, "pa", path)), Is.True);
        }
    }
}
