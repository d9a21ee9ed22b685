using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Actions;
using Orchestrator.Api;
using Orchestrator.Audit;
using Orchestrator.Schedules;
using Orchestrator.Security;

namespace Orchestrator.Tools.Builtin;

/// <summary>
/// The scheduler as tools, so a task can manage schedules. Each tool calls <see cref="ScheduleService"/> as its API route
/// does (same validation, same Quartz calls), and works only on schedules of the project the task runs in: a task cannot
/// reach into another project.
/// </summary>
public abstract class ScheduleTool : BuiltinTool
{
    protected const string NameSchema = """{ "type": "string", "minLength": 1, "maxLength": 100, "description": "Schedule name within the task's project." }""";

    protected static string Id(ToolContext context, JsonElement arguments) => ScheduleIds.Format(context.ProjectId, arguments.GetProperty("name").GetString()!);

    /// <summary>The schedule service of the caller's scope, whose changes the audit log then records as made through a tool.</summary>
    protected static ScheduleService Schedules(ToolContext context)
    {
        context.Services.GetRequiredService<AuditScope>().MarkTool(context.Run);
        return context.Services.GetRequiredService<ScheduleService>();
    }

    /// <summary>
    /// The service's outcome as the tool's: a value is the result (as the route's JSON), a refusal is the error with the
    /// problem the route would answer (with the defaults the route's problem result adds, such as its type).
    /// </summary>
    protected static ActionOutcome Outcome<T>(Outcome<T> outcome)
    {
        if (!outcome.Succeeded)
        {
            var problem = outcome.Problem.ToProblemResult().ProblemDetails;
            var details = JsonSerializer.SerializeToNode(problem, problem.GetType(), JsonSerializerOptions.Web)!.AsObject();
            return new ActionOutcome(false, new JsonObject { ["problem"] = details }, problem.Detail ?? problem.Title);
        }

        var node = JsonSerializer.SerializeToNode(outcome.Value, JsonSerializerOptions.Web);
        return new ActionOutcome(true, node as JsonObject ?? new JsonObject { ["value"] = node });
    }
}

/// <summary><c>schedules.create</c>: the fields of <c>POST /api/schedules</c>; the project is the task's own.</summary>
public sealed partial class SchedulesCreateTool : ScheduleTool
{
    public override string Name => "schedules.create";

    /// <summary>The schedule validator applies the action's rules, as for a schedule created through the API.</summary>
    public override bool JudgesSecretReferences => true;

    public override string Description => "Create a schedule in the task's project (the fields of POST /api/schedules).";

    /// <summary>Creating a schedule is an admin route; the tool must not be a way around it.</summary>
    public override ApiRole RequiredRole => ApiRole.Admin;

    public override string ParametersSchema => $$"""
        {
          "type": "object",
          "additionalProperties": false,
          "required": ["name", "action", "trigger"],
          "properties": {
            "name": {{NameSchema}},
            "project": { "type": "string", "description": "Optional; must be the task's own project." },
            "description": { "type": "string" },
            "action": { "type": "object" },
            "trigger": { "type": "object" },
            "misfire": { "type": "object" },
            "concurrency": { "type": "string" },
            "retry": { "type": "object" },
            "timeoutSeconds": { "type": "integer" },
            "executionGroup": { "type": "string" },
            "enabled": { "type": "boolean" }
          }
        }
        """;

    public override async ValueTask ValidateAsync(JsonElement arguments, string? projectId, string prefix, IServiceProvider services, FieldErrors errors, CancellationToken cancellationToken)
    {
        ScheduleRequest request;
        try
        {
            request = Read(arguments);
        }
        catch (ActionFailedException ex)
        {
            errors.Add(prefix, ex.Message);
            return;
        }

        if (projectId is not null && request.Project is { } project && project != projectId)
        {
            errors.Add($"{prefix}.project", $"a task manages schedules of its own project ('{projectId}') only.");
            return;
        }

        if (projectId is null)
        {
            // The project is not known yet (a run_task schedule being created): the full check happens when the task runs.
            return;
        }

        var (_, problems) = await services.GetRequiredService<ScheduleValidator>().ValidateAsync(request with { Project = projectId }, null, null, cancellationToken);
        foreach (var (field, reasons) in problems.Entries)
        {
            foreach (var reason in reasons)
            {
                errors.Add($"{prefix}.{field}", reason);
            }
        }
    }

    public override async Task<ActionOutcome> InvokeAsync(ToolContext context, JsonElement arguments, CancellationToken cancellationToken)
    {
        var request = Read(arguments);
        if (request.Project is { } project && project != context.ProjectId)
        {
            throw new ActionFailedException($"project: a task manages schedules of its own project ('{context.ProjectId}') only.");
        }

        return Outcome(await Schedules(context).CreateAsync(request with { Project = context.ProjectId }, cancellationToken));
    }

