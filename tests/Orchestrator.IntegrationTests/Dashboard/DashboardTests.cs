using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Dashboard;

/// <summary>
/// The dashboard in headless Chromium (Debian's, at /usr/bin/chromium) against a real server on PostgreSQL: sign in,
/// create a schedule from an English phrase and watch it run, pause and resume, and see a pipeline's DAG with a
/// finished run's node statuses. Screenshots of the main pages are saved as test attachments.
/// </summary>
[TestFixture]
[Category("Browser")]
[NonParallelizable]
public sealed class DashboardTests
{
    private const string ChromiumPath = "/usr/bin/chromium";
    private ServerProcess server = null!;
    private HttpClient admin = null!;
    private string adminKey = null!;
    private IPlaywright playwright = null!;
    private IBrowser browser = null!;
    private string screenshots = null!;

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

        var database = await TestPostgres.CreateDatabaseAsync("dashboard");
        server = ServerProcess.Start(PostgresNode.Environment(database));
        await server.WaitUntilReadyAsync();
        adminKey = server.PrintedAdminKey!;
        admin = server.CreateClient(adminKey);
        playwright = await Playwright.CreateAsync();
        browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            // Without these, Chromium reaches for Google's hosts, which this machine's closed network refuses.
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
        screenshots = Path.Combine(TestContext.CurrentContext.WorkDirectory, "screenshots");
        Directory.CreateDirectory(screenshots);
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
    }

    /// <summary>A page that records console errors and uncaught exceptions, so each test can assert there were none.</summary>
    private async Task<(IPage Page, List<string> Errors)> OpenAsync(int width = 1280, int height = 800)
    {
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = width, Height = height } });
        var errors = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                errors.Add(message.Text);
            }
        };
        page.PageError += (_, error) => errors.Add(error);
        await page.GotoAsync(server.BaseAddress.ToString());
        return (page, errors);
    }

    private async Task SignInAsync(IPage page)
    {
        await page.GetByLabel("API key").FillAsync(adminKey);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Schedules" })).ToBeVisibleAsync();
    }

    private async Task ShotAsync(IPage page, string name)
    {
        var file = Path.Combine(screenshots, $"{name}.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = file, FullPage = true });
        TestContext.AddTestAttachment(file, name);
    }

    [Test]
    public async Task A_wrong_key_is_refused_and_the_printed_admin_key_signs_in()
    {
        var (page, _) = await OpenAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Navigation, new() { Name = "Main" })).ToBeHiddenAsync();
        await page.GetByLabel("API key").FillAsync("orch_00000000_not-a-real-key");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("refused");
        await ShotAsync(page, "sign-in-refused");

        await SignInAsync(page);
        await Assertions.Expect(page.GetByRole(AriaRole.Navigation, new() { Name = "Main" })).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Assertions.Expect(page.GetByLabel("API key")).ToBeVisibleAsync();
        await page.CloseAsync();
    }

    [Test]
    public async Task A_schedule_created_from_an_english_phrase_previews_fires_and_shows_its_run()
    {
        var (page, errors) = await OpenAsync();
        try
        {
            await CreateFromWordsAsync(page, errors);
        }
        finally
        {
            // Fires every 5 seconds: never leave it behind for the other tests.
            await admin.DeleteAsync("/api/schedules/default.from-words");
            await page.CloseAsync();
        }
    }

    private async Task CreateFromWordsAsync(IPage page, List<string> errors)
    {
        await SignInAsync(page);
        await page.GetByRole(AriaRole.Link, new() { Name = "New schedule" }).ClickAsync();
        await page.GetByLabel("Name").FillAsync("from-words");
        await page.GetByLabel("Time zone").FillAsync("Europe/Paris");
        await page.GetByLabel("When (an English phrase or a cron expression)").FillAsync("every weekday at 9:30");
        await Assertions.Expect(page.Locator("#preview")).ToContainTextAsync("at 09:30 on weekdays");
        await Assertions.Expect(page.Locator("#preview")).ToContainTextAsync("0 30 9 ? * MON-FRI");
        await ShotAsync(page, "schedule-form");

        // Something that fires now, so the run can be watched: the phrase goes through /api/cron/parse the same way.
        await page.GetByLabel("When (an English phrase or a cron expression)").FillAsync("every 5 seconds");
        await Assertions.Expect(page.Locator("#preview")).ToContainTextAsync("0/5 * * * * ?");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create" }).ClickAsync();
        var row = page.Locator("tr[data-schedule='default.from-words']");
        await Assertions.Expect(row).ToContainTextAsync("every 5 seconds");

        await page.GetByRole(AriaRole.Link, new() { Name = "Runs" }).ClickAsync();
        await Assertions.Expect(page.Locator("#run-rows tr", new() { HasText = "default.from-words" }).First)
            .ToContainTextAsync("succeeded", new() { Timeout = 20_000 });
        await ShotAsync(page, "runs");
        await page.Locator("#run-rows a").First.ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Config snapshot" })).ToBeVisibleAsync();
        await ShotAsync(page, "run-detail");
        Assert.That(errors, Is.Empty, string.Join("\n", errors));
    }

    [Test]
    public async Task Validation_errors_from_the_api_appear_beside_their_fields()
    {
        var (page, _) = await OpenAsync();
        await SignInAsync(page);
        await page.GetByRole(AriaRole.Link, new() { Name = "New schedule" }).ClickAsync();
        await page.GetByLabel("Name").FillAsync("bad name with spaces");
        await page.GetByLabel("When (an English phrase or a cron expression)").FillAsync("every hour");
        await Assertions.Expect(page.Locator("#preview")).ToContainTextAsync("0 0 * * * ?");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create" }).ClickAsync();
        await Assertions.Expect(page.Locator("[data-error='name']")).ToContainTextAsync("letters, digits");

        await page.GetByLabel("When (an English phrase or a cron expression)").FillAsync("every blue moon");
        await Assertions.Expect(page.Locator("[data-error='trigger']")).ToContainTextAsync("'blue'");
        await ShotAsync(page, "schedule-form-errors");
        await page.CloseAsync();
    }

    [Test]
    public async Task Pause_and_resume_from_the_schedule_list()
    {
        await admin.CreateScheduleAsync(new { name = "toggle-me", action = new { type = "noop", config = new { } }, trigger = new { cron = "0 0 3 * * ?", timeZone = "UTC" } });
        var (page, errors) = await OpenAsync();
        await SignInAsync(page);
        var state = page.Locator("tr[data-schedule='default.toggle-me'] [data-col='state']");
        await Assertions.Expect(state).ToContainTextAsync("active");
        await page.GetByRole(AriaRole.Button, new() { Name = "Pause toggle-me" }).ClickAsync();
        await Assertions.Expect(state).ToContainTextAsync("paused");
        Assert.That((await admin.GetFromJsonAsync<JsonElement>("/api/schedules/default.toggle-me")).GetProperty("state").GetString(), Is.EqualTo("paused"));
        await ShotAsync(page, "schedules");
        await page.GetByRole(AriaRole.Button, new() { Name = "Resume toggle-me" }).ClickAsync();
        await Assertions.Expect(state).ToContainTextAsync("active");

        // Edit: a new phrase replaces the trigger; the time zone and the rest of the schedule stay.
        await page.GetByRole(AriaRole.Link, new() { Name = "Edit toggle-me" }).ClickAsync();
        await page.GetByLabel("When (an English phrase or a cron expression)").FillAsync("every day at 4:15");
        await Assertions.Expect(page.Locator("#preview")).ToContainTextAsync("0 15 4 * * ?");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Assertions.Expect(page.Locator("tr[data-schedule='default.toggle-me']")).ToContainTextAsync("at 04:15 every day");
        var edited = await admin.GetFromJsonAsync<JsonElement>("/api/schedules/default.toggle-me");
        Assert.That(edited.GetProperty("trigger").GetProperty("cron").GetString(), Is.EqualTo("0 15 4 * * ?"));
        Assert.That(edited.GetProperty("trigger").GetProperty("timeZone").GetString(), Is.EqualTo("UTC"));

        page.Dialog += (_, dialog) => dialog.AcceptAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Delete toggle-me" }).ClickAsync();
        await Assertions.Expect(page.Locator("tr[data-schedule='default.toggle-me']")).ToHaveCountAsync(0);
        Assert.That((await admin.GetAsync("/api/schedules/default.toggle-me")).StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(errors, Is.Empty, string.Join("\n", errors));
        await page.CloseAsync();
    }

    [Test]
    public async Task A_pipeline_shows_its_dag_and_a_finished_runs_node_statuses()
    {
        object Noop(string id) => new { id, type = "action", action = new { type = "noop", config = new { } } };
        await admin.PostForJsonAsync("/api/pipelines", new
        {
            id = "drawn",
            name = "Drawn",
            nodes = new[] { Noop("extract"), Noop("left"), Noop("right"), Noop("load"), (object)new { id = "check", type = "condition", expression = "inputs.go == true" }, Noop("notify") },
            edges = new object[]
            {
                new { from = "extract", to = "left" }, new { from = "extract", to = "right" }, new { from = "left", to = "load" }, new { from = "right", to = "load" },
                new { from = "load", to = "check" }, new { from = "check", to = "notify", when = true },
            },
        }, HttpStatusCode.Created);
        var runId = (await admin.PostForJsonAsync("/api/pipelines/drawn/run", new { inputs = new { go = false } }, HttpStatusCode.Accepted)).GetProperty("id").GetString();
        await Poll.UntilAsync(() => admin.GetFromJsonAsync<JsonElement>($"/api/pipeline-runs/{runId}"), d => d.GetProperty("run").GetProperty("status").GetString() == "succeeded",
            TimeSpan.FromSeconds(20), "the pipeline run");

        var (page, errors) = await OpenAsync();
        await SignInAsync(page);
        await page.GetByRole(AriaRole.Link, new() { Name = "Pipelines" }).ClickAsync();
        await page.GetByRole(AriaRole.Link, new() { Name = "Drawn" }).ClickAsync();
        await Assertions.Expect(page.Locator(".dag .node")).ToHaveCountAsync(6);
        await Assertions.Expect(page.Locator(".dag .edge")).ToHaveCountAsync(6);
        // Left to right: every edge goes from a box to one further right.
        var x = async (string id) => double.Parse(await page.Locator($".node[data-node='{id}'] rect").GetAttributeAsync("x") ?? "0", System.Globalization.CultureInfo.InvariantCulture);
        Assert.That(await x("extract"), Is.LessThan(await x("left")));
        Assert.That(await x("left"), Is.EqualTo(await x("right")));
        Assert.That(await x("load"), Is.LessThan(await x("check")));
        await ShotAsync(page, "pipeline");

        await page.Locator($"a[href='#/pipeline-runs/{runId}']").ClickAsync();
        await Assertions.Expect(page.Locator(".node[data-node='load']")).ToHaveAttributeAsync("data-status", "succeeded");
        await Assertions.Expect(page.Locator(".node[data-node='check']")).ToHaveAttributeAsync("data-status", "succeeded");
        await Assertions.Expect(page.Locator(".node[data-node='notify']")).ToHaveAttributeAsync("data-status", "skipped");
        await page.Locator(".node[data-node='notify']").ClickAsync();
        await Assertions.Expect(page.Locator("#node-detail")).ToContainTextAsync("no incoming branch was taken");
        await ShotAsync(page, "pipeline-run");
        Assert.That(errors, Is.Empty, string.Join("\n", errors));
        await page.CloseAsync();
    }

    [Test]
    public async Task Every_page_fits_a_phone_without_console_errors()
    {
        var (page, errors) = await OpenAsync(390, 844);
        await SignInAsync(page);
        foreach (var (hash, name) in new[] { ("#/schedules", "phone-schedules"), ("#/runs", "phone-runs"), ("#/pipelines", "phone-pipelines"), ("#/cluster", "phone-cluster"), ("#/schedules/new", "phone-new-schedule") })
        {
            await page.GotoAsync(server.BaseAddress + hash);
            await Assertions.Expect(page.Locator("main h1")).ToBeVisibleAsync();
            // Wide tables scroll inside their own box; the page itself does not scroll sideways.
            var overflow = await page.EvaluateAsync<int>("document.documentElement.scrollWidth - document.documentElement.clientWidth");
            Assert.That(overflow, Is.LessThanOrEqualTo(1), $"{hash} is wider than the phone");
            await ShotAsync(page, name);
        }

        await page.GotoAsync(server.BaseAddress + "#/cluster");
        await Assertions.Expect(page.GetByRole(AriaRole.Table, new() { Name = "Cluster nodes" })).ToContainTextAsync("yes");
        Assert.That(errors, Is.Empty, string.Join("\n", errors));
        await page.CloseAsync();
    }

    [Test]
    public async Task Names_from_the_api_are_shown_as_text_and_the_page_is_served_with_a_strict_policy()
    {
        const string hostile = "<img src=x onerror=\"window.__xss=1\">";
        await admin.PostForJsonAsync("/api/pipelines", new { id = "hostile", name = hostile, nodes = new[] { new { id = "a", type = "action", action = new { type = "noop", config = new { } } } } }, HttpStatusCode.Created);
        var (page, errors) = await OpenAsync();
        await SignInAsync(page);
        await page.GetByRole(AriaRole.Link, new() { Name = "Pipelines" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Link, new() { Name = hostile })).ToBeVisibleAsync();
        Assert.That(await page.EvaluateAsync<bool>("window.__xss === undefined"), Is.True, "the name was not interpreted as HTML");
        Assert.That(errors, Is.Empty, string.Join("\n", errors));
        await page.CloseAsync();

        using var anonymous = server.CreateClient();
        var response = await anonymous.GetAsync("/");
        Assert.That(response.Headers.GetValues("Content-Security-Policy").Single(), Does.Contain("script-src 'self'").And.Contain("frame-ancestors 'none'"));
        Assert.That(response.Headers.GetValues("X-Content-Type-Options").Single(), Is.EqualTo("nosniff"));
        Assert.That(response.Headers.GetValues("X-Frame-Options").Single(), Is.EqualTo("DENY"));
    }
}
