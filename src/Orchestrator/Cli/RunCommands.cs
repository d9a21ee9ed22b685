using System.CommandLine;
using System.Text.Json;
using static Orchestrator.Cli.RouteText;

namespace Orchestrator.Cli;

/// <summary><c>runs list|get|cancel|watch</c> over <c>/api/runs</c>.</summary>
public static class RunCommands
{
    public static readonly Column[] ListColumns =
    [
        new("ID", "id"), new("SCHEDULE", "scheduleId"), new("STATUS", "status"), new("TRIGGERED BY", "triggeredBy"),
        new("SCHEDULED", "scheduledFireTime"), new("FINISHED", "finishedAt"), new("ATTEMPT", "attempt"), new("ERROR", "error"),
    ];

    /// <summary>
    /// The statuses <c>watch</c> stops at. Not <c>interrupted</c>: a run a shutdown interrupted is taken over by recovery
    /// on another node (same run, next attempt), so watch keeps following it until it ends or <c>--timeout</c> passes.
    /// </summary>
    private static readonly HashSet<string> Finished = ["succeeded", "failed", "cancelled", "skipped"];

    /// <summary>A pipeline run's fields for <c>watch</c>'s final table (its nodes follow as a table of their own).</summary>
    public static readonly Column[] PipelineRunColumns =
    [
        new("ID", "id"), new("PIPELINE", "pipelineId"), new("VERSION", "version"), new("STATUS", "status"), new("TRIGGERED BY", "triggeredBy"),
        new("STARTED", "startedAt"), new("FINISHED", "finishedAt"), new("ATTEMPT", "attempt"), new("ERROR", "error"),
    ];

    public static readonly Column[] NodeColumns =
    [
        new("NODE", "nodeId"), new("STATUS", "status"), new("ATTEMPTS", "attempts"), new("STARTED", "startedAt"), new("FINISHED", "finishedAt"), new("ERROR", "error"),
    ];

    public static Command Build(RemoteOptions options)
    {
        var group = new Command("runs", "Runs on a running server: query, show, cancel, watch until finished.");
        options.AddTo(group);
        group.Add(List(options));
        group.Add(Get(options));
        group.Add(Cancel(options));
        group.Add(Watch(options));
        return group;
    }

    private static Argument<string> Id() => new("run-id") { Description = "The run's id (a GUID)." };

    private static Command List(RemoteOptions options)
    {
        var schedule = new Option<string?>("--schedule") { Description = "Only this schedule's runs." };
        var project = new Option<string?>("--project") { Description = "Only this project's runs." };
        var status = new Option<string?>("--status") { Description = "Only runs in this status (pending, running, succeeded, failed, …)." };
        var from = new Option<string?>("--from") { Description = "Scheduled at or after this time (ISO-8601)." };
        var to = new Option<string?>("--to") { Description = "Scheduled before this time (ISO-8601)." };
        var (page, pageSize) = Paging.Options();
        var command = new Command("list", "Query runs, newest first.") { schedule, project, status, from, to, page, pageSize };
        return command.WithRemoteAction(options, async (session, parsed, ct) =>
        {
            var answer = await session.GetAsync(WithQuery("api/runs", ("scheduleId", parsed.GetValue(schedule)), ("project", parsed.GetValue(project)),
                ("status", parsed.GetValue(status)), ("from", parsed.GetValue(from)), ("to", parsed.GetValue(to)),
                ("page", parsed.GetValue(page)), ("pageSize", parsed.GetValue(pageSize))), ct);
            await session.PrintAsync(answer, ListColumns);
            return CliExitCodes.Ok;
        });
    }

    private static Command Get(RemoteOptions options)
    {
        var id = Id();
        var command = new Command("get", "Show one run: status, timings, node, result and error.") { id };
        return command.WithRemoteAction(options, async (session, parsed, ct) =>
        {
            await session.PrintAsync(await session.GetAsync($"api/runs/{Segment(parsed.GetValue(id)!)}", ct), ListColumns);
            return CliExitCodes.Ok;
        });
    }

    private static Command Cancel(RemoteOptions options)
    {
        var id = Id();
        var command = new Command("cancel", "Interrupt a running run on whichever node runs it.") { id };
        return command.WithRemoteAction(options, async (session, parsed, ct) =>
        {
            var run = await session.SendAsync(HttpMethod.Post, $"api/runs/{Segment(parsed.GetValue(id)!)}/cancel", null, ct);
            await session.SayAsync($"Cancellation requested for run {parsed.GetValue(id)}.");
            await session.PrintAsync(run, ListColumns);
            return CliExitCodes.Ok;
        });
    }

