using Microsoft.Extensions.DependencyInjection;
using Microsoft.Playwright;
using Orchestrator.Data;
using Orchestrator.IntegrationTests.Infrastructure;
using Orchestrator.Runs;

namespace Orchestrator.IntegrationTests.Dashboard;

/// <summary>
/// The home page's "late starts" counter leads to the runs list filtered to late starts, in headless Chromium against a
/// real server on PostgreSQL: the list holds exactly the runs the counter counted (a schedule's or a recovery's start
/// more than 1 s after its due time), not a manual run, a backfill, an on-time start or a run not yet started.
/// </summary>
[TestFixture]
[Category("Browser")]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class LateStartsLinkTests
{
    private const string ChromiumPath = "/usr/bin/chromium";
    private InProcessServer server = null!;
    private string adminKey = null!;
    private IPlaywright playwright = null!;
    private IBrowser browser = null!;
    private List<string> lateRuns = null!;

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

        var database = await TestPostgres.CreateDatabaseAsync("latelink");
        server = InProcessServer.Start(PostgresNode.Environment(database, new Dictionary<string, string?>()), listenOnLoopback: true);
        await server.WaitUntilReadyAsync();
        adminKey = server.PrintedAdminKey!;

        // Ledger rows as the ledger writes them, started in the last hour: two late starts among runs that are not late.
        var now = TimeProvider.System.GetUtcNow();
        var n = 0;
        RunRecord Run(RunStatus status, RunTrigger trigger, DateTimeOffset due, TimeSpan? lateBy) => new()
        {
            Id = Guid.CreateVersion7(now.AddSeconds(++n)),
            ScheduleId = $"default.late-link-{n}",
            ProjectId = "default",
            ActionType = "noop",
            Status = status,
            TriggeredBy = trigger,
            ScheduledFireTime = due,
            StartedAt = lateBy is { } late ? due + late : null,
            FinishedAt = lateBy is { } done && status is not RunStatus.Running ? due + done + TimeSpan.FromSeconds(1) : null,
            Attempt = 1,
            IdempotencyKey = $"late-link-{Guid.NewGuid():N}",
            ConfigSnapshot = "{}",
        };
        List<RunRecord> seeded =
        [
            Run(RunStatus.Succeeded, RunTrigger.Schedule, now.AddMinutes(-30), TimeSpan.FromSeconds(4)),
            Run(RunStatus.Failed, RunTrigger.Recovery, now.AddMinutes(-20), TimeSpan.FromMinutes(2)),
            Run(RunStatus.Succeeded, RunTrigger.Schedule, now.AddMinutes(-25), TimeSpan.FromMilliseconds(300)),
            Run(RunStatus.Succeeded, RunTrigger.Manual, now.AddMinutes(-15), TimeSpan.FromSeconds(30)),
            Run(RunStatus.Succeeded, RunTrigger.Backfill, now.AddDays(-3), TimeSpan.FromDays(3) - TimeSpan.FromMinutes(10)),
            Run(RunStatus.Pending, RunTrigger.Schedule, now.AddMinutes(-1), null),
        ];
        lateRuns = [seeded[0].Id.ToString(), seeded[1].Id.ToString()];
        await using (var scope = server.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>();
            db.Runs.AddRange(seeded);
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

    [TestCase(1366, 800)]
    [TestCase(390, 844)]
    public async Task The_late_starts_counter_links_to_exactly_the_late_runs(int width, int height)
    {
        await using var context = await browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = width, Height = height } });
        var page = await context.NewPageAsync();
        var errors = new List<string>();
        page.PageError += (_, error) => errors.Add(error);
        await page.GotoAsync($"{server.BaseAddress}#/");
        await page.GetByLabel("API key").FillAsync(adminKey);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();

        var counter = page.Locator("#c-late");
        await Assertions.Expect(counter.Locator(".counter-value")).ToHaveTextAsync("2");
        await counter.ClickAsync();

        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Runs" })).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator("#r-late")).ToHaveValueAsync("true");
        var rows = page.Locator("#run-rows tr[data-run]");
        await Assertions.Expect(rows).ToHaveCountAsync(2);
        var shown = await rows.EvaluateAllAsync<string[]>("rows => rows.map(r => r.dataset.run)");
        Assert.That(shown, Is.EquivalentTo(lateRuns), "the list holds the late starts the counter counted, and nothing else");

        // Choosing "any" in the filter shows every run again.
        await page.Locator("#r-late").SelectOptionAsync("");
        await Assertions.Expect(rows).ToHaveCountAsync(6);
        Assert.That(errors, Is.Empty, string.Join("\n", errors));
    }
}
