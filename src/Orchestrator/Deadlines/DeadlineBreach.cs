using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;

namespace Orchestrator.Deadlines;

/// <summary>
/// One missed deadline of one occurrence, cluster-wide: the unique (target, kind, occurrence) makes the checker that
/// inserts the row the one that alerts, however many checkers look at the same time. Its alert and its recovery
/// message are each sent once: a send claims the row for a while (<see cref="SendLeaseUntil"/>) and marks it sent.
/// </summary>
public sealed class DeadlineBreach
{
    public const string Schedule = "schedule";
    public const string Pipeline = "pipeline";

    public const string Start = "start";
    public const string Succeed = "succeed";
    public const string Silence = "silence";

    public long Id { get; set; }

    /// <summary><see cref="Schedule"/> or <see cref="Pipeline"/>.</summary>
    public required string TargetType { get; set; }

    /// <summary>The schedule's id (<c>{project}.{name}</c>) or the pipeline's id.</summary>
    public required string TargetId { get; set; }

    public required string Project { get; set; }

    /// <summary><see cref="Start"/>, <see cref="Succeed"/> or <see cref="Silence"/> (the dead man's switch).</summary>
    public required string Kind { get; set; }

    /// <summary>The occurrence's nominal time (a pipeline run's creation); for silence, the start of the silent window.</summary>
    public DateTimeOffset Occurrence { get; set; }

    /// <summary>When it should have started, succeeded, or (silence) when a success was due at the latest.</summary>
    public DateTimeOffset DueAt { get; set; }

    public DateTimeOffset DetectedAt { get; set; }

    /// <summary>The scheduler instance whose check found it.</summary>
    public required string Node { get; set; }

    /// <summary>The channel the alert and the recovery go to (the deadline's, when it was found).</summary>
    public required string Channel { get; set; }

    public required string Message { get; set; }

    public DateTimeOffset? NotifiedAt { get; set; }

    public DateTimeOffset? RecoveredAt { get; set; }

    public string? RecoveryMessage { get; set; }

    public DateTimeOffset? RecoveryNotifiedAt { get; set; }

    /// <summary>
    /// A sender's claim on the row, and after a failed send the next try: until then no checker sends its pending
    /// message. The pending sends go in its order (never tried first), so retries back off and do not starve new alerts.
    /// </summary>
    public DateTimeOffset? SendLeaseUntil { get; set; }

    /// <summary>
    /// Why the last send failed (it is tried again after a back-off, or once its channel exists again when the channel
    /// was deleted); null once sent.
    /// </summary>
    public string? LastSendError { get; set; }
}

/// <summary>
/// A schedule or pipeline with a deadline, and how far its checks have come: due times up to
/// <see cref="StartCheckedThrough"/> (<see cref="SucceedCheckedThrough"/>) were judged for their start (success)
/// once and are not judged again; <see cref="SilenceSince"/> is where the dead man's switch's window begins when no
/// run has succeeded since. Written when a definition with a deadline is saved; removed by the checker once the
/// definition is gone or has no deadline.
/// </summary>
public sealed class DeadlineWatch
{
    public required string TargetType { get; set; }

    public required string TargetId { get; set; }

    /// <summary>When the definition with this deadline was first saved: due times before it are not judged.</summary>
    public DateTimeOffset WatchedSince { get; set; }

    public DateTimeOffset StartCheckedThrough { get; set; }

    public DateTimeOffset SucceedCheckedThrough { get; set; }

    /// <summary>Moved to "now" while the schedule is paused, so after a resume the window starts at the resume.</summary>
    public DateTimeOffset SilenceSince { get; set; }

    /// <summary>
    /// When the schedule's current (or last) pause began, as the checker saw it: due times from it to
    /// <see cref="ResumedAt"/> were not to run, and the ones judged after the resume (their limit passes later) are
    /// skipped too unless they ran.
    /// </summary>
    public DateTimeOffset? PausedFrom { get; set; }

    /// <summary>When the checker first saw the schedule unpaused after <see cref="PausedFrom"/>; null while paused.</summary>
    public DateTimeOffset? ResumedAt { get; set; }
}

internal sealed class DeadlineBreachConfiguration : IEntityTypeConfiguration<DeadlineBreach>
{
    public void Configure(EntityTypeBuilder<DeadlineBreach> builder)
    {
        builder.ToTable("deadline_breaches");
        builder.HasKey(b => b.Id);
        builder.Property(b => b.Id).HasColumnName("id").ValueGeneratedOnAdd();
        builder.Property(b => b.TargetType).HasColumnName("target_type").HasMaxLength(16).IsRequired();
        builder.Property(b => b.TargetId).HasColumnName("target_id").HasMaxLength(400).IsRequired();
        builder.Property(b => b.Project).HasColumnName("project").HasMaxLength(63).IsRequired();
        builder.Property(b => b.Kind).HasColumnName("kind").HasMaxLength(16).IsRequired();
        builder.Property(b => b.Occurrence).HasColumnName("occurrence");
        builder.Property(b => b.DueAt).HasColumnName("due_at");
        builder.Property(b => b.DetectedAt).HasColumnName("detected_at");
        builder.Property(b => b.Node).HasColumnName("node").HasMaxLength(200).IsRequired();
        builder.Property(b => b.Channel).HasColumnName("channel").HasMaxLength(63).IsRequired();
        builder.Property(b => b.Message).HasColumnName("message").HasMaxLength(2000).IsRequired();
        builder.Property(b => b.NotifiedAt).HasColumnName("notified_at");
        builder.Property(b => b.RecoveredAt).HasColumnName("recovered_at");
        builder.Property(b => b.RecoveryMessage).HasColumnName("recovery_message").HasMaxLength(2000);
        builder.Property(b => b.RecoveryNotifiedAt).HasColumnName("recovery_notified_at");
        builder.Property(b => b.SendLeaseUntil).HasColumnName("send_lease_until");
        builder.Property(b => b.LastSendError).HasColumnName("last_send_error").HasMaxLength(2000);

        // Once per breach, cluster-wide: the insert that conflicts here is the checker that does not alert.
        builder.HasIndex(b => new { b.TargetType, b.TargetId, b.Kind, b.Occurrence }).IsUnique().HasDatabaseName("ux_deadline_breaches_occurrence");
        builder.HasIndex(b => b.DetectedAt).HasDatabaseName("ix_deadline_breaches_detected");
        builder.HasIndex(b => new { b.Project, b.RecoveredAt }).HasDatabaseName("ix_deadline_breaches_project_recovered");
    }
}

internal sealed class DeadlineWatchConfiguration : IEntityTypeConfiguration<DeadlineWatch>
{
    public void Configure(EntityTypeBuilder<DeadlineWatch> builder)
    {
        builder.ToTable("deadline_watches");
        builder.HasKey(w => new { w.TargetType, w.TargetId });
        builder.Property(w => w.TargetType).HasColumnName("target_type").HasMaxLength(16);
        builder.Property(w => w.TargetId).HasColumnName("target_id").HasMaxLength(400);
        builder.Property(w => w.WatchedSince).HasColumnName("watched_since");
        builder.Property(w => w.StartCheckedThrough).HasColumnName("start_checked_through");
        builder.Property(w => w.SucceedCheckedThrough).HasColumnName("succeed_checked_through");
        builder.Property(w => w.SilenceSince).HasColumnName("silence_since");
        builder.Property(w => w.PausedFrom).HasColumnName("paused_from");
        builder.Property(w => w.ResumedAt).HasColumnName("resumed_at");
    }
}
