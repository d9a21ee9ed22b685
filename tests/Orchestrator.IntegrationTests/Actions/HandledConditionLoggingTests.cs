using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Actions;

/// <summary>
/// Conditions the server handles used to log as failures: every ledger row found already there (a retry, a
/// recovery, a backfill overlap) logged EF Core's <c>fail:</c> with a stack trace, a failed action logged three entries
/// with a JobRunShell trace, and a cancelled call logged Polly's exception trace. Each now logs one line at
/// Information or Warning, without a trace.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class HandledConditionLoggingTests : ServerWithPeerFixture
{
    protected override string DatabaseName => "handledlogs";

    private Dictionary<string, object?> CallApi(string name, string path, object? extra = null)
    {
        var schedule = new Dictionary<string, object?>
        {
            ["name"] = name,
            ["action"] = new { type = "call_api", config = new { method = "POST", url = Peer.BaseUrl + path, timeoutSeconds = 60 } },
            ["trigger"] = new { at = TimeProvider.System.GetUtcNow().AddSeconds(1).ToString("O", CultureInfo.InvariantCulture) },
        };
        foreach (var property in extra?.GetType().GetProperties() ?? [])
        {
            schedule[property.Name] = property.GetValue(extra);
        }

        return schedule;
    }

    /// <summary>The server's output from <paramref name="mark"/> on.</summary>
    private string OutputSince(int mark) => Server.Output[mark..];

    [Test]
    public async Task A_failed_call_and_its_retry_that_finds_the_ledger_row_log_one_warning_each_without_a_trace()
    {
        Peer.Configure("/failing", new RecordingHttpServer.Behaviour(TimeSpan.Zero, Status: 500));
        var mark = Server.Output.Length;
        await Admin.CreateScheduleAsync(CallApi("failing", "/failing", new { retry = new { maxAttempts = 2, backoff = "fixed", initialDelaySeconds = 1 } }));

        // Attempt 1 fails; its retry finds the fire time's ledger row (the duplicate key) and fails again.
        var runs = await Poll.UntilAsync(() => Admin.RunsAsync("default.failing"), r => r.Count == 1 && r[0].Status() == "failed" && r[0].GetProperty("attempt").GetInt32() == 2,
            TimeSpan.FromSeconds(30), "both attempts to fail");
        await Poll.UntilSettledAsync(() => Task.FromResult(Server.Output.Length), TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(10), "the server's output");
        var output = OutputSince(mark);

        ServerLog.AssertNoFailureOrTrace(output, "a failed call_api and its retry");
        var failedLines = output.Split('\n').Count(l => l.Contains("failed: POST", StringComparison.Ordinal) && l.Contains(runs[0].GetProperty("id").GetString()!, StringComparison.Ordinal));
        Assert.That(failedLines, Is.EqualTo(2), "one line per failed attempt, naming the run\n" + output);
        Assert.That(output, Does.Contain("warn: Orchestrator.Actions.ActionJob"), output);
    }

    [Test]
    public async Task A_cancelled_call_logs_one_line_without_a_polly_trace()
    {
        Peer.Configure("/slow", new RecordingHttpServer.Behaviour(TimeSpan.FromSeconds(60)));
        var mark = Server.Output.Length;
        await Admin.CreateScheduleAsync(CallApi("slow", "/slow"));
        var running = await Poll.UntilAsync(() => Admin.RunsAsync("default.slow"), r => r.Count == 1 && r[0].Status() == "running" && Peer.InFlightTo("/slow") == 1,
            TimeSpan.FromSeconds(20), "the call to be in flight");
        var runId = running[0].GetProperty("id").GetString();

        await Admin.PostForJsonAsync($"/api/runs/{runId}/cancel", null, HttpStatusCode.Accepted);
        await Poll.UntilAsync(() => Admin.GetFromJsonAsync<JsonElement>($"/api/runs/{runId}"), r => r.Status() == "cancelled", TimeSpan.FromSeconds(20), "the run to be cancelled");
        await Poll.UntilSettledAsync(() => Task.FromResult(Server.Output.Length), TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(10), "the server's output");
        var output = OutputSince(mark);

        ServerLog.AssertNoFailureOrTrace(output, "a cancelled call_api");
        Assert.That(output.Split('\n').Count(l => l.Contains("cancelled", StringComparison.OrdinalIgnoreCase) && l.Contains(runId!, StringComparison.Ordinal)), Is.EqualTo(1),
            "one line says the run was cancelled\n" + output);
    }

    [Test]
    public async Task A_successful_call_logs_no_polly_entry_and_no_url_at_information_or_above()
    {
        Peer.Configure("/fine", new RecordingHttpServer.Behaviour(TimeSpan.Zero));
        var mark = Server.Output.Length;
        await Admin.CreateScheduleAsync(CallApi("fine", "/fine"));
        await Poll.UntilAsync(() => Admin.RunsAsync("default.fine"), r => r.Count == 1 && r[0].Status() == "succeeded", TimeSpan.FromSeconds(30), "the call to succeed");
        await Poll.UntilSettledAsync(() => Task.FromResult(Server.Output.Length), TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(10), "the server's output");
        var output = OutputSince(mark);

        ServerLog.AssertNoFailureOrTrace(output, "a successful call_api");
        var authority = new Uri(Peer.BaseUrl).Authority;
        Assert.That(ServerLog.EntriesAtInformationOrAbove(output).Where(e => e.Contains(authority, StringComparison.Ordinal) || e.Contains("Resilience", StringComparison.Ordinal)),
            Is.Empty, "no entry at Information or above names the outbound URL or is Polly's\n" + output);
    }

    [Test]
    public async Task A_webhook_to_an_unresolvable_host_logs_one_warning_without_a_trace_or_polly_entry()
    {
        await Admin.PostForJsonAsync("/api/channels", new { name = "nowhere", kind = "webhook", webhook = new { url = "http://orchestrator-test.invalid/hook" } }, HttpStatusCode.Created);
        var mark = Server.Output.Length;
        await Admin.CreateScheduleAsync(new Dictionary<string, object?>
        {
            ["name"] = "tell-nowhere",
            ["action"] = new { type = "send_notification", config = new { channel = "nowhere", message = "hello" } },
            ["trigger"] = new { at = InOneSecond() },
        });
        var runs = await Poll.UntilAsync(() => Admin.RunsAsync("default.tell-nowhere"), r => r.Count == 1 && r[0].Status() == "failed", TimeSpan.FromSeconds(30), "the notification to fail");
        await Poll.UntilSettledAsync(() => Task.FromResult(Server.Output.Length), TimeSpan.FromMilliseconds(500), TimeSpan.FromSeconds(10), "the server's output");
        var output = OutputSince(mark);

        ServerLog.AssertNoFailureOrTrace(output, "a webhook to an unresolvable host");
        var runId = runs[0].GetProperty("id").GetString()!;
        var entries = ServerLog.EntriesAtInformationOrAbove(output);
        Assert.That(entries.Count(e => e.StartsWith("warn:", StringComparison.Ordinal) && e.Contains(runId, StringComparison.Ordinal) && e.Contains("failed", StringComparison.Ordinal)),
            Is.EqualTo(1), "one warning says the attempt failed\n" + output);
        Assert.That(entries.Where(e => e.Contains("Resilience", StringComparison.Ordinal) || e.Contains("call_api-call_api/", StringComparison.Ordinal)),
            Is.Empty, "no Polly entry (which names the target's URL as its source) at Information or above\n" + output);
    }
}
