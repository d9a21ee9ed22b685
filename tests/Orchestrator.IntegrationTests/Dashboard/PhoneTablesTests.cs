using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Orchestrator.Data;
using Orchestrator.Deadlines;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Dashboard;

/// <summary>
/// The dashboard's tables on a phone (390 × 844) in headless Chromium against a real server on PostgreSQL: every table
/// page, each with rows, keeps its cells and its row buttons inside the screen and the page does not scroll sideways;
/// "Pause all matching" on a project filter pauses that project's schedules (and no other's) with the reason given and
/// audits it; a scheduled run that failed shows as a failed occurrence, not an on-time one. Screenshots are attached.
/// </summary>
[TestFixture]
[Category("Browser")]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class PhoneTablesTests
{
    private const string ChromiumPath = "/usr/bin/chromium";
    private InProcessServer server = null!;
    private RecordingHttpServer peer = null!;
    private HttpClient admin = null!;
    private string adminKey = null!;
    private IPlaywright playwright = null!;
    private IBrowser browser = null!;
    private string brokenRun = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        if (!File.Exists(ChromiumPath))
        {
            var message = $"Chromium is not installed at {ChromiumPath} (apt-get install chromium; .ci/run does).";
            if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
            {
                Assert.Fail(message);
            }

            Assert.Ignore(message);
        }

        peer = await RecordingHttpServer.StartAsync();
        peer.Configure("/phone-broken", new RecordingHttpServer.Behaviour(TimeSpan.Zero, Status: 500));
        var workspaces = Directory.CreateTempSubdirectory("orchestrator-phone-ws-").FullName;
        var database = await TestPostgres.CreateDatabaseAsync("phonetables");
        server = InProcessServer.Start(PostgresNode.Environment(database, new Dictionary<string, string?>
        {
            ["Orchestrator__Outbound__AllowedHosts__0"] = "127.0.0.1",
            ["Orchestrator__Workspaces__Roots__0"] = workspaces,
        }), listenOnLoopback: true);
        await server.WaitUntilReadyAsync();
        adminKey = server.PrintedAdminKey!;
        admin = server.CreateClient(adminKey);

        foreach (var project in new[] { "alpha", "beta" })
        {
            await admin.PostForJsonAsync("/api/projects", new { id = project, name = project, rootPath = Path.Combine(workspaces, project) }, HttpStatusCode.Created);
        }

        // Yearly, so nothing fires by itself and each state is the one the tests set.
        foreach (var (project, name) in new[] { ("alpha", "a-one"), ("alpha", "a-two"), ("beta", "b-one") })
        {
            await admin.CreateScheduleAsync(new { name, project, action = new { type = "noop", config = new { } }, trigger = new { cron = "0 0 3 1 1 ?", timeZone = "UTC" } });
        }

        // Fails twice (two attempts: the run page's attempts table), and once on its own due time (a failed occurrence).
        await admin.CreateScheduleAsync(new
        {
            name = "phone-retried",
            action = new { type = "call_api", config = new { url = peer.BaseUrl + "/phone-broken" } },
            trigger = new { cron = "0 0 4 * * ?", timeZone = "UTC" },
            retry = new { maxAttempts = 2, backoff = "fixed", initialDelaySeconds = 1 },
        });
        await admin.CreateScheduleAsync(new
        {
            name = "phone-fails",
            action = new { type = "call_api", config = new { url = peer.BaseUrl + "/phone-broken" } },
            trigger = new { intervalSeconds = 3600 },
            retry = new { maxAttempts = 1 },
        });
        brokenRun = (await admin.PostForJsonAsync("/api/schedules/default.phone-retried/run", null, HttpStatusCode.Accepted)).GetProperty("id").GetString()!;
        await admin.PostForJsonAsync("/api/keys", new { name = "phone-viewer", role = "viewer" }, HttpStatusCode.Created);
        await admin.PostForJsonAsync("/api/pipelines", new
        {
            id = "phone-flow",
            name = "Phone flow",
            nodes = new[] { new { id = "one", type = "action", action = new { type = "noop", config = new { } } } },
        }, HttpStatusCode.Created);
        var pipelineRun = (await admin.PostForJsonAsync("/api/pipelines/phone-flow/run", new { inputs = new { } }, HttpStatusCode.Accepted)).GetProperty("id").GetString()!;

        // A breach as the deadline checker writes it, with a long message.
        var now = TimeProvider.System.GetUtcNow();
        await using (var scope = server.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>();
            db.Add(new DeadlineBreach
            {
                TargetType = DeadlineBreach.Schedule, TargetId = "alpha.a-one", Project = "alpha", Kind = DeadlineBreach.Start,
                Occurrence = now.AddMinutes(-5), DueAt = now.AddMinutes(-4), DetectedAt = now.AddMinutes(-4), Node = "node-a", Channel = "ops",
                Message = "Schedule alpha.a-one: the occurrence has not started.",
            });
            await db.SaveChangesAsync();
        }

        await Poll.UntilAsync(() => admin.GetFromJsonAsync<JsonElement>($"/api/runs/{brokenRun}"), r => r.Status() == "failed" && r.GetProperty("attempt").GetInt32() == 2, TimeSpan.FromSeconds(30), "the retried run's two attempts");
        await Poll.UntilAsync(() => admin.GetFromJsonAsync<JsonElement>($"/api/pipeline-runs/{pipelineRun}"), d => d.GetProperty("run").GetProperty("status").GetString() == "succeeded", TimeSpan.FromSeconds(20), "the pipeline run");
        await Poll.UntilAsync(() => admin.GetFromJsonAsync<JsonElement>("/api/schedules/default.phone-fails/occurrences"),
            l => l.GetProperty("items").EnumerateArray().Any(o => o.GetProperty("runStatus").ValueKind == JsonValueKind.String && o.GetProperty("runStatus").GetString() == "failed"),
            TimeSpan.FromSeconds(30), "a due time of phone-fails whose run failed");

        playwright = await Playwright.CreateAsync();
        browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            // Without these, Chromium reaches for Google's hosts, which this machine's closed network refuses.
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        if (browser is not null)
        {
            await browser.DisposeAsync();
        }

        playwright?.Dispose();
        if (admin is not null)
        {
            await admin.PostAsync("/api/schedules/default.phone-fails/pause", null);
            admin.Dispose();
        }

        if (server is not null)
        {
            await server.DisposeAsync();
        }

        if (peer is not null)
        {
            await peer.DisposeAsync();
        }
    }

    private async Task<(IPage Page, List<string> Errors, IBrowserContext Context)> OpenAsync(int width, int height)
    {
        var context = await browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = width, Height = height } });
        await context.AddInitScriptAsync($"sessionStorage.setItem('orchestrator.apiKey', {JsonSerializer.Serialize(adminKey)});");
        var page = await context.NewPageAsync();
        var errors = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                errors.Add($"{message.Text} @ {message.Location}");
            }
        };
        page.PageError += (_, error) => errors.Add(error);
        return (page, errors, context);
    }

    private static async Task ShotAsync(IPage page, string name)
    {
        var directory = Path.Combine(TestContext.CurrentContext.WorkDirectory, "screenshots");
        Directory.CreateDirectory(directory);
        var file = Path.Combine(directory, $"{name}.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = file, FullPage = true });
        TestContext.AddTestAttachment(file, name);
    }

    /// <summary>Each table page: its address (RUN stands for the failed run's id), its table's name, a text one of its rows shows, whether its rows have buttons.</summary>
    public static IEnumerable<TestCaseData> TablePages() =>
    [
        new TestCaseData("#/keys", "API keys", "phone-viewer", true).SetArgDisplayNames("keys"),
        new TestCaseData("#/audit", "Audit entries", "schedule.create", false).SetArgDisplayNames("audit"),
        new TestCaseData("#/deadlines?state=all", "Deadline breaches", "alpha.a-one", false).SetArgDisplayNames("deadlines"),
        new TestCaseData("#/runs", "Runs", "default.phone-retried", false).SetArgDisplayNames("runs"),
        new TestCaseData("#/runs/RUN", "Attempts", "failed", false).SetArgDisplayNames("run-attempts"),
        new TestCaseData("#/occurrences/default.phone-fails", "Occurrences", "failed", false).SetArgDisplayNames("occurrences"),
        new TestCaseData("#/pipelines", "Pipelines", "Phone flow", false).SetArgDisplayNames("pipelines"),
        new TestCaseData("#/pipelines/phone-flow", "Pipeline runs", "succeeded", false).SetArgDisplayNames("pipeline-runs"),
        new TestCaseData("#/cluster", "Cluster nodes", "yes", false).SetArgDisplayNames("cluster"),
        new TestCaseData("#/schedules", "Schedules", "a-one", true).SetArgDisplayNames("schedules"),
    ];

    [TestCaseSource(nameof(TablePages))]
    public async Task A_table_page_keeps_its_rows_and_buttons_on_a_phone_screen(string hash, string table, string shows, bool hasButtons)
    {
        var (page, errors, context) = await OpenAsync(390, 844);
        try
        {
            await page.GotoAsync(server.BaseAddress + hash.Replace("RUN", brokenRun, StringComparison.Ordinal));
            var rows = page.GetByRole(AriaRole.Table, new() { Name = table }).Locator("tbody tr");
            await Assertions.Expect(rows.Filter(new() { HasText = shows }).First).ToBeVisibleAsync();

            var width = await page.EvaluateAsync<int>("document.documentElement.scrollWidth");
            Assert.That(width, Is.LessThanOrEqualTo(390), $"{hash}: the page scrolls sideways");
            // Every cell and every button of every row, measured against the screen (hidden cells have no box).
            var outside = await page.EvaluateAsync<string[]>("""
                (name) => {
                  const table = [...document.querySelectorAll("main table")].find((t) => t.getAttribute("aria-label") === name);
                  const found = [];
                  for (const el of table.querySelectorAll(":scope > tbody > tr > td, :scope > tbody > tr button, :scope > tbody > tr a.button")) {
                    const box = el.getBoundingClientRect();
                    if (box.width === 0 && box.height === 0) continue;
                    if (box.left < -0.5 || box.right > window.innerWidth + 0.5) found.push(`${el.tagName} "${el.textContent.trim().slice(0, 40)}" ${Math.round(box.left)}..${Math.round(box.right)}`);
                  }
                  return found;
                }
                """, table);
            Assert.That(outside, Is.Empty, $"{hash}: off the 390-px screen:\n{string.Join("\n", outside)}");
            if (hasButtons)
            {
                var buttons = await rows.Locator("button, a.button").CountAsync();
                Assert.That(buttons, Is.GreaterThan(0), "the rows' buttons were measured");
            }

            await ShotAsync(page, $"phone-table-{table.Replace(' ', '-').ToLowerInvariant()}");
            Assert.That(errors, Is.Empty, string.Join("\n", errors));
        }
        finally
        {
            await context.DisposeAsync();
        }
    }

    [Test]
    public async Task Pause_all_matching_pauses_every_schedule_of_the_project_with_the_reason_and_no_other()
    {
        var (page, errors, context) = await OpenAsync(1366, 800);
        try
        {
            // The search is not a bulk selector: with it set, nothing is offered that would act on more than the list shows.
            await page.GotoAsync(server.BaseAddress + "#/schedules?project=alpha&q=one");
            await Assertions.Expect(page.Locator("#s-matching-why")).ToContainTextAsync("search");
            await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Pause all matching" })).ToHaveCountAsync(0);

            await page.GotoAsync(server.BaseAddress + "#/schedules?project=alpha");
            await Assertions.Expect(page.Locator("#s-pager")).ToContainTextAsync("2 schedules");
            await page.GetByRole(AriaRole.Button, new() { Name = "Pause all matching" }).ClickAsync();
            var dialog = page.GetByRole(AriaRole.Dialog);
            await Assertions.Expect(dialog).ToContainTextAsync("2 schedules match");
            await dialog.GetByLabel("Reason", new() { Exact = false }).FillAsync("alpha freeze for the audit");
            await dialog.GetByRole(AriaRole.Button, new() { Name = "Pause 2 matching" }).ClickAsync();
            await Assertions.Expect(page.Locator("#toast")).ToContainTextAsync("Paused 2 schedules of project alpha");
            await Assertions.Expect(page.Locator("tr[data-schedule='alpha.a-two'] [data-col='state']")).ToContainTextAsync("alpha freeze for the audit");
            await ShotAsync(page, "phone-pause-all-matching");

            foreach (var id in new[] { "alpha.a-one", "alpha.a-two" })
            {
                var schedule = await admin.GetFromJsonAsync<JsonElement>($"/api/schedules/{id}");
                Assert.That(schedule.GetProperty("state").GetString(), Is.EqualTo("paused"), id);
                Assert.That(schedule.GetProperty("pausedReason").GetString(), Is.EqualTo("alpha freeze for the audit"), id);
            }

            var other = await admin.GetFromJsonAsync<JsonElement>("/api/schedules/beta.b-one");
            Assert.That(other.GetProperty("state").GetString(), Is.EqualTo("active"), "another project's schedule is left running");
            var audit = await admin.GetFromJsonAsync<JsonElement>("/api/audit?action=schedule.pause&project=alpha");
            var entries = audit.GetProperty("items").EnumerateArray().ToList();
            Assert.That(entries.Select(e => e.GetProperty("resourceId").GetString()), Is.EquivalentTo(new[] { "alpha.a-one", "alpha.a-two" }));
            Assert.That(entries.Select(e => e.GetProperty("reason").GetString()), Is.All.EqualTo("alpha freeze for the audit"));

            // And back: resume all matching resumes them.
            await page.GetByRole(AriaRole.Button, new() { Name = "Resume all matching" }).ClickAsync();
            await page.GetByRole(AriaRole.Dialog).GetByRole(AriaRole.Button, new() { Name = "Resume 2 matching" }).ClickAsync();
            await Assertions.Expect(page.Locator("#toast")).ToContainTextAsync("Resumed 2 schedules of project alpha");
            Assert.That((await admin.GetFromJsonAsync<JsonElement>("/api/schedules/alpha.a-one")).GetProperty("state").GetString(), Is.EqualTo("active"));
            Assert.That(errors, Is.Empty, string.Join("\n", errors));
        }
        finally
        {
            await context.DisposeAsync();
        }
    }

    [Test]
    public async Task A_due_time_whose_run_failed_is_shown_as_failed_not_on_time()
    {
        var list = await admin.GetFromJsonAsync<JsonElement>("/api/schedules/default.phone-fails/occurrences");
        var failedRuns = list.GetProperty("items").EnumerateArray().Count(o => o.GetProperty("runStatus").ValueKind == JsonValueKind.String && o.GetProperty("runStatus").GetString() == "failed");
        Assert.That(failedRuns, Is.GreaterThanOrEqualTo(1));

        var (page, errors, context) = await OpenAsync(1366, 800);
        try
        {
            await page.GotoAsync(server.BaseAddress + "#/occurrences/default.phone-fails");
            var table = page.GetByRole(AriaRole.Table, new() { Name = "Occurrences" });
            await Assertions.Expect(table.Locator("tr[data-kind='failed']").First).ToContainTextAsync("failed");
            await Assertions.Expect(table.Locator("tr[data-kind='failed'] .status.failed").First).ToHaveTextAsync("failed");
            Assert.That(await page.Locator(".occ-strip span.occ-failed").CountAsync(), Is.EqualTo(failedRuns), "each failed run's cell is the failed kind");
            Assert.That(await page.Locator(".occ-strip span.occ-on-time").CountAsync(), Is.Zero, "no failed run is drawn as on time");
            await Assertions.Expect(page.Locator(".occ-legend [data-count='failed']")).ToHaveTextAsync($"Failed {failedRuns}");
            await ShotAsync(page, "occurrences-failed");
            Assert.That(errors, Is.Empty, string.Join("\n", errors));
        }
        finally
        {
            await context.DisposeAsync();
        }
    }
}
