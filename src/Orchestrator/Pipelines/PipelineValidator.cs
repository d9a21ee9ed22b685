using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Orchestrator.Actions;
using Orchestrator.Actions.CallApi;
using Orchestrator.Actions.Notifications;
using Orchestrator.Actions.Tasks;
using Orchestrator.Data;
using Orchestrator.Hosting;
using Orchestrator.Projects;
using Orchestrator.Schedules;

namespace Orchestrator.Pipelines;

/// <summary>
/// Validates a pipeline once, on save (and on <c>/validate</c>): unique node ids, known node types, configs valid
/// against their action's schema, expressions that parse, templates that read only from nodes that come before,
/// edges between existing nodes, no cycle, sub-pipelines that exist and do not recurse, and the size caps. Every
/// problem is reported, keyed by the node (<c>nodes.fetch.…</c>) or edge (<c>edges[2].…</c>) it concerns.
/// </summary>
public sealed partial class PipelineValidator(ActionCatalog actions, OrchestratorDbContext db, IOptionsMonitor<OrchestratorOptions> options, SecretTemplates secrets)
{
    public const int MaxNameLength = 200;
    public const int MaxDescriptionLength = 2000;

    /// <summary>The deepest sub-pipeline chain below the definition being validated, and the node it starts at.</summary>
    private (int Levels, string Key, string Path) deepest;

    public async Task<(PipelineDefinition? Definition, FieldErrors Errors)> ValidateAsync(PipelineRequest request, string? pipelineId, CancellationToken ct)
    {
        var settings = options.CurrentValue.Pipelines;
        var errors = new FieldErrors();
        deepest = (0, "", "");
        if (request.Id is not null && !ProjectEndpoints.IsSlug(request.Id))
        {
            errors.Add("id", "must be lowercase letters, digits and '-' (up to 63).");
        }

        // PostgreSQL text cannot hold NUL: storing one failed (reported as a conflict), so it is refused by name here.
        if (string.IsNullOrWhiteSpace(request.Name) || request.Name.Length > MaxNameLength || request.Name.Any(char.IsControl))
        {
            errors.Add("name", $"is required: 1–{MaxNameLength} printable characters.");
        }

        if (request.Description is { Length: > MaxDescriptionLength })
        {
            errors.Add("description", $"must be at most {MaxDescriptionLength} characters.");
        }
        else if (request.Description?.Contains('\0', StringComparison.Ordinal) == true)
        {
            errors.Add("description", "must not contain NUL characters.");
        }

        var project = request.Project ?? Project.DefaultId;
        if (!ProjectEndpoints.IsSlug(project) || !await db.Projects.AnyAsync(p => p.Id == project, ct))
        {
            errors.Add("project", $"no project with id '{project}'.");
        }

        var parallelism = request.MaxParallelism ?? 4;
        if (parallelism < 1 || parallelism > settings.MaxParallelism)
        {
            errors.Add("maxParallelism", $"must be between 1 and {settings.MaxParallelism} (Orchestrator:Pipelines:MaxParallelism).");
        }

        var policy = request.FailurePolicy ?? PipelineDefinition.Stop;
        if (policy is not (PipelineDefinition.Stop or PipelineDefinition.Continue))
        {
            errors.Add("failurePolicy", $"'{policy}' is not a failure policy; use 'stop' or 'continue'.");
        }

        if (request.Nodes is not { Count: > 0 } requestNodes)
        {
            errors.Add("nodes", "is required: at least one node.");
            return (null, errors);
        }

        if (requestNodes.Count > settings.MaxNodes)
        {
            // Checked before anything per node, so a huge definition costs nothing more than its parsing.
            errors.Add("nodes", $"has {requestNodes.Count} nodes; at most {settings.MaxNodes} are allowed (Orchestrator:Pipelines:MaxNodes).");
            return (null, errors);
        }

        var requestEdges = request.Edges ?? [];
        if (requestEdges.Count > 4 * settings.MaxNodes)
        {
            errors.Add("edges", $"has {requestEdges.Count} edges; at most {4 * settings.MaxNodes} are allowed.");
            return (null, errors);
        }

        // Nodes: ids first, so later problems can name the node.
        var nodes = new List<NodeDefinition>();
        var ids = new HashSet<string>(StringComparer.Ordinal);
        var keys = new string[requestNodes.Count];
        for (var i = 0; i < requestNodes.Count; i++)
        {
            var node = requestNodes[i];
            keys[i] = node?.Id is { } id && NodeId().IsMatch(id) ? $"nodes.{id}" : $"nodes[{i}]";
            if (node is null)
            {
                errors.Add(keys[i], "must be an object.");
            }
            else if (node.Id is null || !NodeId().IsMatch(node.Id))
            {
                errors.Add($"{keys[i]}.id", "is required: 1–64 letters, digits, '_' or '-', starting with a letter.");
            }
            else if (!ids.Add(node.Id))
            {
                errors.Add($"{keys[i]}.id", $"'{node.Id}' is used by more than one node.");
            }
        }

        var edges = ValidateEdges(requestEdges, ids, errors);
        var (order, ancestors) = Order(ids, edges, errors);

        for (var i = 0; i < requestNodes.Count; i++)
        {
            if (requestNodes[i] is { Id: { } id } node && NodeId().IsMatch(id))
            {
                if (await ValidateNodeAsync(node, keys[i], ancestors?.GetValueOrDefault(id), edges, pipelineId, project, errors, ct) is { } definition)
                {
                    nodes.Add(definition);
                }
            }
        }

        if (!errors.Any && pipelineId is not null && deepest.Levels > 0)
        {
            await CheckUsersAsync(pipelineId, errors, ct);
        }

        if (errors.Any || order is null)
        {
            return (null, errors);
        }

        // Stored in topological order, so the executor and the drawing can take them as they come.
        var position = order.Select((id, index) => (id, index)).ToDictionary(p => p.id, p => p.index, StringComparer.Ordinal);
        nodes.Sort((a, b) => position[a.Id].CompareTo(position[b.Id]));
        return (new PipelineDefinition(parallelism, policy, nodes, edges), errors);
    }

