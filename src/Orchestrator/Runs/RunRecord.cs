namespace Orchestrator.Runs;

/// <summary>
/// One row of the run ledger: a single execution of a schedule (or pipeline) for one scheduled fire time.
/// Written before the action starts, so a node that dies mid-run leaves a row the recovering node can read.
/// </summary>
public sealed class RunRecord
{
    public Guid Id { get; set; }

    /// <summary>The schedule's id (<c>{project}.{name}</c>).</summary>
    public required string ScheduleId { get; set; }

    public string? ProjectId { get; set; }

    public Guid? PipelineRunId { get; set; }

    public required string ActionType { get; set; }

    public RunStatus Status { get; set; }

    public RunTrigger TriggeredBy { get; set; }

    public DateTimeOffset ScheduledFireTime { get; set; }

    public DateTimeOffset? StartedAt { get; set; }

    public DateTimeOffset? FinishedAt { get; set; }

    /// <summary>Quartz's id of the firing running the latest attempt, so a cancel can interrupt it on whichever node runs it.</summary>
    public string? FireInstanceId { get; set; }

    /// <summary>The scheduler instance id of the node that ran (or is running) the latest attempt.</summary>
    public string? Node { get; set; }

    public int Attempt { get; set; }

    /// <summary>Stable across attempts of the same fire time, so the receiving side can de-duplicate.</summary>
    public required string IdempotencyKey { get; set; }

    /// <summary>JSON result of the action (status, selected headers, truncated body, exit code…).</summary>
    public string? Result { get; set; }

    public string? Error { get; set; }

    /// <summary>JSON of the config the run used, secrets redacted.</summary>
    public string? ConfigSnapshot { get; set; }

    /// <summary>An agent run's tokens (input, output, total) and steps over all its attempts; null for other actions.</summary>
    public long? InputTokens { get; set; }

    public long? OutputTokens { get; set; }

    public long? TotalTokens { get; set; }

    public int? AgentSteps { get; set; }

    /// <summary>Optimistic concurrency: two nodes completing the same row cannot both win.</summary>
    public int Version { get; set; }
}

public enum RunStatus
{
    Pending,
    Running,
    Succeeded,
    Failed,
    Cancelled,
    Interrupted,
    Skipped,
}

public enum RunTrigger
{
    Schedule,
    Manual,
    Recovery,
    Backfill,
    Pipeline,
    Retry,
}
