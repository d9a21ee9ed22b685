using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Runs;

/// <summary>
/// A runs, deadline-breaches or audit filter that names a schedule, pipeline or project the caller cannot see, or one that is
/// not there, is the same 404 in the same words: an empty page told a scoped key nothing but looked like "no runs yet" for a typo, and which of the
/// two it was must not be learnable from the answer.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class RunFilterTests
{
    private InProcessServer server = null!;
    private HttpClient admin = null!;
    private HttpClient scoped = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        var workspaces = Directory.CreateTempSubdirectory("orchestrator-runfilter-ws-").FullName;
        var database = await TestPostgres.CreateDatabaseAsync("runfilter");
        server = InProcessServer.Start(PostgresNode.Environment(database, new Dictionary<string, string?> { ["Orchestrator__Workspaces__Roots__0"] = workspaces }));
        await server.WaitUntilReadyAsync();
        admin = server.CreateClient(server.PrintedAdminKey);
        foreach (var project in new[] { "rf-mine", "rf-theirs" })
        {
            await admin.PostForJsonAsync("/api/projects", new { id = project, name = project, rootPath = Path.Combine(workspaces, project) }, HttpStatusCode.Created);
            await admin.CreateScheduleAsync(new
            {
                name = "job",
                project,
                action = new { type = "noop", config = new { } },
                trigger = new { cron = "0 0 3 * * ?" },
            });
            await admin.PostForJsonAsync("/api/pipelines", new
            {
                id = project + "-flow",
                name = "flow",
                project,
                nodes = new object[] { new { id = "a", type = "action", action = new { type = "noop", config = new { } } } },
                edges = Array.Empty<object>(),
            }, HttpStatusCode.Created);
        }

        var key = await admin.PostForJsonAsync("/api/keys", new { name = "rf-scoped", role = "viewer", projects = new[] { "rf-mine" } }, HttpStatusCode.Created);
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

    [TestCase("scheduleId", "rf-theirs.job", "schedule")]
    [TestCase("scheduleId", "rf-mine.ghost", "schedule")]
    [TestCase("scheduleId", "nowhere.job", "schedule")]
    [TestCase("project", "rf-theirs", "project")]
    [TestCase("project", "nowhere", "project")]
    public async Task A_scoped_key_gets_the_same_404_for_another_projects_filter_as_for_one_that_is_not_there(string parameter, string value, string resource)
    {
        var problem = await ApiAssertions.AssertProblemAsync(await scoped.GetAsync($"/api/runs?{parameter}={value}"), HttpStatusCode.NotFound);
        Assert.That(problem.GetProperty("detail").GetString(), Is.EqualTo($"No {resource} with id '{value}'."));
    }

    [TestCase("scheduleId", "rf-mine.ghost", "schedule")]
    [TestCase("scheduleId", "_system.housekeeping", "schedule")]
    [TestCase("project", "nowhere", "project")]
    public async Task An_unknown_filter_is_a_404_for_an_unscoped_key_too(string parameter, string value, string resource)
    {
        var problem = await ApiAssertions.AssertProblemAsync(await admin.GetAsync($"/api/runs?{parameter}={value}"), HttpStatusCode.NotFound);
        Assert.That(problem.GetProperty("detail").GetString(), Is.EqualTo($"No {resource} with id '{value}'."));
    }

    [TestCase("scheduleId", "rf-theirs.job", "schedule")]
    [TestCase("scheduleId", "rf-mine.ghost", "schedule")]
    [TestCase("pipelineId", "rf-theirs-flow", "pipeline")]
    [TestCase("pipelineId", "no-flow", "pipeline")]
    [TestCase("project", "rf-theirs", "project")]
    [TestCase("project", "nowhere", "project")]
    public async Task The_deadline_breaches_list_answers_not_yours_and_not_there_alike(string parameter, string value, string resource)
    {
        var problem = await ApiAssertions.AssertProblemAsync(await scoped.GetAsync($"/api/deadlines?{parameter}={value}"), HttpStatusCode.NotFound);
        Assert.That(problem.GetProperty("detail").GetString(), Is.EqualTo($"No {resource} with id '{value}'."));
    }

    [TestCase("scheduleId=rf-mine.job")]
    [TestCase("pipelineId=rf-mine-flow")]
    [TestCase("project=rf-mine")]
    public async Task The_deadline_breaches_list_still_answers_what_the_caller_can_see(string query)
    {
        var page = await scoped.GetFromJsonAsync<JsonElement>($"/api/deadlines?{query}");
        Assert.That(page.GetProperty("total").GetInt32(), Is.Zero, "no deadline was breached: an empty page, not a refusal");
        var unknownForAdmin = await admin.GetAsync("/api/deadlines?pipelineId=no-flow");
        Assert.That(unknownForAdmin.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [TestCase("runs")]
    [TestCase("misfires")]
    [TestCase("occurrences")]
    public async Task A_schedules_own_lists_answer_another_projects_schedule_as_one_that_is_not_there(string list)
    {
        var theirs = await ApiAssertions.AssertProblemAsync(await scoped.GetAsync($"/api/schedules/rf-theirs.job/{list}"), HttpStatusCode.NotFound);
        var ghost = await ApiAssertions.AssertProblemAsync(await scoped.GetAsync($"/api/schedules/rf-theirs.ghost/{list}"), HttpStatusCode.NotFound);
        Assert.That(theirs.GetProperty("detail").GetString(), Is.EqualTo(ghost.GetProperty("detail").GetString()!.Replace("ghost", "job", StringComparison.Ordinal)));
        Assert.That(theirs.GetProperty("detail").GetString(), Does.Contain("rf-theirs.job"));
    }

    [Test]
    public async Task The_audit_log_refuses_a_project_that_neither_exists_nor_appears_in_it()
    {
        var problem = await ApiAssertions.AssertProblemAsync(await admin.GetAsync("/api/audit?project=nowhere"), HttpStatusCode.NotFound);
        Assert.That(problem.GetProperty("detail").GetString(), Is.EqualTo("No project with id 'nowhere'."));
        var known = await admin.GetFromJsonAsync<JsonElement>("/api/audit?project=rf-theirs&action=schedule.create");
        Assert.That(known.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("resourceId").GetString()), Is.EqualTo(new[] { "rf-theirs.job" }));
    }

    [Test]
    public async Task Filters_the_caller_can_see_still_answer_their_runs()
    {
        var mine = await scoped.GetFromJsonAsync<JsonElement>("/api/runs?scheduleId=rf-mine.job");
        Assert.That(mine.GetProperty("total").GetInt32(), Is.Zero, "a schedule that has not run yet is there, with no runs");
        // Another test of this fixture may have run one of rf-mine's schedules: whatever the page holds is rf-mine's.
        var project = await scoped.GetFromJsonAsync<JsonElement>("/api/runs?project=rf-mine");
        Assert.That(project.GetProperty("items").EnumerateArray().Select(r => r.GetProperty("scheduleId").GetString()), Is.All.StartsWith("rf-mine."));
        var theirs = await admin.GetFromJsonAsync<JsonElement>("/api/runs?scheduleId=rf-theirs.job&project=rf-theirs");
        Assert.That(theirs.GetProperty("total").GetInt32(), Is.Zero, "an unscoped key sees every project's schedules");
    }

    [Test]
    public async Task A_deleted_schedules_runs_stay_listable_by_its_id()
    {
        await admin.CreateScheduleAsync(new { name = "gone", project = "rf-mine", action = new { type = "noop", config = new { } }, trigger = new { cron = "0 0 3 * * ?" } });
        var run = await admin.PostForJsonAsync("/api/schedules/rf-mine.gone/run", null, HttpStatusCode.Accepted);
        var runId = run.GetProperty("id").GetString();
        await Poll.UntilAsync(
            async () => (await admin.GetFromJsonAsync<JsonElement>($"/api/runs/{runId}")).GetProperty("status").GetString(),
            status => status == "succeeded", TimeSpan.FromSeconds(90), "the manual run succeeds");
        var deleted = await admin.DeleteAsync("/api/schedules/rf-mine.gone");
        Assert.That(deleted.IsSuccessStatusCode, Is.True, await deleted.Content.ReadAsStringAsync());

        var runs = await scoped.GetFromJsonAsync<JsonElement>("/api/runs?scheduleId=rf-mine.gone");
        Assert.That(runs.GetProperty("items").EnumerateArray().Select(r => r.GetProperty("id").GetString()), Is.EqualTo(new[] { runId }));
    }
}
