using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Orchestrator.Actions.Notifications;
using Orchestrator.Pipelines;
using Orchestrator.Projects;
using Orchestrator.Runs;
using Orchestrator.Security;
using Orchestrator.Tools;

namespace Orchestrator.Data;

internal sealed class ProjectConfiguration : IEntityTypeConfiguration<Project>
{
    public void Configure(EntityTypeBuilder<Project> builder)
    {
        builder.ToTable("projects");
        builder.HasKey(p => p.Id);
        builder.Property(p => p.Id).HasColumnName("id").HasMaxLength(Project.MaxIdLength);
        builder.Property(p => p.Name).HasColumnName("name").HasMaxLength(Project.MaxNameLength).IsRequired();
        builder.Property(p => p.RootPath).HasColumnName("root_path").HasMaxLength(Project.MaxRootPathLength).IsRequired();
        builder.Property(p => p.CreatedAt).HasColumnName("created_at");
        builder.Property(p => p.UpdatedAt).HasColumnName("updated_at");
    }
}

internal sealed class RunRecordConfiguration : IEntityTypeConfiguration<RunRecord>
{
    public void Configure(EntityTypeBuilder<RunRecord> builder)
    {
        builder.ToTable("runs");
        builder.HasKey(r => r.Id);
        builder.Property(r => r.Id).HasColumnName("id");
        builder.Property(r => r.ScheduleId).HasColumnName("schedule_id").HasMaxLength(400).IsRequired();
        builder.Property(r => r.ProjectId).HasColumnName("project_id").HasMaxLength(Project.MaxIdLength);
        builder.Property(r => r.PipelineRunId).HasColumnName("pipeline_run_id");
        builder.Property(r => r.ActionType).HasColumnName("action_type").HasMaxLength(64).IsRequired();
        builder.Property(r => r.Status).HasColumnName("status").HasConversion<string>().HasMaxLength(16);
        builder.Property(r => r.TriggeredBy).HasColumnName("triggered_by").HasConversion<string>().HasMaxLength(16);
        builder.Property(r => r.ScheduledFireTime).HasColumnName("scheduled_fire_time");
        builder.Property(r => r.StartedAt).HasColumnName("started_at");
        builder.Property(r => r.FinishedAt).HasColumnName("finished_at");
        builder.Property(r => r.Node).HasColumnName("node").HasMaxLength(200);
        builder.Property(r => r.FireInstanceId).HasColumnName("fire_instance_id").HasMaxLength(200);
        builder.Property(r => r.Attempt).HasColumnName("attempt");
        builder.Property(r => r.IdempotencyKey).HasColumnName("idempotency_key").HasMaxLength(100).IsRequired();
        builder.Property(r => r.Result).HasColumnName("result");
        builder.Property(r => r.Error).HasColumnName("error");
        builder.Property(r => r.ConfigSnapshot).HasColumnName("config_snapshot");
        builder.Property(r => r.Version).HasColumnName("version").IsConcurrencyToken();
        builder.Property(r => r.InputTokens).HasColumnName("input_tokens");
        builder.Property(r => r.OutputTokens).HasColumnName("output_tokens");
        builder.Property(r => r.TotalTokens).HasColumnName("total_tokens");
        builder.Property(r => r.AgentSteps).HasColumnName("agent_steps");

        // The ledger's guarantee: one row per schedule and scheduled fire time, whatever node or attempt writes it.
        builder.HasIndex(r => new { r.ScheduleId, r.ScheduledFireTime }).IsUnique().HasDatabaseName("ux_runs_schedule_fire_time");
        builder.HasIndex(r => r.IdempotencyKey).IsUnique().HasDatabaseName("ux_runs_idempotency_key");
        builder.HasIndex(r => new { r.Status, r.StartedAt }).HasDatabaseName("ix_runs_status_started");
        builder.HasIndex(r => new { r.ProjectId, r.StartedAt }).HasDatabaseName("ix_runs_project_started");
        builder.HasIndex(r => r.FinishedAt).HasDatabaseName("ix_runs_finished");
        builder.HasIndex(r => new { r.ScheduleId, r.StartedAt }).HasDatabaseName("ix_runs_schedule_started");
    }
}