    /// <summary>As the API reads a schedule: a misspelled name inside retry, trigger or misfire is refused, not dropped.</summary>
    private static readonly JsonSerializerOptions StrictWeb = new(JsonSerializerOptions.Web)
    {
        UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Disallow,
    };

    private static ScheduleRequest Read(JsonElement arguments)
    {
        try
        {
            return arguments.Deserialize<ScheduleRequest>(StrictWeb) ?? throw new ActionFailedException("The schedule is missing.");
        }
        catch (JsonException ex) when (UnknownProperty().Match(ex.Message) is { Success: true } unknown)
        {
            throw new ActionFailedException($"The schedule has a property it does not know: '{unknown.Groups[1].Value}' (at {ex.Path}).");
        }
        catch (JsonException ex)
        {
            // The message names the JSON path ("$.timeoutSeconds") and the type it expected.
            throw new ActionFailedException($"The schedule's fields have the wrong types: {ex.Message.Split(" Path:")[0]} (at {ex.Path}).");
        }
    }

    [System.Text.RegularExpressions.GeneratedRegex("^The JSON property '(.*)' could not be mapped to any .NET member", System.Text.RegularExpressions.RegexOptions.CultureInvariant | System.Text.RegularExpressions.RegexOptions.Singleline)]
    private static partial System.Text.RegularExpressions.Regex UnknownProperty();
}

/// <summary><c>schedules.list</c>: the schedules of the task's project.</summary>
public sealed class SchedulesListTool : ScheduleTool
{
    public override string Name => "schedules.list";

    public override string Description => "List the schedules of the task's project (filters actionType, state; paging).";

    public override string ParametersSchema => """
        {
          "type": "object",
          "additionalProperties": false,
          "properties": {
            "actionType": { "type": "string", "maxLength": 100 },
            "state": { "type": "string", "enum": ["active", "paused", "running", "complete", "error"] },
            "page": { "type": "integer", "minimum": 1 },
            "pageSize": { "type": "integer", "minimum": 1, "maximum": 200 }
          }
        }
        """;

    public override async Task<ActionOutcome> InvokeAsync(ToolContext context, JsonElement arguments, CancellationToken cancellationToken) =>
        Outcome<PagedList<ScheduleResponse>>(await Schedules(context).ListAsync(context.ProjectId, OptionalString(arguments, "actionType"),
            OptionalString(arguments, "state"), arguments.TryGetProperty("page", out var p) ? p.GetInt32() : null,
            arguments.TryGetProperty("pageSize", out var ps) ? ps.GetInt32() : null, cancellationToken));
}

/// <summary>The tools that act on one schedule by name: pause, resume, run now, delete.</summary>
public abstract class OneScheduleTool : ScheduleTool
{
    public override string ParametersSchema => $$"""
        {
          "type": "object",
          "additionalProperties": false,
          "required": ["name"],
          "properties": { "name": {{NameSchema}} }
        }
        """;
}

public sealed class SchedulesPauseTool : OneScheduleTool
{
    public override string Name => "schedules.pause";

    public override string Description => "Pause a schedule of the task's project, optionally saying why.";

    public override string ParametersSchema => $$"""
        {
          "type": "object",
          "additionalProperties": false,
          "required": ["name"],
          "properties": { "name": {{NameSchema}}, "reason": { "type": "string", "maxLength": 250 } }
        }
        """;

    public override async Task<ActionOutcome> InvokeAsync(ToolContext context, JsonElement arguments, CancellationToken cancellationToken) =>
        Outcome(await Schedules(context).PauseAsync(Id(context, arguments), OptionalString(arguments, "reason"), cancellationToken));
}

public sealed class SchedulesResumeTool : OneScheduleTool
{
    public override string Name => "schedules.resume";

    public override string Description => "Resume a paused schedule of the task's project.";

    public override async Task<ActionOutcome> InvokeAsync(ToolContext context, JsonElement arguments, CancellationToken cancellationToken) =>
        Outcome(await Schedules(context).ResumeAsync(Id(context, arguments), cancellationToken));
}

public sealed class SchedulesRunTool : OneScheduleTool
{
    public override string Name => "schedules.run";

    public override string Description => "Run a schedule of the task's project now; returns the pending run.";

    public override async Task<ActionOutcome> InvokeAsync(ToolContext context, JsonElement arguments, CancellationToken cancellationToken) =>
        Outcome(await Schedules(context).RunNowAsync(Id(context, arguments), cancellationToken));
}

public sealed class SchedulesDeleteTool : OneScheduleTool
{
    public override string Name => "schedules.delete";

    public override string Description => "Delete a schedule of the task's project (its run history is kept).";

    public override ApiRole RequiredRole => ApiRole.Admin;

    public override async Task<ActionOutcome> InvokeAsync(ToolContext context, JsonElement arguments, CancellationToken cancellationToken)
    {
        var deleted = await Schedules(context).DeleteAsync(Id(context, arguments), cancellationToken);
        return deleted.Succeeded ? new ActionOutcome(true, new JsonObject { ["deleted"] = deleted.Value }) : Outcome(deleted);
    }
}
