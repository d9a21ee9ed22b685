using System.Text.Json;
using Orchestrator.Schedules;

namespace Orchestrator.Pipelines;

/// <summary>A pipeline as the API receives it; every field nullable so a missing one gets our message, not the binder's.</summary>
public sealed record PipelineRequest(
    string? Id,
    string? Name,
    string? Project,
    string? Description,
    int? MaxParallelism,
    string? FailurePolicy,
    List<NodeRequest?>? Nodes,
    List<EdgeRequest?>? Edges)
{
    /// <summary>Alert a channel when a run of this pipeline does not start or succeed in time (<see cref="Deadlines.DeadlineRules"/>).</summary>
    public Deadlines.DeadlineRequest? Deadline { get; init; }

    /// <summary>The dead man's switch: an ISO-8601 duration or seconds without a succeeded run; alerts <c>deadline.channel</c>.</summary>
    public JsonElement? ExpectSuccessEvery { get; init; }
}

/// <summary>
/// A node: <c>action</c> (<c>action: {type, config}</c>, as in a schedule), <c>condition</c> (<c>expression</c>), or
/// <c>pipeline</c> (<c>pipeline</c> id and <c>inputs</c>). Any node may set <c>timeoutSeconds</c> and <c>retry</c>.
/// </summary>
public sealed record NodeRequest(
    string? Id,
    string? Type,
    ActionRequest? Action,
    string? Expression,
    string? Pipeline,
    JsonElement? Inputs,
    int? TimeoutSeconds,
    NodeRetryRequest? Retry);

public sealed record NodeRetryRequest(int? MaxAttempts, string? Backoff, double? InitialDelaySeconds, double? MaxDelaySeconds);

/// <summary>An edge; <c>when</c> is required on edges leaving a condition (the branch it belongs to) and refused elsewhere.</summary>
public sealed record EdgeRequest(string? From, string? To, bool? When);

/// <summary>A validated definition, as stored in a <see cref="PipelineVersion"/>.</summary>
public sealed record PipelineDefinition(int MaxParallelism, string FailurePolicy, List<NodeDefinition> Nodes, List<EdgeDefinition> Edges)
{
    /// <summary>The pipeline's deadline; absent from definitions saved before deadlines existed, and not written when none.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public Deadlines.DeadlineView? Deadline { get; init; }

    /// <summary>The dead man's switch as an ISO-8601 duration, or null.</summary>
    [System.Text.Json.Serialization.JsonIgnore(Condition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull)]
    public string? ExpectSuccessEvery { get; init; }

    public const string Stop = "stop";
    public const string Continue = "continue";

    public static readonly JsonSerializerOptions Json = JsonSerializerOptions.Web;

    public string ToJson() => JsonSerializer.Serialize(this, Json);

    public static PipelineDefinition FromJson(string json) => JsonSerializer.Deserialize<PipelineDefinition>(json, Json)!;
}

public sealed record NodeDefinition(
    string Id,
    string Type,
    string? ActionType,
    JsonElement? Config,
    string? Expression,
    string? Pipeline,
    JsonElement? Inputs,
    int? TimeoutSeconds,
    NodeRetry? Retry)
{
    public const string Action = "action";
    public const string Condition = "condition";
    public const string SubPipeline = "pipeline";
}

/// <summary>A node's retry as a definition stores and shows it; it runs as the schedules' <see cref="RetrySpec"/>.</summary>
public sealed record NodeRetry(int MaxAttempts, string Backoff, double InitialDelaySeconds, double MaxDelaySeconds)
{
    /// <summary>The one retry model: the same attempts, backoff and waits (Quartz's <see cref="Quartz.RetryPolicy"/>) as a schedule's.</summary>
    public RetrySpec ToSpec() =>
        new(MaxAttempts, Backoff != "fixed", TimeSpan.FromSeconds(InitialDelaySeconds), TimeSpan.FromSeconds(Math.Max(MaxDelaySeconds, InitialDelaySeconds)));
}

public sealed record EdgeDefinition(string From, string To, bool? When);
