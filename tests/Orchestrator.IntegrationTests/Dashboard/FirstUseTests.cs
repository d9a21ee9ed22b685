using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Dashboard;

/// <summary>
/// What a newcomer tripped over in the dashboard (issue 14 item 8), each in headless Chromium against a real server on
/// PostgreSQL: filters that apply as they change and live in the address (schedules, runs, deadlines); fields naming a
/// channel chosen from the server's list; the trigger preview without a start and a past one-time flagged as typed; a
/// failed call's response and the whole run's duration on the run page; the home page's clock hours.
/// </summary>
[TestFixture]
[Category("Browser")]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class FirstUseTests
{
    private const string ChromiumPath = "/usr/bin/chromium";
    private InProcessServer server = null!;
    private RecordingHttpServer peer = null!;
    private HttpClient admin = null!;
    private string adminKey = null!;
    private IPlaywright playwright = null!;
    private IBrowser browser = null!;
    private string retriedRun = null!;
    private string unreachableRun = null!;
    private string okRun = null!;

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
        peer.Configure("/first-broken", new RecordingHttpServer.Behaviour(TimeSpan.Zero, Status: 503, Body: "{\"reason\":\"first-use-maintenance\"}"));
        var workspaces = Directory.CreateTempSubdirectory("orchestrator-firstuse-ws-").FullName;
        var database = await TestPostgres.CreateDatabaseAsync("firstuse");
        server = InProcessServer.Start(PostgresNode.Environment(database, new Dictionary<string, string?>
        {
            ["Orchestrator__Outbound__AllowedHosts__0"] = "127.0.0.1",
            ["Orchestrator__Workspaces__Roots__0"] = workspaces,
        }), listenOnLoopback: true);
        await server.WaitUntilReadyAsync();
        adminKey = server.PrintedAdminKey!;
        admin = server.CreateClient(adminKey);
        await admin.PostForJsonAsync("/api/projects", new { id = "alpha", name = "Alpha", rootPath = Path.Combine(workspaces, "alpha") }, HttpStatusCode.Created);
        await admin.PostForJsonAsync("/api/channels", new { name = "first-hook", kind = "webhook", webhook = new { url = $"{peer.BaseUrl}/hook" } }, HttpStatusCode.Created);
        await admin.PostForJsonAsync("/api/channels", new { name = "gone-hook", kind = "webhook", webhook = new { url = $"{peer.BaseUrl}/hook" } }, HttpStatusCode.Created);

        var noop = new { type = "noop", config = new { } };
        var yearly = new { cron = "0 0 3 1 1 ?", timeZone = "UTC" };
        await admin.CreateScheduleAsync(new { name = "first-ok", action = noop, trigger = yearly });
        await admin.CreateScheduleAsync(new { name = "alpha-report", project = "alpha", action = noop, trigger = yearly });
        await admin.CreateScheduleAsync(new { name = "first-held", action = noop, trigger = yearly });
        await admin.PostForJsonAsync("/api/schedules/default.first-held/pause", new { reason = "first use" }, HttpStatusCode.OK);
        // Its deadline channel is deleted afterwards: the edit form must still show (and keep) it.
        await admin.CreateScheduleAsync(new { name = "first-watched", action = noop, trigger = yearly, deadline = new { startWithinSeconds = 600, channel = "gone-hook" } });
        Assert.That((await admin.DeleteAsync("/api/channels/gone-hook")).StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        await admin.CreateScheduleAsync(new
        {
            name = "first-broken",
            action = new { type = "call_api", config = new { url = peer.BaseUrl + "/first-broken" } },
            trigger = yearly,
            retry = new { maxAttempts = 2, backoff = "fixed", initialDelaySeconds = 2 },
        });
        // Nothing listens on port 9 of the loopback: the call fails before any response, so its result is empty.
        await admin.CreateScheduleAsync(new { name = "first-unreachable", action = new { type = "call_api", config = new { url = "http://127.0.0.1:9/nothing" } }, trigger = yearly });

        okRun = (await admin.PostForJsonAsync("/api/schedules/default.first-ok/run", null, HttpStatusCode.Accepted)).GetProperty("id").GetString()!;
        var retried = retriedRun = (await admin.PostForJsonAsync("/api/schedules/default.first-broken/run", null, HttpStatusCode.Accepted)).GetProperty("id").GetString()!;
        var unreachable = unreachableRun = (await admin.PostForJsonAsync("/api/schedules/default.first-unreachable/run", null, HttpStatusCode.Accepted)).GetProperty("id").GetString()!;
        await Poll.UntilAsync(() => admin.GetFromJsonAsync<JsonElement>($"/api/runs/{okRun}"), r => r.Status() == "succeeded", TimeSpan.FromSeconds(30), "the noop run");
        await Poll.UntilAsync(() => admin.GetFromJsonAsync<JsonElement>($"/api/runs/{retried}"), r => r.Status() == "failed" && r.GetProperty("attempt").GetInt32() == 2, TimeSpan.FromSeconds(60), "the failing call's two attempts");
        await Poll.UntilAsync(() => admin.GetFromJsonAsync<JsonElement>($"/api/runs/{unreachable}"), r => r.Status() == "failed", TimeSpan.FromSeconds(60), "the unreachable call");

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

    /// <summary>A signed-in page of the given width (and zone, and locale), opened at <paramref name="hash"/>.</summary>
    private async Task<(IPage Page, List<string> Errors, IBrowserContext Context)> OpenAsync(string hash, int width = 1366, string? timeZone = null)
    {
        var context = await browser.NewContextAsync(new BrowserNewContextOptions
        {
            ViewportSize = new ViewportSize { Width = width, Height = width < 600 ? 844 : 800 },
            TimezoneId = timeZone,
            Locale = "en-GB",
        });
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
        await page.GotoAsync(server.BaseAddress + hash);
        await Assertions.Expect(page.Locator("main h1")).ToBeVisibleAsync();
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

    private static async Task AssertFitsAsync(IPage page, string what)
    {
        var overflow = await page.EvaluateAsync<int>("document.documentElement.scrollWidth - document.documentElement.clientWidth");
        Assert.That(overflow, Is.LessThanOrEqualTo(1), $"{what} scrolls sideways by {overflow} px");
    }

    private static ILocator ScheduleRows(IPage page) => page.Locator("tbody tr[data-schedule]");

    [Test]
    public async Task Schedule_filters_apply_as_they_change_and_live_in_the_address()
    {
        var (page, errors, context) = await OpenAsync("#/schedules");
        try
        {
            await Assertions.Expect(ScheduleRows(page)).ToHaveCountAsync(6);
            await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Filter" })).ToHaveCountAsync(0);

            // A select applies at once: no button pressed.
            await page.GetByLabel("State").SelectOptionAsync("paused");
            await Assertions.Expect(page).ToHaveURLAsync(new Regex(@"#/schedules\?.*state=paused"));
            await Assertions.Expect(ScheduleRows(page)).ToHaveCountAsync(1);
            await Assertions.Expect(page.Locator("tr[data-schedule='default.first-held']")).ToBeVisibleAsync();

            // The search applies as it is typed (after a pause), and the box keeps the focus and all that was typed.
            await page.GetByLabel("State").SelectOptionAsync("");
            await Assertions.Expect(ScheduleRows(page)).ToHaveCountAsync(6);
            var search = page.GetByLabel("Search");
            // Typed with a pause long enough for the search to apply half-way (the page re-draws under the typing):
            // the second half replaces the entry the first half made, so the typing stays one step of history.
            await search.PressSequentiallyAsync("alpha-r", new() { Delay = 40 });
            await Assertions.Expect(page).ToHaveURLAsync(new Regex(@"#/schedules\?q=alpha-r$"));
            await Assertions.Expect(ScheduleRows(page)).ToHaveCountAsync(1);
            await page.GetByLabel("Search").PressSequentiallyAsync("ep", new() { Delay = 40 });
            await Assertions.Expect(page).ToHaveURLAsync(new Regex(@"#/schedules\?q=alpha-rep$"));
            await Assertions.Expect(ScheduleRows(page)).ToHaveCountAsync(1);
            await Assertions.Expect(page.Locator("tr[data-schedule='alpha.alpha-report']")).ToBeVisibleAsync();
            await Assertions.Expect(page.GetByLabel("Search")).ToBeFocusedAsync();
            await Assertions.Expect(page.GetByLabel("Search")).ToHaveValueAsync("alpha-rep");

            // The project select is the server's projects; it narrows at once too.
            await Assertions.Expect(page.GetByLabel("Project").Locator("option[value='alpha']")).ToHaveCountAsync(1);
            await page.GetByLabel("Project").SelectOptionAsync("alpha");
            await Assertions.Expect(page).ToHaveURLAsync(new Regex(@"#/schedules\?q=alpha-rep&project=alpha$"));
            await Assertions.Expect(ScheduleRows(page)).ToHaveCountAsync(1);

            // Back returns to the filters before (the typing is one step), Forward and a reload keep those in the address.
            await page.GoBackAsync();
            await Assertions.Expect(page).ToHaveURLAsync(new Regex(@"#/schedules\?q=alpha-rep$"));
            await Assertions.Expect(page.GetByLabel("Project")).ToHaveValueAsync("");
            await Assertions.Expect(page.GetByLabel("Search")).ToHaveValueAsync("alpha-rep");
            await page.GoBackAsync();
            await Assertions.Expect(page).ToHaveURLAsync(new Regex(@"#/schedules$"));
            await Assertions.Expect(page.GetByLabel("Search")).ToHaveValueAsync("");
            await Assertions.Expect(ScheduleRows(page)).ToHaveCountAsync(6);
            await page.GoForwardAsync();
            await Assertions.Expect(page).ToHaveURLAsync(new Regex(@"#/schedules\?q=alpha-rep$"));
            await page.ReloadAsync();
            await Assertions.Expect(page.GetByLabel("Search")).ToHaveValueAsync("alpha-rep");
            await Assertions.Expect(ScheduleRows(page)).ToHaveCountAsync(1);
            Assert.That(errors, Is.Empty, string.Join("\n", errors));
        }
        finally
        {
            await context.DisposeAsync();
        }
    }

    [Test]
    public async Task Run_and_deadline_filters_apply_as_they_change_and_live_in_the_address()
    {
        var (page, errors, context) = await OpenAsync("#/runs");
        try
        {
            await Assertions.Expect(page.Locator($"#run-rows tr[data-run='{okRun}']")).ToBeVisibleAsync();
            await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Filter" })).ToHaveCountAsync(0);
            await page.GetByLabel("Status").SelectOptionAsync("failed");
            await Assertions.Expect(page).ToHaveURLAsync(new Regex(@"#/runs\?status=failed$"));
            await Assertions.Expect(page.Locator($"#run-rows tr[data-run='{okRun}']")).ToHaveCountAsync(0);
            await Assertions.Expect(page.Locator($"#run-rows tr[data-run='{retriedRun}']")).ToBeVisibleAsync();

            // The project is chosen from the server's projects, not typed.
            var project = page.GetByLabel("Project");
            await Assertions.Expect(project.Locator("option[value='alpha']")).ToHaveCountAsync(1);
            await project.SelectOptionAsync("alpha");
            await Assertions.Expect(page).ToHaveURLAsync(new Regex(@"#/runs\?.*project=alpha"));
            await Assertions.Expect(page.Locator("#run-rows")).ToContainTextAsync("No runs match.");

            // The schedule box names one schedule exactly, so it applies on Enter, not at each prefix (a schedule that
            // is not there is a 404, said in the table with the filters kept).
            await project.SelectOptionAsync("");
            await page.GetByLabel("Schedule").PressSequentiallyAsync("default.first-unreach", new() { Delay = 20 });
            await page.WaitForTimeoutAsync(700);
            await Assertions.Expect(page).ToHaveURLAsync(new Regex(@"#/runs\?status=failed$"));
            await page.GetByLabel("Schedule").PressAsync("Enter");
            await Assertions.Expect(page.Locator("#run-rows")).ToContainTextAsync("No schedule with id 'default.first-unreach'");
            await Assertions.Expect(page.GetByLabel("Schedule")).ToBeFocusedAsync();
            await page.GetByLabel("Schedule").PressSequentiallyAsync("able", new() { Delay = 20 });
            await page.GetByLabel("Schedule").PressAsync("Enter");
            await Assertions.Expect(page).ToHaveURLAsync(new Regex(@"#/runs\?.*schedule=default\.first-unreachable"));
            await Assertions.Expect(page.Locator("#run-rows tr[data-run]")).ToHaveCountAsync(1);
            await Assertions.Expect(page.Locator($"#run-rows tr[data-run='{unreachableRun}']")).ToBeVisibleAsync();
            await Assertions.Expect(page.GetByLabel("Schedule")).ToBeFocusedAsync();

            // Back undoes the typing in one step, however often it paused.
            await page.GoBackAsync();
            await Assertions.Expect(page).ToHaveURLAsync(new Regex(@"#/runs\?status=failed$"));
            await Assertions.Expect(page.GetByLabel("Status")).ToHaveValueAsync("failed");
            await Assertions.Expect(page.GetByLabel("Schedule")).ToHaveValueAsync("");
            await Assertions.Expect(page.Locator($"#run-rows tr[data-run='{retriedRun}']")).ToBeVisibleAsync();

            // The deadlines page's state applies at once too.
            await page.EvaluateAsync("() => { location.hash = '#/deadlines'; }");
            await Assertions.Expect(page.Locator("main h1")).ToHaveTextAsync("Deadlines");
            await page.GetByLabel("State").SelectOptionAsync("all");
            await Assertions.Expect(page).ToHaveURLAsync(new Regex(@"#/deadlines\?state=all$"));
            await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Filter" })).ToHaveCountAsync(0);
            // The one 404 the operator asked for is the only failed request the browser reported.
            Assert.That(errors.Where(e => !e.Contains("scheduleId=default.first-unreach&", StringComparison.Ordinal)), Is.Empty, string.Join("\n", errors));
        }
        finally
        {
            await context.DisposeAsync();
        }
    }

    [Test]
    public async Task The_deadline_channel_is_chosen_from_the_servers_channels_and_an_unknown_one_is_kept()
    {
        var (page, errors, context) = await OpenAsync("#/schedules/new");
        try
        {
            var channel = page.GetByLabel("Deadline: channel");
            Assert.That(await channel.EvaluateAsync<string>("e => e.tagName"), Is.EqualTo("SELECT"));
            await Assertions.Expect(channel.Locator("option[value='first-hook']")).ToHaveCountAsync(1);
            await Assertions.Expect(channel.Locator("option[value='gone-hook']")).ToHaveCountAsync(0);

            // A send_notification's channel is a select of the same list.
            await page.GetByLabel("Action type").SelectOptionAsync("send_notification");
            var configChannel = page.Locator("#action-config").GetByLabel(new Regex(@"^channel\b"));
            Assert.That(await configChannel.EvaluateAsync<string>("e => e.tagName"), Is.EqualTo("SELECT"));
            await Assertions.Expect(configChannel.Locator("option[value='first-hook']")).ToHaveCountAsync(1);

            // An edit keeps a channel the server no longer has, chosen and said to be missing, and saves it unchanged.
            await page.EvaluateAsync("() => { location.hash = '#/schedules/edit/default.first-watched'; }");
            // The edit form reads the schedule, the OpenAPI document and the server's lists first: slow on a loaded machine.
            try
            {
                await Assertions.Expect(page.Locator("main h1")).ToHaveTextAsync("Edit first-watched", new() { Timeout = 30_000 });
            }
            catch (PlaywrightException)
            {
                Assert.Fail($"The edit form did not open. Page errors: {string.Join("\n", errors)}\nMain: {await page.Locator("main").InnerTextAsync()}");
            }

            await Assertions.Expect(page.GetByLabel("Deadline: channel")).ToHaveValueAsync("gone-hook");
            await Assertions.Expect(page.GetByLabel("Deadline: channel").Locator("option:checked")).ToHaveTextAsync("gone-hook (not on the server)");
            await page.GetByLabel("Deadline: channel").SelectOptionAsync("first-hook");
            await page.GetByRole(AriaRole.Button, new() { Name = "Save", Exact = true }).ClickAsync();
            // The save and the list after it: as slow as the edit form's loading on a loaded machine.
            await Assertions.Expect(page.Locator("tr[data-schedule='default.first-watched']")).ToHaveCountAsync(1, new() { Timeout = 30_000 });
            var saved = await admin.GetFromJsonAsync<JsonElement>("/api/schedules/default.first-watched");
            Assert.That(saved.GetProperty("deadline").GetProperty("channel").GetString(), Is.EqualTo("first-hook"));
            Assert.That(errors, Is.Empty, string.Join("\n", errors));
        }
        finally
        {
            await context.DisposeAsync();
        }
    }

    [Test]
    public async Task A_calendar_trigger_previews_without_a_start_and_a_past_one_time_is_flagged_as_it_is_typed()
    {
        var (page, errors, context) = await OpenAsync("#/schedules/new", timeZone: "Europe/Paris");
        try
        {
            var preview = page.Locator("#preview");
            await page.GetByLabel("Trigger form").SelectOptionAsync("calendar");
            await page.Locator("#f-every").FillAsync("2");
            await page.Locator("#f-unit").SelectOptionAsync("week");
            await Assertions.Expect(page.Locator("#f-start")).ToHaveValueAsync("");
            await Assertions.Expect(preview.Locator("li")).ToHaveCountAsync(5);
            await Assertions.Expect(preview).ToContainTextAsync("from the moment it is saved");
            Assert.That(await preview.InnerTextAsync(), Does.Not.Contain("undefined"));
            await Assertions.Expect(page.Locator("#f-every")).Not.ToHaveAttributeAsync("aria-invalid", "true");

            // A one-time instant in the past: flagged beside its input by the server's own check, before any save.
            var at = page.Locator("#f-at");
            await page.GetByLabel("Trigger form").SelectOptionAsync("once");
            await at.FillAsync(TimeProvider.System.GetUtcNow().AddDays(-1).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
            await Assertions.Expect(at).ToHaveAttributeAsync("aria-invalid", "true");
            await Assertions.Expect(page.Locator("#f-at-error")).ToContainTextAsync("in the past");
            Assert.That(await at.GetAttributeAsync("aria-describedby"), Does.Contain("f-at-error"));

            // Put right, the flag goes.
            await at.FillAsync(TimeProvider.System.GetUtcNow().AddDays(1).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture));
            await Assertions.Expect(preview.Locator("li")).ToHaveCountAsync(1);
            await Assertions.Expect(at).Not.ToHaveAttributeAsync("aria-invalid", "true");
            await Assertions.Expect(page.Locator("#f-at-error")).ToHaveTextAsync("");
            Assert.That(errors.Where(e => !e.Contains("/api/schedules/preview", StringComparison.Ordinal) || !e.Contains("422", StringComparison.Ordinal)), Is.Empty, string.Join("\n", errors));
        }
        finally
        {
            await context.DisposeAsync();
        }
    }

    [TestCase(1366)]
    [TestCase(390)]
    public async Task A_failed_call_shows_its_error_and_response_and_the_whole_runs_duration(int width)
    {
        var (page, errors, context) = await OpenAsync($"#/runs/{retriedRun}", width);
        try
        {
            var main = page.Locator("main");
            await Assertions.Expect(page.Locator("main h1 .status")).ToHaveTextAsync("failed");
            await Assertions.Expect(main).ToContainTextAsync("answered 503");
            var response = page.Locator("[data-response]");
            await Assertions.Expect(response).ToContainTextAsync("HTTP 503");
            await Assertions.Expect(response).ToContainTextAsync("first-use-maintenance");
            await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Result" })).ToHaveCountAsync(0);

            // Both attempts with a two-second pause between them: the whole run is at least 2 s; the last attempt is said apart.
            var whole = page.Locator("[data-duration='whole']");
            await Assertions.Expect(whole).ToHaveTextAsync(new Regex(@"^(\d+(\.\d)? s|\d+ m \d\d s)$"));
            var seconds = double.Parse(Regex.Match(await whole.InnerTextAsync(), @"^\d+(\.\d)?").Value, CultureInfo.InvariantCulture);
            Assert.That(seconds, Is.GreaterThanOrEqualTo(2));
            await Assertions.Expect(main).ToContainTextAsync("over 2 attempts");
            await Assertions.Expect(main).ToContainTextAsync("last attempt (2):");
            await AssertFitsAsync(page, $"the run page at {width} px");
            await ShotAsync(page, $"first-use-failed-call-{width}");

            // A call that got no response: its error, and no "{}" for the empty result.
            await page.EvaluateAsync("id => { location.hash = '#/runs/' + id; }", unreachableRun);
            await Assertions.Expect(main).ToContainTextAsync(unreachableRun);
            await Assertions.Expect(page.Locator("main h1 .status")).ToHaveTextAsync("failed");
            await Assertions.Expect(page.Locator("main pre").First).ToContainTextAsync("127.0.0.1:9");
            await Assertions.Expect(page.Locator("main pre").Filter(new() { HasTextRegex = new Regex(@"^\s*(\{\s*\}|null)\s*$") })).ToHaveCountAsync(0);
            await Assertions.Expect(page.Locator("[data-response]")).ToHaveCountAsync(0);

            // A run whose result is empty says so in words.
            await page.EvaluateAsync("id => { location.hash = '#/runs/' + id; }", okRun);
            await Assertions.Expect(page.Locator("main h1 .status")).ToHaveTextAsync("succeeded");
            await Assertions.Expect(page.Locator("main pre").Filter(new() { HasTextRegex = new Regex(@"^\s*(\{\s*\}|null)\s*$") })).ToHaveCountAsync(0);
            Assert.That(errors, Is.Empty, string.Join("\n", errors));
        }
        finally
        {
            await context.DisposeAsync();
        }
    }

    [Test]
    public async Task The_home_charts_are_clock_hours_of_the_browsers_zone_with_the_current_hour_marked()
    {
        // Kolkata is UTC+05:30: UTC's hours would be labelled "hh:30" there.
        var (page, errors, context) = await OpenAsync("#/", timeZone: "Asia/Kolkata");
        try
        {
            var chart = page.GetByRole(AriaRole.Img, new() { Name = "Runs finished per hour by outcome" });
            await Assertions.Expect(chart).ToBeVisibleAsync();
            Assert.That(await chart.Locator("[data-partial='true']").CountAsync(), Is.EqualTo(1), "the current hour is marked");
            var labels = await chart.Locator("text.axis").AllTextContentsAsync();
            var hours = labels.Where(l => l.Contains(':', StringComparison.Ordinal)).ToList();
            Assert.That(hours, Is.Not.Empty);
            Assert.That(hours, Has.All.Match(@"^\d\d:00(–now)?$"), string.Join(", ", hours));
            Assert.That(hours[^1], Does.EndWith("–now"));

            await page.GetByText("The same as a table").ClickAsync();
            var rows = page.GetByRole(AriaRole.Table, new() { Name = "Runs per hour" }).Locator("tbody tr");
            await Assertions.Expect(rows).ToHaveCountAsync(24);
            var spans = (await rows.Locator("td:first-child").AllInnerTextsAsync()).ToList();
            Assert.That(spans[0], Does.Match(@"^\d\d:00–now \(so far\)$"), "the newest row is the current hour, partial");
            Assert.That(spans.Skip(1), Has.All.Match(@"^\d\d:00–\d\d:00$"), string.Join(", ", spans));
            await Assertions.Expect(rows.First).ToHaveAttributeAsync("data-partial", "true");
            // The counters still count the last hour and day: the failed calls of this fixture are there.
            await Assertions.Expect(page.Locator("#c-failed .counter-value")).Not.ToHaveTextAsync("0");
            // Chromium names the zone by its older id.
            await Assertions.Expect(page.Locator("#home-zone")).ToContainTextAsync(new Regex("Asia/(Kolkata|Calcutta)"));
            Assert.That(errors, Is.Empty, string.Join("\n", errors));
        }
        finally
        {
            await context.DisposeAsync();
        }
    }
}
