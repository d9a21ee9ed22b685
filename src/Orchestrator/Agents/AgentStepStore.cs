using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Metadata;
using Microsoft.EntityFrameworkCore.Storage;
using Orchestrator.Data;
using Orchestrator.Runs;

namespace Orchestrator.Agents;

/// <summary>A run's token and step totals, over every attempt.</summary>
public sealed record AgentUsage(long InputTokens, long OutputTokens, long TotalTokens, int Steps)
{
    public static readonly AgentUsage None = new(0, 0, 0, 0);

    public AgentUsage Add(long input, long output, long total, int steps) =>
        new(InputTokens + input, OutputTokens + output, TotalTokens + total, Steps + steps);
}

/// <summary>
/// The agent step table's reads and writes for the loop. A step's writes go out in one round trip with the next's:
/// the finished step, the run's usage and the next step's start are one command (<see cref="WriteAsync"/>), so a step
/// costs about one round trip, plus one for the run's start and a few for its end.
/// </summary>
public sealed class AgentStepStore(OrchestratorDbContext db)
{
    /// <summary>Every step of the run, oldest first: the closed ones count toward usage, the open ones are resumed.</summary>
    public Task<List<AgentStep>> LoadAsync(string runKey, CancellationToken ct) =>
        db.AgentSteps.AsNoTracking().Where(s => s.RunKey == runKey).OrderBy(s => s.Number).ToListAsync(ct);

    /// <summary>
    /// Stores the steps as they are now — <paramref name="added"/> inserted (a row already there for one of them fails
    /// the write: two nodes never both record step N of a run), <paramref name="changed"/> (finished, restarted)
    /// overwritten by run key and number unless the stored row is a newer attempt — and the run's <paramref name="usage"/> on its ledger row (none for a pipeline
    /// node: its run id is no ledger row), atomically and in one round trip.
    /// </summary>
    /// <remarks>
    /// One command of up to three statements, written from EF Core's model (table and column names, each column's type mapping
    /// with its value converter, as <c>SaveChanges</c> would store it). PostgreSQL runs the statements of one command in
    /// one implicit transaction (a single Sync), so the finished step, the usage and the next step's start are all
    /// there or none is; SQLite gets an explicit transaction, which costs no round trip in process. Not
    /// <c>SaveChanges</c>: the run's row carries a concurrency token the ledger moves, and a stub could not update it.
    /// </remarks>
    public async Task WriteAsync(IReadOnlyCollection<AgentStep> added, IReadOnlyCollection<AgentStep> changed, Guid runId, AgentUsage? usage, CancellationToken ct)
    {
        if (added.Count == 0 && changed.Count == 0 && usage is null)
        {
            return;
        }

        var sql = db.GetService<ISqlGenerationHelper>();
        var parameters = new List<object>();
        var statements = new List<string>(3);
        await using var command = db.Database.GetDbConnection().CreateCommand();
        string Parameter(IProperty property, object? value)
        {
            var name = $"p{parameters.Count}";
            // CreateParameter applies the property's value converter and sets the provider type, as SaveChanges does.
            parameters.Add(property.GetRelationalTypeMapping().CreateParameter(command, sql.GenerateParameterName(name), value, property.IsNullable));
            return sql.GenerateParameterNamePlaceholder(name);
        }

        var steps = db.Model.FindEntityType(typeof(AgentStep))!;
        var stepTable = StoreObjectIdentifier.Table(steps.GetTableName()!, steps.GetSchema());
        var properties = steps.GetProperties().ToList();
        string Column(IProperty p) => sql.DelimitIdentifier(p.GetColumnName(stepTable)!);
        string Insert(IReadOnlyCollection<AgentStep> rows) =>
            $"INSERT INTO {sql.DelimitIdentifier(stepTable.Name, stepTable.Schema)} ({string.Join(", ", properties.Select(Column))}) VALUES " +
            string.Join(", ", rows.Select(step => $"({string.Join(", ", properties.Select(p => Parameter(p, p.GetGetter().GetClrValue(step))))})"));
        if (added.Count > 0)
        {
            statements.Add(Insert(added));
        }

        if (changed.Count > 0)
        {
            // Rows that are there: one statement for all of them, however many changed since the last write. Guarded by
            // the attempt: a node that was taken over and flushes late (its finally block) must not write its older
            // attempt of step N over the newer one the surviving node has recorded since. Both providers take the WHERE.
            var keys = steps.FindPrimaryKey()!.Properties;
            var attempt = Column(steps.FindProperty(nameof(AgentStep.Attempt))!);
            statements.Add(Insert(changed) + $" ON CONFLICT ({string.Join(", ", keys.Select(Column))}) DO UPDATE SET " +
                string.Join(", ", properties.Except(keys).Select(p => $"{Column(p)} = excluded.{Column(p)}")) +
                $" WHERE {sql.DelimitIdentifier(stepTable.Name)}.{attempt} <= excluded.{attempt}");
        }

        if (usage is not null)
        {
            var entity = db.Model.FindEntityType(typeof(RunRecord))!;
            var table = StoreObjectIdentifier.Table(entity.GetTableName()!, entity.GetSchema());
            string Set(string name, object? value)
            {
                var property = entity.FindProperty(name)!;
                return $"{sql.DelimitIdentifier(property.GetColumnName(table)!)} = {Parameter(property, value)}";
            }

            var id = entity.FindProperty(nameof(RunRecord.Id))!;
            statements.Add(
                $"UPDATE {sql.DelimitIdentifier(table.Name, table.Schema)} SET " +
                $"{Set(nameof(RunRecord.InputTokens), (long?)usage.InputTokens)}, {Set(nameof(RunRecord.OutputTokens), (long?)usage.OutputTokens)}, " +
                $"{Set(nameof(RunRecord.TotalTokens), (long?)usage.TotalTokens)}, {Set(nameof(RunRecord.AgentSteps), (int?)usage.Steps)} " +
                $"WHERE {sql.DelimitIdentifier(id.GetColumnName(table)!)} = {Parameter(id, runId)}");
        }

        // Only identifiers from the model and parameter placeholders go into the text; every value is a parameter.
        var text = string.Join(";\n", statements);
        if (db.Database.IsNpgsql() || db.Database.CurrentTransaction is not null)
        {
            await db.Database.ExecuteSqlRawAsync(text, parameters, ct);
            return;
        }

        await using var transaction = await db.Database.BeginTransactionAsync(ct);
        await db.Database.ExecuteSqlRawAsync(text, parameters, ct);
        await transaction.CommitAsync(ct);
    }

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

    /// <summary>Tokens the project's agent steps spent since <paramref name="since"/> (the UTC day's start, for the daily budget).</summary>
    public async Task<long> SpentSinceAsync(string projectId, DateTimeOffset since, CancellationToken ct) =>
        await db.AgentSteps.Where(s => s.ProjectId == projectId && s.StartedAt >= since).SumAsync(s => s.TotalTokens ?? 0, ct);

    /// <summary>The steps of a run for <c>GET /api/runs/{runId}/steps</c>, oldest first.</summary>
    public Task<List<AgentStep>> ListAsync(Guid runId, CancellationToken ct) =>
        db.AgentSteps.AsNoTracking().Where(s => s.RunId == runId).OrderBy(s => s.RunKey).ThenBy(s => s.Number).ToListAsync(ct);
}
