using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Orchestrator.Agents;

namespace Orchestrator.Data;

internal sealed class AgentStepConfiguration : IEntityTypeConfiguration<AgentStep>
{
    public void Configure(EntityTypeBuilder<AgentStep> builder)
    {
        builder.ToTable("agent_steps");
        // The run's key and the number: two nodes can never both record step N of one run.
        builder.HasKey(s => new { s.RunKey, s.Number });
        builder.Property(s => s.RunKey).HasColumnName("run_key").HasMaxLength(120);
        builder.Property(s => s.Number).HasColumnName("number");
        builder.Property(s => s.RunId).HasColumnName("run_id");
        builder.Property(s => s.ProjectId).HasColumnName("project_id").HasMaxLength(Projects.Project.MaxIdLength).IsRequired();
        builder.Property(s => s.Kind).HasColumnName("kind").HasConversion<string>().HasMaxLength(16);
        builder.Property(s => s.ToolName).HasColumnName("tool_name").HasMaxLength(200);
        builder.Property(s => s.Status).HasColumnName("status").HasConversion<string>().HasMaxLength(16);
        builder.Property(s => s.Attempt).HasColumnName("attempt");
        builder.Property(s => s.IdempotencyKey).HasColumnName("idempotency_key").HasMaxLength(160).IsRequired();
        builder.Property(s => s.InputTokens).HasColumnName("input_tokens");
        builder.Property(s => s.OutputTokens).HasColumnName("output_tokens");
        builder.Property(s => s.TotalTokens).HasColumnName("total_tokens");
        builder.Property(s => s.StartedAt).HasColumnName("started_at");
        builder.Property(s => s.FinishedAt).HasColumnName("finished_at");
        builder.Property(s => s.Error).HasColumnName("error");
        builder.Property(s => s.Content).HasColumnName("content");
        builder.Property(s => s.Closed).HasColumnName("closed");
        builder.HasIndex(s => s.RunId).HasDatabaseName("ix_agent_steps_run");
        // The daily budget sums a project's tokens since midnight UTC.
        builder.HasIndex(s => new { s.ProjectId, s.StartedAt }).HasDatabaseName("ix_agent_steps_project_started");
    }
}
