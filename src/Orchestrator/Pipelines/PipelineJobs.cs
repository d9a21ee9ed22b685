using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Orchestrator.Actions;
using Orchestrator.Api;
using Orchestrator.Data;
using Quartz;

namespace Orchestrator.Pipelines;

/// <summary>
/// Runs a pipeline run started through the API. Each run is a Quartz job of its own that requests recovery, with the
/// run id in the job's own data: if the node running it dies, another node's Quartz recovers the job after the
/// check-in timeout, and if the node shuts down, Quartz hands the firing back the same way
/// (<c>RecoverFiringsCancelledByShutdown</c>); either way the executor resumes the run.
/// </summary>
public sealed class PipelineRunJob(PipelineExecutor executor) : IJob
{
    public const string Group = "_pipeline-runs";
    public const string RunIdKey = "pipelineRunId";

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        var runId = Guid.Parse(context.MergedJobDataMap.GetString(RunIdKey)!);
        var run = await executor.RunFiringAsync(runId, context.Scheduler.SchedulerInstanceId, context.FireInstanceId, cancellationToken);
        context.Result = run.Status.ToString();
        if (run.Status == PipelineRunStatus.Interrupted)
        {
            // This node is shutting down and the run's state is written: stopping by the shutdown's token is what makes
            // Quartz store a recovery trigger for the job, so another node (or this one after its restart) resumes it.
            throw new OperationCanceledException(cancellationToken);
        }
    }

    /// <summary>Hands a pending run to the cluster: whichever node acquires the trigger runs it.</summary>
    public static async Task StartAsync(ISchedulerFactory schedulers, Guid runId, CancellationToken cancellationToken)
    {
        var scheduler = await schedulers.GetScheduler(cancellationToken);
        var job = JobBuilder.Create<PipelineRunJob>()
            .WithIdentity($"run-{runId:N}", Group)
            .UsingJobData(RunIdKey, runId.ToString())
            .RequestRecovery()
            .Build();
        var trigger = TriggerBuilder.Create().WithIdentity($"run-{runId:N}", Group).StartNow().Build();
        await scheduler.ScheduleJob(job, trigger, cancellationToken: cancellationToken);
    }
}

/// <summary>The <c>execute_pipeline</c> action type: a pipeline id (in the schedule's project) and its inputs.</summary>
public sealed class ExecutePipelineAction(IServiceScopeFactory scopes) : ActionDefinition
{
    public const string TypeName = "execute_pipeline";

    public override string Type => TypeName;

    public override Type JobType => typeof(ExecutePipelineJob);

    public override string Description => "Starts a run of a pipeline of the schedule's project with the given inputs.";

    /// <summary>A pipeline runs another as a <c>pipeline</c> node, not as an action node.</summary>
    public override bool RunsInPipelineNodes => false;

    public override string SchemaJson => """
        {
          "$schema": "https://json-schema.org/draft/2020-12/schema",
          "title": "execute_pipeline config",
          "type": "object",
          "additionalProperties": false,
          "required": ["pipeline"],
          "properties": {
            "pipeline": { "type": "string", "minLength": 1, "maxLength": 63 },
            "inputs": { "type": "object" }
          }
        }
        """;

    protected override async ValueTask ValidateSemanticsAsync(JsonElement config, string prefix, string? projectId, FieldErrors errors, CancellationToken cancellationToken)
    {
        var id = config.GetProperty("pipeline").GetString()!;
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>();
        var project = await db.Pipelines.Where(p => p.Id == id).Select(p => p.ProjectId).FirstOrDefaultAsync(cancellationToken);
        // A pipeline of another project is answered exactly as a missing one: a project-scoped key (or a task confined to
        // its project) must not learn that another project has a pipeline of that id, nor which project it is.
        if (project is null || (projectId is not null && project != projectId))
        {
            errors.Add($"{prefix}.pipeline", projectId is null
                ? $"no pipeline with id '{id}' (see /api/pipelines)."
                : $"no pipeline with id '{id}' in project '{projectId}' (see /api/pipelines).");
        }
    }
}

