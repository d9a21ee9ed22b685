using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Orchestrator.Audit;
using Orchestrator.Data;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Audit;

/// <summary>
/// The dashboard's Audit page in headless Chromium: a pause made from the schedule list (with the reason the pause
/// button asks for) is listed with the dashboard as its source; the filters narrow the list; Older and Newer page
/// through the log; no console errors at 1366 px or 390 px.
/// </summary>
[TestFixture]
[Category("Browser")]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class AuditPageTests
{
    private const string ChromiumPath = "/usr/bin/chromium";
    private InProcessServer server = null!;
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

        var database = await TestPostgres.CreateDatabaseAsync("auditpage");
        server = InProcessServer.Start(PostgresNode.Environment(database), listenOnLoopback: true);
        await server.WaitUntilReadyAsync();
        adminKey = server.PrintedAdminKey!;
        admin = server.CreateClient(adminKey);
        playwright = await Playwright.CreateAsync();
        browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
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
    }

    private async Task<(IPage Page, List<string> Errors)> OpenAsync(int width, int height)
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
        await page.GotoAsync(server.BaseAddress.ToString());
        await page.GetByLabel("API key").FillAsync(adminKey);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        // Signing in lands on the home page; the tests here start from the schedules.
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Overview" })).ToBeVisibleAsync();
        await page.Locator("#nav").GetByRole(AriaRole.Link, new() { Name = "Schedules", Exact = true }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Schedules" })).ToBeVisibleAsync();
        return (page, errors);
    }

    private static async Task ShotAsync(IPage page, string name)
    {
        var directory = Path.Combine(TestContext.CurrentContext.WorkDirectory, "screenshots");
        Directory.CreateDirectory(directory);
        var file = Path.Combine(directory, $"{name}.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = file, FullPage = true });
        TestContext.AddTestAttachment(file, name);
    }

    [Test]
    public async Task A_pause_from_the_dashboard_shows_on_the_audit_page_with_its_reason_and_source()
    {
        await admin.CreateScheduleAsync(new { name = "watched", action = new { type = "noop", config = new { } }, trigger = new { cron = "0 0 3 * * ?" } });
        var (page, errors) = await OpenAsync(1366, 900);
        page.Dialog += (_, dialog) => dialog.AcceptAsync("disk almost full");
        await page.GetByRole(AriaRole.Button, new() { Name = "Pause watched" }).ClickAsync();
        await Assertions.Expect(page.Locator("tr[data-schedule='default.watched'] [data-col='state']")).ToContainTextAsync("disk almost full");

        await page.GetByRole(AriaRole.Link, new() { Name = "Audit" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Audit log" })).ToBeVisibleAsync();
        var row = page.Locator("#audit-rows tr", new() { HasText = "schedule.pause" });
        await Assertions.Expect(row).ToHaveCountAsync(1);
        await Assertions.Expect(row).ToContainTextAsync("disk almost full");
        await Assertions.Expect(row).ToContainTextAsync("dashboard");
        await Assertions.Expect(row).ToContainTextAsync("schedule: default.watched");
        await row.Locator("summary").ClickAsync();
        await Assertions.Expect(row.Locator(".audit-change")).ToContainTextAsync("\"state\": \"paused\"");
        await ShotAsync(page, "audit-1366");

        var entry = (await admin.GetFromJsonAsync<JsonElement>("/api/audit?resource=schedule:default.watched&action=schedule.pause")).GetProperty("items")[0];
        Assert.That(entry.GetProperty("source").GetString(), Is.EqualTo("dashboard"), "the dashboard says it is the dashboard");

        // Filter: only the create of this schedule (filters apply as they are typed, no Filter button).
        await page.GetByLabel("Action").FillAsync("schedule.create");
        await page.GetByLabel("Resource").FillAsync("schedule:default.watched");
        await Assertions.Expect(page.Locator("#audit-rows tr")).ToHaveCountAsync(1);
        await Assertions.Expect(page.Locator("#audit-rows tr")).ToContainTextAsync("schedule.create");
        Assert.That(errors, Is.Empty, string.Join("\n", errors));
    }

    [Test]
    public async Task Older_and_newer_page_through_the_log_at_phone_width()
    {
        await using (var scope = server.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>();
            var now = TimeProvider.System.GetUtcNow();
            for (var i = 0; i < 60; i++)
            {
                db.Set<AuditEntry>().Add(new AuditEntry
                {
                    At = now.AddMinutes(-60 + i), Actor = "system", Source = "system", Action = "paging.test", ResourceType = "paging", ResourceId = $"item-{i:D2}",
                });
            }

            await db.SaveChangesAsync();
        }

        var (page, errors) = await OpenAsync(390, 844);
        await page.GotoAsync(new Uri(server.BaseAddress, "/#/audit?action=paging.test").ToString());
        var rows = page.Locator("#audit-rows tr");
        await Assertions.Expect(rows).ToHaveCountAsync(50);
        await Assertions.Expect(rows.First).ToContainTextAsync("item-59");
        await ShotAsync(page, "audit-390");

        await page.Locator("#audit-older").ClickAsync();
        await Assertions.Expect(rows).ToHaveCountAsync(10);
        await Assertions.Expect(rows.First).ToContainTextAsync("item-09");
        await Assertions.Expect(rows.Last).ToContainTextAsync("item-00");
        await Assertions.Expect(page.Locator("#audit-older")).ToHaveCountAsync(0);

        await page.Locator("#audit-newer").ClickAsync();
        await Assertions.Expect(rows).ToHaveCountAsync(50);
        await Assertions.Expect(rows.Last).ToContainTextAsync("item-10");
        Assert.That(errors, Is.Empty, string.Join("\n", errors));
    }
}
