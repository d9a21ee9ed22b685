using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Playwright;
using Orchestrator.IntegrationTests.Infrastructure;
using static Orchestrator.IntegrationTests.Infrastructure.ScriptedChatServer;

namespace Orchestrator.IntegrationTests.Agents;

/// <summary>The dashboard's run page of an agent run, in headless Chromium: its usage and steps, never their content.</summary>
[TestFixture]
[NonParallelizable]
public sealed class AgentRunPageTests
{
    private const string ChromiumPath = "/usr/bin/chromium";

    [Test]
    public async Task The_run_page_lists_an_agent_runs_steps_with_tools_statuses_and_tokens()
    {
        if (!File.Exists(ChromiumPath))
        {
            Assert.Ignore($"Chromium is not installed at {ChromiumPath}.");
        }

        await using var model = await ScriptedChatServer.StartAsync();
        model.Enqueue(
            new Reply(ToolCalls: [new ToolCall("c1", "files_list", "{}")], PromptTokens: 21, CompletionTokens: 4),
            Reply.Answer("Listed, nothing secret here.", promptTokens: 33, completionTokens: 6));
        var database = await TestPostgres.CreateDatabaseAsync("agentpage");
        await using var server = InProcessServer.Start(PostgresNode.Environment(database, new Dictionary<string, string?>
        {
            ["Orchestrator__Outbound__AllowedHosts__0"] = "127.0.0.1",
            ["Orchestrator__Secrets__model-key"] = "sk-page",
            ["Orchestrator__Agents__Models__default__Endpoint"] = model.Endpoint,
            ["Orchestrator__Agents__Models__default__Model"] = "scripted-1",
            ["Orchestrator__Agents__Models__default__ApiKeySecret"] = "model-key",
        }), listenOnLoopback: true);
        await server.WaitUntilReadyAsync();
        var key = server.PrintedAdminKey!;
        using var admin = server.CreateClient(key);
        await admin.CreateScheduleAsync(new
        {
            name = "lister",
            action = new { type = "run_task", config = new { agent = new { goal = "List the project.", model = "default", tools = new[] { "files.list" } } } },
            trigger = new { at = TimeProvider.System.GetUtcNow().AddYears(5).ToString("O", CultureInfo.InvariantCulture) },
        });
        var runId = (await admin.PostForJsonAsync("/api/schedules/default.lister/run", null, HttpStatusCode.Accepted)).GetProperty("id").GetString();
        await Poll.UntilAsync(() => admin.GetFromJsonAsync<JsonElement>($"/api/runs/{runId}"), r => r.Status() is "succeeded" or "failed", TimeSpan.FromSeconds(30), "the agent run");

        using var playwright = await Playwright.CreateAsync();
        await using var browser = await playwright.Chromium.LaunchAsync(new BrowserTypeLaunchOptions
        {
            ExecutablePath = ChromiumPath,
            Headless = true,
            Args = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
        });
        var page = await browser.NewPageAsync();
        var errors = new List<string>();
        page.PageError += (_, error) => errors.Add(error);
        await page.GotoAsync(server.BaseAddress.ToString());
        await page.GetByLabel("API key").FillAsync(key);
        await page.GetByRole(AriaRole.Button, new() { Name = "Sign in" }).ClickAsync();
        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Overview" })).ToBeVisibleAsync();
        await page.GotoAsync($"{server.BaseAddress}#/runs/{runId}");

        await Assertions.Expect(page.GetByRole(AriaRole.Heading, new() { Name = "Steps" })).ToBeVisibleAsync(new() { Timeout = 15_000 });
        await Assertions.Expect(page.Locator("main")).ToContainTextAsync("3 steps, 64 tokens (54 in, 10 out)");
        var rows = page.Locator("main table tbody tr");
        await Assertions.Expect(rows).ToHaveCountAsync(3);
        await Assertions.Expect(rows.Nth(1)).ToContainTextAsync("files.list");
        await Assertions.Expect(rows.Nth(1)).ToContainTextAsync("succeeded");
        await Assertions.Expect(rows.Nth(2)).ToContainTextAsync("39");
        Assert.That(errors, Is.Empty, string.Join("\n", errors));
    }
}