    private static List<EdgeDefinition> ValidateEdges(List<EdgeRequest?> requestEdges, HashSet<string> ids, FieldErrors errors)
    {
        var edges = new List<EdgeDefinition>();
        var seen = new HashSet<(string, string)>();
        for (var i = 0; i < requestEdges.Count; i++)
        {
            var key = $"edges[{i}]";
            if (requestEdges[i] is not { } edge)
            {
                errors.Add(key, "must be an object {from, to}.");
                continue;
            }

            var ok = true;
            foreach (var (field, value) in new[] { ("from", edge.From), ("to", edge.To) })
            {
                if (value is null)
                {
                    errors.Add($"{key}.{field}", "is required: a node id.");
                    ok = false;
                }
                else if (!ids.Contains(value))
                {
                    errors.Add($"{key}.{field}", $"'{value}' is not a node of this pipeline.");
                    ok = false;
                }
            }

            if (!ok)
            {
                continue;
            }

            if (edge.From == edge.To)
            {
                errors.Add(key, $"'{edge.From}' → '{edge.To}' is a loop on one node.");
            }
            else if (!seen.Add((edge.From!, edge.To!)))
            {
                errors.Add(key, $"'{edge.From}' → '{edge.To}' appears more than once.");
            }
            else
            {
                edges.Add(new EdgeDefinition(edge.From!, edge.To!, edge.When));
            }
        }

        return edges;
    }

