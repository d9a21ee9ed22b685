using System.Text.Json;
using System.Text.Json.Serialization;

namespace Orchestrator.Schedules;

/// <summary>
/// A schedule as the API and the <c>schedules.*</c> tools answer with: its stored definition
/// (<see cref="ScheduleDocument"/>) and what Quartz and the ledger say about it now. Every property is written,
/// nulls included, as the untyped document it replaces was.
/// </summary>
public sealed record ScheduleResponse(
    string Id,
    string Name,
    string Project,
    string? Description,
    ScheduleActionView Action,
    TriggerView? Trigger,
    string? TriggerDescription,
    MisfireView Misfire,
    string Concurrency,
    RetryView? Retry,
    int? TimeoutSeconds,
    string? ExecutionGroup,
    bool Enabled,
    string State,
    DateTimeOffset? NextFireTime,
    DateTimeOffset? PreviousFireTime,
    LastRunView? LastRun,
    string? PausedReason,
    string? PausedBy,
    DateTimeOffset? PausedAt)
{
    /// <summary>Whether apply owns this schedule (its edits and deletes through the API need <c>?force=true</c>).</summary>
    public bool Managed { get; init; }
    /// <summary>The schedule's <c>jitterSeconds</c> (0 when it fires on its nominal times).</summary>
    public int JitterSeconds { get; init; }

    /// <summary>
    /// This schedule's stable offset in [0, <see cref="JitterSeconds"/>): its trigger fires that long after each nominal
    /// fire time, so <see cref="NextFireTime"/> and <see cref="PreviousFireTime"/> (Quartz's) include it, while runs keep
    /// the nominal <c>scheduledFireTime</c>.
    /// </summary>
    public int JitterOffsetSeconds { get; init; }

    /// <summary>The schedule's deadline (start and success limits, channel), or null.</summary>
    public Deadlines.DeadlineView? Deadline { get; init; }

    /// <summary>The dead man's switch as an ISO-8601 duration, or null.</summary>
    public string? ExpectSuccessEvery { get; init; }

    /// <summary>Its open breaches and when it last missed one; null for a schedule that has no deadline and never missed one.</summary>
    public Deadlines.DeadlineStatusView? DeadlineStatus { get; init; }

    /// <param name="pause">What Quartz recorded about the pause (<see cref="Quartz.IScheduler.GetTriggerPause"/>); null when not paused or paused without a record.</param>
    public static ScheduleResponse From(
        ScheduleDocument document, bool enabled, string state, DateTimeOffset? nextFireTime, DateTimeOffset? previousFireTime, LastRunView? lastRun,
        Quartz.PauseInfo? pause = null) => new(
        document.Id, document.Name, document.Project, document.Description, document.Action, document.Trigger, document.TriggerDescription,
        document.Misfire, document.Concurrency, document.Retry, document.TimeoutSeconds, document.ExecutionGroup,
        enabled, state, nextFireTime, previousFireTime, lastRun, pause?.Reason, pause?.RequestedBy, pause?.PausedAtUtc)
    {
        JitterSeconds = document.JitterSeconds,
        JitterOffsetSeconds = (int)ScheduleJitter.OffsetFor(document.Id, document.JitterSeconds).TotalSeconds,
        Deadline = document.Deadline,
        ExpectSuccessEvery = document.ExpectSuccessEvery,
    };
}

/// <summary>The body of <c>POST /api/schedules/{id}/pause</c>: an optional reason, kept by Quartz with the pause.</summary>
public sealed record PauseRequest(string? Reason);

/// <summary>
/// The body of the bulk <c>POST /api/schedules/pause</c> and <c>/resume</c>: selectors that all must match (at least
/// one), and the reason recorded with the pause and in the audit log.
/// </summary>
public sealed record BulkScheduleRequest(string? Project, string? ActionType, string? Group, List<string>? Ids, string? Reason);

/// <summary>The schedules a bulk pause or resume changed (those already in the asked state are left out).</summary>
public sealed record BulkScheduleResult(IReadOnlyList<string> Affected);

/// <summary>
/// The normalized schedule definition kept in the Quartz job's data (<c>JobDataKeys.Schedule</c>) and read back for
/// every answer. Its JSON is stored, so a rename here is a data migration.
/// </summary>
public sealed record ScheduleDocument(
    string Id,
    string Name,
    string Project,
    string? Description,
    ScheduleActionView Action,
    TriggerView? Trigger,
    string? TriggerDescription,
    MisfireView Misfire,
    string Concurrency,
    RetryView? Retry,
    int? TimeoutSeconds,
    string? ExecutionGroup)
{
    /// <summary>The schedule's <c>jitterSeconds</c>; absent from documents saved before it existed, which read as 0.</summary>
    public int JitterSeconds { get; init; }

    /// <summary>The schedule's deadline; not written when it has none, so such a schedule's stored document is as before.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public Deadlines.DeadlineView? Deadline { get; init; }

    /// <summary>The dead man's switch as an ISO-8601 duration; not written when not set.</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public string? ExpectSuccessEvery { get; init; }

    /// <summary>Stored and read with the web defaults (camelCase, nulls written), as the document always was.</summary>
    public string ToJson() => JsonSerializer.Serialize(this, JsonSerializerOptions.Web);

    public static ScheduleDocument? Parse(string? json) =>
        json is null ? null : JsonSerializer.Deserialize<ScheduleDocument>(json, JsonSerializerOptions.Web);
}

public sealed record ScheduleActionView(string Type, JsonElement Config);

/// <summary>
/// The trigger as it was given (one form of <see cref="TriggerRequest"/>), with the fields it did not use left out
/// rather than written as null, so a client reads back exactly the form it sent.
/// </summary>
public sealed record TriggerView(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Cron,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? TimeZone,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] long? IntervalSeconds,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Interval,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? At,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? Every,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Unit,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? StartAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? EndAt,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? MaxRuns)
{
    public static TriggerView? From(TriggerRequest? t) =>
        t is null ? null : new(t.Cron, t.TimeZone, t.IntervalSeconds, t.Interval, t.At, t.Every, t.Unit, t.StartAt, t.EndAt, t.MaxRuns);
}

public sealed record MisfireView(string Policy, int? ThresholdSeconds);

public sealed record RetryView(int MaxAttempts, string Backoff, int InitialDelaySeconds, int? MaxDelaySeconds);

/// <summary>The schedule's latest run by scheduled fire time, from the ledger.</summary>
public sealed record LastRunView(Guid Id, string Status, DateTimeOffset ScheduledFireTime, DateTimeOffset? FinishedAt);

/// <summary>A fire time the schedule missed, from Quartz's misfire history.</summary>
public sealed record ScheduleMisfire(DateTimeOffset? ScheduledFireTime, DateTimeOffset DetectedAt, string Node, string Reason);

/// <summary>What a trigger would do, without saving anything.</summary>
public sealed record TriggerPreview(string Description, IReadOnlyList<DateTimeOffset> NextFireTimes)
{
    /// <summary>With jitter asked for: the offset the fire times include (the runs keep the nominal times, these minus it).</summary>
    [JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)]
    public int? JitterOffsetSeconds { get; init; }
}

public sealed record BackfillRequest(string? From, string? To);
