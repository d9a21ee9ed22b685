using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Dashboard;

/// <summary>
/// The schedule form in headless Chromium against a real server on PostgreSQL: one schedule of each trigger form made
/// through it (with every option and a config generated from the action's schema) and read back through the API; an
/// error in a nested config field shown beside that field; an edit saved unchanged changes nothing; the test run shows
/// the rendered action and sends nothing; the form fits a phone. Screenshots at 1366 px and 390 px are attachments.
/// </summary>
[TestFixture]
[Category("Browser")]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class ScheduleFormTests
{
    private const string ChromiumPath = "/usr/bin/chromium";
    private const string Token = "tkn-3f7a0c51-form-secret";
    private InProcessServer server = null!;
    private RecordingHttpServer peer = null!;
    private HttpClient admin = null!;
    private string adminKey = null!;
    private IPlaywright playwright = null!;
    private IBrowser browser = null!;

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
        var database = await TestPostgres.CreateDatabaseAsync("scheduleform");
        server = InProcessServer.Start(PostgresNode.Environment(database, new Dictionary<string, string?>
        {
            ["Orchestrator__Outbound__AllowedHosts__0"] = "127.0.0.1",
            ["Orchestrator__Secrets__API_TOKEN"] = Token,
        }), listenOnLoopback: true);
        await server.WaitUntilReadyAsync();
        adminKey = server.PrintedAdminKey!;
        admin = server.CreateClient(adminKey);
        await admin.PostForJsonAsync("/api/channels", new { name = "form-hook", kind = "webhook", webhook = new { url = $"{peer.BaseUrl}/form-hook" } }, HttpStatusCode.Created);
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

    private async Task<(IPage Page, List<string> Errors)> OpenAsync(int width = 1366, int height = 900)
    {
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = width, Height = height } });
        var errors = new List<string>();
        page.Console += (_, message) =>
        {
            if (message.Type == "error")
            {
                errors.Add($"{message.Text} @ {message.Location}");
            }
        };
        page.PageError += (_, error) => errors.Add(error);
        // Signing in returns to the page asked for (the home page when none was).
        await page.GotoAsync($"{server.BaseAddress}#/schedules");
        await page.GetByLabel("API key").FillAsync(adminKey);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Schedules" })).ToBeVisibleAsync();
        return (page, errors);
    }

    /// <summary>The console errors left once Chromium's line for each request refused on purpose (status, path) is removed.</summary>
    private List<string> Unexpected(List<string> errors, params (int Status, string Path)[] refused) =>
        [.. errors.Where(e => !refused.Any(r =>
            e.StartsWith($"Failed to load resource: the server responded with a status of {r.Status} ", StringComparison.Ordinal)
            && Regex.IsMatch(e, $@" @ {Regex.Escape(new Uri(server.BaseAddress, r.Path).ToString())}(?:[?:]|$)")))];

    private static async Task ShotAsync(IPage page, string name)
    {
        var directory = Path.Combine(TestContext.CurrentContext.WorkDirectory, "screenshots");
        Directory.CreateDirectory(directory);
        var file = Path.Combine(directory, $"{name}.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = file, FullPage = true });
        TestContext.AddTestAttachment(file, name);
    }

    private static string Iso(DateTimeOffset instant) => instant.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>A config field generated from the schema, by its property name (its label starts with it).</summary>
    private static ILocator Config(IPage page, string property) => page.Locator("#action-config").GetByLabel(new Regex($"^{Regex.Escape(property)}\\b"));

    private static async Task NewAsync(IPage page, string name)
    {
        await page.GotoAsync(page.Url.Split('#')[0] + "#/schedules/new");
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "New schedule" })).ToBeVisibleAsync();
        await page.GetByLabel("Name", new() { Exact = true }).FillAsync(name);
    }

    private static async Task CreateAsync(IPage page, string name)
    {
        await page.GetByRole(AriaRole.Button, new() { Name = "Create", Exact = true }).ClickAsync();
        await Assertions.Expect(page.Locator($"tr[data-schedule='default.{name}']")).ToHaveCountAsync(1);
    }

    private async Task<JsonElement> ReadAsync(string name) => await admin.GetFromJsonAsync<JsonElement>($"/api/schedules/default.{name}");

    [Test]
    public async Task One_schedule_of_each_trigger_form_is_made_through_the_form_with_every_option()
    {
        var (page, errors) = await OpenAsync();
        var names = new[] { "form-cron", "form-interval", "form-once", "form-calendar" };
        try
        {
            // Cron, with every option, and a call_api config typed into the fields its schema generates.
            await NewAsync(page, "form-cron");
            await page.GetByLabel("When (an English phrase or a cron expression)").FillAsync("0 15 3 ? * MON-FRI");
            await page.GetByLabel("Time zone").FillAsync("Europe/Paris");
            await Assertions.Expect(page.Locator("#preview")).ToContainTextAsync("0 15 3 ? * MON-FRI");
            await page.GetByLabel("Action type").SelectOptionAsync("call_api");
            await Config(page, "method").SelectOptionAsync("POST");
            await Config(page, "url").FillAsync($"{peer.BaseUrl}/form-call");
            await page.GetByRole(AriaRole.Button, new() { Name = "Add an entry to headers" }).ClickAsync();
            await page.GetByLabel("headers key 1").FillAsync("Authorization");
            await page.GetByLabel("headers value 1").FillAsync("Bearer {{secret:API_TOKEN}}");
            foreach (var (code, n) in new[] { ("200", 1), ("202", 2) })
            {
                await page.GetByRole(AriaRole.Button, new() { Name = "Add an item to acceptedStatusCodes" }).ClickAsync();
                await page.GetByLabel($"acceptedStatusCodes {n}", new() { Exact = true }).FillAsync(code);
            }

            await Config(page, "body").FillAsync("{\"report\": {\"day\": \"monday\"}}");
            await Config(page, "timeoutSeconds").FillAsync("20");
            await page.GetByLabel("Misfire policy").SelectOptionAsync("catch_up");
            await page.GetByLabel("Misfire threshold (seconds)").FillAsync("120");
            await page.GetByLabel("When a run is still going at the next fire time").SelectOptionAsync("skip");
            await page.GetByLabel("Retry: most attempts").FillAsync("3");
            await page.GetByLabel("Retry: backoff").SelectOptionAsync("fixed");
            await page.GetByLabel("Retry: first delay (seconds)").FillAsync("10");
            await page.GetByLabel("Retry: longest delay (seconds)").FillAsync("60");
            await page.GetByLabel("Run timeout (seconds)").FillAsync("300");
            await page.GetByLabel("Execution group").FillAsync("reports");
            await page.GetByLabel("Jitter (seconds)").FillAsync("30");
            await page.GetByLabel("Enabled", new() { Exact = true }).SelectOptionAsync("false");
            await page.GetByLabel("Description").FillAsync("made through the form");
            await ShotAsync(page, "schedule-form-full-1366");
            await CreateAsync(page, "form-cron");
            var cron = await ReadAsync("form-cron");
            Assert.That(cron.GetProperty("trigger").GetProperty("cron").GetString(), Is.EqualTo("0 15 3 ? * MON-FRI"));
            Assert.That(cron.GetProperty("trigger").GetProperty("timeZone").GetString(), Is.EqualTo("Europe/Paris"));
            var expectedConfig = JsonNode.Parse($$$"""
                { "method": "POST", "url": "{{{peer.BaseUrl}}}/form-call", "headers": { "Authorization": "Bearer {{secret:API_TOKEN}}" },
                  "body": { "report": { "day": "monday" } }, "timeoutSeconds": 20, "acceptedStatusCodes": [200, 202] }
                """);
            Assert.That(JsonNode.DeepEquals(JsonNode.Parse(cron.GetProperty("action").GetProperty("config").GetRawText()), expectedConfig), Is.True, cron.GetProperty("action").ToString());
            Assert.That(cron.GetProperty("misfire").GetProperty("policy").GetString(), Is.EqualTo("catch_up"));
            Assert.That(cron.GetProperty("misfire").GetProperty("thresholdSeconds").GetInt32(), Is.EqualTo(120));
            Assert.That(cron.GetProperty("concurrency").GetString(), Is.EqualTo("skip"));
            var retry = cron.GetProperty("retry");
            Assert.That((retry.GetProperty("maxAttempts").GetInt32(), retry.GetProperty("backoff").GetString(), retry.GetProperty("initialDelaySeconds").GetInt32(), retry.GetProperty("maxDelaySeconds").GetInt32()),
                Is.EqualTo((3, "fixed", 10, 60)));
            Assert.That(cron.GetProperty("timeoutSeconds").GetInt32(), Is.EqualTo(300));
            Assert.That(cron.GetProperty("executionGroup").GetString(), Is.EqualTo("reports"));
            Assert.That(cron.GetProperty("jitterSeconds").GetInt32(), Is.EqualTo(30));
            Assert.That(cron.GetProperty("enabled").GetBoolean(), Is.False);
            Assert.That(cron.GetProperty("state").GetString(), Is.EqualTo("paused"));
            Assert.That(cron.GetProperty("description").GetString(), Is.EqualTo("made through the form"));

            // An interval as an ISO-8601 duration, with a run count.
            await NewAsync(page, "form-interval");
            await page.GetByLabel("Trigger form").SelectOptionAsync("interval");
            await page.Locator("#f-interval").FillAsync("PT90M");
            await page.Locator("#f-max-runs").FillAsync("5");
            await Assertions.Expect(page.Locator("#preview li")).ToHaveCountAsync(5);
            await CreateAsync(page, "form-interval");
            var interval = (await ReadAsync("form-interval")).GetProperty("trigger");
            Assert.That((interval.GetProperty("interval").GetString(), interval.GetProperty("maxRuns").GetInt32()), Is.EqualTo(("PT90M", 5)));
            Assert.That(interval.TryGetProperty("timeZone", out _), Is.False, "an interval takes no zone");

            // One time, with a notification whose fields come from send_notification's schema.
            var at = Iso(TimeProvider.System.GetUtcNow().AddDays(2));
            await NewAsync(page, "form-once");
            await page.GetByLabel("Trigger form").SelectOptionAsync("once");
            await Assertions.Expect(page.Locator("#f-start")).ToBeHiddenAsync();
            await page.Locator("#f-at").FillAsync(at);
            await page.GetByLabel("Action type").SelectOptionAsync("send_notification");
            // The channel is chosen from the server's channels, not typed.
            await Config(page, "channel").SelectOptionAsync("form-hook");
            await Config(page, "message").FillAsync("Run {{run.id}} of {{schedule.name}}");
            await Config(page, "severity").SelectOptionAsync("warning");
            await CreateAsync(page, "form-once");
            var once = await ReadAsync("form-once");
            Assert.That(once.GetProperty("trigger").GetProperty("at").GetDateTimeOffset(), Is.EqualTo(DateTimeOffset.Parse(at, CultureInfo.InvariantCulture)));
            Assert.That(JsonNode.DeepEquals(JsonNode.Parse(once.GetProperty("action").GetRawText()),
                JsonNode.Parse("""{"type":"send_notification","config":{"channel":"form-hook","message":"Run {{run.id}} of {{schedule.name}}","severity":"warning"}}""")), Is.True, once.ToString());

            // A calendar interval: every 2 weeks from a start, in a zone.
            var start = Iso(TimeProvider.System.GetUtcNow().AddDays(3));
            await NewAsync(page, "form-calendar");
            await page.GetByLabel("Trigger form").SelectOptionAsync("calendar");
            await page.Locator("#f-every").FillAsync("2");
            await page.Locator("#f-unit").SelectOptionAsync("week");
            await page.GetByLabel("Time zone").FillAsync("Europe/Paris");
            await page.Locator("#f-start").FillAsync(start);
            await Assertions.Expect(page.Locator("#preview li")).ToHaveCountAsync(5);
            await CreateAsync(page, "form-calendar");
            var calendar = (await ReadAsync("form-calendar")).GetProperty("trigger");
            Assert.That((calendar.GetProperty("every").GetInt32(), calendar.GetProperty("unit").GetString(), calendar.GetProperty("timeZone").GetString()), Is.EqualTo((2, "week", "Europe/Paris")));
            Assert.That(calendar.GetProperty("startAt").GetDateTimeOffset(), Is.EqualTo(DateTimeOffset.Parse(start, CultureInfo.InvariantCulture)));
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
    public async Task An_error_in_a_nested_config_field_is_shown_beside_that_field()
    {
        var (page, errors) = await OpenAsync();
        try
        {
            await NewAsync(page, "form-nested");
            await page.GetByLabel("When (an English phrase or a cron expression)").FillAsync("0 0 3 * * ?");
            await Assertions.Expect(page.Locator("#preview")).ToContainTextAsync("0 0 3 * * ?");
            await page.GetByLabel("Action type").SelectOptionAsync("call_api");
            await Config(page, "url").FillAsync($"{peer.BaseUrl}/nested");
            await Config(page, "timeoutSeconds").FillAsync("0");
            await page.GetByRole(AriaRole.Button, new() { Name = "Add an entry to headers" }).ClickAsync();
            await page.GetByLabel("headers key 1").FillAsync("X-Token");
            await page.GetByLabel("headers value 1").FillAsync("{{secret:NOT_CONFIGURED}}");

            // A schema error (below the minimum) is beside its input.
            await page.GetByRole(AriaRole.Button, new() { Name = "Create", Exact = true }).ClickAsync();
            await AssertDescribedErrorAsync(Config(page, "timeoutSeconds"), "1");

            // Fixed, the next check says what is wrong with the header value, beside that row's value.
            await Config(page, "timeoutSeconds").FillAsync("");
            await page.GetByRole(AriaRole.Button, new() { Name = "Create", Exact = true }).ClickAsync();
            var header = page.GetByLabel("headers value 1");
            await AssertDescribedErrorAsync(header, "NOT_CONFIGURED");
            await Assertions.Expect(Config(page, "timeoutSeconds")).Not.ToHaveAttributeAsync("aria-invalid", "true");
            await ShotAsync(page, "schedule-form-nested-error-1366");

            // A key no input claims is not lost: the form's own box says it, with the key.
            await page.RouteAsync("**/api/schedules", route => route.FulfillAsync(new RouteFulfillOptions
            {
                Status = 422,
                ContentType = "application/problem+json",
                Body = """{"title":"The request is not valid.","status":422,"errors":{"somewhere.else":["is not right."],"action.config.headers.X-Token":["still wrong."]}}""",
            }));
            await page.GetByRole(AriaRole.Button, new() { Name = "Create", Exact = true }).ClickAsync();
            await Assertions.Expect(page.Locator("#form-error")).ToContainTextAsync("somewhere.else: is not right.");
            await AssertDescribedErrorAsync(header, "still wrong.");
            Assert.That((await admin.GetAsync("/api/schedules/default.form-nested")).StatusCode, Is.EqualTo(HttpStatusCode.NotFound), "nothing was stored");
            Assert.That(Unexpected(errors, (422, "/api/schedules")), Is.Empty, string.Join("\n", errors));
        }
        finally
        {
            await page.CloseAsync();
        }
    }

    /// <summary>The input is marked invalid and described by an element holding <paramref name="text"/>.</summary>
    private static async Task AssertDescribedErrorAsync(ILocator input, string text)
    {
        await Assertions.Expect(input).ToHaveAttributeAsync("aria-invalid", "true");
        var describedBy = await input.GetAttributeAsync("aria-describedby");
        Assert.That(describedBy, Is.Not.Null.And.Not.Empty);
        var page = input.Page;
        var messages = string.Join(" ", await Task.WhenAll(describedBy!.Split(' ', StringSplitOptions.RemoveEmptyEntries).Select(id => page.Locator($"[id='{id}']").InnerTextAsync())));
        Assert.That(messages, Does.Contain(text));
    }

    [Test]
    public async Task Opening_an_edit_and_saving_it_unchanged_changes_nothing()
    {
        var future = TimeProvider.System.GetUtcNow();
        var schedules = new JsonObject[]
        {
            JsonNode.Parse($$$"""
                { "name": "trip-cron", "description": "round trip", "trigger": { "cron": "0 30 9 ? * MON-FRI", "timeZone": "Europe/Paris", "startAt": "{{{Iso(future.AddDays(10))}}}" },
                  "action": { "type": "call_api", "config": { "method": "PUT", "url": "{{{peer.BaseUrl}}}/trip", "headers": { "Authorization": "Bearer {{secret:API_TOKEN}}", "X-Trace": "on" },
                    "body": { "items": [1, { "deep": true }], "text": "x" }, "acceptedStatusCodes": [200, 204], "recordHeaders": ["ETag"], "maxResponseChars": 100 } },
                  "misfire": { "policy": "skip", "thresholdSeconds": 30 }, "concurrency": "allow",
                  "retry": { "maxAttempts": 3, "backoff": "exponential", "initialDelaySeconds": 5, "maxDelaySeconds": 60 },
                  "timeoutSeconds": 120, "executionGroup": "g1", "jitterSeconds": 10 }
                """)!.AsObject(),
            JsonNode.Parse($$$"""
                { "name": "trip-interval", "trigger": { "interval": "PT45M", "maxRuns": 10, "startAt": "{{{Iso(future.AddDays(1))}}}", "endAt": "{{{Iso(future.AddDays(20))}}}" },
                  "action": { "type": "send_notification", "config": { "channel": "form-hook", "subject": "S {{schedule.name}}", "message": "M {{run.id}}", "severity": "critical" } },
                  "enabled": false }
                """)!.AsObject(),
            JsonNode.Parse($$$"""
                { "name": "trip-calendar", "trigger": { "every": 1, "unit": "month", "startAt": "{{{Iso(future.AddDays(5))}}}", "timeZone": "America/New_York" },
                  "action": { "type": "noop", "config": {} }, "concurrency": "buffer_one" }
                """)!.AsObject(),
            JsonNode.Parse($$$"""
                { "name": "trip-once", "trigger": { "at": "{{{Iso(future.AddDays(4))}}}" }, "action": { "type": "noop", "config": {} }, "misfire": { "policy": "fire_once" } }
                """)!.AsObject(),
        };
        var (page, errors) = await OpenAsync();
        try
        {
            foreach (var schedule in schedules)
            {
                var name = (string)schedule["name"]!;
                await admin.PostForJsonAsync("/api/schedules", schedule, HttpStatusCode.Created);
                var before = JsonNode.Parse(await admin.GetStringAsync($"/api/schedules/default.{name}"))!.AsObject();
                await page.GotoAsync($"{server.BaseAddress}#/schedules/edit/default.{name}");
                await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = $"Edit {name}" })).ToBeVisibleAsync();
                await Assertions.Expect(page.Locator("#preview li").First).ToBeVisibleAsync();
                await page.GetByRole(AriaRole.Button, new() { Name = "Save", Exact = true }).ClickAsync();
                await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Schedules" })).ToBeVisibleAsync();
                var after = JsonNode.Parse(await admin.GetStringAsync($"/api/schedules/default.{name}"))!.AsObject();
                // Quartz answers a fire time read back from its store to the whole second and one it just computed with
                // the fraction: the same instant, so compared to the second.
                foreach (var node in new[] { before, after })
                {
                    foreach (var time in new[] { "nextFireTime", "previousFireTime" })
                    {
                        if (node[time] is JsonValue value)
                        {
                            node[time] = Iso(DateTimeOffset.Parse((string)value!, CultureInfo.InvariantCulture));
                        }
                    }
                }

                Assert.That(JsonNode.DeepEquals(before, after), Is.True, $"{name} changed:\nbefore {before}\nafter  {after}");
            }

            Assert.That(errors, Is.Empty, string.Join("\n", errors));
        }
        finally
        {
            foreach (var schedule in schedules)
            {
                await admin.DeleteAsync($"/api/schedules/default.{schedule["name"]}");
            }

            await page.CloseAsync();
        }
    }

    [TestCase(1366, 900)]
    [TestCase(390, 844)]
    public async Task The_test_run_shows_the_rendered_action_sends_nothing_and_the_form_fits_the_screen(int width, int height)
    {
        var (page, errors) = await OpenAsync(width, height);
        try
        {
            var name = $"form-dry-{width}";
            // A channel offered when the form opens and deleted before the test run: refused, and said beside its field.
            var doomed = $"doomed-{width}";
            await admin.PostForJsonAsync("/api/channels", new { name = doomed, kind = "webhook", webhook = new { url = $"{peer.BaseUrl}/form-hook" } }, HttpStatusCode.Created);
            var runsBefore = (await admin.GetFromJsonAsync<JsonElement>("/api/runs")).GetProperty("total").GetInt32();
            await NewAsync(page, name);
            await page.GetByLabel("Action type").SelectOptionAsync("call_api");
            await Config(page, "url").FillAsync($"{peer.BaseUrl}/dry-run-from-the-form/with/a/rather/long/path/that/must/wrap");
            await page.GetByRole(AriaRole.Button, new() { Name = "Add an entry to headers" }).ClickAsync();
            await page.GetByLabel("headers key 1").FillAsync("Authorization");
            await page.GetByLabel("headers value 1").FillAsync("Bearer {{secret:API_TOKEN}}");
            await page.GetByRole(AriaRole.Button, new() { Name = "Test run" }).ClickAsync();
            var output = page.Locator("#dry-run");
            await Assertions.Expect(output).ToContainTextAsync("Idempotency-Key");
            await Assertions.Expect(output).ToContainTextAsync("Bearer {{secret:API_TOKEN}}");
            await Assertions.Expect(output).ToContainTextAsync($"default.{name}");
            Assert.That(await output.InnerTextAsync(), Does.Not.Contain(Token));

            // The page itself never scrolls sideways: long values wrap or scroll inside their own box.
            var overflow = await page.EvaluateAsync<int>("document.documentElement.scrollWidth - document.documentElement.clientWidth");
            Assert.That(overflow, Is.LessThanOrEqualTo(1), $"the form is wider than {width} px");
            await ShotAsync(page, $"schedule-form-test-run-{width}");

            // Another type re-renders the config from its schema; its test run fills the run's placeholders.
            await page.GetByLabel("Action type").SelectOptionAsync("send_notification");
            await Assertions.Expect(Config(page, "url")).ToHaveCountAsync(0);
            await Config(page, "channel").SelectOptionAsync("form-hook");
            await Config(page, "message").FillAsync("Attempt {{run.attempt}} of {{schedule.id}}");
            await page.GetByRole(AriaRole.Button, new() { Name = "Test run" }).ClickAsync();
            await Assertions.Expect(output).ToContainTextAsync($"Attempt 1 of default.{name}");

            // A refused one says why beside the field, and nothing is shown as if it would be sent.
            await Config(page, "channel").SelectOptionAsync(doomed);
            Assert.That((await admin.DeleteAsync($"/api/channels/{doomed}")).StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
            await page.GetByRole(AriaRole.Button, new() { Name = "Test run" }).ClickAsync();
            await AssertDescribedErrorAsync(Config(page, "channel"), doomed);
            await Assertions.Expect(output).ToContainTextAsync("Not valid");
            overflow = await page.EvaluateAsync<int>("document.documentElement.scrollWidth - document.documentElement.clientWidth");
            Assert.That(overflow, Is.LessThanOrEqualTo(1), $"the form with errors is wider than {width} px");
            await ShotAsync(page, $"schedule-form-test-run-error-{width}");

            // Switching back keeps what was typed for call_api.
            await page.GetByLabel("Action type").SelectOptionAsync("call_api");
            await Assertions.Expect(page.GetByLabel("headers value 1")).ToHaveValueAsync("Bearer {{secret:API_TOKEN}}");

            await Task.Delay(300);
            Assert.That(peer.Requests.Where(r => r.Path.StartsWith("/dry-run-from-the-form", StringComparison.Ordinal) || r.Path == "/form-hook"), Is.Empty, "a test run sends nothing");
            Assert.That((await admin.GetFromJsonAsync<JsonElement>("/api/runs")).GetProperty("total").GetInt32(), Is.EqualTo(runsBefore), "and records no run");
            Assert.That(Unexpected(errors, (422, "/api/actions/dry-run")), Is.Empty, string.Join("\n", errors));
        }
        finally
        {
            await page.CloseAsync();
        }
    }
}
