using System.Text.Json;

namespace Orchestrator.Schedules;

/// <summary>A schedule as the API receives it. Every field is nullable so a missing one gets our message, not the binder's.</summary>
public sealed record ScheduleRequest(
    string? Name,
    string? Project,
    string? Description,
    ActionRequest? Action,
    TriggerRequest? Trigger,
    MisfireRequest? Misfire,
    string? Concurrency,
    RetryRequest? Retry,
    int? TimeoutSeconds,
    string? ExecutionGroup,
    bool? Enabled)
{
    /// <summary>Spread over [0, N) seconds after each nominal fire time, by a stable per-schedule offset (<see cref="ScheduleJitter"/>).</summary>
    public int? JitterSeconds { get; init; }

    /// <summary>Alert a channel when an occurrence does not start or succeed in time (<see cref="Deadlines.DeadlineRules"/>).</summary>
    public Deadlines.DeadlineRequest? Deadline { get; init; }

    /// <summary>The dead man's switch: an ISO-8601 duration (<c>PT26H</c>) or seconds; alerts <c>deadline.channel</c>.</summary>
    public JsonElement? ExpectSuccessEvery { get; init; }
}

public sealed record ActionRequest(string? Type, JsonElement? Config)
{
    private static readonly JsonElement EmptyObject = JsonDocument.Parse("{}").RootElement.Clone();

    /// <summary>
    /// The config as given, or an empty object when it was left out: an action whose settings are all optional
    /// (<c>noop</c>) needs none, and a missing required setting is then reported by its own name by the action's schema.
    /// A JSON <c>null</c> reads as left out; any other non-object is refused.
    /// </summary>
    public JsonElement? ConfigOrEmpty => Config is null or { ValueKind: JsonValueKind.Undefined } ? EmptyObject : Config;
}

/// <summary>
/// Exactly one form: <c>cron</c> (+ <c>timeZone</c>), <c>intervalSeconds</c> or <c>interval</c> (ISO-8601),
/// <c>at</c> (one time), or <c>every</c> + <c>unit</c> (calendar interval). Any form may add start, end and max runs.
/// </summary>
public sealed record TriggerRequest(
    string? Cron,
    string? TimeZone,
    long? IntervalSeconds,
    string? Interval,
    string? At,
    int? Every,
    string? Unit,
    string? StartAt,
    string? EndAt,
    int? MaxRuns);

public sealed record MisfireRequest(string? Policy, int? ThresholdSeconds);

public sealed record RetryRequest(int? MaxAttempts, string? Backoff, int? InitialDelaySeconds, int? MaxDelaySeconds);

public sealed record PreviewRequest(TriggerRequest? Trigger, int? Count)
{
    /// <summary>With <see cref="Id"/>: the fire times as the schedule's jittered trigger would fire them.</summary>
    public int? JitterSeconds { get; init; }

    /// <summary>The schedule id (<c>{project}.{name}</c>) the jitter offset is derived from.</summary>
    public string? Id { get; init; }
}