internal sealed class ApiKeyConfiguration : IEntityTypeConfiguration<ApiKey>
{
    public void Configure(EntityTypeBuilder<ApiKey> builder)
    {
        builder.ToTable("api_keys");
        builder.HasKey(k => k.Id);
        builder.Property(k => k.Id).HasColumnName("id");
        builder.Property(k => k.Name).HasColumnName("name").HasMaxLength(100).IsRequired();
        builder.Property(k => k.Prefix).HasColumnName("prefix").HasMaxLength(32).IsRequired();
        builder.Property(k => k.Hash).HasColumnName("hash").HasMaxLength(64).IsRequired();
        builder.Property(k => k.Role).HasColumnName("role").HasConversion<string>().HasMaxLength(16);
        builder.Property(k => k.Projects).HasColumnName("projects").HasMaxLength(4000);
        builder.Property(k => k.CreatedAt).HasColumnName("created_at");
        builder.Property(k => k.ExpiresAt).HasColumnName("expires_at");
        builder.Property(k => k.LastUsedAt).HasColumnName("last_used_at");
        builder.Property(k => k.RevokedAt).HasColumnName("revoked_at");
        builder.Ignore(k => k.ProjectList);
        builder.HasIndex(k => k.Prefix).IsUnique().HasDatabaseName("ux_api_keys_prefix");
        // Names are unique among keys not revoked (a revoked key's name may be reused; it stays listed). This also makes
        // the first-start bootstrap race-free across nodes: only one active 'bootstrap-admin' can be inserted. The filter
        // is the same SQL in PostgreSQL and SQLite.
        builder.HasIndex(k => k.Name).IsUnique().HasFilter("revoked_at IS NULL").HasDatabaseName("ux_api_keys_name");
    }
}

internal sealed class NotificationChannelConfiguration : IEntityTypeConfiguration<NotificationChannel>
{
    public void Configure(EntityTypeBuilder<NotificationChannel> builder)
    {
        builder.ToTable("notification_channels");
        builder.HasKey(c => c.Name);
        builder.Property(c => c.Name).HasColumnName("name").HasMaxLength(63);
        builder.Property(c => c.Kind).HasColumnName("kind").HasConversion<string>().HasMaxLength(16);
        builder.Property(c => c.SettingsJson).HasColumnName("settings").IsRequired();
        builder.Property(c => c.SecretsJson).HasColumnName("secrets").IsRequired();
        builder.Property(c => c.CreatedAt).HasColumnName("created_at");
        builder.Property(c => c.UpdatedAt).HasColumnName("updated_at");
    }
}

internal sealed class ToolDefinitionConfiguration : IEntityTypeConfiguration<ToolDefinition>
{
    public void Configure(EntityTypeBuilder<ToolDefinition> builder)
    {
        builder.ToTable("tools");
        builder.HasKey(t => t.Name);
        builder.Property(t => t.Name).HasColumnName("name").HasMaxLength(100);
        builder.Property(t => t.Description).HasColumnName("description").HasMaxLength(2000);
        builder.Property(t => t.Kind).HasColumnName("kind").HasConversion<string>().HasMaxLength(16);
        builder.Property(t => t.ParametersSchema).HasColumnName("parameters_schema").IsRequired();
        builder.Property(t => t.ResultSchema).HasColumnName("result_schema");
        builder.Property(t => t.ConfigJson).HasColumnName("config").IsRequired();
        builder.Property(t => t.Enabled).HasColumnName("enabled");
        builder.Property(t => t.Version).HasColumnName("version").IsConcurrencyToken();
        builder.Property(t => t.CreatedAt).HasColumnName("created_at");
        builder.Property(t => t.UpdatedAt).HasColumnName("updated_at");
    }
}

internal sealed class PipelineConfiguration : IEntityTypeConfiguration<Pipeline>
{
    public void Configure(EntityTypeBuilder<Pipeline> builder)
    {
        builder.ToTable("pipelines");
        builder.HasKey(p => p.Id);
        builder.Property(p => p.Id).HasColumnName("id").HasMaxLength(Project.MaxIdLength);
        builder.Property(p => p.Name).HasColumnName("name").HasMaxLength(PipelineValidator.MaxNameLength).IsRequired();
        builder.Property(p => p.ProjectId).HasColumnName("project_id").HasMaxLength(Project.MaxIdLength).IsRequired();
        builder.Property(p => p.Description).HasColumnName("description").HasMaxLength(PipelineValidator.MaxDescriptionLength);
        builder.Property(p => p.Version).HasColumnName("version").IsConcurrencyToken();
        builder.Property(p => p.CreatedAt).HasColumnName("created_at");
        builder.Property(p => p.UpdatedAt).HasColumnName("updated_at");
        builder.HasIndex(p => p.ProjectId).HasDatabaseName("ix_pipelines_project");
    }
}

