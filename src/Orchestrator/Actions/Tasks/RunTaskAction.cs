using System.Text.Json;
using Microsoft.Extensions.Options;
using Orchestrator.Agents;
using Orchestrator.Api;
using Orchestrator.Hosting;
using Orchestrator.Projects;
using Orchestrator.Tools;

namespace Orchestrator.Actions.Tasks;

/// <summary>The <c>run_task</c> action type: a registered tool and its arguments, checked against the tool's schema at creation.</summary>
public sealed class RunTaskAction(IServiceScopeFactory scopes, IOptionsMonitor<OrchestratorOptions> options) : ActionDefinition
{
    public const string TypeName = "run_task";

    public override string Type => TypeName;

    public override Type JobType => typeof(RunTaskJob);

    public override string Description => "Runs a registered tool with arguments checked against the tool's parameter schema, or works an agent goal through the listed tools with a configured model.";

    public override Task<ActionOutcome> ExecuteAsync(ActionInvocation invocation, IServiceProvider services, CancellationToken cancellationToken) =>
        services.GetRequiredService<TaskExecutor>().ExecuteAsync(invocation, cancellationToken);

    public override string SchemaJson => ConfigSchema;

    // One of the two forms, said by ValidateSemanticsAsync in words naming the fields (a oneOf's error names neither).
    private static readonly string ConfigSchema = $$"""
        {
          "$schema": "https://json-schema.org/draft/2020-12/schema",
          "title": "run_task config",
          "description": "Exactly one of: a tool with its arguments, or an agent goal worked through the listed tools.",
          "type": "object",
          "additionalProperties": false,
          "properties": {
            "tool": { "type": "string", "minLength": 1, "maxLength": 100, "pattern": "^[a-z][a-z0-9._-]{0,99}$" },
            "arguments": { "type": "object" },
            "agent": {{AgentTask.SchemaJson}}
          }
        }
        """;

    /// <summary>The arguments are the tool's to judge: an <c>http.request</c> takes secrets where call_api does, other tools none.</summary>
    protected override bool AcceptsSecretAt(string path) => path == "arguments" || path.StartsWith("arguments.", StringComparison.Ordinal) || path.StartsWith("arguments[", StringComparison.Ordinal);

    protected override async ValueTask ValidateSemanticsAsync(JsonElement config, string prefix, string? projectId, FieldErrors errors, CancellationToken cancellationToken)
    {
        var hasTool = config.TryGetProperty("tool", out _);
        var hasAgent = config.TryGetProperty("agent", out var agent);
        if (hasTool == hasAgent)
        {
            errors.Add(prefix, hasTool
                ? "give either 'tool' (with 'arguments') or 'agent', not both."
                : "give either 'tool' (a registered tool, with 'arguments') or 'agent' (a goal for a model).");
            return;
        }

        await using var scope = scopes.CreateAsyncScope();
        var registry = scope.ServiceProvider.GetRequiredService<ToolRegistry>();
        if (hasAgent)
        {
            if (config.TryGetProperty("arguments", out _))
            {
                errors.Add($"{prefix}.arguments", "belongs to the tool form; an agent task's model chooses each tool's arguments (give data in agent.inputs).");
            }

            await AgentTask.ValidateAsync(agent, $"{prefix}.agent", options.CurrentValue.Agents, registry, errors, cancellationToken);
            return;
        }

        var name = config.GetProperty("tool").GetString()!;
        var tool = await registry.FindAsync(name, cancellationToken);
        if (tool is null)
        {
            errors.Add($"{prefix}.tool", $"no tool named '{name}' (see /api/tools).");
            return;
        }

        var arguments = config.TryGetProperty("arguments", out var a) ? a : EmptyArguments;
        foreach (var problem in await registry.ValidateAsync(tool, arguments, projectId, scope.ServiceProvider, cancellationToken))
        {
            errors.Add($"{prefix}.arguments{problem.Path[1..]}", problem.Message);
        }
    }

    internal static JsonElement EmptyArguments { get; } = JsonDocument.Parse("{}").RootElement;
}

/// <summary>The Quartz job of the <c>run_task</c> action type.</summary>
public sealed class RunTaskJob(TaskExecutor executor, ActionJobServices services) : ActionJob(services)
{
    private bool agent;

    protected override string ActionType => RunTaskAction.TypeName;

    /// <summary>An agent task resumes from its persisted steps, so a shutdown hands it to recovery; a tool run does not resume.</summary>
    protected override bool ResumesAfterShutdown => agent;

    protected override Task<ActionOutcome> ExecuteActionAsync(ActionInvocation invocation, CancellationToken cancellationToken)
    {
        agent = invocation.Config.TryGetProperty("agent", out _);
        return executor.ExecuteAsync(invocation, cancellationToken);
    }
}

/// <summary>
/// Runs a run_task config: resolves the tool, checks the arguments again (the tool may have a new version since the
/// schedule was made, and paths are checked against the disk as it is now), and runs it in the project root.
/// Used by <see cref="RunTaskJob"/> and by pipeline nodes.
/// </summary>
public sealed class TaskExecutor(ProjectService projects, ToolRegistry registry, ToolInvoker invoker, AgentLoop agents, IServiceProvider services)
{
    public async Task<ActionOutcome> ExecuteAsync(ActionInvocation invocation, CancellationToken cancellationToken)
    {
        if (invocation.Config.TryGetProperty("agent", out var agent))
        {
            return await agents.RunAsync(invocation, agent, cancellationToken);
        }

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
                string.Join(" ", problems.Select(SchemaChecks.Sentence)));
        }

        var outcome = await invoker.InvokeAsync(tool, new ToolContext(invocation.ProjectId, root, invocation with { Config = arguments }, services), arguments, cancellationToken);
        outcome.Result["tool"] = tool.Name;
        outcome.Result["toolVersion"] = tool.Version;
        return outcome;
    }
}