    /// <summary>A topological order (Kahn) and each node's ancestors; a cycle is reported with the nodes on it.</summary>
    private static (List<string>? Order, Dictionary<string, HashSet<string>>? Ancestors) Order(HashSet<string> ids, List<EdgeDefinition> edges, FieldErrors errors)
    {
        var incoming = ids.ToDictionary(id => id, _ => 0, StringComparer.Ordinal);
        var outgoing = ids.ToDictionary(id => id, _ => new List<string>(), StringComparer.Ordinal);
        foreach (var edge in edges)
        {
            incoming[edge.To]++;
            outgoing[edge.From].Add(edge.To);
        }

        var ready = new Queue<string>(ids.Where(id => incoming[id] == 0).Order(StringComparer.Ordinal));
        var order = new List<string>();
        var ancestors = ids.ToDictionary(id => id, _ => new HashSet<string>(StringComparer.Ordinal), StringComparer.Ordinal);
        while (ready.TryDequeue(out var id))
        {
            order.Add(id);
            foreach (var next in outgoing[id])
            {
                ancestors[next].Add(id);
                ancestors[next].UnionWith(ancestors[id]);
                if (--incoming[next] == 0)
                {
                    ready.Enqueue(next);
                }
            }
        }

        if (order.Count == ids.Count)
        {
            return (order, ancestors);
        }

        var onCycle = ids.Where(id => incoming[id] > 0).Order(StringComparer.Ordinal).ToList();
        errors.Add("edges", $"form a cycle through {string.Join(", ", onCycle.Take(20).Select(n => $"'{n}'"))}{(onCycle.Count > 20 ? ", …" : "")}; a pipeline must be acyclic.");
        return (null, null);
    }

