namespace Orchestrator.Pipelines;

/// <summary>A pipeline: its identity and the number of its current version. The definitions are in <see cref="PipelineVersion"/>.</summary>
public sealed class Pipeline
{
    public required string Id { get; set; }

    public required string Name { get; set; }

    public required string ProjectId { get; set; }

    public string? Description { get; set; }

    /// <summary>The current version; every save makes a new one and runs keep the version they started with.</summary>
    public int Version { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}

/// <summary>One saved definition of a pipeline (nodes, edges, limits), never changed after it is written.</summary>
public sealed class PipelineVersion
{
    public required string PipelineId { get; set; }

    public int Version { get; set; }

    /// <summary>The validated definition as JSON (<see cref="PipelineDefinition"/>).</summary>
    public required string Definition { get; set; }

    public DateTimeOffset CreatedAt { get; set; }
}

/// <summary>One execution of a pipeline version. Its node runs are persisted as they change, so another node can resume it.</summary>
public sealed class PipelineRun
{
    public Guid Id { get; set; }

    public required string PipelineId { get; set; }

    public int Version { get; set; }

    public required string ProjectId { get; set; }

    public PipelineRunStatus Status { get; set; }

    /// <summary>api, schedule (an execute_pipeline firing), or pipeline (a sub-pipeline node).</summary>
    public required string TriggeredBy { get; set; }

    /// <summary>The run-ledger row of the execute_pipeline firing that started it; a recovered firing finds its run here.</summary>
    public Guid? LedgerRunId { get; set; }

    public Guid? ParentRunId { get; set; }

    public string? ParentNodeId { get; set; }

    public required string Inputs { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset? StartedAt { get; set; }

    public DateTimeOffset? FinishedAt { get; set; }

    /// <summary>Scheduler instance that runs (or last ran) it.</summary>
    public string? Node { get; set; }

    /// <summary>Quartz's fire instance id of the job running it, so a cancel reaches whichever node runs it.</summary>
    public string? FireInstanceId { get; set; }

    /// <summary>How many times an executor has started (1, then +1 for every resume after a crash).</summary>
    public int Attempt { get; set; }

    public bool CancelRequested { get; set; }

    public string? Error { get; set; }

    /// <summary>
    /// A new pending run of <paramref name="pipeline"/> at its current version, as the API and an execute_pipeline
    /// firing start one: the same fields either way, so the two runs differ only in who started them.
    /// </summary>
    public static PipelineRun Pending(Pipeline pipeline, string triggeredBy, string inputs, DateTimeOffset now, Guid? ledgerRunId = null) => new()
    {
        Id = Guid.CreateVersion7(now),
        PipelineId = pipeline.Id,
        Version = pipeline.Version,
        ProjectId = pipeline.ProjectId,
        Status = PipelineRunStatus.Pending,
        TriggeredBy = triggeredBy,
        LedgerRunId = ledgerRunId,
        Inputs = inputs,
        CreatedAt = now,
    };
}

/// <summary>The state of one node in one pipeline run: written before the node starts and whenever it changes.</summary>
public sealed class NodeRun
{
    public Guid PipelineRunId { get; set; }

    public required string NodeId { get; set; }

    public NodeRunStatus Status { get; set; }

    /// <summary>Attempts started so far, across retries and resumes.</summary>
    public int Attempts { get; set; }

    /// <summary>Stable for the node in this run: a retry or a resumed attempt sends the same key.</summary>
    public required string IdempotencyKey { get; set; }

    public DateTimeOffset? StartedAt { get; set; }

    public DateTimeOffset? FinishedAt { get; set; }

    public string? Output { get; set; }

    public string? Error { get; set; }

    public string? Node { get; set; }

    public Guid? ChildRunId { get; set; }
}

public enum PipelineRunStatus
{
    Pending,
    Running,
    Succeeded,
    Failed,
    Cancelled,
    Interrupted,
}

public enum NodeRunStatus
{
    Pending,
    Running,
    Succeeded,
    Failed,
    Skipped,
    Cancelled,
}