    private static Command Watch(RemoteOptions options)
    {
        var id = Id();
        var interval = new Option<double>("--interval") { Description = "Seconds between polls.", DefaultValueFactory = _ => 1 };
        var timeout = new Option<double?>("--timeout") { Description = "Give up (exit 1) after this many seconds; default: wait as long as the run takes." };
        interval.Validators.Add(r => { if (r.GetValueOrDefault<double>() is < 0.1 or > 3600) { r.AddError("--interval must be between 0.1 and 3600 seconds."); } });
        timeout.Validators.Add(r => { if (r.GetValueOrDefault<double?>() is <= 0) { r.AddError("--timeout must be more than 0 seconds."); } });
        var command = new Command("watch", "Poll a run (of a schedule, or of a pipeline: its nodes' states as they change) until it finishes; exit 0 if it succeeded, 1 if it failed, was cancelled or skipped (an interrupted run is followed while recovery takes it over; --timeout bounds the wait).") { id, interval, timeout };
        return command.WithRemoteAction(options, async (session, parsed, ct) =>
        {
            var route = $"api/runs/{Segment(parsed.GetValue(id)!)}";
            var pause = TimeSpan.FromSeconds(parsed.GetValue(interval));
            using var limit = parsed.GetValue(timeout) is { } seconds ? new CancellationTokenSource(TimeSpan.FromSeconds(seconds)) : new CancellationTokenSource();
            using var waiting = CancellationTokenSource.CreateLinkedTokenSource(ct, limit.Token);

            // A run id is a schedule run's or a pipeline run's: the ledger is asked first, then the pipelines.
            if (await session.FindAsync(route, ct) is null)
            {
                var pipelineRoute = $"api/pipeline-runs/{Segment(parsed.GetValue(id)!)}";
                if (await session.FindAsync(pipelineRoute, ct) is null)
                {
                    throw await session.EndAsync(CliExitCodes.NotFound, $"error: there is no run and no pipeline run {parsed.GetValue(id)}.");
                }

                return await WatchPipelineRunAsync(session, pipelineRoute, pause, limit, waiting, parsed.GetValue(timeout), ct);
            }

            string? last = null;
            while (true)
            {
                var run = (await session.GetAsync(route, ct))!.Value;
                var status = CliTable.Cell(run, "status");
                if (status != last)
                {
                    // Progress goes to stderr, so stdout holds only the finished run (a table, or its JSON with --json).
                    await session.Errors.WriteLineAsync($"run {CliTable.Cell(run, "id")}: {status}{(CliTable.Cell(run, "node") is { Length: > 0 } node ? $" on {node}" : "")}");
                    last = status;
                }

                if (Finished.Contains(status))
                {
                    await session.PrintAsync(run, ListColumns);
                    return status == "succeeded" ? CliExitCodes.Ok : CliExitCodes.Failed;
                }

                try
                {
                    await Task.Delay(pause, waiting.Token);
                }
                catch (OperationCanceledException) when (limit.IsCancellationRequested && !ct.IsCancellationRequested)
                {
                    throw await session.EndAsync(CliExitCodes.Failed, $"error: run {parsed.GetValue(id)} was still {status} after {parsed.GetValue(timeout)} s.");
                }
            }
        });
    }

    /// <summary>
    /// Follows a pipeline run: a line on stderr when the run's status or a node's changes, then the run and its nodes on
    /// stdout (or the run's whole JSON with <c>--json</c>); exit 0 if it succeeded, else 1, as for a schedule's run. An
    /// interrupted pipeline run is followed too: recovery resumes it on another node.
    /// </summary>
    private static async Task<int> WatchPipelineRunAsync(RemoteSession session, string route, TimeSpan pause, CancellationTokenSource limit,
        CancellationTokenSource waiting, double? timeout, CancellationToken ct)
    {
        string? last = null;
        var nodeStates = new Dictionary<string, string>(StringComparer.Ordinal);
        while (true)
        {
            var detail = (await session.GetAsync(route, ct))!.Value;
            var run = detail.GetProperty("run");
            var status = CliTable.Cell(run, "status");
            if (status != last)
            {
                await session.Errors.WriteLineAsync($"pipeline run {CliTable.Cell(run, "id")} ({CliTable.Cell(run, "pipelineId")}): {status}" +
                    (CliTable.Cell(run, "node") is { Length: > 0 } node ? $" on {node}" : ""));
                last = status;
            }

            foreach (var node in detail.GetProperty("nodes").EnumerateArray())
            {
                var nodeId = CliTable.Cell(node, "nodeId");
                var nodeStatus = CliTable.Cell(node, "status");
                if (nodeStates.GetValueOrDefault(nodeId) != nodeStatus)
                {
                    nodeStates[nodeId] = nodeStatus;
                    var attempts = node.TryGetProperty("attempts", out var a) && a.ValueKind == JsonValueKind.Number && a.GetInt32() > 1 ? $" (attempt {a.GetInt32()})" : "";
                    await session.Errors.WriteLineAsync($"  node {nodeId}: {nodeStatus}{attempts}");
                }
            }

            if (status is "succeeded" or "failed" or "cancelled")
            {
                if (session.Json)
                {
                    await session.PrintAsync(detail, PipelineRunColumns);
                }
                else
                {
                    await session.PrintAsync(run, PipelineRunColumns);
                    await session.Output.WriteLineAsync();
                    await session.PrintAsync(detail.GetProperty("nodes"), NodeColumns);
                }

                return status == "succeeded" ? CliExitCodes.Ok : CliExitCodes.Failed;
            }

            try
            {
                await Task.Delay(pause, waiting.Token);
            }
            catch (OperationCanceledException) when (limit.IsCancellationRequested && !ct.IsCancellationRequested)
            {
                throw await session.EndAsync(CliExitCodes.Failed, $"error: pipeline run {CliTable.Cell(run, "id")} was still {status} after {timeout} s.");
            }
        }
    }
}
