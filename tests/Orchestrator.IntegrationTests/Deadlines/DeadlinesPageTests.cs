using System.Net;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Orchestrator.Data;
using Orchestrator.Deadlines;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Deadlines;

/// <summary>
/// The Deadlines page and the "late" badge in headless Chromium against a real server on PostgreSQL: a schedule with an
/// open breach shows the badge on the schedules list and its edit page, the badge leads to its open breaches, and the
/// state filter shows the recovered ones. Screenshots at 1366 px and 390 px are saved as test attachments.
/// </summary>
[TestFixture]
[Category("Browser")]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class DeadlinesPageTests
{
    private const string ChromiumPath = "/usr/bin/chromium";
    private InProcessServer server = null!;
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

        var database = await TestPostgres.CreateDatabaseAsync("deadlinespage");
        server = InProcessServer.Start(PostgresNode.Environment(database, new Dictionary<string, string?>()), listenOnLoopback: true);
        await server.WaitUntilReadyAsync();
        adminKey = server.PrintedAdminKey!;
        using var admin = server.CreateClient(adminKey);
        await admin.PostForJsonAsync("/api/channels", new { name = "ops", kind = "webhook", webhook = new { url = "https://hooks.example.com/ops" } }, HttpStatusCode.Created);
        foreach (var name in new[] { "late-job", "fine-job", "unsent-job" })
        {
            await admin.CreateScheduleAsync(new
            {
                name,
                action = new { type = "noop", config = new { } },
                trigger = new { cron = "0 0 3 1 1 ? 2099", timeZone = "UTC" },
                deadline = new { startWithinSeconds = 60, channel = "ops" },
            });
        }

        // The checker's rows as it writes them: an open start breach of late-job (alerted) and a recovered one of fine-job.
        var now = TimeProvider.System.GetUtcNow();
        await using (var scope = server.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>();
            db.AddRange(
                new DeadlineBreach
                {
                    TargetType = DeadlineBreach.Schedule, TargetId = "default.late-job", Project = "default", Kind = DeadlineBreach.Start,
                    Occurrence = now.AddMinutes(-5), DueAt = now.AddMinutes(-4), DetectedAt = now.AddMinutes(-4), Node = "node-a", Channel = "ops",
                    Message = "Schedule default.late-job: the occurrence has not started.", NotifiedAt = now.AddMinutes(-4),
                },
                new DeadlineBreach
                {
                    TargetType = DeadlineBreach.Schedule, TargetId = "default.fine-job", Project = "default", Kind = DeadlineBreach.Succeed,
                    Occurrence = now.AddHours(-2), DueAt = now.AddHours(-2), DetectedAt = now.AddHours(-2), Node = "node-a", Channel = "ops",
                    Message = "Schedule default.fine-job: the occurrence is still running.", NotifiedAt = now.AddHours(-2),
                    RecoveredAt = now.AddHours(-1), RecoveryMessage = "Recovered: it succeeded.", RecoveryNotifiedAt = now.AddHours(-1),
                },
                // An alert the channel refused: not notified yet, with the last send's error.
                new DeadlineBreach
                {
                    TargetType = DeadlineBreach.Schedule, TargetId = "default.unsent-job", Project = "default", Kind = DeadlineBreach.Start,
                    Occurrence = now.AddMinutes(-9), DueAt = now.AddMinutes(-8), DetectedAt = now.AddMinutes(-8), Node = "node-a", Channel = "ops",
                    Message = "Schedule default.unsent-job: the occurrence has not started.", LastSendError = "the webhook answered 503 Service Unavailable",
                });
            await db.SaveChangesAsync();
        }

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
        if (server is not null)
        {
            await server.DisposeAsync();
        }
    }

    private static async Task ShotAsync(IPage page, string name)
    {
        var directory = Path.Combine(TestContext.CurrentContext.WorkDirectory, "screenshots");
        Directory.CreateDirectory(directory);
        var file = Path.Combine(directory, $"{name}.png");
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = file, FullPage = true });
        TestContext.AddTestAttachment(file, name);
    }

    [TestCase(1366, 800)]
    [TestCase(390, 844)]
    public async Task An_alert_that_could_not_be_sent_shows_its_error_as_text_at_every_width(int width, int height)
    {
        await using var context = await browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = width, Height = height } });
        var page = await context.NewPageAsync();
        await page.GotoAsync($"{server.BaseAddress}#/deadlines");
        await page.GetByLabel("API key").FillAsync(adminKey);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        var row = page.Locator("tr[data-breach]", new() { HasText = "default.unsent-job" });
        await Assertions.Expect(row).ToHaveCountAsync(1);
        // Visible text, not a tooltip: exactly one copy is shown at each width (the Alerted column, or under the message on a phone).
        var shown = row.Locator(".send-error:visible");
        await Assertions.Expect(shown).ToHaveCountAsync(1);
        // The seeded error, or the checker's own when it has tried the channel again meanwhile (its host does not resolve here).
        await Assertions.Expect(shown).ToHaveTextAsync(new System.Text.RegularExpressions.Regex(
            "^Alert not sent: (the webhook answered 503 Service Unavailable|Webhook channel 'ops' failed: .+)$"));
        await Assertions.Expect(row.Locator("[title]")).ToHaveCountAsync(0);
        // An alerted breach has no such line.
        await Assertions.Expect(page.Locator("tr[data-breach]", new() { HasText = "default.late-job" }).Locator(".send-error")).ToHaveCountAsync(0);
        var box = await shown.BoundingBoxAsync();
        Assert.That(box, Is.Not.Null);
        Assert.That(box!.X + box.Width, Is.LessThanOrEqualTo(width + 1), "the error is on the screen, not cut off to the right");
        await ShotAsync(page, $"deadlines-send-error-{width}");
    }

    [TestCase(1366, 800)]
    [TestCase(390, 844)]
    public async Task An_open_breach_shows_as_a_badge_that_leads_to_the_deadlines_page(int width, int height)
    {
        await using var context = await browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = width, Height = height } });
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
        // Signing in returns to the page asked for (the home page when none was).
        await page.GotoAsync($"{server.BaseAddress}#/schedules");
        await page.GetByLabel("API key").FillAsync(adminKey);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Schedules" })).ToBeVisibleAsync();

        // The list: late-job has the badge, fine-job (recovered) has none.
        await Assertions.Expect(page.Locator("tr[data-schedule='default.late-job'] .deadline-badge")).ToHaveTextAsync("1 late");
        await Assertions.Expect(page.Locator("tr[data-schedule='default.fine-job'] .deadline-badge")).ToHaveCountAsync(0);
        await ShotAsync(page, $"deadlines-badge-{width}");

        // The edit page's header has it too.
        await page.GotoAsync(new Uri(server.BaseAddress, "/#/schedules/edit/default.late-job").ToString());
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Edit late-job" })).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator(".deadline-badge")).ToHaveTextAsync("1 late");

        // The badge leads to the schedule's open breaches.
        await page.Locator(".deadline-badge").ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Deadlines" })).ToBeVisibleAsync();
        var table = page.GetByRole(AriaRole.Table, new() { Name = "Deadline breaches" });
        await Assertions.Expect(table.Locator("tbody tr")).ToHaveCountAsync(1);
        await Assertions.Expect(table).ToContainTextAsync("default.late-job");
        await Assertions.Expect(table).ToContainTextAsync("has not started");
        await ShotAsync(page, $"deadlines-open-{width}");

        // The state filter (applied as it changes): the recovered breach, with its recovery message; the nav link reaches the page too.
        await page.GetByLabel("Schedule", new() { Exact = true }).FillAsync("");
        await page.GetByLabel("State", new() { Exact = true }).SelectOptionAsync("recovered");
        await Assertions.Expect(table.Locator("tbody tr")).ToHaveCountAsync(1);
        await Assertions.Expect(table).ToContainTextAsync("default.fine-job");
        await Assertions.Expect(table).ToContainTextAsync("Recovered: it succeeded.");
        await ShotAsync(page, $"deadlines-recovered-{width}");

        Assert.That(errors, Is.Empty, string.Join("\n", errors));
    }
}
