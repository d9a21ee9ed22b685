using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Dashboard;

/// <summary>
/// Every dashboard page in headless Chromium, at a laptop's 1366 px and a phone's 390 px, against one server on
/// PostgreSQL holding a little of everything (runs that succeeded and failed, a paused schedule, a pipeline run, audit
/// entries): each page shows its data, the page body never scrolls sideways (wide tables scroll in their own box),
/// navigating to it moves focus to its heading, and nothing is logged to the console. A full-page screenshot of each
/// is attached to its test (files under the test's work directory, <c>screenshots/tour-*.png</c>).
/// </summary>
[TestFixture]
[Category("Browser")]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class PageTourTests
{
    private const string ChromiumPath = "/usr/bin/chromium";
    private InProcessServer server = null!;
    private RecordingHttpServer peer = null!;
    private HttpClient admin = null!;
    private string adminKey = null!;
    private IPlaywright playwright = null!;
    private IBrowser browser = null!;
    private string okRun = null!;
    private string brokenRun = null!;
    private string pipelineRun = null!;

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
        peer.Configure("/tour-broken", new RecordingHttpServer.Behaviour(TimeSpan.Zero, Status: 500));
        var database = await TestPostgres.CreateDatabaseAsync("tour");
        server = InProcessServer.Start(PostgresNode.Environment(database, new Dictionary<string, string?> { ["Orchestrator__Outbound__AllowedHosts__0"] = "127.0.0.1" }), listenOnLoopback: true);
        await server.WaitUntilReadyAsync();
        adminKey = server.PrintedAdminKey!;
        admin = server.CreateClient(adminKey);

        // A little of everything, so every page has rows to show.
        await admin.CreateScheduleAsync(new { name = "tour-ok", action = new { type = "noop", config = new { } }, trigger = new { cron = "0 0 3 * * ?", timeZone = "UTC" } });
        await admin.CreateScheduleAsync(new
        {
            name = "tour-broken",
            action = new { type = "call_api", config = new { url = peer.BaseUrl + "/tour-broken" } },
            trigger = new { cron = "0 0 4 * * ?", timeZone = "UTC" },
            retry = new { maxAttempts = 2, backoff = "fixed", initialDelaySeconds = 1 },
        });
        await admin.CreateScheduleAsync(new { name = "tour-paused", action = new { type = "noop", config = new { } }, trigger = new { cron = "0 0 5 * * ?", timeZone = "UTC" } });
        await admin.PostForJsonAsync("/api/schedules/default.tour-paused/pause", new { reason = "quarterly freeze" }, HttpStatusCode.OK);
        okRun = (await admin.PostForJsonAsync("/api/schedules/default.tour-ok/run", null, HttpStatusCode.Accepted)).GetProperty("id").GetString()!;
        var broken = brokenRun = (await admin.PostForJsonAsync("/api/schedules/default.tour-broken/run", null, HttpStatusCode.Accepted)).GetProperty("id").GetString()!;
        await admin.PostForJsonAsync("/api/pipelines", new
        {
            id = "tour-flow",
            name = "Tour flow",
            nodes = new[] { new { id = "one", type = "action", action = new { type = "noop", config = new { } } }, new { id = "two", type = "action", action = new { type = "noop", config = new { } } } },
            edges = new[] { new { from = "one", to = "two" } },
        }, HttpStatusCode.Created);
        pipelineRun = (await admin.PostForJsonAsync("/api/pipelines/tour-flow/run", new { inputs = new { } }, HttpStatusCode.Accepted)).GetProperty("id").GetString()!;
        await Poll.UntilAsync(() => admin.GetFromJsonAsync<JsonElement>($"/api/runs/{okRun}"), r => r.Status() == "succeeded", TimeSpan.FromSeconds(20), "the noop run");
        await Poll.UntilAsync(() => admin.GetFromJsonAsync<JsonElement>($"/api/runs/{broken}"), r => r.Status() == "failed" && r.GetProperty("attempt").GetInt32() == 2, TimeSpan.FromSeconds(30), "the failing run's two attempts");
        await Poll.UntilAsync(() => admin.GetFromJsonAsync<JsonElement>($"/api/pipeline-runs/{pipelineRun}"), d => d.GetProperty("run").GetProperty("status").GetString() == "succeeded", TimeSpan.FromSeconds(20), "the pipeline run");

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
        admin?.Dispose();
        if (server is not null)
        {
            await server.DisposeAsync();
        }

        if (peer is not null)
        {
            await peer.DisposeAsync();
        }
    }

    /// <summary>A page in a context of the given width, signed in (the key in this tab's session storage), on the page <paramref name="from"/>.</summary>
    private async Task<(IPage Page, List<string> Errors, IBrowserContext Context)> OpenAsync(int width, string from)
    {
        var context = await browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = width, Height = width < 600 ? 844 : 800 } });
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
        await page.GotoAsync(server.BaseAddress + from);
        await Assertions.Expect(page.Locator("main h1")).ToBeVisibleAsync();
        return (page, errors, context);
    }

    /// <summary>Navigates in the page (a hash change, as a link does), then checks the heading has focus and the body fits.</summary>
    private static async Task VisitAsync(IPage page, string hash, string heading, int width, string shot, Func<IPage, Task> shows)
    {
        await page.EvaluateAsync("hash => { location.hash = hash; }", hash);
        var h1 = page.Locator("main h1");
        await Assertions.Expect(h1).ToContainTextAsync(heading);
        // Before the page's own checks, which may click and move focus on.
        await Assertions.Expect(h1).ToBeFocusedAsync();
        await shows(page);
        var overflow = await page.EvaluateAsync<int>("document.documentElement.scrollWidth - document.documentElement.clientWidth");
        Assert.That(overflow, Is.LessThanOrEqualTo(1), $"{hash} at {width} px scrolls sideways by {overflow} px");
        var directory = Path.Combine(TestContext.CurrentContext.WorkDirectory, "screenshots");
        Directory.CreateDirectory(directory);
        var file = Path.Combine(directory, $"tour-{shot}-{width}.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = file, FullPage = true });
        TestContext.AddTestAttachment(file, $"{shot} at {width} px");
    }

    private async Task TourAsync(int width, string hash, string heading, string shot, Func<IPage, Task> shows)
    {
        // Start somewhere else, so reaching the page is a navigation.
        var (page, errors, context) = await OpenAsync(width, hash == "#/cluster" ? "#/keys" : "#/cluster");
        try
        {
            await VisitAsync(page, hash, heading, width, shot, shows);
            Assert.That(errors, Is.Empty, string.Join("\n", errors));
        }
        finally
        {
            await context.DisposeAsync();
        }
    }

    public static IEnumerable<int> Widths() => [1366, 390];

    [Test]
    public Task Home_shows_counters_and_hourly_charts([ValueSource(nameof(Widths))] int width) =>
        TourAsync(width, "#/", "Overview", "home", async page =>
        {
            // The counters are the API's figures (another test here may have requeued the failing run meanwhile).
            var stats = await admin.GetFromJsonAsync<JsonElement>("/api/stats");
            var failed = stats.GetProperty("lastHour").GetProperty("failed").GetInt32();
            Assert.That(failed, Is.GreaterThanOrEqualTo(1), "the failing run");
            await Assertions.Expect(page.Locator("#c-failed .counter-value")).ToHaveTextAsync(failed.ToString(System.Globalization.CultureInfo.InvariantCulture));
            await Assertions.Expect(page.Locator("#c-scheduled .counter-detail")).ToHaveTextAsync("1 paused");
            await Assertions.Expect(page.Locator("#c-breaches .counter-value")).ToHaveTextAsync(new Regex(@"^(—|\d+)$"));
            var chart = page.GetByRole(AriaRole.Img, new() { Name = "Runs finished per hour by outcome" });
            await Assertions.Expect(chart).ToBeVisibleAsync();
            Assert.That(await chart.Locator("rect.bad").CountAsync(), Is.EqualTo(1), "one hour with a failure");
            var box = await chart.BoundingBoxAsync();
            Assert.That(box!.Width, Is.LessThanOrEqualTo(width), "the chart fits the screen");
            await Assertions.Expect(page.GetByRole(AriaRole.Img, new() { Name = "Scheduled starts per hour, on time and late" })).ToBeVisibleAsync();
            // The text alternative holds the same numbers.
            await page.GetByText("The same as a table").ClickAsync();
            await Assertions.Expect(page.GetByRole(AriaRole.Table, new() { Name = "Runs per hour" }).Locator("tbody tr")).ToHaveCountAsync(24);
        });

    [Test]
    public Task Schedules_lists_the_schedules_with_a_pause_reason([ValueSource(nameof(Widths))] int width) =>
        TourAsync(width, "#/schedules", "Schedules", "schedules", async page =>
        {
            await Assertions.Expect(page.Locator("tr[data-schedule='default.tour-ok']")).ToBeVisibleAsync();
            await Assertions.Expect(page.Locator("tr[data-schedule='default.tour-paused']")).ToContainTextAsync("quarterly freeze");
        });

    [Test]
    public Task Runs_lists_runs_with_full_ids_and_filters([ValueSource(nameof(Widths))] int width) =>
        TourAsync(width, "#/runs", "Runs", "runs", async page =>
        {
            await Assertions.Expect(page.Locator($"#run-rows a[href='#/runs/{okRun}']")).ToBeVisibleAsync();
            await Assertions.Expect(page.Locator($"#run-rows tr[data-run='{brokenRun}']")).ToContainTextAsync("failed");
            // The action types offered are the server's.
            await Assertions.Expect(page.GetByLabel("Action type").Locator("option[value='call_api']")).ToHaveCountAsync(1);
        });

    [Test]
    public Task A_run_shows_its_attempts_and_can_be_requeued([ValueSource(nameof(Widths))] int width) =>
        TourAsync(width, $"#/runs/{brokenRun}", "Run", "run", async page =>
        {
            await Assertions.Expect(page.Locator("main h1 .status")).ToHaveTextAsync("failed");
            await Assertions.Expect(page.GetByRole(AriaRole.Table, new() { Name = "Attempts" }).Locator("tr[data-attempt='2']")).ToContainTextAsync("failed");
            await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Requeue" })).ToBeVisibleAsync();
        });

    [Test]
    public async Task A_run_of_one_attempt_has_no_attempts_table_and_offers_requeue()
    {
        var (page, errors, context) = await OpenAsync(1366, $"#/runs/{okRun}");
        try
        {
            await Assertions.Expect(page.Locator("main h1 .status")).ToHaveTextAsync("succeeded");
            await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Requeue" })).ToBeVisibleAsync();
            await Assertions.Expect(page.GetByRole(AriaRole.Table, new() { Name = "Attempts" })).ToHaveCountAsync(0);
            Assert.That(errors, Is.Empty, string.Join("\n", errors));
        }
        finally
        {
            await context.DisposeAsync();
        }
    }

    [Test]
    public async Task A_failed_runs_attempts_each_show_their_error_and_requeue_opens_the_new_run()
    {
        var failed = brokenRun;
        var (page, errors, context) = await OpenAsync(1366, $"#/runs/{failed}");
        try
        {
            var attempts = page.GetByRole(AriaRole.Table, new() { Name = "Attempts" });
            await Assertions.Expect(attempts.Locator("tr[data-attempt='1']")).ToContainTextAsync("500");
            await Assertions.Expect(attempts.Locator("tr[data-attempt='1']")).ToContainTextAsync("retry scheduled");
            await Assertions.Expect(attempts.Locator("tr[data-attempt='2']")).ToContainTextAsync("500");
            await page.GetByRole(AriaRole.Button, new() { Name = "Requeue" }).ClickAsync();
            await Assertions.Expect(page).Not.ToHaveURLAsync(new Regex(Regex.Escape(failed)));
            await Assertions.Expect(page).ToHaveURLAsync(new Regex("#/runs/[0-9a-f-]{36}$"));
            await Assertions.Expect(page.Locator("main h1 .status")).ToHaveTextAsync("failed", new() { Timeout = 20_000 });
            Assert.That(await page.Locator("main").InnerTextAsync(), Does.Contain("manual"));
            var requeued = (await admin.GetFromJsonAsync<JsonElement>("/api/runs?scheduleId=default.tour-broken&sort=created")).GetProperty("items")[0];
            Assert.That(requeued.GetProperty("id").GetString(), Is.Not.EqualTo(failed));
            Assert.That(page.Url, Does.EndWith(requeued.GetProperty("id").GetString()!));
            // The failed fetches of the broken peer are the server's, not the page's: nothing is logged here.
            Assert.That(errors, Is.Empty, string.Join("\n", errors));
        }
        finally
        {
            await context.DisposeAsync();
        }
    }

    [Test]
    public Task Pipelines_lists_the_pipelines([ValueSource(nameof(Widths))] int width) =>
        TourAsync(width, "#/pipelines", "Pipelines", "pipelines", page =>
            Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = "Tour flow" })).ToBeVisibleAsync());

    [Test]
    public Task A_pipeline_run_shows_its_nodes_statuses([ValueSource(nameof(Widths))] int width) =>
        TourAsync(width, $"#/pipeline-runs/{pipelineRun}", "Pipeline run", "pipeline-run", async page =>
        {
            await Assertions.Expect(page.Locator(".node[data-node='one']")).ToHaveAttributeAsync("data-status", "succeeded");
            await Assertions.Expect(page.Locator(".node[data-node='two']")).ToHaveAttributeAsync("data-status", "succeeded");
        });

    [Test]
    public Task Cluster_lists_this_node([ValueSource(nameof(Widths))] int width) =>
        TourAsync(width, "#/cluster", "Cluster", "cluster", page =>
            Assertions.Expect(page.GetByRole(AriaRole.Table, new() { Name = "Cluster nodes" })).ToContainTextAsync("yes"));

    [Test]
    public Task Keys_lists_the_bootstrap_key([ValueSource(nameof(Widths))] int width) =>
        TourAsync(width, "#/keys", "API keys", "keys", page =>
            Assertions.Expect(page.GetByRole(AriaRole.Table, new() { Name = "API keys" })).ToContainTextAsync("bootstrap-admin"));

    [Test]
    public Task Audit_lists_the_changes_made([ValueSource(nameof(Widths))] int width) =>
        TourAsync(width, "#/audit", "Audit log", "audit", async page =>
        {
            var entries = page.GetByRole(AriaRole.Table, new() { Name = "Audit entries" });
            await Assertions.Expect(entries).ToContainTextAsync("schedule.pause");
            await Assertions.Expect(entries).ToContainTextAsync("quarterly freeze");
        });
}