internal sealed class PipelineVersionConfiguration : IEntityTypeConfiguration<PipelineVersion>
{
    public void Configure(EntityTypeBuilder<PipelineVersion> builder)
    {
        builder.ToTable("pipeline_versions");
        builder.HasKey(v => new { v.PipelineId, v.Version });
        builder.Property(v => v.PipelineId).HasColumnName("pipeline_id").HasMaxLength(Project.MaxIdLength);
        builder.Property(v => v.Version).HasColumnName("version");
        builder.Property(v => v.Definition).HasColumnName("definition").IsRequired();
        builder.Property(v => v.CreatedAt).HasColumnName("created_at");
    }
}

internal sealed class PipelineRunConfiguration : IEntityTypeConfiguration<PipelineRun>
{
    public void Configure(EntityTypeBuilder<PipelineRun> builder)
    {
        builder.ToTable("pipeline_runs");
        builder.HasKey(r => r.Id);
        builder.Property(r => r.Id).HasColumnName("id");
        builder.Property(r => r.PipelineId).HasColumnName("pipeline_id").HasMaxLength(Project.MaxIdLength).IsRequired();
        builder.Property(r => r.Version).HasColumnName("version");
        builder.Property(r => r.ProjectId).HasColumnName("project_id").HasMaxLength(Project.MaxIdLength).IsRequired();
        builder.Property(r => r.Status).HasColumnName("status").HasConversion<string>().HasMaxLength(16);
        builder.Property(r => r.TriggeredBy).HasColumnName("triggered_by").HasMaxLength(16).IsRequired();
        builder.Property(r => r.LedgerRunId).HasColumnName("ledger_run_id");
        builder.Property(r => r.ParentRunId).HasColumnName("parent_run_id");
        builder.Property(r => r.ParentNodeId).HasColumnName("parent_node_id").HasMaxLength(64);
        builder.Property(r => r.Inputs).HasColumnName("inputs").IsRequired();
        builder.Property(r => r.CreatedAt).HasColumnName("created_at");
        builder.Property(r => r.StartedAt).HasColumnName("started_at");
        builder.Property(r => r.FinishedAt).HasColumnName("finished_at");
        builder.Property(r => r.Node).HasColumnName("node").HasMaxLength(200);
        builder.Property(r => r.FireInstanceId).HasColumnName("fire_instance_id").HasMaxLength(200);
        builder.Property(r => r.Attempt).HasColumnName("attempt");
        builder.Property(r => r.CancelRequested).HasColumnName("cancel_requested");
        builder.Property(r => r.Error).HasColumnName("error");
        // One pipeline run per execute_pipeline firing: a recovered firing finds the run it must resume.
        builder.HasIndex(r => r.LedgerRunId).IsUnique().HasDatabaseName("ux_pipeline_runs_ledger_run");
        builder.HasIndex(r => new { r.ParentRunId, r.ParentNodeId }).IsUnique().HasDatabaseName("ux_pipeline_runs_parent_node");
        builder.HasIndex(r => new { r.PipelineId, r.CreatedAt }).HasDatabaseName("ix_pipeline_runs_pipeline_created");
    }
}

internal sealed class NodeRunConfiguration : IEntityTypeConfiguration<NodeRun>
{
    public void Configure(EntityTypeBuilder<NodeRun> builder)
    {
        builder.ToTable("pipeline_node_runs");
        builder.HasKey(n => new { n.PipelineRunId, n.NodeId });
        builder.Property(n => n.PipelineRunId).HasColumnName("pipeline_run_id");
        builder.Property(n => n.NodeId).HasColumnName("node_id").HasMaxLength(64);
        builder.Property(n => n.Status).HasColumnName("status").HasConversion<string>().HasMaxLength(16);
        builder.Property(n => n.Attempts).HasColumnName("attempts");
        builder.Property(n => n.IdempotencyKey).HasColumnName("idempotency_key").HasMaxLength(120).IsRequired();
        builder.Property(n => n.StartedAt).HasColumnName("started_at");
        builder.Property(n => n.FinishedAt).HasColumnName("finished_at");
        builder.Property(n => n.Output).HasColumnName("output");
        builder.Property(n => n.Error).HasColumnName("error");
        builder.Property(n => n.Node).HasColumnName("node").HasMaxLength(200);
        builder.Property(n => n.ChildRunId).HasColumnName("child_run_id");
    }
}
