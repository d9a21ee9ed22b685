using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.IntegrationTests.Infrastructure;
using Orchestrator.Security;

namespace Orchestrator.IntegrationTests.Security;

/// <summary>
/// A key scoped to project alpha, on every /api route: on a resource of project beta a single-resource route answers 404
/// (nothing of beta is revealed or changed), a create or invocation in beta answers 403 naming beta, lists leave beta
/// out, cluster-wide changes (tools, channels, projects, keys) are 403; on alpha's resources the same routes work. The
/// table must cover every route a scoped key may call, and every other /api route in the OpenAPI document is checked
/// to answer 403, so a route added later is closed to scoped keys until its service honours the scope.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class ScopedKeyTests
{
    private const string Alpha = "alpha";
    private const string Beta = "beta";
    private InProcessServer server = null!;
    private HttpClient admin = null!;
    private HttpClient scoped = null!;
    private string workspaceRoot = null!;
    private readonly Dictionary<string, Guid> runs = [];
    private readonly Dictionary<string, Guid> pipelineRuns = [];

    /// <summary>A route, its path (<c>{p}</c> = the project, <c>{run}</c>/<c>{prun}</c> = its run/pipeline run, <c>{u}</c> = unique), a body, what
    /// alpha's resource answers, and what beta's answers (null: the route is not about one project, called once).</summary>
    public sealed record ScopeCase(
        string Route, string Path, Func<ScopedKeyTests, string, object?>? Body, HttpStatusCode[] InScope, HttpStatusCode? OtherProject,
        Func<JsonElement, bool>? OnlyAlpha = null)
    {
        public override string ToString() => Route;
    }

    private static object Noop(string name, string project) =>
        new { name, project, action = new { type = "noop", config = new { } }, trigger = new { cron = "0 0 3 * * ?", timeZone = "UTC" } };

    private static object Flow(string id, string project) =>
        new { id, name = id, project, nodes = new[] { new { id = "a", type = "action", action = new { type = "noop", config = new { } } } } };

    private static string Unique() => Guid.NewGuid().ToString("N")[..8];

    private static bool AllAlpha(JsonElement page, string property) =>
        page.GetProperty("items").EnumerateArray().All(i => i.GetProperty(property).GetString() == Alpha) && page.GetProperty("items").GetArrayLength() > 0;

    private static readonly HttpStatusCode[] Ok = [HttpStatusCode.OK];
    private static readonly HttpStatusCode[] Created = [HttpStatusCode.Created];
    private static readonly HttpStatusCode[] Accepted = [HttpStatusCode.Accepted];
    private static readonly HttpStatusCode[] Forbidden = [HttpStatusCode.Forbidden];

    public static IEnumerable<ScopeCase> Cases() =>
    [
        new("GET /api/actions", "/api/actions", null, Ok, null),
        new("POST /api/actions/dry-run", "/api/actions/dry-run", (_, p) => new { project = p, action = new { type = "noop", config = new { } } }, Ok, HttpStatusCode.Forbidden),
        new("GET /api/models", "/api/models", null, Ok, null),
        new("GET /api/cluster/nodes", "/api/cluster/nodes", null, Ok, null),
        new("GET /api/cluster/misfires", "/api/cluster/misfires", null, Ok, null, misfires =>
            misfires.GetProperty("items").EnumerateArray().All(m => m.GetProperty("schedule").GetString()!.StartsWith(Alpha + ".", StringComparison.Ordinal))),
        new("POST /api/cron/describe", "/api/cron/describe", (_, _) => new { expression = "0 0 3 * * ?", timeZone = "UTC" }, Ok, null),
        new("POST /api/cron/parse", "/api/cron/parse", (_, _) => new { text = "every day at 9:30" }, Ok, null),
        new("GET /api/channels", "/api/channels", null, Ok, null),
        new("GET /api/channels/{name}", "/api/channels/none", null, [HttpStatusCode.NotFound], null),
        new("POST /api/channels", "/api/channels", (_, _) => new { name = "ops", kind = "webhook" }, Forbidden, null),
        new("PUT /api/channels/{name}", "/api/channels/ops", (_, _) => new { kind = "webhook" }, Forbidden, null),
        new("DELETE /api/channels/{name}", "/api/channels/ops", null, Forbidden, null),
        new("GET /api/tools", "/api/tools", null, Ok, null),
        new("GET /api/tools/{name}", "/api/tools/files.list", null, Ok, null),
        new("POST /api/tools", "/api/tools", (_, _) => new { name = "mine", kind = "command" }, Forbidden, null),
        new("PUT /api/tools/{name}", "/api/tools/mine", (_, _) => new { kind = "command" }, Forbidden, null),
        new("DELETE /api/tools/{name}", "/api/tools/mine", null, Forbidden, null),
        new("POST /api/tools/{name}/validate", "/api/tools/files.list/validate", (_, p) => new { project = p, arguments = new { } }, Ok, HttpStatusCode.Forbidden),
        new("POST /api/tools/{name}/invoke", "/api/tools/files.list/invoke", (_, p) => new { project = p, arguments = new { } }, Ok, HttpStatusCode.Forbidden),
        new("GET /api/keys", "/api/keys", null, Forbidden, null),
        new("POST /api/keys", "/api/keys", (_, _) => new { name = "escalate", role = "admin" }, Forbidden, null),
        new("DELETE /api/keys/{id}", $"/api/keys/{Guid.Empty}", null, Forbidden, null),
        new("GET /api/projects", "/api/projects", null, Ok, null, page => AllAlpha(page, "id")),
        new("POST /api/projects", "/api/projects", (t, _) => new { id = "gamma", name = "Gamma", rootPath = System.IO.Path.Combine(t.workspaceRoot, "gamma") }, Forbidden, null),
        new("GET /api/projects/{id}", "/api/projects/{p}", null, Ok, HttpStatusCode.NotFound),
        new("PUT /api/projects/{id}", "/api/projects/{p}", (t, p) => new { name = p, rootPath = System.IO.Path.Combine(t.workspaceRoot, p) }, Ok, HttpStatusCode.NotFound),
        // Alpha holds schedules, so deleting it is refused as in use: the route reached the project.
        new("DELETE /api/projects/{id}", "/api/projects/{p}", null, [HttpStatusCode.Conflict], HttpStatusCode.NotFound),
        new("GET /api/projects/{id}/files/{path}", "/api/projects/{p}/files/note.txt", null, Ok, HttpStatusCode.NotFound),
        new("PUT /api/projects/{id}/files/{path}", "/api/projects/{p}/files/other.txt", (_, _) => "text", Ok, HttpStatusCode.NotFound),
        new("DELETE /api/projects/{id}/files/{path}", "/api/projects/{p}/files/spare.txt", null, [HttpStatusCode.NoContent], HttpStatusCode.NotFound),
        new("GET /api/schedules", "/api/schedules", null, Ok, null, page => AllAlpha(page, "project")),
        new("POST /api/schedules", "/api/schedules", (_, p) => Noop("made-" + Unique(), p), Created, HttpStatusCode.Forbidden),
        new("POST /api/schedules/batch", "/api/schedules/batch", (_, p) => new { items = new[] { Noop("batch-" + Unique(), p) } }, Created, HttpStatusCode.Forbidden),
        new("POST /api/schedules/preview", "/api/schedules/preview", (_, _) => new { trigger = new { cron = "0 0 3 * * ?", timeZone = "UTC" }, count = 2 }, Ok, null),
        new("GET /api/schedules/{id}", "/api/schedules/{p}.job", null, Ok, HttpStatusCode.NotFound),
        new("PUT /api/schedules/{id}", "/api/schedules/{p}.job", (_, p) => Noop("job", p), Ok, HttpStatusCode.NotFound),
        new("DELETE /api/schedules/{id}", "/api/schedules/{p}.spare", null, [HttpStatusCode.NoContent], HttpStatusCode.NotFound),
        new("POST /api/schedules/{id}/pause", "/api/schedules/{p}.job/pause", null, Ok, HttpStatusCode.NotFound),
        new("POST /api/schedules/{id}/resume", "/api/schedules/{p}.job/resume", null, Ok, HttpStatusCode.NotFound),
        new("POST /api/schedules/{id}/run", "/api/schedules/{p}.job/run", null, Accepted, HttpStatusCode.NotFound),
        new("POST /api/schedules/{id}/backfill", "/api/schedules/{p}.job/backfill", (_, _) => new
        {
            from = TimeProvider.System.GetUtcNow().AddHours(-2).ToString("O", CultureInfo.InvariantCulture),
            to = TimeProvider.System.GetUtcNow().AddHours(-1).ToString("O", CultureInfo.InvariantCulture),
        }, Ok, HttpStatusCode.NotFound),
        new("GET /api/schedules/{id}/runs", "/api/schedules/{p}.job/runs", null, Ok, HttpStatusCode.NotFound),
        new("GET /api/schedules/{id}/misfires", "/api/schedules/{p}.job/misfires", null, Ok, HttpStatusCode.NotFound),
        new("GET /api/schedules/{id}/occurrences", "/api/schedules/{p}.job/occurrences", null, Ok, HttpStatusCode.NotFound),
        new("GET /api/runs", "/api/runs?pageSize=200", null, Ok, null, page =>
            page.GetProperty("items").EnumerateArray().All(r => r.GetProperty("scheduleId").GetString()!.StartsWith(Alpha + ".", StringComparison.Ordinal))),
        new("GET /api/runs/{runId}", "/api/runs/{run}", null, Ok, HttpStatusCode.NotFound),
        new("GET /api/runs/{runId}/steps", "/api/runs/{run}/steps", null, Ok, HttpStatusCode.NotFound),
        new("POST /api/runs/{runId}/cancel", "/api/runs/{run}/cancel", null, [HttpStatusCode.Accepted, HttpStatusCode.Conflict], HttpStatusCode.NotFound),
        new("POST /api/runs/{runId}/requeue", "/api/runs/{run}/requeue", null, [HttpStatusCode.Accepted, HttpStatusCode.Conflict], HttpStatusCode.NotFound),
        new("GET /api/runs/{runId}/attempts", "/api/runs/{run}/attempts", null, Ok, HttpStatusCode.NotFound),
        new("GET /api/stats", "/api/stats", null, Ok, null),
        new("GET /api/pipelines", "/api/pipelines", null, Ok, null, page => AllAlpha(page, "project")),
        new("POST /api/pipelines", "/api/pipelines", (_, p) => Flow("made-" + Unique(), p), Created, HttpStatusCode.Forbidden),
        new("POST /api/pipelines/validate", "/api/pipelines/validate", (_, p) => Flow("check", p), Ok, HttpStatusCode.Forbidden),
        new("GET /api/pipelines/{id}", "/api/pipelines/{p}-flow", null, Ok, HttpStatusCode.NotFound),
        new("PUT /api/pipelines/{id}", "/api/pipelines/{p}-flow", (_, p) => Flow(p + "-flow", p), Ok, HttpStatusCode.NotFound),
        new("DELETE /api/pipelines/{id}", "/api/pipelines/{p}-spare", null, [HttpStatusCode.NoContent], HttpStatusCode.NotFound),
        new("POST /api/pipelines/{id}/run", "/api/pipelines/{p}-flow/run", (_, _) => new { inputs = new { } }, Accepted, HttpStatusCode.NotFound),
        new("GET /api/pipelines/{id}/runs", "/api/pipelines/{p}-flow/runs", null, Ok, HttpStatusCode.NotFound),
        new("GET /api/pipeline-runs/{runId}", "/api/pipeline-runs/{prun}", null, Ok, HttpStatusCode.NotFound),
        new("POST /api/pipeline-runs/{runId}/cancel", "/api/pipeline-runs/{prun}/cancel", null, [HttpStatusCode.Accepted, HttpStatusCode.Conflict], HttpStatusCode.NotFound),
        new("GET /api/deadlines", "/api/deadlines?pageSize=200", null, Ok, null, page => AllAlpha(page, "project")),
    ];

    [OneTimeSetUp]
    public async Task StartServer()
    {
        var database = await TestPostgres.CreateDatabaseAsync("scoped");
        workspaceRoot = Directory.CreateTempSubdirectory("orchestrator-scoped-ws-").FullName;
        server = InProcessServer.Start(PostgresNode.Environment(database, new Dictionary<string, string?> { ["Orchestrator__Workspaces__Roots__0"] = workspaceRoot }));
        await server.WaitUntilReadyAsync();
        admin = server.CreateClient(server.PrintedAdminKey ?? throw new InvalidOperationException("no admin key printed:\n" + server.Output));
        foreach (var p in new[] { Alpha, Beta })
        {
            await admin.PostForJsonAsync("/api/projects", new { id = p, name = p, rootPath = Path.Combine(workspaceRoot, p) }, HttpStatusCode.Created);
            await admin.CreateScheduleAsync(Noop("job", p));
            await admin.CreateScheduleAsync(Noop("spare", p));
            await admin.PostForJsonAsync("/api/pipelines", Flow(p + "-flow", p), HttpStatusCode.Created);
            await admin.PostForJsonAsync("/api/pipelines", Flow(p + "-spare", p), HttpStatusCode.Created);
            runs[p] = (await admin.PostForJsonAsync($"/api/schedules/{p}.job/run", null, HttpStatusCode.Accepted)).GetProperty("id").GetGuid();
            pipelineRuns[p] = (await admin.PostForJsonAsync($"/api/pipelines/{p}-flow/run", new { inputs = new { } }, HttpStatusCode.Accepted)).GetProperty("id").GetGuid();
            foreach (var file in new[] { "note.txt", "spare.txt" })
            {
                var put = await admin.PutAsync($"/api/projects/{p}/files/{file}", new StringContent("hello", Encoding.UTF8, "text/plain"));
                Assert.That(put.StatusCode, Is.EqualTo(HttpStatusCode.OK), await put.Content.ReadAsStringAsync());
            }
        }

        // A deadline breach in each project (the checker's rows, written as it writes them), for the breach list's scope.
        await using (var seed = server.Services.CreateAsyncScope())
        {
            var db = seed.ServiceProvider.GetRequiredService<Orchestrator.Data.OrchestratorDbContext>();
            db.AddRange([.. new[] { Alpha, Beta }.Select(p => new Orchestrator.Deadlines.DeadlineBreach
            {
                TargetType = "schedule", TargetId = p + ".job", Project = p, Kind = "start", Occurrence = TimeProvider.System.GetUtcNow(),
                DueAt = TimeProvider.System.GetUtcNow(), DetectedAt = TimeProvider.System.GetUtcNow(), Node = "seed", Channel = "none", Message = "seeded",
                NotifiedAt = TimeProvider.System.GetUtcNow(),
            })]);
            await db.SaveChangesAsync();
        }

        var key = await admin.PostForJsonAsync("/api/keys", new { name = "alpha-admin", role = "admin", projects = new[] { Alpha } }, HttpStatusCode.Created);
        scoped = server.CreateClient(key.GetProperty("key").GetString());
    }

    [OneTimeTearDown]
    public async Task StopServer()
    {
        admin?.Dispose();
        scoped?.Dispose();
        if (server is not null)
        {
            await server.DisposeAsync();
        }
    }

    private HttpRequestMessage Request(ScopeCase c, string project)
    {
        var method = new HttpMethod(c.Route[..c.Route.IndexOf(' ', StringComparison.Ordinal)]);
        var path = c.Path.Replace("{p}", project, StringComparison.Ordinal)
            .Replace("{run}", runs[project].ToString(), StringComparison.Ordinal)
            .Replace("{prun}", pipelineRuns[project].ToString(), StringComparison.Ordinal);
        var request = new HttpRequestMessage(method, path);
        if (c.Body?.Invoke(this, project) is { } body)
        {
            request.Content = body is string text ? new StringContent(text, Encoding.UTF8, "text/plain") : ApiClient.Json(body);
        }

        return request;
    }

    [TestCaseSource(nameof(Cases))]
    public async Task Scoped_key_on_every_route(ScopeCase c)
    {
        if (c.OtherProject is { } refused)
        {
            using var other = await scoped.SendAsync(Request(c, Beta));
            var problem = await ApiAssertions.AssertProblemAsync(other, refused);
            if (refused == HttpStatusCode.Forbidden)
            {
                Assert.That(problem.GetProperty("detail").GetString(), Does.Contain($"'{Beta}'"), "the 403 names the project");
            }
            else
            {
                Assert.That(problem.ToString(), Does.Not.Contain("alpha-admin"));
            }

            if (c.Route.StartsWith("DELETE ", StringComparison.Ordinal) || c.Route.StartsWith("PUT ", StringComparison.Ordinal))
            {
                // Beta's resource is still there (a file the PUT would have created is not).
                var path = Request(c, Beta).RequestUri!.ToString();
                var expected = c.Path.Contains("other.txt", StringComparison.Ordinal) ? HttpStatusCode.NotFound : HttpStatusCode.OK;
                Assert.That((await admin.GetAsync(path)).StatusCode, Is.EqualTo(expected), $"{path} after the refused {c.Route}");
            }
        }

        using var response = await scoped.SendAsync(Request(c, Alpha));
        var text = await response.Content.ReadAsStringAsync();
        Assert.That(c.InScope, Does.Contain(response.StatusCode), text);
        if (response.StatusCode == HttpStatusCode.Forbidden)
        {
            Assert.That(text, Does.Contain("scoped to project 'alpha'"), "the 403 says it is the key's scope");
        }

        if (c.OnlyAlpha is { } onlyAlpha)
        {
            Assert.That(onlyAlpha(JsonDocument.Parse(text).RootElement), Is.True, $"only alpha's items: {text}");
        }
    }

    [Test]
    public async Task The_cluster_misfire_list_says_older_ones_exist_only_when_the_scoped_key_may_see_them()
    {
        // One misfire of Alpha's, then newer ones of Beta's than a page of one (asked for twice over) reaches: the store
        // has more rows, but none this key may see past Alpha's one.
        var history = server.Services.GetRequiredService<Quartz.Extensibility.IExecutionHistoryStore>();
        var at = TimeProvider.System.GetUtcNow().AddDays(-1);
        await history.AddMisfire(new Quartz.MisfireHistoryEntry(Orchestrator.Hosting.SchedulerHosting.SchedulerName, "seed", Alpha, "job", new Quartz.JobKey("job", Alpha), at, at), CancellationToken.None);
        for (var i = 1; i <= 3; i++)
        {
            await history.AddMisfire(new Quartz.MisfireHistoryEntry(Orchestrator.Hosting.SchedulerHosting.SchedulerName, "seed", Beta, "job", new Quartz.JobKey("job", Beta), at.AddMinutes(i), at.AddMinutes(i)), CancellationToken.None);
        }

        var all = await Poll.UntilAsync(() => admin.GetFromJsonAsync<JsonElement>("/api/cluster/misfires"), p => p.GetProperty("items").GetArrayLength() >= 4,
            TimeSpan.FromSeconds(30), "the seeded misfires");
        var page = await scoped.GetFromJsonAsync<JsonElement>("/api/cluster/misfires?pageSize=1");
        Assert.That(page.GetProperty("items").EnumerateArray().Select(m => m.GetProperty("schedule").GetString()), Is.EqualTo(new[] { Alpha + ".job" }), page.ToString());
        Assert.That(page.GetProperty("hasMore").GetBoolean(), Is.False, "only other projects' misfires are older or newer: " + page);
        var adminPage = await admin.GetFromJsonAsync<JsonElement>("/api/cluster/misfires?pageSize=1");
        Assert.That(adminPage.GetProperty("hasMore").GetBoolean(), Is.True, "an unscoped key may see the others: " + adminPage + " / " + all);
    }

    [Test]
    public async Task A_list_filtered_to_another_project_is_a_404_for_a_scoped_key_in_the_words_of_one_that_does_not_exist()
    {
        // Every list names the project it did not find, as for one that does not exist (Runs/RunFilterTests).
        foreach (var path in new[] { "/api/schedules?project=beta", "/api/pipelines?project=beta", "/api/runs?project=beta" })
        {
            var hidden = await ApiAssertions.AssertProblemAsync(await scoped.GetAsync(path), HttpStatusCode.NotFound);
            var absent = await ApiAssertions.AssertProblemAsync(await scoped.GetAsync(path.Replace("beta", "no-such-project", StringComparison.Ordinal)), HttpStatusCode.NotFound);
            Assert.That(hidden.GetProperty("detail").GetString(), Is.EqualTo(absent.GetProperty("detail").GetString()!.Replace("no-such-project", "beta", StringComparison.Ordinal)), path);
        }

        // The same lists hold beta's items for an unscoped key.
        Assert.That((await admin.GetFromJsonAsync<JsonElement>("/api/schedules?project=beta")).GetProperty("total").GetInt32(), Is.GreaterThan(0));
    }

    [Test]
    public async Task Every_api_route_is_in_the_table_or_closed_to_scoped_keys()
    {
        var document = await admin.GetFromJsonAsync<JsonElement>("/openapi/v1.json");
        var table = Cases().Select(c => c.Route).ToHashSet(StringComparer.Ordinal);
        var open = ScopedRoutes.All.Select(r => r.Replace("{**path}", "{path}", StringComparison.Ordinal)).ToHashSet(StringComparer.Ordinal);
        Assert.That(open.Except(table), Is.Empty, "every route open to scoped keys has a case in the table");

        var closed = new List<string>();
        foreach (var path in document.GetProperty("paths").EnumerateObject().Where(p => p.Name.StartsWith("/api/", StringComparison.Ordinal)))
        {
            foreach (var operation in path.Value.EnumerateObject())
            {
                var route = $"{operation.Name.ToUpperInvariant()} {path.Name}";
                if (table.Contains(route))
                {
                    continue;
                }

                Assert.That(open, Does.Not.Contain(route));
                // Not open to scoped keys: refused before anything runs, whatever the ids and body.
                var concrete = System.Text.RegularExpressions.Regex.Replace(path.Name, "{[^}]+}", "x");
                using var request = new HttpRequestMessage(new HttpMethod(operation.Name.ToUpperInvariant()), concrete) { Content = ApiClient.Json(new { }) };
                var problem = await ApiAssertions.AssertProblemAsync(await scoped.SendAsync(request), HttpStatusCode.Forbidden);
                Assert.That(problem.GetProperty("detail").GetString(), Does.Contain("needs a key without projects"), route);
                closed.Add(route);
            }
        }

        TestContext.Out.WriteLine($"Routes closed to scoped keys and not in the table: {string.Join(", ", closed)}");
    }

    [Test]
    public async Task A_run_of_a_schedule_is_not_bound_to_the_key_that_started_it()
    {
        // Runs execute as the schedule: a run-now by the scoped key runs in alpha and finishes like any other.
        var run = await scoped.PostForJsonAsync("/api/schedules/alpha.job/run", null, HttpStatusCode.Accepted);
        var id = run.GetProperty("id").GetGuid();
        var status = "";
        for (var deadline = TimeProvider.System.GetUtcNow().AddSeconds(30); TimeProvider.System.GetUtcNow() < deadline && status != "succeeded"; await Task.Delay(200))
        {
            status = (await admin.GetFromJsonAsync<JsonElement>($"/api/runs/{id}")).Status();
        }

        Assert.That(status, Is.EqualTo("succeeded"));
    }
}
