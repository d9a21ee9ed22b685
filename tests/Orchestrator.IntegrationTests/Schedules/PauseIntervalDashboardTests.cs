using Microsoft.Playwright;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Schedules;

/// <summary>Due times of an ended pause on the occurrences strip, in a real headless Chromium: their own kind and legend entry.</summary>
[TestFixture]
[Category("Browser")]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class PauseIntervalDashboardTests
{
    private const string ChromiumPath = "/usr/bin/chromium";

    [Test]
    public async Task The_strip_shows_due_times_of_an_ended_pause_as_paused_with_a_legend_entry_not_by_colour_alone()
    {
        if (!File.Exists(ChromiumPath))
        {
            Assert.Ignore($"Chromium is not installed at {ChromiumPath}.");
        }

        var database = await TestPostgres.CreateDatabaseAsync("pausestrip");
        await using var server = InProcessServer.Start(PostgresNode.Environment(database, new Dictionary<string, string?>()), listenOnLoopback: true);
        await server.WaitUntilReadyAsync();
        using var admin = server.CreateClient(server.PrintedAdminKey);
        const string Id = "default.strip-paused";
        var created = TimeProvider.System.GetUtcNow();
        await admin.CreateScheduleAsync(PauseIntervals.EverySecond("strip-paused"));
        await Poll.UntilAsync(() => admin.RunsAsync(Id, "succeeded"), r => r.Count >= 1, TimeSpan.FromSeconds(30), "a run before the pause");
        var (_, resumedBefore, by) = await PauseIntervals.PauseWaitResumeAsync(admin, Id, "strip check");
        await PauseIntervals.OccurrencesAfterResumeAsync(admin, Id, created, resumedBefore);

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath, Headless = true, Args = ["--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking"],
        });
        var page = await browser.NewPageAsync(new BrowserNewPageOptions { ViewportSize = new ViewportSize { Width = 1366, Height = 900 } });
        var errors = new List<string>();
        page.Console += (_, message) => { if (message.Type == "error") errors.Add(message.Text); };
        page.PageError += (_, error) => errors.Add(error);
        await page.GotoAsync(server.BaseAddress.ToString());
        await page.GetByLabel("API key").FillAsync(server.PrintedAdminKey!);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Overview" })).ToBeVisibleAsync();

        await page.GotoAsync(new Uri(server.BaseAddress, $"/#/occurrences/{Id}").ToString());
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = $"Occurrences of {Id}" })).ToBeVisibleAsync();
        // The pause's due times have their own cell kind (hatched) and a legend entry with their count, apart from skips.
        await Assertions.Expect(page.Locator(".occ-strip span.occ-paused").First).ToBeVisibleAsync();
        var paused = await page.Locator(".occ-strip span.occ-paused").CountAsync();
        Assert.That(paused, Is.GreaterThanOrEqualTo(3));
        await Assertions.Expect(page.Locator(".occ-legend")).ToContainTextAsync($"Paused {paused}");
        Assert.That(await page.Locator(".occ-strip span.occ-paused").First.GetAttributeAsync("title"), Does.Contain($"paused by {by}: strip check"));
        await Assertions.Expect(page.Locator("tbody tr", new() { HasText = "skipped (paused)" }).First).ToContainTextAsync($"paused by {by}: strip check");
        var file = Path.Combine(TestContext.CurrentContext.WorkDirectory, "screenshots", "occurrences-paused.png");
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = file, FullPage = true });
        TestContext.AddTestAttachment(file, "occurrences with an ended pause");
        await admin.PostAsync($"/api/schedules/{Id}/pause", null);
        Assert.That(errors, Is.Empty, string.Join("\n", errors));
    }
}
