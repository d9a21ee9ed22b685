using System.CommandLine;
using System.Text.Json;
using static Orchestrator.Cli.RouteText;

namespace Orchestrator.Cli;

/// <summary><c>schedules list|get|create|pause|resume|run|delete</c> over <c>/api/schedules</c>.</summary>
public static class ScheduleCommands
{
    private static readonly Column[] ListColumns =
    [
        new("ID", "id"), new("ACTION", "action.type"), new("STATE", "state"), new("TRIGGER", "triggerDescription"),
        new("NEXT FIRE", "nextFireTime"), new("LAST RUN", "lastRun.status"),
    ];

    public static Command Build(RemoteOptions options)
    {
        var group = new Command("schedules", "Schedules on a running server: list, show, create, pause, resume, run now, delete.");
        options.AddTo(group);
        group.Add(List(options));
        group.Add(Get(options));
        group.Add(Create(options));
        group.Add(Pause(options));
        group.Add(Simple(options, "resume", "Resume firing; missed times follow the schedule's misfire policy.", "resume", "Resumed"));
        group.Add(RunNow(options));
        group.Add(Delete(options));
        return group;
    }

    public static Argument<string> Id() => new("id") { Description = "The schedule id: {project}.{name}, or the name in the default project." };

    private static Command List(RemoteOptions options)
    {
        var project = new Option<string?>("--project") { Description = "Only this project's schedules." };
        var actionType = new Option<string?>("--action-type") { Description = "Only schedules of this action type (call_api, notify, …)." };
        var state = new Option<string?>("--state") { Description = "Only schedules in this state (normal, paused, …)." };
        var (page, pageSize) = Paging.Options();
        var command = new Command("list", "List schedules.") { project, actionType, state, page, pageSize };
        return command.WithRemoteAction(options, async (session, parsed, ct) =>
        {
            var answer = await session.GetAsync(WithQuery("api/schedules", ("project", parsed.GetValue(project)), ("actionType", parsed.GetValue(actionType)),
                ("state", parsed.GetValue(state)), ("page", parsed.GetValue(page)), ("pageSize", parsed.GetValue(pageSize))), ct);
            await session.PrintAsync(answer, ListColumns);
            return CliExitCodes.Ok;
        });
    }

    private static Command Get(RemoteOptions options)
    {
        var id = Id();
        var command = new Command("get", "Show one schedule with its state, next fire time and last run.") { id };
        return command.WithRemoteAction(options, async (session, parsed, ct) =>
        {
            await session.PrintAsync(await session.GetAsync($"api/schedules/{Segment(parsed.GetValue(id)!)}", ct), ListColumns);
            return CliExitCodes.Ok;
        });
    }

    private static Command Create(RemoteOptions options)
    {
        var file = new Option<string>("--file", "-f") { Description = "A JSON file holding the schedule, as POST /api/schedules takes it ('-' reads stdin).", Required = true, HelpName = "file" };
        var command = new Command("create", "Create a schedule from a JSON file.") { file };
        return command.WithRemoteAction(options, async (session, parsed, ct) =>
        {
            var body = await ReadJsonFileAsync(session, parsed.GetValue(file)!, ct);
            var created = await session.SendAsync(HttpMethod.Post, "api/schedules", body, ct);
            await session.SayAsync($"Created schedule {Name(created)}.");
            await session.PrintAsync(created, ListColumns);
            return CliExitCodes.Ok;
        });
    }

    private static Command Pause(RemoteOptions options)
    {
        var id = Id();
        var reason = new Option<string?>("--reason") { Description = "Why it is paused (kept in the audit log)." };
        var command = new Command("pause", "Stop firing until resumed.") { id, reason };
        return command.WithRemoteAction(options, async (session, parsed, ct) =>
        {
            var body = parsed.GetValue(reason) is { } why ? JsonSerializer.Serialize(new { reason = why }) : null;
            var paused = await session.SendAsync(HttpMethod.Post, $"api/schedules/{Segment(parsed.GetValue(id)!)}/pause", body, ct);
            await session.SayAsync($"Paused schedule {Name(paused)}.");
            await session.PrintAsync(paused, ListColumns);
            return CliExitCodes.Ok;
        });
    }

    private static Command Simple(RemoteOptions options, string name, string description, string route, string done)
    {
        var id = Id();
        var command = new Command(name, description) { id };
        return command.WithRemoteAction(options, async (session, parsed, ct) =>
        {
            var answer = await session.SendAsync(HttpMethod.Post, $"api/schedules/{Segment(parsed.GetValue(id)!)}/{route}", null, ct);
            await session.SayAsync($"{done} schedule {Name(answer)}.");
            await session.PrintAsync(answer, ListColumns);
            return CliExitCodes.Ok;
        });
    }

    private static Command RunNow(RemoteOptions options)
    {
        var id = Id();
        var command = new Command("run", "Run a schedule now; prints the run (follow it with 'runs watch <run id>').") { id };
        return command.WithRemoteAction(options, async (session, parsed, ct) =>
        {
            var run = await session.SendAsync(HttpMethod.Post, $"api/schedules/{Segment(parsed.GetValue(id)!)}/run", null, ct);
            await session.PrintAsync(run, RunCommands.ListColumns);
            return CliExitCodes.Ok;
        });
    }

    private static Command Delete(RemoteOptions options)
    {
        var id = Id();
        var command = new Command("delete", "Delete a schedule; its run history is kept until retention removes it.") { id };
        return command.WithRemoteAction(options, async (session, parsed, ct) =>
        {
            await session.SendAsync(HttpMethod.Delete, $"api/schedules/{Segment(parsed.GetValue(id)!)}", null, ct);
            await session.SayAsync($"Deleted schedule {parsed.GetValue(id)}.");
            return CliExitCodes.Ok;
        });
    }

    private static string Name(JsonElement? schedule) => schedule is { } s ? CliTable.Cell(s, "id") : "";
}

/// <summary><c>--page</c> and <c>--page-size</c> for the list verbs whose routes page.</summary>
public static class Paging
{
    public static (Option<int?> Page, Option<int?> PageSize) Options() =>
        (new Option<int?>("--page") { Description = "Page number, from 1." }, new Option<int?>("--page-size") { Description = "Items per page." });
}
