using System.Text.Json;
using System.Text.Json.Nodes;

namespace Orchestrator.Pipelines;

public sealed record RunPipelineRequest(JsonElement? Inputs);

/// <summary>A pipeline in a listing: its identity and current version, without the definition.</summary>
public sealed record PipelineSummary(string Id, string Name, string Project, string? Description, int Version, DateTimeOffset UpdatedAt)
{
    public static PipelineSummary From(Pipeline p) => new(p.Id, p.Name, p.ProjectId, p.Description, p.Version, p.UpdatedAt);
}

/// <summary>A definition that validates: its size and the node order it would run in.</summary>
public sealed record PipelineValidationResponse(bool Valid, int Nodes, int Edges, IReadOnlyList<string> Order);

/// <summary>A deleted pipeline (the endpoint answers 204; other surfaces can say which one went).</summary>
public sealed record PipelineDeleted(string Id);

public sealed record PipelineResponse(string Id, string Name, string Project, string? Description, int Version, int MaxParallelism, string FailurePolicy,
    IReadOnlyList<NodeDefinition> Nodes, IReadOnlyList<EdgeDefinition> Edges, DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    /// <summary>The pipeline's deadline on its runs (start and success limits, channel), or null.</summary>
    public Deadlines.DeadlineView? Deadline { get; init; }

    /// <summary>The dead man's switch as an ISO-8601 duration, or null.</summary>
    public string? ExpectSuccessEvery { get; init; }

    public static PipelineResponse From(Pipeline p, int version, PipelineDefinition d) =>
        new(p.Id, p.Name, p.ProjectId, p.Description, version, d.MaxParallelism, d.FailurePolicy, d.Nodes, d.Edges, p.CreatedAt, p.UpdatedAt)
        {
            Deadline = d.Deadline,
            ExpectSuccessEvery = d.ExpectSuccessEvery,
        };
}

public sealed record PipelineRunResponse(Guid Id, string PipelineId, int Version, string Project, string Status, string TriggeredBy, Guid? LedgerRunId,
    Guid? ParentRunId, string? ParentNodeId, JsonNode? Inputs, DateTimeOffset CreatedAt, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt,
    string? Node, int Attempt, bool CancelRequested, string? Error)
{
    public static PipelineRunResponse From(PipelineRun r) => new(r.Id, r.PipelineId, r.Version, r.ProjectId, r.Status.ToString().ToLowerInvariant(), r.TriggeredBy,
        r.LedgerRunId, r.ParentRunId, r.ParentNodeId, JsonNode.Parse(r.Inputs), r.CreatedAt, r.StartedAt, r.FinishedAt, r.Node, r.Attempt, r.CancelRequested, r.Error);
}

public sealed record NodeRunResponse(string NodeId, string Status, int Attempts, string IdempotencyKey, DateTimeOffset? StartedAt, DateTimeOffset? FinishedAt,
    JsonNode? Output, string? Error, string? Node, Guid? ChildRunId)
{
    public static NodeRunResponse From(NodeRun n) => new(n.NodeId, n.Status.ToString().ToLowerInvariant(), n.Attempts, n.IdempotencyKey, n.StartedAt, n.FinishedAt,
        n.Output is null ? null : JsonNode.Parse(n.Output), n.Error, n.Node, n.ChildRunId);
}

/// <summary>One run with its node runs and the definition it ran (nodes and edges), enough to draw it.</summary>
public sealed record PipelineRunDetail(PipelineRunResponse Run, IReadOnlyList<NodeRunResponse> Nodes, IReadOnlyList<NodeDefinition> Definition, IReadOnlyList<EdgeDefinition> Edges);