/// <summary>
/// The Quartz job of the <c>execute_pipeline</c> action type. The ledger row of the firing owns one pipeline run: a
/// recovered firing (attempt 2 of the same row) finds that run and resumes it instead of starting another.
/// </summary>
public sealed class ExecutePipelineJob(OrchestratorDbContext db, PipelineExecutor executor, ISchedulerFactory schedulers, TimeProvider time, ActionJobServices services)
    : ActionJob(services)
{
    protected override string ActionType => ExecutePipelineAction.TypeName;

    /// <summary>
    /// True: the pipeline run's state is written as it goes, so a firing stopped by a shutdown is handed back and its
    /// recovery (the same ledger row, next attempt) finds the run by <see cref="PipelineRun.LedgerRunId"/> and resumes it.
    /// </summary>
    protected override bool ResumesAfterShutdown => true;

    protected override async Task<ActionOutcome> ExecuteActionAsync(ActionInvocation invocation, CancellationToken cancellationToken)
    {
        var runId = await db.PipelineRuns.Where(r => r.LedgerRunId == invocation.RunId).Select(r => (Guid?)r.Id).FirstOrDefaultAsync(cancellationToken)
            ?? await CreateRunAsync(invocation, cancellationToken);
        var scheduler = await schedulers.GetScheduler(cancellationToken);
        // The ledger row names the firing that claimed it: a cancel of the pipeline run interrupts that firing.
        var firing = await db.Runs.Where(r => r.Id == invocation.RunId).Select(r => r.FireInstanceId).FirstAsync(cancellationToken)
            ?? throw new InvalidOperationException($"Run {invocation.RunId} has no firing recorded.");
        // A retry of the firing (Quartz's retry policy, same ledger row) opens a failed run again; succeeded nodes are kept.
        var run = await executor.RunFiringAsync(runId, scheduler.SchedulerInstanceId, firing, cancellationToken, retryFailed: invocation.Attempt > 1);
        // A cancel asked for through the pipeline run (its flag) ends the firing as a failed pipeline run, as it did
        // before it was delivered through this firing's interrupt; an interrupt of the firing itself ends it stopped.
        var cancelledAsPipeline = run.Status == PipelineRunStatus.Cancelled
            && await db.PipelineRuns.Where(r => r.Id == runId).Select(r => r.CancelRequested).FirstAsync(CancellationToken.None);
        if (run.Status is PipelineRunStatus.Cancelled or PipelineRunStatus.Interrupted && cancellationToken.IsCancellationRequested && !cancelledAsPipeline)
        {
            // Let the action job record the firing as cancelled or interrupted, like any other action.
            throw new OperationCanceledException(cancellationToken);
        }

        var result = new JsonObject { ["pipelineRunId"] = run.Id.ToString(), ["pipeline"] = run.PipelineId, ["version"] = run.Version, ["status"] = run.Status.ToString().ToLowerInvariant() };
        return run.Status == PipelineRunStatus.Succeeded ? new ActionOutcome(true, result) : new ActionOutcome(false, result, $"pipeline run {run.Id}: {run.Error}");
    }

    private async Task<Guid> CreateRunAsync(ActionInvocation invocation, CancellationToken cancellationToken)
    {
        var id = invocation.Config.GetProperty("pipeline").GetString()!;
        var pipeline = await db.Pipelines.AsNoTracking().FirstOrDefaultAsync(p => p.Id == id, cancellationToken)
            ?? throw new ActionFailedException($"Pipeline '{id}' no longer exists in project '{invocation.ProjectId}'.");
        if (pipeline.ProjectId != invocation.ProjectId)
        {
            // Checked at creation too; the pipeline may have been moved or re-created elsewhere since.
            // Said as for a missing pipeline: the run record is read in the schedule's project, not the pipeline's.
            throw new ActionFailedException($"Pipeline '{id}' no longer exists in project '{invocation.ProjectId}'.");
        }

        var inputs = invocation.Config.TryGetProperty("inputs", out var given) ? given.GetRawText() : "{}";
        var run = PipelineRun.Pending(pipeline, "schedule", inputs, time.GetUtcNow(), ledgerRunId: invocation.RunId);
        db.PipelineRuns.Add(run);
        await db.SaveChangesAsync(cancellationToken);
        return run.Id;
    }
}
