using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Dashboard;

/// <summary>
/// The dashboard in headless Chromium (Debian's, at /usr/bin/chromium) against a real server on PostgreSQL: sign in,
/// create a schedule from an English phrase and watch it run, pause and resume, and see a pipeline's DAG with a
/// finished run's node statuses, follow and cancel a run, filter the runs list and read the misfires. Screenshots of the
/// main pages are saved as test attachments.
/// </summary>
[TestFixture]
[Category("Browser")]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class DashboardTests
{
    private const string ChromiumPath = "/usr/bin/chromium";
    private InProcessServer server = null!;
    private RecordingHttpServer peer = null!;
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

        // call_api schedules reach a local endpoint that answers as slowly (or as badly) as a test needs.
        peer = await RecordingHttpServer.StartAsync();
        var database = await TestPostgres.CreateDatabaseAsync("dashboard");
        server = InProcessServer.Start(PostgresNode.Environment(database, new Dictionary<string, string?> { ["Orchestrator__Outbound__AllowedHosts__0"] = "127.0.0.1" }), listenOnLoopback: true);
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

        if (peer is not null)
        {
            await peer.DisposeAsync();
        }
    }

    /// <summary>
    /// A page that records console errors (with where they came from) and uncaught exceptions, so each test can assert
    /// there were none.
    /// </summary>
    private async Task<(IPage Page, List<string> Errors)> OpenAsync(int width = 1280, int height = 800, IBrowserContext? context = null)
    {
        var page = context is null
            ? await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = width, Height = height } })
            : await context.NewPageAsync();
        var errors = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                errors.Add($"{message.Text} @ {message.Location}");
            }
        };
        page.PageError += (_, error) => errors.Add(error);
        await page.GotoAsync(server.BaseAddress.ToString());
        return (page, errors);
    }

    /// <summary>
    /// The errors left once Chromium's own line for each deliberately refused request is removed: a fetch answered
    /// 401 or 422 is logged as "Failed to load resource" even though the page handles it. Only that line, for that
    /// status and that API path, is forgiven.
    /// </summary>
    private List<string> Unexpected(List<string> errors, params (int Status, string Path)[] refused) =>
        [.. errors.Where(e => !refused.Any(r =>
            e.StartsWith($"Failed to load resource: the server responded with a status of {r.Status} ", StringComparison.Ordinal)
            && Regex.IsMatch(e, $@" @ {Regex.Escape(new Uri(server.BaseAddress, r.Path).ToString())}(?:[?:]|$)")))];

    private static Dictionary<string, object?> Noop(string name, string cron = "0 0 3 * * ?") => new()
    {
        ["name"] = name,
        ["action"] = new { type = "noop", config = new { } },
        ["trigger"] = new { cron, timeZone = "UTC" },
    };

    private object CallPeer(string name, string path) => new
    {
        name,
        action = new { type = "call_api", config = new { url = peer.BaseUrl + path } },
        trigger = new { cron = "0 0 3 * * ?", timeZone = "UTC" },
        retry = new { maxAttempts = 1 },
    };

    private async Task SignInAsync(IPage page)
    {
        await page.GetByLabel("API key").FillAsync(adminKey);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        // Signing in lands on the home page; the tests here start from the schedules.
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Overview" })).ToBeVisibleAsync();
        await page.Locator("#nav").GetByRole(AriaRole.Link, new() { Name = "Schedules", Exact = true }).ClickAsync();
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
        var (page, errors) = await OpenAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Navigation, new() { Name = "Main" })).ToBeHiddenAsync();
        await page.GetByLabel("API key").FillAsync("orch_00000000_not-a-real-key");
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Alert)).ToContainTextAsync("refused");
        await ShotAsync(page, "sign-in-refused");

        await SignInAsync(page);
        await Assertions.Expect(page.GetByRole(AriaRole.Navigation, new() { Name = "Main" })).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign out" }).ClickAsync();
        await Assertions.Expect(page.GetByLabel("API key")).ToBeVisibleAsync();
        await AssertSignInSaysAsync(page, "Signed out.");
        Assert.That(Unexpected(errors, (401, "/api/cluster/nodes")), Is.Empty, string.Join("\n", errors));
        await page.CloseAsync();
    }

    /// <summary>The sign-in form shows <paramref name="message"/> once routing has settled, not just for a moment before the router redraws it.</summary>
    private static async Task AssertSignInSaysAsync(IPage page, string message)
    {
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("#/signin$"));
        await Assertions.Expect(page.Locator("#signin-error")).ToHaveTextAsync(message);
        await page.WaitForTimeoutAsync(500);
        Assert.That(await page.Locator("#signin-error").TextContentAsync(), Is.EqualTo(message), "the message is still there after routing");
    }

    [Test]
    public async Task A_key_refused_mid_session_signs_out_and_says_why()
    {
        var (page, errors) = await OpenAsync();
        await SignInAsync(page);
        // A key that stopped being one while the tab was open: the server's reason is shown.
        await page.EvaluateAsync("sessionStorage.setItem('orchestrator.apiKey', 'orch_00000000_revoked')");
        await page.GetByRole(AriaRole.Link, new() { Name = "Runs" }).ClickAsync();
        // The server says why (here: no such key), and the sign-in form repeats it.
        await AssertSignInSaysAsync(page, "The API key is not valid. Sign in again.");
        await ShotAsync(page, "sign-in-key-refused");
        Assert.That(Unexpected(errors, (401, "/api/runs")), Is.Empty, string.Join("\n", errors));
        await page.CloseAsync();

        // A real key revoked by an admin while its holder's tab is open: the holder is told it was revoked and when.
        var name = "revoked-mid-session-" + Guid.NewGuid().ToString("N")[..6];
        var created = await admin.PostForJsonAsync("/api/keys", new { name, role = "viewer" }, HttpStatusCode.Created);
        var (holder, holderErrors) = await OpenAsync();
        await holder.GetByLabel("API key").FillAsync(created.GetProperty("key").GetString()!);
        await holder.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(holder.GetByRole(AriaRole.Heading, new() { Name = "Overview" })).ToBeVisibleAsync();
        Assert.That((await admin.DeleteAsync($"/api/keys/{created.GetProperty("id").GetString()}")).StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        // To the runs page, unless the home page's refresh already met the revocation and signed out.
        await holder.EvaluateAsync("() => { if (location.hash !== '#/signin') location.hash = '#/runs'; }");
        await Assertions.Expect(holder).ToHaveURLAsync(new Regex("#/signin$"));
        await Assertions.Expect(holder.Locator("#signin-error")).ToContainTextAsync($"'{name}' was revoked at ");
        // The home page's refresh may meet the revocation first: a 401 on any of its requests is the one expected line.
        Assert.That(holderErrors.Where(e => !e.StartsWith("Failed to load resource: the server responded with a status of 401 ", StringComparison.Ordinal)),
            Is.Empty, string.Join("\n", holderErrors));
        await holder.CloseAsync();
    }

    [Test]
    public async Task The_key_is_kept_in_the_tabs_session_storage_only()
    {
        await using var context = await browser.NewContextAsync();
        var (page, errors) = await OpenAsync(context: context);
        await SignInAsync(page);
        Assert.That(await page.EvaluateAsync<int>("localStorage.length"), Is.Zero, "nothing in localStorage");
        Assert.That(await page.EvaluateAsync<bool>("key => Object.keys(localStorage).some(k => k.includes(key) || (localStorage.getItem(k) ?? '').includes(key))", adminKey), Is.False);
        Assert.That(await page.EvaluateAsync<string>("document.cookie"), Does.Not.Contain(adminKey));
        Assert.That(await page.EvaluateAsync<string?>("sessionStorage.getItem('orchestrator.apiKey')"), Is.EqualTo(adminKey));

        // Another tab of the same browser profile shares localStorage and cookies but not this tab's session storage.
        var (other, otherErrors) = await OpenAsync(context: context);
        await Assertions.Expect(other.GetByLabel("API key")).ToBeVisibleAsync();
        Assert.That(errors.Concat(otherErrors), Is.Empty, string.Join("\n", errors.Concat(otherErrors)));
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
        // The action types offered are the server's (GET /api/actions), in its order; noop is chosen for a new schedule.
        var served = (await admin.GetFromJsonAsync<JsonElement>("/api/actions")).EnumerateArray().Select(a => a.GetProperty("name").GetString()!).ToList();
        Assert.That(await page.GetByLabel("Action type").Locator("option").AllInnerTextsAsync(), Is.EqualTo(served));
        await Assertions.Expect(page.GetByLabel("Action type")).ToHaveValueAsync("noop");
        await page.GetByLabel("Time zone").FillAsync("Europe/Paris");
        await page.GetByLabel("When (an English phrase or a cron expression)").FillAsync("every weekday at 9:30");
        await Assertions.Expect(page.Locator("#preview")).ToContainTextAsync("at 09:30 on weekdays");
        await Assertions.Expect(page.Locator("#preview")).ToContainTextAsync("0 30 9 ? * MON-FRI");
        // The fire times are shown in the schedule's zone (09:30 in Paris), not converted to the browser's.
        Assert.That(await page.Locator("#preview li").First.InnerTextAsync(), Does.Contain("9:30").And.Not.Contain("8:30"));
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
    public async Task Schedules_are_created_from_phrases_that_are_not_cron()
    {
        var (page, errors) = await OpenAsync();
        var names = new[] { "ninety-minutes", "other-monday", "second-monday", "tomorrow-nine" };
        try
        {
            await SignInAsync(page);
            var when = page.GetByLabel("When (an English phrase or a cron expression)");
            async Task CreateAsync(string name, string phrase, string previewed)
            {
                await page.GetByRole(AriaRole.Link, new() { Name = "New schedule" }).ClickAsync();
                await page.GetByLabel("Name").FillAsync(name);
                await page.GetByLabel("Time zone").FillAsync("Europe/Paris");
                await when.FillAsync(phrase);
                await Assertions.Expect(page.Locator("#preview")).ToContainTextAsync(previewed);
            }

            async Task<JsonElement> SavedAsync(string name)
            {
                await page.GetByRole(AriaRole.Button, new() { Name = "Create" }).ClickAsync();
                await Assertions.Expect(page.Locator($"tr[data-schedule='default.{name}']")).ToHaveCountAsync(1);
                return (await admin.GetFromJsonAsync<JsonElement>($"/api/schedules/default.{name}")).GetProperty("trigger");
            }

            // An interval: 90 minutes does not divide the day, so no cron can hold it.
            await CreateAsync("ninety-minutes", "every 90 minutes", "interval");
            var interval = await SavedAsync("ninety-minutes");
            Assert.That(interval.GetProperty("intervalSeconds").GetInt64(), Is.EqualTo(5400));
            await Assertions.Expect(page.Locator("tr[data-schedule='default.ninety-minutes']")).ToContainTextAsync("every 90 minutes");

            // A calendar interval anchored on the next Monday at 10:00 in the form's zone.
            await CreateAsync("other-monday", "every other monday at 10", "calendar interval");
            var calendar = await SavedAsync("other-monday");
            Assert.That((calendar.GetProperty("every").GetInt32(), calendar.GetProperty("unit").GetString(), calendar.GetProperty("timeZone").GetString()), Is.EqualTo((2, "week", "Europe/Paris")));
            var start = TimeZoneInfo.ConvertTime(calendar.GetProperty("startAt").GetDateTimeOffset(), TimeZoneInfo.FindSystemTimeZoneById("Europe/Paris"));
            Assert.That((start.DayOfWeek, start.Hour, start.Minute), Is.EqualTo((DayOfWeek.Monday, 10, 0)));
            await ShotAsync(page, "schedule-calendar-interval");

            // An ambiguous phrase lists its other readings; the operator picks the second Monday of each month instead.
            await CreateAsync("second-monday", "every second monday at 10", "Could also mean");
            await page.Locator("#preview li", new() { HasText = "second Monday of the month" }).GetByRole(AriaRole.Button, new() { Name = "Use this" }).ClickAsync();
            await Assertions.Expect(page.Locator("#preview")).ToContainTextAsync("0 0 10 ? * MON#2");
            var chosen = await SavedAsync("second-monday");
            Assert.That(chosen.GetProperty("cron").GetString(), Is.EqualTo("0 0 10 ? * MON#2"));

            // A one-time trigger.
            await CreateAsync("tomorrow-nine", "tomorrow at 9", "one time");
            var once = await SavedAsync("tomorrow-nine");
            Assert.That(once.GetProperty("at").GetDateTimeOffset(), Is.GreaterThan(TimeProvider.System.GetUtcNow()));
            Assert.That(errors, Is.Empty, string.Join("\n", errors));
        }
        finally
        {
            foreach (var name in names)
            {
                await admin.DeleteAsync($"/api/schedules/default.{name}");
            }

            await page.CloseAsync();
        }
    }

    [Test]
    public async Task A_chosen_reading_is_saved_with_its_start_as_of_saving_not_as_of_reading()
    {
        // The form is kept open while a reading's start passes: the parse answers are made stale (a start and a one time in
        // 2020) until the operator has chosen; saving must read the phrase again and take the same reading, fresh.
        var (page, errors) = await OpenAsync();
        var stale = true;
        await page.RouteAsync("**/api/cron/parse", async route =>
        {
            var response = await route.FetchAsync();
            var body = JsonNode.Parse(await response.TextAsync())!;
            foreach (var alternative in stale ? body["alternatives"]?.AsArray() ?? [] : [])
            {
                var trigger = alternative!["trigger"]!.AsObject();
                foreach (var instant in new[] { "startAt", "at" }.Where(trigger.ContainsKey))
                {
                    trigger[instant] = "2020-01-06T10:00:00+01:00";
                }
            }

            await route.FulfillAsync(new RouteFulfillOptions { Response = response, Body = body.ToJsonString() });
        });
        var names = new[] { "stale-monday", "stale-once" };
        try
        {
            await SignInAsync(page);
            var when = page.GetByLabel("When (an English phrase or a cron expression)");
            async Task<JsonElement> ChooseAndSaveAsync(string name, string phrase, string reading)
            {
                stale = true;
                await page.GetByRole(AriaRole.Link, new() { Name = "New schedule" }).ClickAsync();
                await page.GetByLabel("Name").FillAsync(name);
                await page.GetByLabel("Time zone").FillAsync("Europe/Paris");
                await when.FillAsync(phrase);
                await page.Locator("#preview li", new() { HasText = reading }).GetByRole(AriaRole.Button, new() { Name = "Use this" }).ClickAsync();
                await Assertions.Expect(page.Locator("#preview .alternatives")).ToHaveCountAsync(0);
                stale = false;
                await page.GetByRole(AriaRole.Button, new() { Name = "Create" }).ClickAsync();
                await Assertions.Expect(page.Locator($"tr[data-schedule='default.{name}']")).ToHaveCountAsync(1);
                return (await admin.GetFromJsonAsync<JsonElement>($"/api/schedules/default.{name}")).GetProperty("trigger");
            }

            var fresh = await admin.PostForJsonAsync("/api/cron/parse", new { text = "every other monday at 10", timeZone = "Europe/Paris" }, HttpStatusCode.OK);
            var later = fresh.GetProperty("alternatives").EnumerateArray().Single(a => a.GetProperty("reading").GetString()!.Contains("starting a week later", StringComparison.Ordinal));
            var monday = await ChooseAndSaveAsync("stale-monday", "every other monday at 10", "starting a week later");
            Assert.That((monday.GetProperty("every").GetInt32(), monday.GetProperty("unit").GetString()), Is.EqualTo((2, "week")));
            Assert.That(monday.GetProperty("startAt").GetDateTimeOffset(), Is.EqualTo(later.GetProperty("trigger").GetProperty("startAt").GetDateTimeOffset()), "the reading chosen, as of saving");

            var once = await ChooseAndSaveAsync("stale-once", "at 9", "one time only");
            var at = once.GetProperty("at").GetDateTimeOffset();
            Assert.That(at, Is.GreaterThan(TimeProvider.System.GetUtcNow()).And.LessThan(TimeProvider.System.GetUtcNow().AddDays(1)));
            Assert.That(TimeZoneInfo.ConvertTime(at, TimeZoneInfo.FindSystemTimeZoneById("Europe/Paris")).Hour, Is.EqualTo(9));
            Assert.That(errors, Is.Empty, string.Join("\n", errors));
        }
        finally
        {
            foreach (var name in names)
            {
                await admin.DeleteAsync($"/api/schedules/default.{name}");
            }

            await page.CloseAsync();
        }
    }

    [Test]
    public async Task A_chosen_reading_no_longer_offered_when_saving_is_not_saved_and_says_so()
    {
        var (page, errors) = await OpenAsync();
        var offered = true;
        await page.RouteAsync("**/api/cron/parse", async route =>
        {
            var response = await route.FetchAsync();
            var body = JsonNode.Parse(await response.TextAsync())!;
            if (!offered)
            {
                body["alternatives"] = new JsonArray();
            }

            await route.FulfillAsync(new RouteFulfillOptions { Response = response, Body = body.ToJsonString() });
        });
        try
        {
            await SignInAsync(page);
            await page.GetByRole(AriaRole.Link, new() { Name = "New schedule" }).ClickAsync();
            await page.GetByLabel("Name").FillAsync("gone-reading");
            await page.GetByLabel("When (an English phrase or a cron expression)").FillAsync("every hour during business hours");
            await page.Locator("#preview li", new() { HasText = "firing at 17:00 as well" }).GetByRole(AriaRole.Button, new() { Name = "Use this" }).ClickAsync();
            await Assertions.Expect(page.Locator("#preview")).ToContainTextAsync("0 0 9-17 ? * MON-FRI");
            offered = false;
            await page.GetByRole(AriaRole.Button, new() { Name = "Create" }).ClickAsync();
            await Assertions.Expect(page.Locator("[data-error='trigger']")).ToContainTextAsync("no longer offered");
            await Assertions.Expect(page.Locator("#preview")).ToContainTextAsync("0 0 9-16 ? * MON-FRI");
            Assert.That((await admin.GetAsync("/api/schedules/default.gone-reading")).StatusCode, Is.EqualTo(HttpStatusCode.NotFound), "nothing the operator did not choose is saved");
            Assert.That(errors, Is.Empty, string.Join("\n", errors));
        }
        finally
        {
            await admin.DeleteAsync("/api/schedules/default.gone-reading");
            await page.CloseAsync();
        }
    }

    [Test]
    public async Task Editing_with_a_phrase_keeps_the_start_and_end_the_phrase_does_not_set()
    {
        var startAt = TimeProvider.System.GetUtcNow().AddDays(30).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
        var endAt = TimeProvider.System.GetUtcNow().AddDays(90).ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);
        await admin.CreateScheduleAsync(new { name = "bounded", action = new { type = "noop", config = new { } }, trigger = new { cron = "0 0 3 * * ?", timeZone = "UTC", startAt, endAt } });
        var (page, errors) = await OpenAsync();
        // An answer that spells out what it does not set (startAt: null) must not clear the schedule's own.
        await page.RouteAsync("**/api/cron/parse", async route =>
        {
            var response = await route.FetchAsync();
            var body = JsonNode.Parse(await response.TextAsync())!;
            body["trigger"]!["startAt"] = null;
            body["trigger"]!["endAt"] = null;
            await route.FulfillAsync(new RouteFulfillOptions { Response = response, Body = body.ToJsonString() });
        });
        try
        {
            await SignInAsync(page);
            await page.GetByRole(AriaRole.Link, new() { Name = "Edit bounded" }).ClickAsync();
            await page.GetByLabel("When (an English phrase or a cron expression)").FillAsync("every day at 4:15");
            await Assertions.Expect(page.Locator("#preview")).ToContainTextAsync("0 15 4 * * ?");
            await page.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
            await Assertions.Expect(page.Locator("tr[data-schedule='default.bounded']")).ToContainTextAsync("at 04:15 every day");
            var trigger = (await admin.GetFromJsonAsync<JsonElement>("/api/schedules/default.bounded")).GetProperty("trigger");
            Assert.That(trigger.GetProperty("cron").GetString(), Is.EqualTo("0 15 4 * * ?"));
            Assert.That(trigger.GetProperty("startAt").GetDateTimeOffset(), Is.EqualTo(DateTimeOffset.Parse(startAt, System.Globalization.CultureInfo.InvariantCulture)));
            Assert.That(trigger.GetProperty("endAt").GetDateTimeOffset(), Is.EqualTo(DateTimeOffset.Parse(endAt, System.Globalization.CultureInfo.InvariantCulture)));
            Assert.That(errors, Is.Empty, string.Join("\n", errors));
        }
        finally
        {
            await admin.DeleteAsync("/api/schedules/default.bounded");
            await page.CloseAsync();
        }
    }

    [Test]
    public async Task Validation_errors_from_the_api_appear_beside_their_fields()
    {
        var (page, errors) = await OpenAsync();
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
        // The refused create and the unreadable phrase are 422s on purpose; anything else logged is a fault.
        Assert.That(Unexpected(errors, (422, "/api/schedules"), (422, "/api/cron/parse")), Is.Empty, string.Join("\n", errors));
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
        // The pause button asks why; the answer is kept by Quartz and shown under the state.
        page.Dialog += (_, dialog) => dialog.AcceptAsync("nightly maintenance");
        await page.GetByRole(AriaRole.Button, new() { Name = "Pause toggle-me" }).ClickAsync();
        await Assertions.Expect(state).ToContainTextAsync("paused");
        await Assertions.Expect(state).ToContainTextAsync("nightly maintenance");
        var paused = await admin.GetFromJsonAsync<JsonElement>("/api/schedules/default.toggle-me");
        Assert.That(paused.GetProperty("state").GetString(), Is.EqualTo("paused"));
        Assert.That(paused.GetProperty("pausedReason").GetString(), Is.EqualTo("nightly maintenance"));
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
        // A group, not an image: an image's children are hidden from assistive technology, and the nodes are buttons.
        await Assertions.Expect(page.GetByRole(AriaRole.Group, new() { Name = "Pipeline graph" })).ToBeVisibleAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = "Node extract" }).FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        await Assertions.Expect(page.Locator("#node-detail")).ToContainTextAsync("\"noop\"");
        await ShotAsync(page, "pipeline");

        await page.Locator($"a[href='#/pipeline-runs/{runId}']").ClickAsync();
        await Assertions.Expect(page.Locator(".node[data-node='load']")).ToHaveAttributeAsync("data-status", "succeeded");
        await Assertions.Expect(page.Locator(".node[data-node='check']")).ToHaveAttributeAsync("data-status", "succeeded");
        await Assertions.Expect(page.Locator(".node[data-node='notify']")).ToHaveAttributeAsync("data-status", "skipped");
        await page.GetByRole(AriaRole.Button, new() { Name = "Node notify, skipped" }).FocusAsync();
        await page.Keyboard.PressAsync("Enter");
        await Assertions.Expect(page.Locator("#node-detail")).ToContainTextAsync("no incoming branch was taken");
        await page.GetByRole(AriaRole.Button, new() { Name = "Node check, succeeded" }).FocusAsync();
        await page.Keyboard.PressAsync(" ");
        await Assertions.Expect(page.Locator("#node-detail h2").First).ToContainTextAsync("check");
        await page.Locator(".node[data-node='notify']").ClickAsync();
        await Assertions.Expect(page.Locator("#node-detail")).ToContainTextAsync("no incoming branch was taken");
        await ShotAsync(page, "pipeline-run");
        Assert.That(errors, Is.Empty, string.Join("\n", errors));
        await page.CloseAsync();
    }

    [Test]
    public async Task The_runs_list_pages_shows_full_ids_and_durations_and_puts_a_backfill_first()
    {
        // Backfill covers fire times since the trigger's start: begin it two hours ago.
        var now = TimeProvider.System.GetUtcNow();
        await admin.CreateScheduleAsync(new
        {
            name = "paged",
            action = new { type = "noop", config = new { } },
            trigger = new { cron = "0 * * * * ?", timeZone = "UTC", startAt = now.AddHours(-2).ToString("O", System.Globalization.CultureInfo.InvariantCulture) },
            misfire = new { policy = "skip" },
        });
        var backfill = await admin.PostForJsonAsync("/api/schedules/default.paged/backfill", new { from = now.AddMinutes(-66), to = now.AddMinutes(-1) }, HttpStatusCode.OK);
        var scheduled = backfill.GetProperty("scheduled").GetInt32();
        Assert.That(scheduled, Is.GreaterThan(50), "more runs than one page holds");
        var total = 0;
        await Poll.UntilAsync(
            async () =>
            {
                var all = await admin.GetFromJsonAsync<JsonElement>("/api/runs?scheduleId=default.paged&pageSize=1");
                var done = await admin.GetFromJsonAsync<JsonElement>("/api/runs?scheduleId=default.paged&status=succeeded&pageSize=1");
                return (all.GetProperty("total").GetInt32(), done.GetProperty("total").GetInt32());
            },
            counts => (total = counts.Item1) == scheduled && counts.Item2 == scheduled,
            TimeSpan.FromSeconds(60),
            "every backfilled run finished");

        var (page, errors) = await OpenAsync();
        await SignInAsync(page);
        await page.GotoAsync($"{server.BaseAddress}#/runs?schedule=default.paged");
        var rows = page.Locator("#run-rows tr");
        await Assertions.Expect(rows).ToHaveCountAsync(50);
        await Assertions.Expect(page.Locator("#run-pager")).ToContainTextAsync($"Page 1 of 2 · {total} runs");
        var firstId = await rows.First.Locator("code").InnerTextAsync();
        Assert.That(firstId, Does.Match("^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$"), "the whole UUIDv7, not a prefix every row shares");
        var ids = await rows.Locator("code").AllInnerTextsAsync();
        Assert.That(ids.Distinct().Count(), Is.EqualTo(50));
        Assert.That(await rows.First.Locator("td").Nth(6).InnerTextAsync(), Does.Match(@"^\d+(\.\d)? m?s$"), "a finished run's duration");
        await ShotAsync(page, "runs-paged");

        await page.GetByRole(AriaRole.Link, new() { Name = "Older →" }).ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("page=2"));
        await Assertions.Expect(rows).ToHaveCountAsync(total - 50);
        Assert.That((await rows.Locator("code").AllInnerTextsAsync()).Intersect(ids), Is.Empty, "page 2 repeats nothing of page 1");

        // Newest written first by default: a backfill made now for an hour ago leads the unfiltered list.
        await page.GotoAsync($"{server.BaseAddress}#/runs");
        await Assertions.Expect(rows.First).ToContainTextAsync("default.paged");
        Assert.That(errors, Is.Empty, string.Join("\n", errors));
        await page.CloseAsync();
    }

    [Test]
    public async Task The_runs_list_narrows_to_a_schedule_and_to_a_status()
    {
        peer.Configure("/filter-broken", new RecordingHttpServer.Behaviour(TimeSpan.Zero, Status: 500));
        await admin.CreateScheduleAsync(Noop("filter-fine"));
        await admin.CreateScheduleAsync(CallPeer("filter-broken", "/filter-broken"));
        await admin.PostForJsonAsync("/api/schedules/default.filter-fine/run", null, HttpStatusCode.Accepted);
        await admin.PostForJsonAsync("/api/schedules/default.filter-broken/run", null, HttpStatusCode.Accepted);
        await Poll.UntilAsync(() => admin.RunsAsync("default.filter-fine"), r => r.Count == 1 && r[0].Status() == "succeeded", TimeSpan.FromSeconds(20), "the noop run");
        await Poll.UntilAsync(() => admin.RunsAsync("default.filter-broken"), r => r.Count == 1 && r[0].Status() == "failed", TimeSpan.FromSeconds(20), "the failing call");

        var (page, errors) = await OpenAsync();
        await SignInAsync(page);
        await page.GetByRole(AriaRole.Link, new() { Name = "Runs" }).ClickAsync();
        var rows = page.Locator("#run-rows tr");
        await Assertions.Expect(rows.Filter(new() { HasText = "default.filter-fine" })).ToHaveCountAsync(1);
        await Assertions.Expect(rows.Filter(new() { HasText = "default.filter-broken" })).ToHaveCountAsync(1);

        // Applied on Enter (no Filter button): the box names one schedule exactly, so no prefix of it is asked for.
        await page.GetByLabel("Schedule", new() { Exact = true }).FillAsync("default.filter-fine");
        await page.GetByLabel("Schedule", new() { Exact = true }).PressAsync("Enter");
        await Assertions.Expect(page).ToHaveURLAsync(new Regex(@"#/runs\?schedule=default\.filter-fine$"));
        await Assertions.Expect(rows.Filter(new() { HasText = "default.filter-fine" })).ToHaveCountAsync(1);
        await Assertions.Expect(rows).ToHaveCountAsync(1);
        await ShotAsync(page, "runs-filtered-by-schedule");

        await page.GetByLabel("Schedule", new() { Exact = true }).FillAsync("");
        await page.GetByLabel("Status", new() { Exact = true }).SelectOptionAsync("failed");
        await Assertions.Expect(page).ToHaveURLAsync(new Regex(@"#/runs\?status=failed$"));
        await Assertions.Expect(rows.Filter(new() { HasText = "default.filter-broken" })).ToHaveCountAsync(1);
        await Assertions.Expect(rows.Filter(new() { HasNotText = "failed" })).ToHaveCountAsync(0);
        await ShotAsync(page, "runs-filtered-by-status");
        Assert.That(errors, Is.Empty, string.Join("\n", errors));
        await page.CloseAsync();
    }

    [Test]
    public async Task A_run_page_follows_the_run_until_it_finishes_and_never_paints_over_a_newer_page()
    {
        // Long enough to still be running after a sign-in on a busy machine; the page then shows the end by itself.
        peer.Configure("/slow-ok", new RecordingHttpServer.Behaviour(TimeSpan.FromSeconds(20)));
        await admin.CreateScheduleAsync(CallPeer("slow-ok", "/slow-ok"));
        var runId = (await admin.PostForJsonAsync("/api/schedules/default.slow-ok/run", null, HttpStatusCode.Accepted)).GetProperty("id").GetString();
        var (page, errors) = await OpenAsync();
        await SignInAsync(page);
        await page.GotoAsync($"{server.BaseAddress}#/runs/{runId}");
        var status = page.Locator("main h1 .status");
        await Assertions.Expect(status).ToHaveTextAsync("running", new() { Timeout = 15_000 });

        // Leave while it runs: a poll due now must not draw the run over the Cluster page.
        await page.GetByRole(AriaRole.Link, new() { Name = "Cluster" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Cluster" })).ToBeVisibleAsync();
        await page.WaitForTimeoutAsync(2500);
        await Assertions.Expect(page.Locator("main h1")).ToHaveTextAsync("Cluster");

        await page.GoBackAsync();
        await Assertions.Expect(status).ToHaveTextAsync("running");
        // No reload: the page polls and shows the end by itself.
        await Assertions.Expect(status).ToHaveTextAsync("succeeded", new() { Timeout = 40_000 });
        await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Cancel run" })).ToHaveCountAsync(0);
        await Assertions.Expect(page.Locator("main")).ToContainTextAsync("/slow-ok");
        Assert.That(errors, Is.Empty, string.Join("\n", errors));
        await page.CloseAsync();
    }

    [Test]
    public async Task A_running_call_is_cancelled_from_its_run_page()
    {
        peer.Configure("/slow-cancel", new RecordingHttpServer.Behaviour(TimeSpan.FromSeconds(60)));
        await admin.CreateScheduleAsync(CallPeer("slow-cancel", "/slow-cancel"));
        var runId = (await admin.PostForJsonAsync("/api/schedules/default.slow-cancel/run", null, HttpStatusCode.Accepted)).GetProperty("id").GetString();
        await peer.WaitForRequestsAsync("/slow-cancel", 1, TimeSpan.FromSeconds(15), includeInFlight: true);

        var (page, errors) = await OpenAsync();
        await SignInAsync(page);
        await page.GetByRole(AriaRole.Link, new() { Name = "Runs" }).ClickAsync();
        await page.Locator($"a[href='#/runs/{runId}']").ClickAsync();
        var status = page.Locator("main h1 .status");
        await Assertions.Expect(status).ToHaveTextAsync("running", new() { Timeout = 15_000 });
        await ShotAsync(page, "run-running");
        await page.GetByRole(AriaRole.Button, new() { Name = "Cancel run" }).ClickAsync();
        await Assertions.Expect(status).ToHaveTextAsync("cancelled", new() { Timeout = 15_000 });
        await Assertions.Expect(page.GetByRole(AriaRole.Button, new() { Name = "Cancel run" })).ToHaveCountAsync(0);
        await ShotAsync(page, "run-cancelled");
        Assert.That((await admin.GetFromJsonAsync<JsonElement>($"/api/runs/{runId}")).Status(), Is.EqualTo("cancelled"));
        Assert.That(errors, Is.Empty, string.Join("\n", errors));
        await page.CloseAsync();
    }

    [Test]
    public async Task A_misfire_is_listed_on_the_cluster_page()
    {
        // Paused across several fire times and resumed: Quartz applies the misfire instruction and records the misfire.
        var schedule = Noop("misses", "*/2 * * * * ?");
        schedule["misfire"] = new { policy = "fire_once", thresholdSeconds = 1 };
        await admin.CreateScheduleAsync(schedule);
        try
        {
            await admin.PostForJsonAsync("/api/schedules/default.misses/pause", null, HttpStatusCode.OK);
            await Task.Delay(TimeSpan.FromSeconds(5));
            await admin.PostForJsonAsync("/api/schedules/default.misses/resume", null, HttpStatusCode.OK);
            await Poll.UntilAsync(() => admin.GetFromJsonAsync<JsonElement>("/api/schedules/default.misses/misfires"), m => m.GetProperty("items").GetArrayLength() >= 1, TimeSpan.FromSeconds(15), "a recorded misfire");
            await admin.PostForJsonAsync("/api/schedules/default.misses/pause", null, HttpStatusCode.OK);

            // The cluster-wide list has it too, with its schedule, in the same words as the schedule's own list.
            var all = await admin.GetFromJsonAsync<JsonElement>("/api/cluster/misfires");
            var ownPage = await admin.GetFromJsonAsync<JsonElement>("/api/schedules/default.misses/misfires");
            // The schedule's list answers the cluster list's envelope, not a bare array.
            Assert.That(ownPage.GetProperty("pageSize").GetInt32(), Is.EqualTo(100));
            Assert.That(ownPage.GetProperty("hasMore").GetBoolean(), Is.False, ownPage.ToString());
            var own = ownPage.GetProperty("items");
            var ownOne = await admin.GetFromJsonAsync<JsonElement>("/api/schedules/default.misses/misfires?pageSize=1");
            Assert.That(ownOne.GetProperty("items").GetArrayLength(), Is.EqualTo(1));
            Assert.That(ownOne.GetProperty("hasMore").GetBoolean(), Is.EqualTo(own.GetArrayLength() > 1), ownOne.ToString());
            // The same envelope as every other list: items, pageSize, and whether older ones were left out.
            Assert.That(all.GetProperty("pageSize").GetInt32(), Is.EqualTo(100));
            var one = await admin.GetFromJsonAsync<JsonElement>("/api/cluster/misfires?pageSize=1");
            Assert.That(one.GetProperty("items").GetArrayLength(), Is.EqualTo(1));
            Assert.That(one.GetProperty("hasMore").GetBoolean(), Is.EqualTo(all.GetProperty("items").GetArrayLength() > 1 || all.GetProperty("hasMore").GetBoolean()),
                "a page of one says older misfires exist exactly when the larger page shows them");
            var listed = all.GetProperty("items").EnumerateArray().Where(m => m.GetProperty("schedule").GetString() == "default.misses").ToList();
            Assert.That(listed, Has.Count.EqualTo(own.GetArrayLength()));
            Assert.That(listed[0].GetProperty("reason").GetString(), Is.EqualTo(own[0].GetProperty("reason").GetString()));
            Assert.That(all.GetProperty("items").EnumerateArray().Select(m => m.GetProperty("schedule").GetString()), Has.None.StartsWith("_"), "the server's own jobs are not schedules");
            await ApiAssertions.AssertProblemAsync(await admin.GetAsync("/api/cluster/misfires?pageSize=0"), HttpStatusCode.UnprocessableEntity);

            var (page, errors) = await OpenAsync();
            await SignInAsync(page);
            var misfireRequests = new List<string>();
            page.Request += (_, request) =>
            {
                if (request.Url.Contains("misfires", StringComparison.Ordinal))
                {
                    misfireRequests.Add(request.Url);
                }
            };
            await page.GetByRole(AriaRole.Link, new() { Name = "Cluster" }).ClickAsync();
            await Assertions.Expect(page.GetByRole(AriaRole.Table, new() { Name = "Cluster nodes" })).ToContainTextAsync("yes");
            await Assertions.Expect(page.GetByRole(AriaRole.Table, new() { Name = "Misfires" }).Locator("tbody tr", new() { HasText = "default.misses" }).First).ToBeVisibleAsync();
            Assert.That(misfireRequests, Has.Count.EqualTo(1).And.All.Contain("/api/cluster/misfires"), "one request for every schedule's misfires, not one per schedule");
            await ShotAsync(page, "cluster");
            Assert.That(errors, Is.Empty, string.Join("\n", errors));
            await page.CloseAsync();
        }
        finally
        {
            await admin.DeleteAsync("/api/schedules/default.misses");
        }
    }

    [Test]
    public async Task Every_page_fits_a_phone_without_console_errors()
    {
        var (page, errors) = await OpenAsync(390, 844);
        await SignInAsync(page);
        foreach (var (hash, name) in new[] { ("#/", "phone-home"), ("#/schedules", "phone-schedules"), ("#/runs", "phone-runs"), ("#/pipelines", "phone-pipelines"), ("#/cluster", "phone-cluster"), ("#/schedules/new", "phone-new-schedule") })
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

        // A schedule's state and its buttons are on screen at 390 px, not scrolled off to the right of its table.
        await admin.CreateScheduleAsync(Noop("phone-visible"));
        await page.GotoAsync(server.BaseAddress + "#/schedules");
        var row = page.Locator("tr[data-schedule='default.phone-visible']");
        foreach (var cell in new[] { row.Locator("[data-col='state']"), row.GetByRole(AriaRole.Button, new() { Name = "Run phone-visible now" }), row.GetByRole(AriaRole.Button, new() { Name = "Delete phone-visible" }) })
        {
            var box = await cell.BoundingBoxAsync();
            Assert.That(box, Is.Not.Null);
            Assert.That(box!.X + box.Width, Is.LessThanOrEqualTo(390), "inside the phone's width");
        }

        await ShotAsync(page, "phone-schedules-row");
        Assert.That(errors, Is.Empty, string.Join("\n", errors));
        await page.CloseAsync();
    }

    [Test]
    public async Task Navigating_moves_focus_to_the_new_pages_heading()
    {
        var (page, errors) = await OpenAsync();
        await SignInAsync(page);
        foreach (var (link, heading) in new[] { ("Home", "Overview"), ("Runs", "Runs"), ("Pipelines", "Pipelines"), ("Cluster", "Cluster"), ("Schedules", "Schedules") })
        {
            await page.Locator("#nav").GetByRole(AriaRole.Link, new() { Name = link, Exact = true }).ClickAsync();
            await Assertions.Expect(page.Locator("main h1")).ToHaveTextAsync(heading);
            await Assertions.Expect(page.Locator("main h1")).ToBeFocusedAsync();
        }

        Assert.That(errors, Is.Empty, string.Join("\n", errors));
        await page.CloseAsync();
    }

    [Test]
    public async Task An_edge_that_skips_a_column_is_routed_around_the_node_in_between()
    {
        object Noop(string id) => new { id, type = "action", action = new { type = "noop", config = new { } } };
        await admin.PostForJsonAsync("/api/pipelines", new
        {
            id = "skipping",
            name = "Skipping",
            nodes = new[] { Noop("first"), Noop("middle"), Noop("last") },
            edges = new object[] { new { from = "first", to = "middle" }, new { from = "middle", to = "last" }, new { from = "first", to = "last" } },
        }, HttpStatusCode.Created);

        var (page, errors) = await OpenAsync();
        await SignInAsync(page);
        await page.GotoAsync($"{server.BaseAddress}#/pipelines/skipping");
        await Assertions.Expect(page.Locator(".dag .edge")).ToHaveCountAsync(3);
        // Sample the first → last edge along its length: no point may fall inside the middle node's box.
        var inside = await page.EvaluateAsync<int>("""
            () => {
              const rect = document.querySelector(".node[data-node='middle'] rect");
              const [x, y, w, h] = ["x", "y", "width", "height"].map((a) => Number(rect.getAttribute(a)));
              const edge = [...document.querySelectorAll(".dag .edge")].find((p) => p.querySelector("title").textContent === "first → last");
              let hits = 0;
              const length = edge.getTotalLength();
              for (let i = 0; i <= 200; i++) {
                const p = edge.getPointAtLength((length * i) / 200);
                if (p.x > x && p.x < x + w && p.y > y && p.y < y + h) hits++;
              }
              return hits;
            }
            """);
        Assert.That(inside, Is.Zero, "the edge from first to last does not cross the middle node");
        await ShotAsync(page, "pipeline-skipping-edge");
        Assert.That(errors, Is.Empty, string.Join("\n", errors));
        await page.CloseAsync();
    }

    [Test]
    public async Task A_pipeline_runs_with_the_inputs_typed_and_a_bad_object_is_refused_beside_the_field()
    {
        await admin.PostForJsonAsync("/api/pipelines", new
        {
            id = "with-inputs",
            name = "With inputs",
            nodes = new[] { new { id = "only", type = "action", action = new { type = "noop", config = new { } } } },
        }, HttpStatusCode.Created);

        var (page, errors) = await OpenAsync();
        await SignInAsync(page);
        await page.GotoAsync($"{server.BaseAddress}#/pipelines/with-inputs");
        var field = page.GetByLabel("Inputs (a JSON object; nodes read them as {{inputs.…}})");
        await field.FillAsync("[1, 2]");
        await page.GetByRole(AriaRole.Button, new() { Name = "Run now" }).ClickAsync();
        await Assertions.Expect(page.Locator("#pipeline-inputs-error")).ToContainTextAsync("must be a JSON object");
        await Assertions.Expect(field).ToHaveAttributeAsync("aria-invalid", "true");
        var none = await admin.GetFromJsonAsync<JsonElement>("/api/pipelines/with-inputs/runs");
        Assert.That(none.GetProperty("total").GetInt32(), Is.Zero, "nothing ran");

        await field.FillAsync("""{"day": "2026-12-01", "limit": 3}""");
        await page.GetByRole(AriaRole.Button, new() { Name = "Run now" }).ClickAsync();
        await Assertions.Expect(page).ToHaveURLAsync(new Regex("#/pipeline-runs/"));
        var runs = await admin.GetFromJsonAsync<JsonElement>("/api/pipelines/with-inputs/runs");
        var inputs = runs.GetProperty("items")[0].GetProperty("inputs");
        Assert.That(inputs.GetProperty("day").GetString(), Is.EqualTo("2026-12-01"));
        Assert.That(inputs.GetProperty("limit").GetInt32(), Is.EqualTo(3));

        // Back on the pipeline, the last run's inputs are offered again.
        await page.GotoAsync($"{server.BaseAddress}#/pipelines/with-inputs");
        await Assertions.Expect(field).ToHaveValueAsync(new Regex("\"day\": \"2026-12-01\""));
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