    private async Task<NodeDefinition?> ValidateNodeAsync(NodeRequest node, string key, HashSet<string>? ancestors, List<EdgeDefinition> edges, string? pipelineId, string project,
        FieldErrors errors, CancellationToken ct)
    {
        var before = errors.Entries.Count;
        var outgoing = edges.Where(e => e.From == node.Id).ToList();
        if (node.TimeoutSeconds is < 1 or > 86_400)
        {
            errors.Add($"{key}.timeoutSeconds", "must be between 1 and 86400.");
        }

        var retry = ValidateRetry(node.Retry, $"{key}.retry", errors);
        string? actionType = null;
        JsonElement? config = null;
        switch (node.Type)
        {
            case NodeDefinition.Action:
                (actionType, config) = await ValidateActionAsync(node, key, project, errors, ct);
                if (config is { } c)
                {
                    CheckTemplates(c, $"{key}.action.config", node.Id!, ancestors, errors);
                }

                break;
            case NodeDefinition.Condition:
                ValidateCondition(node, key, ancestors, errors);
                foreach (var edge in outgoing.Where(e => e.When is null))
                {
                    errors.Add($"{key}", $"edge '{edge.From}' → '{edge.To}' leaves a condition and needs \"when\": true or false.");
                }

                break;
            case NodeDefinition.SubPipeline:
                await ValidateSubPipelineAsync(node, key, pipelineId, project, errors, ct);
                if (node.Inputs is { } inputs)
                {
                    CheckTemplates(inputs, $"{key}.inputs", node.Id!, ancestors, errors);
                }

                break;
            default:
                errors.Add($"{key}.type", $"{(node.Type is null ? "is required" : $"'{node.Type}' is not a node type")}; use action, condition or pipeline.");
                break;
        }

        if (node.Type != NodeDefinition.Condition)
        {
            foreach (var edge in outgoing.Where(e => e.When is not null))
            {
                errors.Add($"{key}", $"edge '{edge.From}' → '{edge.To}' has \"when\", which only edges leaving a condition may have.");
            }
        }

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

    private async Task<(string? Type, JsonElement? Config)> ValidateActionAsync(NodeRequest node, string key, string project, FieldErrors errors, CancellationToken ct)
    {
        if (NodeAction(actions, node.Action?.Type, key, errors) is not { } action)
        {
            return (null, null);
        }

        var type = action.Type;
        var config = node.Action!.Config ?? JsonDocument.Parse("{}").RootElement;
        if (type == RunTaskAction.TypeName && config.ValueKind == JsonValueKind.Object && config.TryGetProperty("tool", out var tool)
            && tool.ValueKind == JsonValueKind.String && tool.GetString()!.Contains("{{", StringComparison.Ordinal))
        {
            // Which tool runs is the definition's decision (an admin's), never a run input's.
            errors.Add($"{key}.action.config.tool", "must name the tool literally; templates are not allowed here.");
        }

        // Values with a pipeline placeholder are only known when the node runs (they are checked again then); judge the
        // rest now, with the schedules' own checks, so an unknown secret or placeholder is refused here as it is there.
        var found = new FieldErrors();
        await action.ValidateAsync(config, "config", found, ct, project);
        foreach (var (field, reasons) in found.Entries.Where(e => !IsTemplated(config, e.Key)))
        {
            foreach (var reason in reasons)
            {
                errors.Add($"{key}.action.{field}", reason);
            }
        }

        if (config.ValueKind == JsonValueKind.Object)
        {
            CheckTemplatedRemainders(action, config, $"{key}.action.config", errors);
        }

        return (type, config);
    }

    /// <summary>
    /// A value mixing a pipeline placeholder with a secret reference or a notification placeholder ("Bearer {{secret:X}}
    /// {{inputs.t}}") is deferred above as a whole; what surrounds the pipeline placeholders is known now and gets the
    /// same checks a schedule's value gets: a secret only where the action type takes one (not a notification message,
    /// not a URL), well formed (an opened "{{secret:{{inputs.x}}}}" is not a reference a run input may complete), and
    /// configured; notification placeholders known.
    /// </summary>
    private void CheckTemplatedRemainders(ActionDefinition action, JsonElement config, string key, FieldErrors errors)
    {
        foreach (var (path, text) in JsonStrings.WithPaths(config, key))
        {
            if (!PipelineTemplates.HasPlaceholder(text))
            {
                continue;
            }

            var rest = PipelineTemplates.WithoutPlaceholders(text);
            if (action.SecretReferenceProblem(path[(key.Length + 1)..], rest) is { } problem)
            {
                errors.Add(path, problem);
            }

            foreach (var unknown in secrets.UnknownReferences(rest).Distinct(StringComparer.Ordinal))
            {
                errors.Add(path, SecretTemplates.NotConfigured(unknown));
            }

            if (action.Type == SendNotificationAction.TypeName && path is var p && (p == $"{key}.subject" || p == $"{key}.message"))
            {
                foreach (var unknown in RunTemplate.UnknownPlaceholders(rest))
                {
                    errors.Add(path, RunTemplate.NotKnown(unknown));
                }
            }
        }
    }

    private static void ValidateCondition(NodeRequest node, string key, HashSet<string>? ancestors, FieldErrors errors)
    {
        if (string.IsNullOrWhiteSpace(node.Expression))
        {
            errors.Add($"{key}.expression", "is required for a condition node, e.g. \"nodes.fetch.output.status == 200\".");
            return;
        }

        try
        {
            foreach (var path in Condition.Parse(node.Expression).Paths)
            {
                CheckPath(path, $"{key}.expression", node.Id!, ancestors, errors);
            }
        }
        catch (ExpressionException ex)
        {
            errors.Add($"{key}.expression", ex.Message);
        }
    }

    private async Task ValidateSubPipelineAsync(NodeRequest node, string key, string? pipelineId, string project, FieldErrors errors, CancellationToken ct)
    {
        if (node.Pipeline is { } named && !ProjectEndpoints.IsSlug(named))
        {
            // Not a pipeline id at all (a NUL, say, which the database cannot even look up): no need to ask it.
            errors.Add($"{key}.pipeline", $"no pipeline with id '{named}'.");
            return;
        }

        if (node.Pipeline is { } target && await db.Pipelines.Where(p => p.Id == target).Select(p => p.ProjectId).FirstOrDefaultAsync(ct) is { } childProject && childProject != project)
        {
            errors.Add($"{key}.pipeline", $"'{target}' belongs to project '{childProject}'; a sub-pipeline must be in the same project ('{project}').");
            return;
        }

        if (node.Pipeline is not { } child)
        {
            errors.Add($"{key}.pipeline", "is required: the id of the pipeline to run.");
            return;
        }

        if (child == pipelineId)
        {
            errors.Add($"{key}.pipeline", $"'{child}' is this pipeline; a pipeline cannot run itself.");
            return;
        }

        // Walk the sub-pipelines' current versions: reaching this pipeline again is recursion, going too deep is refused.
        var maxDepth = options.CurrentValue.Pipelines.MaxDepth;
        var frontier = new List<(string Id, string Path)> { (child, child) };
        for (var depth = 1; frontier.Count > 0; depth++)
        {
            if (depth > maxDepth)
            {
                errors.Add($"{key}.pipeline", $"nests sub-pipelines deeper than {maxDepth} levels ({frontier[0].Path}).");
                return;
            }

            if (depth > deepest.Levels)
            {
                deepest = (depth, $"{key}.pipeline", frontier[0].Path);
            }

            var next = new List<(string, string)>();
            foreach (var (id, path) in frontier)
            {
                var definition = await (from p in db.Pipelines
                                        join v in db.PipelineVersions on new { p.Id, p.Version } equals new { Id = v.PipelineId, v.Version }
                                        where p.Id == id
                                        select v.Definition).FirstOrDefaultAsync(ct);
                if (definition is null)
                {
                    errors.Add($"{key}.pipeline", depth == 1 ? $"no pipeline with id '{id}'." : $"'{path}' refers to a pipeline that does not exist.");
                    return;
                }

                foreach (var sub in PipelineDefinition.FromJson(definition).Nodes.Where(n => n.Type == NodeDefinition.SubPipeline).Select(n => n.Pipeline!))
                {
                    if (sub == pipelineId)
                    {
                        errors.Add($"{key}.pipeline", $"'{path} → {sub}' leads back to this pipeline; sub-pipelines must not recurse.");
                        return;
                    }

                    next.Add((sub, $"{path} → {sub}"));
                }
            }

            frontier = next;
        }
    }

    /// <summary>
    /// The walk above only looks down. Saving a pipeline that others use also deepens their chains: walk up through
    /// the pipelines whose current version runs this one (a text match narrows the candidates, the parsed definition
    /// decides) and refuse the save if the longest chain through this pipeline would nest deeper than MaxDepth.
    /// </summary>
    private async Task CheckUsersAsync(string pipelineId, FieldErrors errors, CancellationToken ct)
    {
        var maxDepth = options.CurrentValue.Pipelines.MaxDepth;
        var frontier = new Dictionary<string, string>(StringComparer.Ordinal) { [pipelineId] = pipelineId };
        for (var above = 1; frontier.Count > 0; above++)
        {
            var next = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (id, path) in frontier)
            {
                var needle = $"\"pipeline\":\"{id}\"";
                var users = await (from p in db.Pipelines
                                   join v in db.PipelineVersions on new { p.Id, p.Version } equals new { Id = v.PipelineId, v.Version }
                                   where p.Id != pipelineId && v.Definition.Contains(needle)
                                   select new { p.Id, v.Definition }).ToListAsync(ct);
                foreach (var user in users.Where(u => PipelineDefinition.FromJson(u.Definition).Nodes.Any(n => n.Type == NodeDefinition.SubPipeline && n.Pipeline == id)))
                {
                    var chain = $"{user.Id} → {path}";
                    if (above + deepest.Levels > maxDepth)
                    {
                        errors.Add(deepest.Key, $"nests sub-pipelines deeper than {maxDepth} levels together with the pipelines that use this one ({chain} → {deepest.Path}).");
                        return;
                    }

                    next.TryAdd(user.Id, chain);
                }
            }

            frontier = next;
        }
    }

