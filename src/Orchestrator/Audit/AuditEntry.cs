using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Orchestrator.Audit;

/// <summary>
/// One change, as the audit log keeps it. Every property is init-only: the application writes a row once and never
/// changes it; only retention (<see cref="AuditRetention"/>) deletes rows.
/// </summary>
public sealed class AuditEntry
{
    public const int MaxActionLength = 64;
    public const int MaxResourceTypeLength = 32;
    public const int MaxResourceIdLength = 1100;
    public const int MaxActorLength = 200;
    public const int MaxReasonLength = 500;

    /// <summary>Assigned by the database; unique and increasing, the tiebreaker of the log's order.</summary>
    public long Id { get; init; }

    public DateTimeOffset At { get; init; }

    /// <summary>The API key that made the change; null for the server itself or a run's tool.</summary>
    public Guid? ActorKeyId { get; init; }

    /// <summary>The key's name, <c>system</c>, or <c>schedule:{id}</c> for a change a run's tool made.</summary>
    public required string Actor { get; init; }

    /// <summary>api, dashboard, cli, apply, tool or system.</summary>
    public required string Source { get; init; }

    public string? ClientAddress { get; init; }

    /// <summary>What was done, as <c>{resource}.{verb}</c>: schedule.pause, channel.update, file.write…</summary>
    public required string Action { get; init; }

    public required string ResourceType { get; init; }

    public required string ResourceId { get; init; }

    public string? Project { get; init; }

    /// <summary>The resource before the change as the API shows it, secrets redacted; null for a create.</summary>
    public string? Before { get; init; }

    /// <summary>The resource after the change, secrets redacted; null for a delete.</summary>
    public string? After { get; init; }

    public string? Reason { get; init; }
}

internal sealed class AuditEntryConfiguration : IEntityTypeConfiguration<AuditEntry>
{
    public void Configure(EntityTypeBuilder<AuditEntry> builder)
    {
        builder.ToTable("audit_log");
        builder.HasKey(e => e.Id);
        builder.Property(e => e.Id).HasColumnName("id").ValueGeneratedOnAdd();
        builder.Property(e => e.At).HasColumnName("at");
        builder.Property(e => e.ActorKeyId).HasColumnName("actor_key_id");
        builder.Property(e => e.Actor).HasColumnName("actor").HasMaxLength(AuditEntry.MaxActorLength).IsRequired();
        builder.Property(e => e.Source).HasColumnName("source").HasMaxLength(16).IsRequired();
        builder.Property(e => e.ClientAddress).HasColumnName("client_address").HasMaxLength(64);
        builder.Property(e => e.Action).HasColumnName("action").HasMaxLength(AuditEntry.MaxActionLength).IsRequired();
        builder.Property(e => e.ResourceType).HasColumnName("resource_type").HasMaxLength(AuditEntry.MaxResourceTypeLength).IsRequired();
        builder.Property(e => e.ResourceId).HasColumnName("resource_id").HasMaxLength(AuditEntry.MaxResourceIdLength).IsRequired();
        builder.Property(e => e.Project).HasColumnName("project").HasMaxLength(63);
        builder.Property(e => e.Before).HasColumnName("before");
        builder.Property(e => e.After).HasColumnName("after");
        builder.Property(e => e.Reason).HasColumnName("reason").HasMaxLength(AuditEntry.MaxReasonLength);

        // Retention deletes by time; the filters read by resource, actor and project, newest (highest id) first.
        builder.HasIndex(e => e.At).HasDatabaseName("ix_audit_log_at");
        builder.HasIndex(e => new { e.ResourceType, e.ResourceId }).HasDatabaseName("ix_audit_log_resource");
        builder.HasIndex(e => e.Actor).HasDatabaseName("ix_audit_log_actor");
        builder.HasIndex(e => e.Project).HasDatabaseName("ix_audit_log_project");
    }
}
