using System.CommandLine;
using static Orchestrator.Cli.RouteText;

namespace Orchestrator.Cli;

/// <summary><c>pipelines list|get|run|runs</c>, <c>tools list|get</c> and <c>channels list|get</c>.</summary>
public static class CatalogCommands
{
    private static readonly Column[] PipelineColumns = [new("ID", "id"), new("PROJECT", "project"), new("VERSION", "version"), new("UPDATED", "updatedAt"), new("DESCRIPTION", "description")];
    private static readonly Column[] PipelineRunColumns = [new("ID", "id"), new("PIPELINE", "pipelineId"), new("VERSION", "version"), new("STATUS", "status"), new("TRIGGERED BY", "triggeredBy"), new("CREATED", "createdAt"), new("FINISHED", "finishedAt"), new("ERROR", "error")];
    private static readonly Column[] ToolColumns = [new("NAME", "name"), new("KIND", "kind"), new("VERSION", "version"), new("ENABLED", "enabled"), new("DESCRIPTION", "description")];
    private static readonly Column[] ChannelColumns = [new("NAME", "name"), new("KIND", "kind"), new("UPDATED", "updatedAt")];

    public static Command Pipelines(RemoteOptions options)
    {
        var group = new Command("pipelines", "Pipelines on a running server: list, show, run, list runs.");
        options.AddTo(group);

        var project = new Option<string?>("--project") { Description = "Only this project's pipelines." };
        var (page, pageSize) = Paging.Options();
        group.Add(new Command("list", "List pipelines.") { project, page, pageSize }.WithRemoteAction(options, async (session, parsed, ct) =>
        {
            await session.PrintAsync(await session.GetAsync(WithQuery("api/pipelines", ("project", parsed.GetValue(project)), ("page", parsed.GetValue(page)), ("pageSize", parsed.GetValue(pageSize))), ct), PipelineColumns);
            return CliExitCodes.Ok;
        }));

        var getId = PipelineId();
        var version = new Option<int?>("--version") { Description = "This version of the definition instead of the current one." };
        group.Add(new Command("get", "Show one pipeline with its definition.") { getId, version }.WithRemoteAction(options, async (session, parsed, ct) =>
        {
            await session.PrintAsync(await session.GetAsync(WithQuery($"api/pipelines/{Segment(parsed.GetValue(getId)!)}", ("version", parsed.GetValue(version))), ct), PipelineColumns);
            return CliExitCodes.Ok;
        }));

        var runId = PipelineId();
        var inputs = new Option<string?>("--inputs") { Description = "The run's inputs as a JSON object, e.g. '{\"day\":\"2026-01-01\"}'.", HelpName = "json" };
        var inputsFile = new Option<string?>("--inputs-file") { Description = "A file holding the inputs as a JSON object ('-' reads stdin).", HelpName = "file" };
        var run = new Command("run", "Start a run of a pipeline; any node of the cluster executes it.") { runId, inputs, inputsFile };
        run.Validators.Add(r =>
        {
            if (r.GetValue(inputs) is not null && r.GetValue(inputsFile) is not null)
            {
                r.AddError("Give --inputs or --inputs-file, not both.");
            }
        });
        group.Add(run.WithRemoteAction(options, async (session, parsed, ct) =>
        {
            var given = parsed.GetValue(inputsFile) is { } file ? await ReadJsonFileAsync(session, file, ct)
                : parsed.GetValue(inputs) is { } text ? await CheckJsonAsync(session, text, "--inputs")
                : null;
            var body = given is null ? "{}" : $"{{\"inputs\":{given}}}";
            var started = await session.SendAsync(HttpMethod.Post, $"api/pipelines/{Segment(parsed.GetValue(runId)!)}/run", body, ct);
            await session.SayAsync($"Started pipeline run {(started is { } s ? CliTable.Cell(s, "id") : "")}.");
            await session.PrintAsync(started, PipelineRunColumns);
            return CliExitCodes.Ok;
        }));

        var runsId = PipelineId();
        var (runsPage, runsPageSize) = Paging.Options();
        group.Add(new Command("runs", "List a pipeline's runs, newest first.") { runsId, runsPage, runsPageSize }.WithRemoteAction(options, async (session, parsed, ct) =>
        {
            await session.PrintAsync(await session.GetAsync(WithQuery($"api/pipelines/{Segment(parsed.GetValue(runsId)!)}/runs", ("page", parsed.GetValue(runsPage)), ("pageSize", parsed.GetValue(runsPageSize))), ct), PipelineRunColumns);
            return CliExitCodes.Ok;
        }));
        return group;
    }

    public static Command Tools(RemoteOptions options) => ListAndGet(options, "tools", "tool", "api/tools", "Tools registered on a running server (built-in, command and http).", ToolColumns);

    public static Command Channels(RemoteOptions options) => ListAndGet(options, "channels", "channel", "api/channels", "Notification channels on a running server (secrets are never shown).", ChannelColumns);

    private static Argument<string> PipelineId() => new("id") { Description = "The pipeline id." };

    private static Command ListAndGet(RemoteOptions options, string name, string singular, string route, string description, Column[] columns)
    {
        var group = new Command(name, description);
        options.AddTo(group);
        group.Add(new Command("list", $"List {name}.").WithRemoteAction(options, async (session, _, ct) =>
        {
            await session.PrintAsync(await session.GetAsync(route, ct), columns);
            return CliExitCodes.Ok;
        }));

        var id = new Argument<string>("name") { Description = $"The {singular}'s name." };
        group.Add(new Command("get", $"Show one {singular}.") { id }.WithRemoteAction(options, async (session, parsed, ct) =>
        {
            await session.PrintAsync(await session.GetAsync($"{route}/{Segment(parsed.GetValue(id)!)}", ct), columns);
            return CliExitCodes.Ok;
        }));
        return group;
    }
}