    private static NodeRetry? ValidateRetry(NodeRetryRequest? retry, string key, FieldErrors errors)
    {
        if (retry is null)
        {
            return null;
        }

        var attempts = retry.MaxAttempts ?? 3;
        if (attempts is < 1 or > RetrySpec.MaxAttemptsLimit)
        {
            // The schedules' limit: a node's retries are no more open-ended than a schedule's.
            errors.Add($"{key}.maxAttempts", $"must be between 1 and {RetrySpec.MaxAttemptsLimit} (1 means no retry).");
        }

        var backoff = retry.Backoff ?? "exponential";
        if (backoff is not ("fixed" or "exponential"))
        {
            errors.Add($"{key}.backoff", $"'{backoff}' is not a backoff; use fixed or exponential.");
        }

        var initial = retry.InitialDelaySeconds ?? 1;
        if (initial is < 0 or > 3600 || double.IsNaN(initial))
        {
            errors.Add($"{key}.initialDelaySeconds", "must be between 0 and 3600.");
        }

        var max = retry.MaxDelaySeconds ?? 300;
        if (max < initial || max > 86_400)
        {
            errors.Add($"{key}.maxDelaySeconds", "must be at least initialDelaySeconds and at most 86400.");
        }

        return new NodeRetry(attempts, backoff, initial, max);
    }

