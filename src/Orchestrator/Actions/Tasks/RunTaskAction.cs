using System.Text.Json;
using Orchestrator.Api;
using Orchestrator.Projects;
using Orchestrator.Tools;

namespace Orchestrator.Actions.Tasks;

/// <summary>The <c>run_task</c> action type: a registered tool and its arguments, checked against the tool's schema at creation.</summary>
public sealed class RunTaskAction(IServiceScopeFactory scopes) : ActionDefinition
{
    public const string TypeName = "run_task";

    public override string Type => TypeName;

    public override Type JobType => typeof(RunTaskJob);

    public override string Description => "Runs a registered tool with arguments checked against the tool's parameter schema.";

    public override Task<ActionOutcome> ExecuteAsync(ActionInvocation invocation, IServiceProvider services, CancellationToken cancellationToken) =>
        services.GetRequiredService<TaskExecutor>().ExecuteAsync(invocation, cancellationToken);

    public override string SchemaJson => """
        {
          "$schema": "https://json-schema.org/draft/2020-12/schema",
          "title": "run_task config",
          "type": "object",
          "additionalProperties": false,
          "required": ["tool"],
          "properties": {
            "tool": { "type": "string", "minLength": 1, "maxLength": 100, "pattern": "^[a-z][a-z0-9._-]{0,99}$" },
            "arguments": { "type": "object" }
          }
        }
        """;

    /// <summary>The arguments are the tool's to judge: an <c>http.request</c> takes secrets where call_api does, other tools none.</summary>
    protected override bool AcceptsSecretAt(string path) => path == "arguments" || path.StartsWith("arguments.", StringComparison.Ordinal) || path.StartsWith("arguments[", StringComparison.Ordinal);

    protected override async ValueTask ValidateSemanticsAsync(JsonElement config, string prefix, string? projectId, FieldErrors errors, CancellationToken cancellationToken)
    {
        var name = config.GetProperty("tool").GetString()!;
        await using var scope = scopes.CreateAsyncScope();
        var registry = scope.ServiceProvider.GetRequiredService<ToolRegistry>();
        var tool = await registry.FindAsync(name, cancellationToken);
        if (tool is null)
        {
            errors.Add($"{prefix}.tool", $"no tool named '{name}' (see /api/tools).");
            return;
        }

        var arguments = config.TryGetProperty("arguments", out var a) ? a : EmptyArguments;
        foreach (var problem in await registry.ValidateAsync(tool, arguments, projectId, scope.ServiceProvider, cancellationToken))
        {
            errors.Add($"{prefix}.arguments{problem.Path[1..]}", $"{problem.Message} (keyword: {problem.Keyword})");
        }
    }

    internal static JsonElement EmptyArguments { get; } = JsonDocument.Parse("{}").RootElement;
}

/// <summary>The Quartz job of the <c>run_task</c> action type.</summary>
public sealed class RunTaskJob(TaskExecutor executor, ActionJobServices services) : ActionJob(services)
{
    protected override string ActionType => RunTaskAction.TypeName;

    protected override Task<ActionOutcome> ExecuteActionAsync(ActionInvocation invocation, CancellationToken cancellationToken) =>
        executor.ExecuteAsync(invocation, cancellationToken);
}

/// <summary>
/// Runs a run_task config: resolves the tool, checks the arguments again (the tool may have a new version since the
/// schedule was made, and paths are checked against the disk as it is now), and runs it in the project root.
/// Used by <see cref="RunTaskJob"/> and by pipeline nodes.
/// </summary>
public sealed class TaskExecutor(ProjectService projects, ToolRegistry registry, ToolInvoker invoker, IServiceProvider services)
{
    public async Task<ActionOutcome> ExecuteAsync(ActionInvocation invocation, CancellationToken cancellationToken)
    {
        var name = invocation.Config.GetProperty("tool").GetString()!;
        var tool = await registry.FindAsync(name, cancellationToken) ?? throw new ActionFailedException($"Tool '{name}' no longer exists.");
        if (!tool.Enabled)
        {
            throw new ActionFailedException($"Tool '{name}' is disabled.");
        }

        var root = await projects.FindRootAsync(invocation.ProjectId, cancellationToken)
            ?? throw new ActionFailedException($"Project '{invocation.ProjectId}' no longer exists.");
        var arguments = invocation.Config.TryGetProperty("arguments", out var a) ? a : RunTaskAction.EmptyArguments;
        var problems = await registry.ValidateAsync(tool, arguments, invocation.ProjectId, services, cancellationToken);
        if (problems.Count > 0)
        {
            throw new ActionFailedException($"The arguments do not match tool '{name}' v{tool.Version}: " +
                string.Join(" ", problems.Select(p => $"{p.Path}: {p.Message} ({p.Keyword})")));
        }

        var outcome = await invoker.InvokeAsync(tool, new ToolContext(invocation.ProjectId, root, invocation with { Config = arguments }, services), arguments, cancellationToken);
        outcome.Result["tool"] = tool.Name;
        outcome.Result["toolVersion"] = tool.Version;
        return outcome;
    }
}
