namespace Orchestrator.Agents;

/// <summary>
/// One step of an agent run: a model turn or a tool call, persisted so a run recovered on another node resumes from
/// it. Keyed by the run's ledger identity (its idempotency key, stable across attempts and nodes) and the step number.
/// </summary>
public sealed class AgentStep
{
    /// <summary>The idempotency key of the run (or pipeline node run) the step belongs to.</summary>
    public required string RunKey { get; set; }

    public int Number { get; set; }

    /// <summary>The run's id, for <c>GET /api/runs/{runId}/steps</c> and housekeeping.</summary>
    public Guid RunId { get; set; }

    /// <summary>The project the run belongs to: the daily token budget is per project.</summary>
    public required string ProjectId { get; set; }

    public AgentStepKind Kind { get; set; }

    /// <summary>The registry name of the tool a tool step called (as the model named it, when not offered).</summary>
    public string? ToolName { get; set; }

    public AgentStepStatus Status { get; set; }

    /// <summary>1, or more when a tool call cut off by a crash ran again (with the same idempotency key) or a model turn was asked again.</summary>
    public int Attempt { get; set; }

    /// <summary>The run's key and the step number: what a tool call sees as its idempotency key on every attempt.</summary>
    public required string IdempotencyKey { get; set; }

    public long? InputTokens { get; set; }

    public long? OutputTokens { get; set; }

    public long? TotalTokens { get; set; }

    public DateTimeOffset StartedAt { get; set; }

    public DateTimeOffset? FinishedAt { get; set; }

    /// <summary>Why the step failed or was refused, in words that carry no secret (tool errors are masked by the invoker).</summary>
    public string? Error { get; set; }

    /// <summary>
    /// What resuming needs (a model turn's messages; a tool call's id, arguments and the result fed back), as JSON.
    /// Nulled when the run ends unless <c>Agents:KeepTranscripts</c>.
    /// </summary>
    public string? Content { get; set; }

    /// <summary>Set when the attempt that made the step ended for good: a retry starts a new conversation after it.</summary>
    public bool Closed { get; set; }
}

public enum AgentStepKind
{
    Model,
    Tool,
}

public enum AgentStepStatus
{
    Running,
    Succeeded,
    Failed,

    /// <summary>A tool call the loop did not run (invalid arguments, or a tool not offered): the reasons went back to the model.</summary>
    Refused,
    Cancelled,
}