    private static void CheckTemplates(JsonElement value, string key, string nodeId, HashSet<string>? ancestors, FieldErrors errors)
    {
        try
        {
            foreach (var path in PipelineTemplates.PathsIn(value))
            {
                CheckPath(path, key, nodeId, ancestors, errors);
            }
        }
        catch (ExpressionException ex)
        {
            errors.Add(key, ex.Message);
        }
    }

    private static void CheckPath(DataPath path, string key, string nodeId, HashSet<string>? ancestors, FieldErrors errors)
    {
        if (path.NodeId is { } source && ancestors is not null && !ancestors.Contains(source))
        {
            errors.Add(key, $"'{path.Text}' reads node '{source}', which does not run before '{nodeId}' (only nodes upstream of a node can be read).");
        }
    }

    /// <summary>Whether the config value an error points at (<c>config.headers.X</c>, <c>config.items[0]</c>) is a template, to be judged at run time.</summary>
    private static bool IsTemplated(JsonElement config, string errorKey)
    {
        var current = config;
        foreach (var part in errorKey["config".Length..].Split('.', StringSplitOptions.RemoveEmptyEntries))
        {
            var name = part;
            var bracket = part.IndexOf('[', StringComparison.Ordinal);
            var indices = new List<int>();
            if (bracket >= 0)
            {
                name = part[..bracket];
                indices.AddRange(IndexPattern().Matches(part[bracket..]).Select(m => int.Parse(m.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture)));
            }

            if (name.Length > 0 && (current.ValueKind != JsonValueKind.Object || !current.TryGetProperty(name, out current)))
            {
                return false;
            }

            foreach (var index in indices)
            {
                if (current.ValueKind != JsonValueKind.Array || index >= current.GetArrayLength())
                {
                    return false;
                }

                current = current[index];
            }
        }

        // Only a pipeline placeholder makes a value unknown until the run: a '{{secret:…}}' or a notification
        // placeholder is as known here as in a schedule, and an error about it stands.
        return current.ValueKind == JsonValueKind.String && PipelineTemplates.HasPlaceholder(current.GetString()!);
    }

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9_-]{0,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex NodeId();

    [GeneratedRegex(@"\[(\d+)\]", RegexOptions.CultureInvariant)]
    private static partial Regex IndexPattern();
}
