using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.IntegrationTests.Infrastructure;
using Orchestrator.Security;

namespace Orchestrator.IntegrationTests.Schedules;

/// <summary>
/// A bulk pause or resume whose selector names nothing (a project, action type or execution group that does not exist,
/// or an unknown id) is a 422 naming the field and why, changes nothing and writes no audit entry: answered
/// <c>affected: []</c>, a typo looked like a pause that found everything already paused.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class BulkSelectorTests
{
    private InProcessServer server = null!;
    private HttpClient admin = null!;
    private HttpClient operatorClient = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        var workspaces = Directory.CreateTempSubdirectory("orchestrator-bulksel-ws-").FullName;
        var database = await TestPostgres.CreateDatabaseAsync("bulkselector");
        server = InProcessServer.Start(PostgresNode.Environment(database, new Dictionary<string, string?> { ["Orchestrator__Workspaces__Roots__0"] = workspaces }));
        await server.WaitUntilReadyAsync();
        admin = server.CreateClient(server.PrintedAdminKey);
        await using var scope = server.Services.CreateAsyncScope();
        var (_, plain) = await scope.ServiceProvider.GetRequiredService<ApiKeyStore>().CreateAsync("bulk-operator", ApiRole.Operator, CancellationToken.None);
        operatorClient = server.CreateClient(plain);
        foreach (var project in new[] { "sel-a", "sel-empty" })
        {
            await admin.PostForJsonAsync("/api/projects", new { id = project, name = project, rootPath = Path.Combine(workspaces, project) }, HttpStatusCode.Created);
        }

        foreach (var (name, group) in new[] { ("one", (string?)null), ("two", "reports") })
        {
            await admin.CreateScheduleAsync(new
            {
                name,
                project = "sel-a",
                action = new { type = "noop", config = new { } },
                // A daily cron: nothing fires while the test runs.
                trigger = new { cron = "0 0 3 * * ?" },
                executionGroup = group,
            });
        }
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        admin?.Dispose();
        operatorClient?.Dispose();
        if (server is not null)
        {
            await server.DisposeAsync();
        }
    }

    [TestCase("pause", "project", "no-such-project", "no project named 'no-such-project'")]
    [TestCase("resume", "project", "no-such-project", "no project named 'no-such-project'")]
    [TestCase("pause", "actionType", "call_apii", "no action type 'call_apii'; known: ")]
    [TestCase("resume", "actionType", "call_apii", "no action type 'call_apii'; known: ")]
    [TestCase("pause", "group", "no-such-group", "no schedule runs in execution group 'no-such-group'")]
    [TestCase("resume", "group", "no-such-group", "no schedule runs in execution group 'no-such-group'")]
    // A server's own job group is no project, though Quartz has it.
    [TestCase("pause", "project", "_system", "no project named '_system'")]
    public async Task A_selector_that_names_nothing_is_a_422_naming_it_and_nothing_changes(string verb, string field, string value, string reason)
    {
        var before = await AuditCountAsync();
        var body = new Dictionary<string, object> { [field] = value, ["reason"] = "typo" };
        var problem = await ApiAssertions.AssertProblemAsync(
            await operatorClient.PostAsync($"/api/schedules/{verb}", ApiClient.Json(body)), HttpStatusCode.UnprocessableEntity);
        var message = problem.GetProperty("errors").GetProperty(field)[0].GetString();
        Assert.That(message, Does.StartWith(reason).And.Contain("nothing was changed"), problem.ToString());
        Assert.That(problem.GetProperty("errors").EnumerateObject().Count(), Is.EqualTo(1), problem.ToString());
        if (field == "actionType")
        {
            Assert.That(message, Does.Contain("noop").And.Contain("call_api"), "the known action types are listed");
        }

        Assert.That(await StateAsync("sel-a.one"), Is.EqualTo("active"));
        Assert.That(await StateAsync("sel-a.two"), Is.EqualTo("active"));
        Assert.That(await AuditCountAsync(), Is.EqualTo(before), "a refused bulk action writes no audit entry");
    }

    [Test]
    public async Task Each_refused_selector_is_named_in_one_answer()
    {
        var problem = await ApiAssertions.AssertProblemAsync(
            await operatorClient.PostAsync("/api/schedules/pause", ApiClient.Json(new { project = "nope", actionType = "nope_either", reason = "typo" })),
            HttpStatusCode.UnprocessableEntity);
        var errors = problem.GetProperty("errors");
        Assert.That(errors.GetProperty("project")[0].GetString(), Does.StartWith("no project named 'nope'"));
        Assert.That(errors.GetProperty("actionType")[0].GetString(), Does.StartWith("no action type 'nope_either'"));
    }

    [Test]
    public async Task A_group_that_exists_but_not_in_the_named_project_is_refused_naming_the_project()
    {
        // sel-empty exists but holds no schedule: no schedule of it runs in 'reports' (sel-a.two does).
        var problem = await ApiAssertions.AssertProblemAsync(
            await operatorClient.PostAsync("/api/schedules/pause", ApiClient.Json(new { project = "sel-empty", group = "reports", reason = "x" })),
            HttpStatusCode.UnprocessableEntity);
        Assert.That(problem.GetProperty("errors").GetProperty("group")[0].GetString(),
            Does.StartWith("no schedule in project 'sel-empty' runs in execution group 'reports'"));
        Assert.That(await StateAsync("sel-a.two"), Is.EqualTo("active"));
    }

    [Test]
    public async Task Selectors_that_exist_still_answer_what_they_changed()
    {
        // A project with no schedules exists: nothing to pause is an answer, not a refusal.
        var empty = await operatorClient.PostForJsonAsync("/api/schedules/pause", new { project = "sel-empty", reason = "quiet" }, HttpStatusCode.OK);
        Assert.That(empty.GetProperty("affected").GetArrayLength(), Is.Zero);

        // An action type no schedule uses is known to the server: also an empty answer, not a refusal.
        var unused = await operatorClient.PostForJsonAsync("/api/schedules/pause", new { actionType = "send_notification", reason = "quiet" }, HttpStatusCode.OK);
        Assert.That(unused.GetProperty("affected").GetArrayLength(), Is.Zero);

        var byGroup = await operatorClient.PostForJsonAsync("/api/schedules/pause", new { group = "reports", reason = "frozen" }, HttpStatusCode.OK);
        Assert.That(byGroup.GetProperty("affected").EnumerateArray().Select(e => e.GetString()), Is.EqualTo(new[] { "sel-a.two" }));
        var resumed = await operatorClient.PostForJsonAsync("/api/schedules/resume", new { project = "sel-a", group = "reports" }, HttpStatusCode.OK);
        Assert.That(resumed.GetProperty("affected").EnumerateArray().Select(e => e.GetString()), Is.EqualTo(new[] { "sel-a.two" }));
        Assert.That(await StateAsync("sel-a.two"), Is.EqualTo("active"));
    }

    [Test]
    public async Task Unknown_ids_are_each_named_and_nothing_changes()
    {
        var before = await AuditCountAsync();
        var problem = await ApiAssertions.AssertProblemAsync(
            await operatorClient.PostAsync("/api/schedules/resume", ApiClient.Json(new { ids = new[] { "sel-a.one", "sel-a.ghost", "elsewhere.x" } })),
            HttpStatusCode.UnprocessableEntity);
        var message = problem.GetProperty("errors").GetProperty("ids")[0].GetString();
        Assert.That(message, Does.Contain("'sel-a.ghost'").And.Contain("'elsewhere.x'").And.Not.Contain("'sel-a.one'"));
        Assert.That(await AuditCountAsync(), Is.EqualTo(before));
    }

    private async Task<string> StateAsync(string id) =>
        (await admin.GetFromJsonAsync<JsonElement>($"/api/schedules/{id}")).GetProperty("state").GetString()!;

    private async Task<int> AuditCountAsync()
    {
        var page = await admin.GetFromJsonAsync<JsonElement>("/api/audit?pageSize=200");
        return page.GetProperty("items").GetArrayLength();
    }
}
