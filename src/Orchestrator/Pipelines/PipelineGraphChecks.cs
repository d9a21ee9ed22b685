using System.Text.Json;
using System.Text.RegularExpressions;
using Orchestrator.Actions.Notifications;
using Orchestrator.Actions.Tasks;
using Orchestrator.Api;
using Orchestrator.Hosting;
using Orchestrator.Projects;
using Orchestrator.Schedules;
using Orchestrator.Templates;

namespace Orchestrator.Pipelines;

/// <summary>The nodes and edges of a definition that passed the graph checks, with what later checks need of them.</summary>
/// <param name="Keys">Each request node's error key: <c>nodes.fetch</c>, or <c>nodes[3]</c> when its id is unusable.</param>
/// <param name="Order">A topological order, or null when the edges form a cycle.</param>
/// <param name="Ancestors">Per node, the nodes that run before it, or null when the edges form a cycle.</param>
public sealed record PipelineGraph(string[] Keys, List<EdgeDefinition> Edges, List<string>? Order, Dictionary<string, HashSet<string>>? Ancestors);

/// <summary>
/// The checks of a pipeline definition that need nothing but the definition: fields and size caps, node ids, edges,
/// cycles, conditions, retries, and templates (each placeholder offered where it stands, each data path reading only
/// nodes that run before). Pure, so each rule can be tested without a server; what exists elsewhere (projects,
/// channels, tools, sub-pipelines) is <see cref="PipelineReferenceChecks"/>.
/// </summary>
public static partial class PipelineGraphChecks
{
    public static void CheckFields(PipelineRequest request, FieldErrors errors)
    {
        if (request.Id is not null && !ProjectEndpoints.IsSlug(request.Id))
        {
            errors.Add("id", "must be lowercase letters, digits and '-' (up to 63).");
        }

        // PostgreSQL text cannot hold NUL: storing one failed (reported as a conflict), so it is refused by name here.
        if (string.IsNullOrWhiteSpace(request.Name) || request.Name.Length > PipelineValidator.MaxNameLength || request.Name.Any(char.IsControl))
        {
            errors.Add("name", $"is required: 1–{PipelineValidator.MaxNameLength} printable characters.");
        }

        if (request.Description is { Length: > PipelineValidator.MaxDescriptionLength })
        {
            errors.Add("description", $"must be at most {PipelineValidator.MaxDescriptionLength} characters.");
        }
        else if (request.Description?.Contains('\0', StringComparison.Ordinal) == true)
        {
            errors.Add("description", "must not contain NUL characters.");
        }
    }

    public static (int Parallelism, string Policy) CheckRunSettings(PipelineRequest request, PipelinesOptions settings, FieldErrors errors)
    {
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

        return (parallelism, policy);
    }

    /// <summary>Node ids, edges and their order; null when the definition is too large or has no nodes to look at.</summary>
    public static PipelineGraph? CheckGraph(PipelineRequest request, PipelinesOptions settings, FieldErrors errors)
    {
        if (request.Nodes is not { Count: > 0 } requestNodes)
        {
            errors.Add("nodes", "is required: at least one node.");
            return null;
        }

        if (requestNodes.Count > settings.MaxNodes)
        {
            // Checked before anything per node, so a huge definition costs nothing more than its parsing.
            errors.Add("nodes", $"has {requestNodes.Count} nodes; at most {settings.MaxNodes} are allowed (Orchestrator:Pipelines:MaxNodes).");
            return null;
        }

        var requestEdges = request.Edges ?? [];
        if (requestEdges.Count > 4 * settings.MaxNodes)
        {
            errors.Add("edges", $"has {requestEdges.Count} edges; at most {4 * settings.MaxNodes} are allowed.");
            return null;
        }

        // Nodes: ids first, so later problems can name the node.
        var ids = new HashSet<string>(StringComparer.Ordinal);
        var keys = new string[requestNodes.Count];
        for (var i = 0; i < requestNodes.Count; i++)
        {
            var node = requestNodes[i];
            keys[i] = node?.Id is { } id && IsNodeId(id) ? $"nodes.{id}" : $"nodes[{i}]";
            if (node is null)
            {
                errors.Add(keys[i], "must be an object.");
            }
            else if (node.Id is null || !IsNodeId(node.Id))
            {
                errors.Add($"{keys[i]}.id", "is required: 1–64 letters, digits, '_' or '-', starting with a letter.");
            }
            else if (!ids.Add(node.Id))
            {
                errors.Add($"{keys[i]}.id", $"'{node.Id}' is used by more than one node.");
            }
        }

        var edges = CheckEdges(requestEdges, ids, errors);
        var (order, ancestors) = Order(ids, edges, errors);
        return new PipelineGraph(keys, edges, order, ancestors);
    }

