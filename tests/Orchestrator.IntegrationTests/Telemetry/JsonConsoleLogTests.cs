using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Telemetry;

/// <summary>
/// JSON console logs on a server process, by the product's switch or the standard console setting: every line the
/// server writes is one JSON object with the formatter's fields.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class JsonConsoleLogTests
{
    [TestCase("Orchestrator__Logging__Json", "true")]
    [TestCase("Logging__Console__FormatterName", "json")]
    public async Task Every_line_of_the_server_output_is_a_json_log_entry(string setting, string value)
    {
        var workingDirectory = Directory.CreateTempSubdirectory("orchestrator-jsonlogs-").FullName;
        var environment = new Dictionary<string, string?> { [setting] = value };
        // A key made beforehand, so the first start prints no admin-key banner (plain text by design: it is never a log entry).
        var (created, keyOutput) = await ServerProcess.RunCommandAsync(environment, workingDirectory, "keys", "create", "--role", "admin", "--name", "json-logs");
        Assert.That(created, Is.Zero, keyOutput);
        var key = keyOutput.Split('\n').Select(l => l.Trim()).Single(l => l.StartsWith("orch_", StringComparison.Ordinal));

        await using var server = ServerProcess.Start(environment, workingDirectory);
        await server.WaitUntilReadyAsync();
        using (var admin = server.CreateClient(key))
        {
            await admin.CreateScheduleAsync(new { name = "logged", action = new { type = "noop", config = new { } }, trigger = new { at = TimeProvider.System.GetUtcNow().AddSeconds(1).ToString("O", System.Globalization.CultureInfo.InvariantCulture) } });
            await Poll.UntilAsync(() => admin.RunsAsync("default.logged", "succeeded"), r => r.Count == 1, TimeSpan.FromSeconds(20), "the run");
        }

        Assert.That(await server.StopGracefullyAsync(TimeSpan.FromSeconds(60)), Is.Zero);
        var lines = server.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.That(lines, Has.Length.GreaterThanOrEqualTo(3), server.Output);
        var entries = new List<JsonElement>();
        foreach (var line in lines)
        {
            try
            {
                entries.Add(JsonDocument.Parse(line).RootElement.Clone());
            }
            catch (JsonException ex)
            {
                Assert.Fail($"not a JSON line: {line}\n({ex.Message})\nWhole output:\n{server.Output}");
            }
        }

        Assert.That(entries.Select(e => e.ValueKind), Is.All.EqualTo(JsonValueKind.Object));
        Assert.That(entries.Select(e => e.TryGetProperty("LogLevel", out _) && e.TryGetProperty("Category", out _) && e.TryGetProperty("Message", out _)), Is.All.True);
        Assert.That(entries.Select(e => e.GetProperty("Category").GetString()), Does.Contain("Microsoft.Hosting.Lifetime"));
        if (setting == "Orchestrator__Logging__Json")
        {
            // The product's switch adds UTC timestamps and the scopes (which carry the trace and span ids).
            Assert.That(entries.Select(e => e.TryGetProperty("Timestamp", out var t) ? t.GetString() : null), Is.All.Not.Null.And.All.EndsWith("Z"));
        }
    }
}
