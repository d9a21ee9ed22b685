using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Mvc;
using Orchestrator.Pipelines;
using Orchestrator.Schedules;
using Orchestrator.Tools;

namespace Orchestrator.Security;

/// <summary>
/// What a project-scoped key may not put into what it creates, replaces or invokes, even in its own projects, because
/// it would reach past the project: a <c>{{secret:…}}</c> reference (secrets are cluster-wide, and a config of the
/// key's choosing could send one anywhere), and a program of its choosing (command-kind tools and <c>shell.run</c>,
/// run by a schedule, a pipeline node, an agent task listing them, or a direct invocation). The schedule, pipeline and
/// tool services ask it; for an unscoped key (and anything not on behalf of a request) it refuses nothing.
/// </summary>
public sealed partial class ScopedKeyLimits(ProjectScope scope, ToolRegistry registry)
{
    public const string ShellRun = "shell.run";

    /// <summary>Null, or the 403 naming the first field of a schedule's action that a scoped key may not set.</summary>
    public Task<ProblemDetails?> CheckScheduleAsync(ScheduleRequest request, CancellationToken ct) =>
        scope.IsScoped && request.Action?.Config is { } config ? CheckAsync(config, "action.config", ct) : Task.FromResult<ProblemDetails?>(null);

    /// <summary>Null, or the 403 naming the first field of a pipeline's nodes that a scoped key may not set.</summary>
    public async Task<ProblemDetails?> CheckPipelineAsync(PipelineRequest request, CancellationToken ct)
    {
        if (!scope.IsScoped || request.Nodes is not { } nodes)
        {
            return null;
        }

        for (var i = 0; i < nodes.Count; i++)
        {
            if (nodes[i]?.Action?.Config is { } config && await CheckAsync(config, $"nodes[{i}].action.config", ct) is { } refused)
            {
                return refused;
            }

            if (nodes[i]?.Inputs is { } inputs && await CheckAsync(inputs, $"nodes[{i}].inputs", ct) is { } inInputs)
            {
                return inInputs;
            }
        }

        return null;
    }

    /// <summary>Null, or the 403 when a scoped key invokes a tool that runs a program, or passes it a secret reference.</summary>
    public async Task<ProblemDetails?> CheckInvocationAsync(ToolDefinition tool, JsonElement? arguments, CancellationToken ct)
    {
        if (!scope.IsScoped)
        {
            return null;
        }

        if (RunsAProgram(tool))
        {
            return Refuse("name", $"invoke tool '{tool.Name}', which runs a program");
        }

        return arguments is { } a ? await CheckAsync(a, "arguments", ct) : null;
    }

    /// <summary>A command-kind tool runs the program its definition names; <c>shell.run</c> runs any.</summary>
    public static bool RunsAProgram(ToolDefinition tool) => tool.Kind == ToolKind.Command || tool.Name == ShellRun;

    /// <summary>
    /// Walks a config: any string (or property name) reading as a secret reference, and any tool named in a
    /// <c>tool</c> property or a <c>tools</c> list (a run_task, an agent task, or one nested in a tool's arguments,
    /// such as a schedule given to <c>schedules.create</c>) that runs a program.
    /// </summary>
    private async Task<ProblemDetails?> CheckAsync(JsonElement element, string path, CancellationToken ct)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String when SecretReference().IsMatch(element.GetString()!):
                return Refuse(path, "reference a secret ({{secret:…}}); secrets are shared by every project");
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    var at = $"{path}.{property.Name}";
                    if (SecretReference().IsMatch(property.Name))
                    {
                        return Refuse(at, "reference a secret ({{secret:…}}); secrets are shared by every project");
                    }

                    if (property.Name == "tool" && property.Value.ValueKind == JsonValueKind.String && await ProgramToolAsync(property.Value.GetString()!, ct) is { } tool)
                    {
                        return Refuse(at, $"use tool '{tool}', which runs a program");
                    }

                    if (property.Name == "tools" && property.Value.ValueKind == JsonValueKind.Array)
                    {
                        var i = 0;
                        foreach (var item in property.Value.EnumerateArray())
                        {
                            if (item.ValueKind == JsonValueKind.String && await ProgramToolAsync(item.GetString()!, ct) is { } listed)
                            {
                                return Refuse($"{at}[{i}]", $"use tool '{listed}', which runs a program");
                            }

                            i++;
                        }
                    }

                    if (await CheckAsync(property.Value, at, ct) is { } refused)
                    {
                        return refused;
                    }
                }

                return null;
            case JsonValueKind.Array:
                var index = 0;
                foreach (var item in element.EnumerateArray())
                {
                    if (await CheckAsync(item, $"{path}[{index++}]", ct) is { } refused)
                    {
                        return refused;
                    }
                }

                return null;
            default:
                return null;
        }
    }

    private async Task<string?> ProgramToolAsync(string name, CancellationToken ct) =>
        name.Length is > 0 and <= 100 && await registry.FindAsync(name, ct) is { } tool && RunsAProgram(tool) ? tool.Name : null;

    private ProblemDetails Refuse(string field, string what) => ProjectScope.RefuseField(scope.Projects!, field, what);

    // As SecretTemplates reads a reference, and anything that reads like one (spaces, case): it is refused either way.
    [GeneratedRegex(@"\{\{\s*secret\s*:", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant)]
    private static partial Regex SecretReference();
}
