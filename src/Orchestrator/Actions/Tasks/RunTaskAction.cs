using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Orchestrator.Data;
using Orchestrator.Hosting;
using Orchestrator.Tools;

namespace Orchestrator.Actions.Tasks;

/// <summary>The <c>run_task</c> action type: a registered tool and its arguments, checked against the tool's schema at creation.</summary>
public sealed class RunTaskAction(IServiceScopeFactory scopes) : ActionDefinition
{
    public const string TypeName = "run_task";

    public override string Type => TypeName;

    public override Type JobType => typeof(RunTaskJob);

    public override string SchemaJson => """
        {
          "$schema": "http://json-schema.org/draft-07/schema#",
          "title": "run_task config",
          "type": "object",
          "additionalProperties": false,
          "required": ["tool"],
          "properties": {
            "tool": { "type": "string", "minLength": 1, "maxLength": 100 },
            "arguments": { "type": "object" }
          }
        }
        """;

    protected override async ValueTask ValidateSemanticsAsync(JsonElement config, string prefix, FieldErrors errors, CancellationToken cancellationToken)
    {
        var name = config.GetProperty("tool").GetString()!;
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>();
        var tool = await db.Tools.AsNoTracking().FirstOrDefaultAsync(t => t.Name == name, cancellationToken);
        if (tool is null)
        {
            errors.Add($"{prefix}.tool", $"no tool named '{name}' (see /api/tools).");
            return;
        }

        var arguments = config.TryGetProperty("arguments", out var a) ? a : JsonDocument.Parse("{}").RootElement;
        var schema = await NJsonSchema.JsonSchema.FromJsonAsync(tool.ParametersSchema, cancellationToken);
        foreach (var problem in SchemaChecks.Validate(schema, arguments))
        {
            errors.Add($"{prefix}.arguments{problem.Path[1..]}", $"{problem.Message} (keyword: {problem.Keyword})");
        }
    }
}

/// <summary>The Quartz job of the <c>run_task</c> action type: runs the tool in the schedule's project root.</summary>
public sealed class RunTaskJob(OrchestratorDbContext db, ToolInvoker invoker, ActionJobServices services) : ActionJob(services)
{
    protected override string ActionType => RunTaskAction.TypeName;

    protected override async Task<ActionOutcome> ExecuteActionAsync(ActionInvocation invocation, CancellationToken cancellationToken)
    {
        var name = invocation.Config.GetProperty("tool").GetString()!;
        var tool = await db.Tools.AsNoTracking().FirstOrDefaultAsync(t => t.Name == name, cancellationToken)
            ?? throw new ActionFailedException($"Tool '{name}' no longer exists.");
        if (!tool.Enabled)
        {
            throw new ActionFailedException($"Tool '{name}' is disabled.");
        }

        var root = await db.Projects.AsNoTracking().Where(p => p.Id == invocation.ProjectId).Select(p => p.RootPath).FirstOrDefaultAsync(cancellationToken)
            ?? throw new ActionFailedException($"Project '{invocation.ProjectId}' no longer exists.");
        var arguments = invocation.Config.TryGetProperty("arguments", out var a) ? a : JsonDocument.Parse("{}").RootElement;
        var outcome = await invoker.InvokeAsync(tool, root, arguments, invocation.IdempotencyKey, cancellationToken);
        outcome.Result["tool"] = tool.Name;
        outcome.Result["toolVersion"] = tool.Version;
        return outcome;
    }
}
