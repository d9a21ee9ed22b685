using Microsoft.Extensions.Options;
using Orchestrator.Actions;
using Orchestrator.Actions.CallApi;
using Orchestrator.Api;
using Orchestrator.Data;
using Orchestrator.Hosting;
using Orchestrator.Projects;

namespace Orchestrator.Pipelines;

/// <summary>
/// Validates a pipeline once, on save (and on <c>/validate</c>): the definition's own rules
/// (<see cref="PipelineGraphChecks"/>: fields, ids, edges, no cycle, expressions, templates reading only upstream nodes,
/// placeholders each field offers, size caps) and what it refers to (<see cref="PipelineReferenceChecks"/>: project,
/// action configs, sub-pipelines). Every problem is reported, keyed by the node (<c>nodes.fetch.…</c>) or edge
/// (<c>edges[2].…</c>) it concerns.
/// </summary>
public sealed class PipelineValidator(ActionCatalog actions, OrchestratorDbContext db, IOptionsMonitor<OrchestratorOptions> options, SecretTemplates secrets)
{
    public const int MaxNameLength = 200;
    public const int MaxDescriptionLength = 2000;

    public async Task<(PipelineDefinition? Definition, FieldErrors Errors)> ValidateAsync(PipelineRequest request, string? pipelineId, CancellationToken ct)
    {
        var settings = options.CurrentValue.Pipelines;
        var references = new PipelineReferenceChecks(actions, db, settings, secrets);
        var errors = new FieldErrors();
        PipelineGraphChecks.CheckFields(request, errors);
        var project = request.Project ?? Project.DefaultId;
        await references.CheckProjectAsync(project, errors, ct);
        var (parallelism, policy) = PipelineGraphChecks.CheckRunSettings(request, settings, errors);
        if (PipelineGraphChecks.CheckGraph(request, settings, errors) is not { } graph)
        {
            return (null, errors);
        }

        var nodes = new List<NodeDefinition>();
        for (var i = 0; i < request.Nodes!.Count; i++)
        {
            if (request.Nodes[i] is { Id: { } id } node && PipelineGraphChecks.IsNodeId(id))
            {
                if (await ValidateNodeAsync(node, graph.Keys[i], graph.Ancestors?.GetValueOrDefault(id), graph.Edges, pipelineId, project, references, errors, ct) is { } definition)
                {
                    nodes.Add(definition);
                }
            }
        }

        if (!errors.Any && pipelineId is not null)
        {
            await references.CheckUsersAsync(pipelineId, errors, ct);
        }

        var (deadline, expectSuccessEvery) = await Deadlines.DeadlineRules.ValidateAsync(request.Deadline, request.ExpectSuccessEvery, db, errors, ct);
        if (errors.Any || graph.Order is not { } order)
        {
            return (null, errors);
        }

        // Stored in topological order, so the executor and the drawing can take them as they come.
        var position = order.Select((id, index) => (id, index)).ToDictionary(p => p.id, p => p.index, StringComparer.Ordinal);
        nodes.Sort((a, b) => position[a.Id].CompareTo(position[b.Id]));
        return (new PipelineDefinition(parallelism, policy, nodes, graph.Edges) { Deadline = deadline, ExpectSuccessEvery = expectSuccessEvery }, errors);
    }

    private static async Task<NodeDefinition?> ValidateNodeAsync(NodeRequest node, string key, HashSet<string>? ancestors, List<EdgeDefinition> edges, string? pipelineId, string project,
        PipelineReferenceChecks references, FieldErrors errors, CancellationToken ct)
    {
        var before = errors.Entries.Count;
        PipelineGraphChecks.CheckTimeout(node, key, errors);
        var retry = PipelineGraphChecks.CheckRetry(node.Retry, $"{key}.retry", errors);
        string? actionType = null;
        System.Text.Json.JsonElement? config = null;
        switch (node.Type)
        {
            case NodeDefinition.Action:
                var (action, checkedConfig) = await references.CheckActionAsync(node, key, project, errors, ct);
                if (action is not null && checkedConfig is { } c)
                {
                    (actionType, config) = (action.Type, c);
                    PipelineGraphChecks.CheckLiteralTool(action.Type, c, key, errors);
                    PipelineGraphChecks.CheckPlaceholders(action.Type, c, $"{key}.action.config", errors);
                    PipelineGraphChecks.CheckTemplatePaths(c, $"{key}.action.config", node.Id!, ancestors, errors);
                }

                break;
            case NodeDefinition.Condition:
                PipelineGraphChecks.CheckCondition(node, key, ancestors, errors);
                break;
            case NodeDefinition.SubPipeline:
                await references.CheckSubPipelineAsync(node, key, pipelineId, project, errors, ct);
                if (node.Inputs is { } inputs)
                {
                    PipelineGraphChecks.CheckPlaceholders(null, inputs, $"{key}.inputs", errors);
                    PipelineGraphChecks.CheckTemplatePaths(inputs, $"{key}.inputs", node.Id!, ancestors, errors);
                }

                break;
            default:
                errors.Add($"{key}.type", $"{(node.Type is null ? "is required" : $"'{node.Type}' is not a node type")}; use action, condition or pipeline.");
                break;
        }

        PipelineGraphChecks.CheckBranches(node, key, edges, errors);
        return errors.Entries.Count > before ? null
            : new NodeDefinition(node.Id!, node.Type!, actionType, config, node.Expression, node.Pipeline, node.Inputs, node.TimeoutSeconds, retry);
    }

    /// <summary>The action an action node names, when the catalog has it and a node can run it (else an error at <c>{key}.action.type</c>).</summary>
    internal static ActionDefinition? NodeAction(ActionCatalog actions, string? type, string key, FieldErrors errors)
    {
        if (type is null)
        {
            errors.Add($"{key}.action.type", $"is required; one of {string.Join(", ", actions.PipelineNodeTypes)}.");
            return null;
        }

        if (!actions.TryGet(type, out var action) || !action.RunsInPipelineNodes)
        {
            errors.Add($"{key}.action.type", $"'{type}' is not an action a pipeline node can run; use {string.Join(", ", actions.PipelineNodeTypes)} (a sub-pipeline is a 'pipeline' node).");
            return null;
        }

        return action;
    }
}
