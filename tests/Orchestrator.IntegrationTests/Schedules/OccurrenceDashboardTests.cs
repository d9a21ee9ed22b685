using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Schedules;

/// <summary>The occurrences strip and the overlap choice on a schedule's edit view, in a real headless Chromium.</summary>
[TestFixture]
[Category("Browser")]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class OccurrenceDashboardTests
{
    private const string ChromiumPath = "/usr/bin/chromium";

    [Test]
    public async Task The_edit_view_shows_the_occurrence_strip_with_a_legend_and_saves_the_overlap_policy_chosen()
    {
        if (!File.Exists(ChromiumPath))
        {
            Assert.Ignore($"Chromium is not installed at {ChromiumPath}.");
        }

        var database = await TestPostgres.CreateDatabaseAsync("occdashboard");
        await using var server = InProcessServer.Start(PostgresNode.Environment(database, new Dictionary<string, string?>()), listenOnLoopback: true);
        await server.WaitUntilReadyAsync();
        using var admin = server.CreateClient(server.PrintedAdminKey);
        await admin.CreateScheduleAsync(new { name = "strip", action = new { type = "noop", config = new { } }, trigger = new { intervalSeconds = 1 } });
        await Poll.UntilAsync(() => admin.RunsAsync("default.strip", "succeeded"), r => r.Count >= 2, TimeSpan.FromSeconds(15), "two runs");

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

        await page.GotoAsync(new Uri(server.BaseAddress, "/#/schedules/edit/default.strip").ToString());
        await Assertions.Expect(page.Locator(".occ-strip span.occ-on-time").First).ToBeVisibleAsync();
        await Assertions.Expect(page.Locator(".occ-legend")).ToContainTextAsync("On time");
        foreach (var label in new[] { "Late", "Retried", "Coalesced", "Skipped", "Missed", "Pending" })
        {
            await Assertions.Expect(page.Locator(".occ-legend")).ToContainTextAsync(label);
        }

        var overlap = page.GetByLabel("When a run is still going at the next fire time");
        Assert.That(await overlap.Locator("option").EvaluateAllAsync<string[]>("options => options.map(o => o.value)"),
            Is.EqualTo(new[] { "forbid", "skip", "buffer_one", "cancel_previous", "allow" }));
        await overlap.SelectOptionAsync("cancel_previous");
        await page.GetByRole(AriaRole.Button, new() { Name = "Save" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Schedules" })).ToBeVisibleAsync();
        var saved = await admin.GetFromJsonAsync<JsonElement>("/api/schedules/default.strip");
        Assert.That(saved.GetProperty("concurrency").GetString(), Is.EqualTo("cancel_previous"));

        await page.GotoAsync(new Uri(server.BaseAddress, "/#/occurrences/default.strip").ToString());
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Occurrences of default.strip" })).ToBeVisibleAsync();
        // The newest due time may still be pending (its run not started yet on a loaded machine); one that ran is listed.
        await Assertions.Expect(page.Locator("tbody tr", new() { HasText = "ran" }).First).ToBeVisibleAsync();
        var file = Path.Combine(TestContext.CurrentContext.WorkDirectory, "screenshots", "occurrences.png");
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        await page.ScreenshotAsync(new PageScreenshotOptions { Path = file, FullPage = true });
        TestContext.AddTestAttachment(file, "occurrences");
        await admin.PostAsync("/api/schedules/default.strip/pause", null);
        Assert.That(errors, Is.Empty, string.Join("\n", errors));
    }
}
