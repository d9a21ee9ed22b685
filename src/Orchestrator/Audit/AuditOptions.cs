namespace Orchestrator.Audit;

/// <summary><c>Orchestrator:Audit</c>: how long the audit log keeps its entries.</summary>
public sealed class AuditOptions
{
    public static readonly TimeSpan MinimumRetention = TimeSpan.FromDays(1);

    /// <summary>Entries older than this are purged by the housekeeping job.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(365);

    /// <summary>The start-up check of these settings, naming the setting and what it accepts; null when they are fine.</summary>
    public string? Check() =>
        Retention < MinimumRetention
            ? $"Orchestrator:Audit:Retention = {Retention} must be at least 1.00:00:00 (default 365.00:00:00): an audit log that forgets within a day cannot say who changed what."
            : null;
}
