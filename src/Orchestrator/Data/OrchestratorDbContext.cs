using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Storage.ValueConversion;
using Orchestrator.Actions.Notifications;
using Orchestrator.Pipelines;
using Orchestrator.Projects;
using Orchestrator.Runs;
using Orchestrator.Security;
using Orchestrator.Tools;

namespace Orchestrator.Data;

/// <summary>
/// The application's own data. Schedules are not here: they are Quartz jobs and triggers in Quartz's tables.
/// One subclass per provider exists only so each provider has its own migrations history.
/// </summary>
public abstract class OrchestratorDbContext(DbContextOptions options) : DbContext(options)
{
    public DbSet<Project> Projects => Set<Project>();

    public DbSet<RunRecord> Runs => Set<RunRecord>();

    public DbSet<ApiKey> ApiKeys => Set<ApiKey>();

    public DbSet<NotificationChannel> Channels => Set<NotificationChannel>();

    public DbSet<ToolDefinition> Tools => Set<ToolDefinition>();

    public DbSet<Pipeline> Pipelines => Set<Pipeline>();

    public DbSet<PipelineVersion> PipelineVersions => Set<PipelineVersion>();

    public DbSet<PipelineRun> PipelineRuns => Set<PipelineRun>();

    public DbSet<NodeRun> NodeRuns => Set<NodeRun>();

    public DbSet<Agents.AgentStep> AgentSteps => Set<Agents.AgentStep>();

    protected override void OnModelCreating(ModelBuilder modelBuilder)
    {
        modelBuilder.ApplyConfigurationsFromAssembly(typeof(OrchestratorDbContext).Assembly);
    }
}

public sealed class PostgresOrchestratorDbContext(DbContextOptions<PostgresOrchestratorDbContext> options)
    : OrchestratorDbContext(options);

public sealed class SqliteOrchestratorDbContext(DbContextOptions<SqliteOrchestratorDbContext> options)
    : OrchestratorDbContext(options)
{
    protected override void ConfigureConventions(ModelConfigurationBuilder configurationBuilder)
    {
        // SQLite has no timestamp type and EF cannot compare DateTimeOffset stored as text;
        // a sortable integer keeps time-range queries and ordering in the database.
        configurationBuilder.Properties<DateTimeOffset>().HaveConversion<DateTimeOffsetToBinaryConverter>();
    }
}
