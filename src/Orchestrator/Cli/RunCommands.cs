using System.CommandLine;
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
        var command = new Command("watch", "Poll a run until it finishes; exit 0 if it succeeded, 1 if it failed, was cancelled or skipped (an interrupted run is followed while recovery takes it over; --timeout bounds the wait).") { id, interval, timeout };
        return command.WithRemoteAction(options, async (session, parsed, ct) =>
        {
            var route = $"api/runs/{Segment(parsed.GetValue(id)!)}";
            var pause = TimeSpan.FromSeconds(parsed.GetValue(interval));
            using var limit = parsed.GetValue(timeout) is { } seconds ? new CancellationTokenSource(TimeSpan.FromSeconds(seconds)) : new CancellationTokenSource();
            using var waiting = CancellationTokenSource.CreateLinkedTokenSource(ct, limit.Token);
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
}