    public static bool IsNodeId(string id) => NodeId().IsMatch(id);

    private static List<EdgeDefinition> CheckEdges(List<EdgeRequest?> requestEdges, HashSet<string> ids, FieldErrors errors)
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

    /// <summary>Edges leaving a condition say which branch they are (<c>when</c>); no other edge may.</summary>
    public static void CheckBranches(NodeRequest node, string key, List<EdgeDefinition> edges, FieldErrors errors)
    {
        foreach (var edge in edges.Where(e => e.From == node.Id))
        {
            if (node.Type == NodeDefinition.Condition && edge.When is null)
            {
                errors.Add($"{key}", $"edge '{edge.From}' → '{edge.To}' leaves a condition and needs \"when\": true or false.");
            }
            else if (node.Type != NodeDefinition.Condition && edge.When is not null)
            {
                errors.Add($"{key}", $"edge '{edge.From}' → '{edge.To}' has \"when\", which only edges leaving a condition may have.");
            }
        }
    }

    public static void CheckTimeout(NodeRequest node, string key, FieldErrors errors)
    {
        if (node.TimeoutSeconds is < 1 or > 86_400)
        {
            errors.Add($"{key}.timeoutSeconds", "must be between 1 and 86400.");
        }
    }

    public static void CheckCondition(NodeRequest node, string key, HashSet<string>? ancestors, FieldErrors errors)
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

    public static NodeRetry? CheckRetry(NodeRetryRequest? retry, string key, FieldErrors errors)
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

    /// <summary>Which tool a run_task node runs is the definition's decision (an admin's), never a run input's.</summary>
    public static void CheckLiteralTool(string actionType, JsonElement config, string key, FieldErrors errors)
    {
        if (actionType == RunTaskAction.TypeName && config.ValueKind == JsonValueKind.Object && config.TryGetProperty("tool", out var tool)
            && tool.ValueKind == JsonValueKind.String && tool.GetString()!.Contains("{{", StringComparison.Ordinal))
        {
            errors.Add($"{key}.action.config.tool", "must name the tool literally; templates are not allowed here.");
        }
    }

    /// <summary>
    /// The template context of each string of an action node's config (or a sub-pipeline's inputs) at
    /// <paramref name="key"/>: a notification's subject and message accept what a schedule's notification does plus the
    /// pipeline's data; every other string the pipeline's data and run only. A placeholder the field's context does not
    /// offer is refused here, naming the field, instead of failing (or being sent as written) when the node runs.
    /// </summary>
    public static void CheckPlaceholders(string? actionType, JsonElement config, string key, FieldErrors errors)
    {
        foreach (var (path, text) in JsonStrings.WithPaths(config, key))
        {
            var notification = actionType == SendNotificationAction.TypeName && (path == $"{key}.subject" || path == $"{key}.message");

            // A notification text the pipeline fills nothing in is the schedules' text, checked by the action itself with
            // the same names; checked here too, it would be reported twice.
            if (notification && !PipelineTemplates.HasPlaceholder(text))
            {
                continue;
            }

            TemplateValidator.Check(text, notification ? TemplateContext.PipelineNotification : TemplateContext.PipelineNode, path, errors);
        }
    }

    /// <summary>Each data path a template reads must parse and read only nodes that run before this one.</summary>
    public static void CheckTemplatePaths(JsonElement value, string key, string nodeId, HashSet<string>? ancestors, FieldErrors errors)
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
    public static bool IsTemplated(JsonElement config, string errorKey)
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

        // Only a placeholder the pipeline fills makes a value unknown until the run: a '{{secret:…}}' or a notification
        // placeholder is as known here as in a schedule, and an error about it stands.
        return current.ValueKind == JsonValueKind.String && PipelineTemplates.HasPlaceholder(current.GetString()!);
    }

    [GeneratedRegex("^[A-Za-z][A-Za-z0-9_-]{0,63}$", RegexOptions.CultureInvariant)]
    private static partial Regex NodeId();

    [GeneratedRegex(@"\[(\d+)\]", RegexOptions.CultureInvariant)]
    private static partial Regex IndexPattern();
}
