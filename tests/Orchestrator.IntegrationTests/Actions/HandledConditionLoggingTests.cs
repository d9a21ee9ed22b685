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
}
