using System.Net;
using System.Text.RegularExpressions;
using Microsoft.Playwright;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Dashboard;

/// <summary>
/// The Keys page in headless Chromium against a real server on PostgreSQL: a refused create shows the error beside its
/// field, a created key is shown once and copies to the clipboard and works, a revoke asks first and the key is refused
/// at once. Screenshots at 1366 px and 390 px are saved as test attachments.
/// </summary>
[TestFixture]
[Category("Browser")]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class KeysPageTests
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

        var database = await TestPostgres.CreateDatabaseAsync("keyspage");
        var workspaces = Directory.CreateTempSubdirectory("orchestrator-keyspage-ws-").FullName;
        server = InProcessServer.Start(PostgresNode.Environment(database, new Dictionary<string, string?> { ["Orchestrator__Workspaces__Roots__0"] = workspaces }), listenOnLoopback: true);
        await server.WaitUntilReadyAsync();
        adminKey = server.PrintedAdminKey!;
        using var admin = server.CreateClient(adminKey);
        await admin.PostForJsonAsync("/api/projects", new { id = "alpha", name = "Alpha", rootPath = Path.Combine(workspaces, "alpha") }, HttpStatusCode.Created);
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
    public async Task Create_copy_and_revoke_a_key_from_the_keys_page(int width, int height)
    {
        await using var context = await browser.NewContextAsync(new BrowserNewContextOptions { ViewportSize = new ViewportSize { Width = width, Height = height } });
        await context.GrantPermissionsAsync(["clipboard-read", "clipboard-write"], new BrowserContextGrantPermissionsOptions { Origin = server.BaseAddress.ToString().TrimEnd('/') });
        var page = await context.NewPageAsync();
        var errors = new List<string>();
        page.Console += (_, message) =>
        {
            // The refused create below is answered 422 on purpose; Chromium logs that fetch as a failed resource.
            if (message.Type == "error" && !message.Text.Contains("status of 422", StringComparison.Ordinal))
            {
                errors.Add($"{message.Text} @ {message.Location}");
            }
        };
        page.PageError += (_, error) => errors.Add(error);
        await page.GotoAsync(server.BaseAddress.ToString());
        await page.GetByLabel("API key").FillAsync(adminKey);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Overview" })).ToBeVisibleAsync();

        await page.GotoAsync(new Uri(server.BaseAddress, "/#/keys").ToString());
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "API keys" })).ToBeVisibleAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Table, new() { Name = "API keys" })).ToContainTextAsync("bootstrap-admin");

        // A refused create: the API's reason sits beside the field it is about, and nothing is added.
        await page.GetByRole(AriaRole.Button, new() { Name = "Create key" }).ClickAsync();
        await Assertions.Expect(page.Locator("#k-name-error")).ToContainTextAsync("required");

        var name = $"ci-{width}";
        await page.GetByLabel("Name").FillAsync(name);
        await page.GetByLabel("Role").SelectOptionAsync("operator");
        await page.GetByLabel("Projects (optional").SelectOptionAsync("alpha");
        await page.GetByRole(AriaRole.Button, new() { Name = "Create key" }).ClickAsync();
        var shown = page.GetByLabel("Key", new() { Exact = true });
        await Assertions.Expect(shown).ToHaveValueAsync(new Regex("^orch_[0-9a-f]{8}_"));
        var plain = await shown.InputValueAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Table, new() { Name = "API keys" })).ToContainTextAsync(name);
        await ShotAsync(page, $"keys-created-{width}");

        await page.GetByRole(AriaRole.Button, new() { Name = "Copy" }).ClickAsync();
        Assert.That(await page.EvaluateAsync<string>("navigator.clipboard.readText()"), Is.EqualTo(plain));

        using (var client = server.CreateClient(plain))
        {
            Assert.That((await client.GetAsync("/api/projects/alpha")).StatusCode, Is.EqualTo(HttpStatusCode.OK), "the key shown works");
        }

        // Revoke asks first; dismissing keeps the key, accepting revokes it.
        page.Dialog += DismissOnce;
        await page.GetByRole(AriaRole.Button, new() { Name = $"Revoke {name}" }).ClickAsync();
        await Assertions.Expect(page.Locator($"tr:has-text('{name}')")).ToContainTextAsync("active");
        page.Dialog += (_, dialog) => dialog.AcceptAsync();
        await page.GetByRole(AriaRole.Button, new() { Name = $"Revoke {name}" }).ClickAsync();
        await Assertions.Expect(page.Locator($"tr:has-text('{name}')")).ToContainTextAsync("revoked");
        await Assertions.Expect(page.GetByLabel("Key", new() { Exact = true })).ToHaveCountAsync(0);
        await ShotAsync(page, $"keys-revoked-{width}");

        using (var client = server.CreateClient(plain))
        {
            Assert.That((await client.GetAsync("/api/projects/alpha")).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), "a revoked key is refused at once");
        }

        Assert.That(errors, Is.Empty, string.Join("\n", errors));

        void DismissOnce(object? sender, IDialog dialog)
        {
            page.Dialog -= DismissOnce;
            _ = dialog.DismissAsync();
        }
    }
}
