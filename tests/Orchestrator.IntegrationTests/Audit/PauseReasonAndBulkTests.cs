using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.IntegrationTests.Infrastructure;
using Orchestrator.Security;

namespace Orchestrator.IntegrationTests.Audit;

/// <summary>
/// Pause with a reason (issue 14 item 5): Quartz keeps the reason, who asked and when, so it survives a restart; and bulk
/// pause/resume by project, action type, execution group or ids, where one unknown id refuses the whole request.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class PauseReasonAndBulkTests
{
    private Dictionary<string, string?> environment = null!;
    private InProcessServer server = null!;
    private HttpClient admin = null!;
    private HttpClient operatorClient = null!;
    private string workspaces = null!;
    private string adminKey = null!;
    private string operatorKey = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        workspaces = Directory.CreateTempSubdirectory("orchestrator-pause-ws-").FullName;
        var database = await TestPostgres.CreateDatabaseAsync("pausereason");
        environment = PostgresNode.Environment(database, new Dictionary<string, string?> { ["Orchestrator__Workspaces__Roots__0"] = workspaces });
        server = InProcessServer.Start(environment);
        await server.WaitUntilReadyAsync();
        adminKey = server.PrintedAdminKey!;
        admin = server.CreateClient(adminKey);
        await using var scope = server.Services.CreateAsyncScope();
        var (_, plain) = await scope.ServiceProvider.GetRequiredService<ApiKeyStore>().CreateAsync("night-operator", ApiRole.Operator, CancellationToken.None);
        operatorKey = plain;
        operatorClient = server.CreateClient(plain);
        foreach (var project in new[] { "bulk-a", "bulk-b", "reasons" })
        {
            await admin.PostForJsonAsync("/api/projects", new { id = project, name = project, rootPath = Path.Combine(workspaces, project) }, HttpStatusCode.Created);
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

    private Task<JsonElement> ScheduleAsync(string project, string name, string type = "noop", string? group = null) =>
        admin.CreateScheduleAsync(new
        {
            name,
            project,
            action = type == "noop" ? (object)new { type, config = new { } } : new { type, config = new { url = "https://api.example.com/x" } },
            // A daily cron: nothing fires while the test runs, so each state is the one the test set.
            trigger = new { cron = "0 0 3 * * ?" },
            executionGroup = group,
        });

    private async Task<string> StateAsync(string id) =>
        (await admin.GetFromJsonAsync<JsonElement>($"/api/schedules/{id}")).GetProperty("state").GetString()!;

    [Test]
    public async Task A_pause_reason_round_trips_with_who_and_when_and_survives_a_restart()
    {
        await ScheduleAsync("reasons", "nightly");
        var before = TimeProvider.System.GetUtcNow().AddSeconds(-5);
        var paused = await operatorClient.PostForJsonAsync("/api/schedules/reasons.nightly/pause", new { reason = "vendor API down until Monday" }, HttpStatusCode.OK);
        Assert.That(paused.GetProperty("state").GetString(), Is.EqualTo("paused"));
        Assert.That(paused.GetProperty("pausedReason").GetString(), Is.EqualTo("vendor API down until Monday"));
        Assert.That(paused.GetProperty("pausedBy").GetString(), Is.EqualTo("night-operator"));
        Assert.That(paused.GetProperty("pausedAt").GetDateTimeOffset(), Is.GreaterThan(before));

        var listed = await admin.GetFromJsonAsync<JsonElement>("/api/schedules?project=reasons");
        Assert.That(listed.GetProperty("items")[0].GetProperty("pausedReason").GetString(), Is.EqualTo("vendor API down until Monday"), "the list shows it too");

        // Quartz stores the pause record in its tables: a new server process on the same database reads it back.
        await server.DisposeAsync();
        server = InProcessServer.Start(environment, server.WorkingDirectory);
        await server.WaitUntilReadyAsync();
        // The keys are in the database too; the clients are the new server's.
        admin.Dispose();
        operatorClient.Dispose();
        admin = server.CreateClient(adminKey);
        operatorClient = server.CreateClient(operatorKey);
        var afterRestart = await admin.GetFromJsonAsync<JsonElement>("/api/schedules/reasons.nightly");
        Assert.That(afterRestart.GetProperty("pausedReason").GetString(), Is.EqualTo("vendor API down until Monday"));
        Assert.That(afterRestart.GetProperty("pausedBy").GetString(), Is.EqualTo("night-operator"));
        Assert.That(afterRestart.GetProperty("pausedAt").GetDateTimeOffset(), Is.EqualTo(paused.GetProperty("pausedAt").GetDateTimeOffset()));

        var resumed = await admin.PostForJsonAsync("/api/schedules/reasons.nightly/resume", null, HttpStatusCode.OK);
        Assert.That(resumed.GetProperty("state").GetString(), Is.EqualTo("active"));
        Assert.That(resumed.GetProperty("pausedReason").ValueKind, Is.EqualTo(JsonValueKind.Null), "a resumed schedule has no pause reason");
    }

    [Test]
    public async Task A_pause_without_a_body_still_works_and_a_bad_reason_is_a_422_that_changes_nothing()
    {
        await ScheduleAsync("reasons", "plain");
        var noBody = await operatorClient.PostAsync("/api/schedules/reasons.plain/pause", null);
        Assert.That(noBody.StatusCode, Is.EqualTo(HttpStatusCode.OK), await noBody.Content.ReadAsStringAsync());
        var plain = await admin.GetFromJsonAsync<JsonElement>("/api/schedules/reasons.plain");
        Assert.That(plain.GetProperty("state").GetString(), Is.EqualTo("paused"));
        Assert.That(plain.GetProperty("pausedBy").GetString(), Is.EqualTo("night-operator"), "who paused it is kept even without a reason");
        Assert.That(plain.GetProperty("pausedReason").ValueKind, Is.EqualTo(JsonValueKind.Null));

        await ScheduleAsync("reasons", "strict");
        foreach (var reason in new[] { new string('r', 251), "line one\nline two", "tab\there" })
        {
            var refused = await operatorClient.PostAsync("/api/schedules/reasons.strict/pause", ApiClient.Json(new { reason }));
            var problem = await ApiAssertions.AssertProblemAsync(refused, HttpStatusCode.UnprocessableEntity);
            Assert.That(problem.GetProperty("errors").TryGetProperty("reason", out _), Is.True, problem.ToString());
        }

        var unknownField = await operatorClient.PostAsync("/api/schedules/reasons.strict/pause", ApiClient.Json(new { reason = "x", why = "y" }));
        await ApiAssertions.AssertProblemAsync(unknownField, HttpStatusCode.BadRequest);
        Assert.That(await StateAsync("reasons.strict"), Is.EqualTo("active"));
    }

    [Test]
    public async Task Bulk_pause_and_resume_select_by_project_action_type_group_and_ids()
    {
        await ScheduleAsync("bulk-a", "one");
        await ScheduleAsync("bulk-a", "two", "call_api");
        await ScheduleAsync("bulk-a", "three", group: "reports");
        await ScheduleAsync("bulk-b", "one", "call_api");
        await ScheduleAsync("bulk-b", "two", group: "reports");

        var byProject = await operatorClient.PostForJsonAsync("/api/schedules/pause", new { project = "bulk-a", reason = "maintenance window" }, HttpStatusCode.OK);
        Assert.That(Affected(byProject), Is.EquivalentTo(new[] { "bulk-a.one", "bulk-a.two", "bulk-a.three" }));
        Assert.That(await StateAsync("bulk-b.one"), Is.EqualTo("active"), "another project is untouched");
        var reason = await admin.GetFromJsonAsync<JsonElement>("/api/schedules/bulk-a.two");
        Assert.That(reason.GetProperty("pausedReason").GetString(), Is.EqualTo("maintenance window"));
        Assert.That(reason.GetProperty("pausedBy").GetString(), Is.EqualTo("night-operator"));

        var again = await operatorClient.PostForJsonAsync("/api/schedules/pause", new { project = "bulk-a", reason = "again" }, HttpStatusCode.OK);
        Assert.That(Affected(again), Is.Empty, "already paused schedules are not affected twice");

        var resumedGroup = await operatorClient.PostForJsonAsync("/api/schedules/resume", new { group = "reports" }, HttpStatusCode.OK);
        Assert.That(Affected(resumedGroup), Is.EqualTo(new[] { "bulk-a.three" }), "only paused schedules of the group are resumed");

        var byType = await operatorClient.PostForJsonAsync("/api/schedules/pause", new { actionType = "call_api", reason = "outbound calls off" }, HttpStatusCode.OK);
        Assert.That(Affected(byType), Is.EqualTo(new[] { "bulk-b.one" }));
        var byGroup = await operatorClient.PostForJsonAsync("/api/schedules/pause", new { group = "reports", project = "bulk-b", reason = "reports frozen" }, HttpStatusCode.OK);
        Assert.That(Affected(byGroup), Is.EqualTo(new[] { "bulk-b.two" }));

        var byIds = await operatorClient.PostForJsonAsync("/api/schedules/resume", new { ids = new[] { "bulk-a.one", "bulk-b.one" } }, HttpStatusCode.OK);
        Assert.That(Affected(byIds), Is.EquivalentTo(new[] { "bulk-a.one", "bulk-b.one" }));
        Assert.That(await StateAsync("bulk-a.one"), Is.EqualTo("active"));
        Assert.That(await StateAsync("bulk-a.two"), Is.EqualTo("paused"));

        var audit = await admin.GetFromJsonAsync<JsonElement>("/api/audit?resource=schedule:bulk-b.one&action=schedule.pause");
        var entry = audit.GetProperty("items").EnumerateArray().Single();
        Assert.That(entry.GetProperty("reason").GetString(), Is.EqualTo("outbound calls off"));
        Assert.That(entry.GetProperty("actor").GetProperty("name").GetString(), Is.EqualTo("night-operator"));
    }

    [Test]
    public async Task A_bulk_request_with_an_unknown_id_or_no_selector_is_a_422_and_changes_nothing()
    {
        await ScheduleAsync("bulk-b", "kept");
        var unknown = await operatorClient.PostAsync("/api/schedules/pause", ApiClient.Json(new { ids = new[] { "bulk-b.kept", "bulk-b.ghost", "nowhere.else" }, reason = "x" }));
        var problem = await ApiAssertions.AssertProblemAsync(unknown, HttpStatusCode.UnprocessableEntity);
        var message = problem.GetProperty("errors").GetProperty("ids")[0].GetString();
        Assert.That(message, Does.Contain("'bulk-b.ghost'").And.Contain("'nowhere.else'").And.Not.Contain("'bulk-b.kept'"));
        Assert.That(await StateAsync("bulk-b.kept"), Is.EqualTo("active"), "nothing changed");
        var entries = await admin.GetFromJsonAsync<JsonElement>("/api/audit?resource=schedule:bulk-b.kept&action=schedule.pause");
        Assert.That(entries.GetProperty("items").GetArrayLength(), Is.Zero);

        var none = await operatorClient.PostAsync("/api/schedules/pause", ApiClient.Json(new { reason = "everything?" }));
        var noSelector = await ApiAssertions.AssertProblemAsync(none, HttpStatusCode.UnprocessableEntity);
        Assert.That(noSelector.GetProperty("errors").TryGetProperty("ids", out _), Is.True, noSelector.ToString());
        Assert.That(await StateAsync("bulk-b.kept"), Is.EqualTo("active"));
    }

    private static List<string> Affected(JsonElement result) => [.. result.GetProperty("affected").EnumerateArray().Select(e => e.GetString()!)];
}
