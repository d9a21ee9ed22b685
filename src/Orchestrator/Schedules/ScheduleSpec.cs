using System.Text.Json;
using Quartz;

namespace Orchestrator.Schedules;

/// <summary>A schedule after validation: well-typed, ready to become a Quartz job and trigger.</summary>
public sealed record ScheduleSpec(
    string Project,
    string Name,
    string? Description,
    string ActionType,
    JsonElement Config,
    TriggerSpec Trigger,
    MisfirePolicy Misfire,
    TimeSpan? MisfireThreshold,
    ScheduleOverlap Concurrency,
    RetrySpec? Retry,
    TimeSpan? Timeout,
    string? ExecutionGroup,
    bool Enabled)
{
    public string Id => ScheduleIds.Format(Project, Name);

    /// <summary>The N of <c>jitterSeconds</c> after the server default is applied (0: fires on its nominal times).</summary>
    public int JitterSeconds { get; init; }

    /// <summary>How much later than its nominal fire times the trigger fires (<see cref="ScheduleJitter"/>).</summary>
    public TimeSpan JitterOffset => ScheduleJitter.OffsetFor(Id, JitterSeconds);

    /// <summary>The validated deadline, or null (<see cref="Deadlines.DeadlineRules"/>).</summary>
    public Deadlines.DeadlineView? Deadline { get; init; }

    /// <summary>The dead man's switch as an ISO-8601 duration, or null.</summary>
    public string? ExpectSuccessEvery { get; init; }
}

public enum MisfirePolicy
{
    FireOnce,
    CatchUp,
    Skip,
}

public sealed record RetrySpec(int MaxAttempts, bool Exponential, TimeSpan InitialDelay, TimeSpan? MaxDelay)
{
    /// <summary>The most attempts a schedule or a pipeline node may ask for (1 means no retry).</summary>
    public const int MaxAttemptsLimit = 20;

    public RetryPolicy ToQuartz() => MaxAttempts <= 1
        ? RetryPolicy.None
        : Exponential
            ? RetryPolicy.Exponential(MaxAttempts - 1, InitialDelay, 2.0, MaxDelay, 0.2)
            : RetryPolicy.Fixed(MaxAttempts - 1, InitialDelay);
}

/// <summary>The trigger forms; start, end and max runs apply to all of them.</summary>
public abstract record TriggerSpec(DateTimeOffset? StartAt, DateTimeOffset? EndAt, int? MaxRuns);

public sealed record CronTriggerSpec(string Expression, TimeZoneInfo TimeZone, DateTimeOffset? StartAt, DateTimeOffset? EndAt, int? MaxRuns)
    : TriggerSpec(StartAt, EndAt, MaxRuns);

public sealed record IntervalTriggerSpec(TimeSpan Interval, DateTimeOffset? StartAt, DateTimeOffset? EndAt, int? MaxRuns)
    : TriggerSpec(StartAt, EndAt, MaxRuns);

public sealed record OnceTriggerSpec(DateTimeOffset At) : TriggerSpec(At, null, 1);

public sealed record CalendarTriggerSpec(int Every, IntervalUnit Unit, TimeZoneInfo TimeZone, DateTimeOffset? StartAt, DateTimeOffset? EndAt, int? MaxRuns)
    : TriggerSpec(StartAt, EndAt, MaxRuns);

/// <summary>A schedule's id is <c>{project}.{name}</c>; a bare name means the default project.</summary>
public static class ScheduleIds
{
    public static string Format(string project, string name) => $"{project}.{name}";

    public static JobKey Parse(string id)
    {
        var dot = id.IndexOf('.', StringComparison.Ordinal);
        return dot < 0 ? new JobKey(id, Projects.Project.DefaultId) : new JobKey(id[(dot + 1)..], id[..dot]);
    }

    public static string Of(JobKey key) => Format(key.Group, key.Name);
}
