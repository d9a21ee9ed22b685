using System.Globalization;
using System.Net;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Projects;

/// <summary>
/// Deleting a project, tool, channel or pipeline that schedules or pipelines still used was a 204, and every later
/// firing then failed on the missing name (an orphaned schedule could not even be replaced). Now each is a 409 that
/// names the users, and nothing is deleted; once the users are gone, the delete goes through.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class DeleteWhileInUseTests
{
    private InProcessServer server = null!;
    private HttpClient admin = null!;
    private string workspaces = null!;

    private static string Tomorrow() => TimeProvider.System.GetUtcNow().AddDays(1).ToString("O", CultureInfo.InvariantCulture);

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        workspaces = Directory.CreateTempSubdirectory("orchestrator-inuse-ws-").FullName;
        var database = await TestPostgres.CreateDatabaseAsync("deleteinuse");
        server = InProcessServer.Start(PostgresNode.Environment(database, new Dictionary<string, string?> { ["Orchestrator__Workspaces__Roots__0"] = workspaces }));
        await server.WaitUntilReadyAsync();
        admin = server.CreateClient(server.PrintedAdminKey);
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

    private async Task<string> RefusedAsync(string path)
    {
        var problem = await ApiAssertions.AssertProblemAsync(await admin.DeleteAsync(path), HttpStatusCode.Conflict);
        return problem.GetProperty("detail").GetString()!;
    }

    private async Task AssertExistsAsync(string path) =>
        Assert.That((await admin.GetAsync(path)).StatusCode, Is.EqualTo(HttpStatusCode.OK), path + " was deleted though the delete was refused");

    private async Task DeletedAsync(string path) =>
        Assert.That((await admin.DeleteAsync(path)).StatusCode, Is.EqualTo(HttpStatusCode.NoContent), path);

    private static object Schedule(string name, string? project, string type, object config) =>
        new { name, project, action = new { type, config }, trigger = new { at = Tomorrow() } };

    private Task<JsonElement> PipelineAsync(string id, string? project, params object[] nodes) =>
        admin.PostForJsonAsync("/api/pipelines", new { id, name = id, project, nodes }, HttpStatusCode.Created);

    [Test]
    public async Task Deleting_a_project_with_schedules_and_a_pipeline_is_409_naming_them_and_deletes_nothing()
    {
        await admin.PostForJsonAsync("/api/projects", new { id = "demo", name = "Demo", rootPath = Path.Combine(workspaces, "demo") }, HttpStatusCode.Created);
        for (var i = 1; i <= 12; i++)
        {
            await admin.CreateScheduleAsync(Schedule($"s{i:00}", "demo", "noop", new { }));
        }

        await PipelineAsync("demo-pipe", "demo", new { id = "a", type = "action", action = new { type = "noop", config = new { } } });

        var detail = await RefusedAsync("/api/projects/demo");
        Assert.That(detail, Does.Contain("12 schedules ('demo.s01'").And.Contain("and 2 more)").And.Contain("1 pipeline ('demo-pipe')"));
        await AssertExistsAsync("/api/projects/demo");
        await AssertExistsAsync("/api/schedules/demo.s01");
        await AssertExistsAsync("/api/pipelines/demo-pipe");

        for (var i = 1; i <= 12; i++)
        {
            await DeletedAsync($"/api/schedules/demo.s{i:00}");
        }

        Assert.That(await RefusedAsync("/api/projects/demo"), Does.Not.Contain("schedule").And.Contain("1 pipeline ('demo-pipe')"));
        await DeletedAsync("/api/pipelines/demo-pipe");
        await DeletedAsync("/api/projects/demo");
    }

    [Test]
    public async Task Deleting_a_tool_a_run_task_schedule_or_pipeline_runs_is_409_and_deletes_nothing()
    {
        await admin.PostForJsonAsync("/api/tools", new
        {
            name = "echo-inuse",
            kind = "command",
            parameters = new { type = "object", properties = new { text = new { type = "string" } } },
            config = new { argv = new[] { "echo", "{{args.text}}" } },
        }, HttpStatusCode.Created);
        var config = new { tool = "echo-inuse", arguments = new { text = "hi" } };
        await admin.CreateScheduleAsync(Schedule("echoes", null, "run_task", config));
        await PipelineAsync("echo-pipe", null, new { id = "e", type = "action", action = new { type = "run_task", config } });

        var detail = await RefusedAsync("/api/tools/echo-inuse");
        Assert.That(detail, Does.StartWith("Tool 'echo-inuse' is still used by 1 schedule ('default.echoes') and 1 pipeline ('echo-pipe')"));
        await AssertExistsAsync("/api/tools/echo-inuse");

        await DeletedAsync("/api/schedules/default.echoes");
        await DeletedAsync("/api/pipelines/echo-pipe");
        await DeletedAsync("/api/tools/echo-inuse");
    }

    [Test]
    public async Task Deleting_a_channel_a_send_notification_schedule_or_pipeline_uses_is_409_and_deletes_nothing()
    {
        await admin.PostForJsonAsync("/api/channels", new
        {
            name = "ops-mail",
            kind = "email",
            email = new { host = "smtp.example.com", port = 587, from = "a@example.com", to = new[] { "b@example.com" } },
        }, HttpStatusCode.Created);
        var config = new { channel = "ops-mail", subject = "s", message = "m" };
        await admin.CreateScheduleAsync(Schedule("mail", null, "send_notification", config));
        await PipelineAsync("mail-pipe", null, new { id = "n", type = "action", action = new { type = "send_notification", config } });

        var detail = await RefusedAsync("/api/channels/ops-mail");
        Assert.That(detail, Does.StartWith("Channel 'ops-mail' is still used by 1 schedule ('default.mail') and 1 pipeline ('mail-pipe')"));
        await AssertExistsAsync("/api/channels/ops-mail");

        await DeletedAsync("/api/schedules/default.mail");
        Assert.That(await RefusedAsync("/api/channels/ops-mail"), Does.Not.Contain("schedule"));
        await DeletedAsync("/api/pipelines/mail-pipe");
        await DeletedAsync("/api/channels/ops-mail");
    }

    [Test]
    public async Task Deleting_a_pipeline_an_execute_pipeline_schedule_runs_is_409_and_deletes_nothing()
    {
        await PipelineAsync("p2", null, new { id = "a", type = "action", action = new { type = "noop", config = new { } } });
        await admin.CreateScheduleAsync(Schedule("run-p2", null, "execute_pipeline", new { pipeline = "p2" }));

        var detail = await RefusedAsync("/api/pipelines/p2");
        Assert.That(detail, Does.StartWith("Pipeline 'p2' is still used by 1 schedule ('default.run-p2')"));
        await AssertExistsAsync("/api/pipelines/p2");

        await DeletedAsync("/api/schedules/default.run-p2");
        await DeletedAsync("/api/pipelines/p2");
    }

    [Test]
    public async Task Deleting_something_nothing_uses_or_that_does_not_exist_is_unchanged()
    {
        await admin.PostForJsonAsync("/api/channels", new { name = "unused-mail", kind = "email", email = new { host = "smtp.example.com", port = 587, from = "a@example.com", to = new[] { "b@example.com" } } },
            HttpStatusCode.Created);
        await DeletedAsync("/api/channels/unused-mail");
        await ApiAssertions.AssertProblemAsync(await admin.DeleteAsync("/api/channels/unused-mail"), HttpStatusCode.NotFound);
        await ApiAssertions.AssertProblemAsync(await admin.DeleteAsync("/api/tools/no-such-tool"), HttpStatusCode.NotFound);
        await ApiAssertions.AssertProblemAsync(await admin.DeleteAsync("/api/projects/no-such-project"), HttpStatusCode.NotFound);
        await ApiAssertions.AssertProblemAsync(await admin.DeleteAsync("/api/pipelines/no-such-pipeline"), HttpStatusCode.NotFound);
    }
}
