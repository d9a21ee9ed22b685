using Microsoft.EntityFrameworkCore;
using Orchestrator.Data;

namespace Orchestrator.Agents;

/// <summary>A run's token and step totals, over every attempt.</summary>
public sealed record AgentUsage(long InputTokens, long OutputTokens, long TotalTokens, int Steps)
{
    public static readonly AgentUsage None = new(0, 0, 0, 0);

    public AgentUsage Add(long input, long output, long total, int steps) =>
        new(InputTokens + input, OutputTokens + output, TotalTokens + total, Steps + steps);
}

/// <summary>
/// The agent step table's reads and writes for the loop: one round trip each, so a step costs two (its start and its
/// end) plus the run's usage.
/// </summary>
public sealed class AgentStepStore(OrchestratorDbContext db)
{
    /// <summary>Every step of the run, oldest first: the closed ones count toward usage, the open ones are resumed.</summary>
    public Task<List<AgentStep>> LoadAsync(string runKey, CancellationToken ct) =>
        db.AgentSteps.AsNoTracking().Where(s => s.RunKey == runKey).OrderBy(s => s.Number).ToListAsync(ct);

    public async Task InsertAsync(AgentStep step, CancellationToken ct)
    {
        db.AgentSteps.Add(step);
        try
        {
            await db.SaveChangesAsync(ct);
        }
        finally
        {
            db.Entry(step).State = EntityState.Detached;
        }
    }

    /// <summary>Records a step as tried again (a tool call cut off by a crash, a model turn that got no answer).</summary>
    public Task RestartAsync(AgentStep step, CancellationToken ct) =>
        db.AgentSteps.Where(s => s.RunKey == step.RunKey && s.Number == step.Number)
            .ExecuteUpdateAsync(set => set
                .SetProperty(s => s.Attempt, step.Attempt)
                .SetProperty(s => s.Status, step.Status)
                .SetProperty(s => s.StartedAt, step.StartedAt), ct);

    public Task FinishAsync(AgentStep step, CancellationToken ct) =>
        db.AgentSteps.Where(s => s.RunKey == step.RunKey && s.Number == step.Number)
            .ExecuteUpdateAsync(set => set
                .SetProperty(s => s.Status, step.Status)
                .SetProperty(s => s.InputTokens, step.InputTokens)
                .SetProperty(s => s.OutputTokens, step.OutputTokens)
                .SetProperty(s => s.TotalTokens, step.TotalTokens)
                .SetProperty(s => s.FinishedAt, step.FinishedAt)
                .SetProperty(s => s.Error, step.Error)
                .SetProperty(s => s.Content, step.Content), ct);

    /// <summary>
    /// The attempt ended for good (succeeded, failed, cancelled): its steps are closed, so a retry starts a new
    /// conversation, and their content is deleted unless transcripts are kept. A step still running is marked
    /// <paramref name="leftOver"/>.
    /// </summary>
    public async Task CloseAsync(string runKey, bool keepTranscripts, AgentStepStatus leftOver, DateTimeOffset now, CancellationToken ct)
    {
        await db.AgentSteps.Where(s => s.RunKey == runKey && s.Status == AgentStepStatus.Running)
            .ExecuteUpdateAsync(set => set.SetProperty(s => s.Status, leftOver).SetProperty(s => s.FinishedAt, now), ct);
        var open = db.AgentSteps.Where(s => s.RunKey == runKey && !s.Closed);
        if (keepTranscripts)
        {
            await open.ExecuteUpdateAsync(set => set.SetProperty(s => s.Closed, true), ct);
        }
        else
        {
            await open.ExecuteUpdateAsync(set => set.SetProperty(s => s.Closed, true).SetProperty(s => s.Content, (string?)null), ct);
        }
    }

    /// <summary>Writes the run's totals on its ledger row (none for a pipeline node: its run id is no ledger row).</summary>
    public Task RecordUsageAsync(Guid runId, AgentUsage usage, CancellationToken ct) =>
        db.Runs.Where(r => r.Id == runId)
            .ExecuteUpdateAsync(set => set
                .SetProperty(r => r.InputTokens, usage.InputTokens)
                .SetProperty(r => r.OutputTokens, usage.OutputTokens)
                .SetProperty(r => r.TotalTokens, usage.TotalTokens)
                .SetProperty(r => r.AgentSteps, usage.Steps), ct);

    /// <summary>Tokens the project's agent steps spent since <paramref name="since"/> (the UTC day's start, for the daily budget).</summary>
    public async Task<long> SpentSinceAsync(string projectId, DateTimeOffset since, CancellationToken ct) =>
        await db.AgentSteps.Where(s => s.ProjectId == projectId && s.StartedAt >= since).SumAsync(s => s.TotalTokens ?? 0, ct);

    /// <summary>The steps of a run for <c>GET /api/runs/{runId}/steps</c>, oldest first.</summary>
    public Task<List<AgentStep>> ListAsync(Guid runId, CancellationToken ct) =>
        db.AgentSteps.AsNoTracking().Where(s => s.RunId == runId).OrderBy(s => s.RunKey).ThenBy(s => s.Number).ToListAsync(ct);
}
