using Quartz;

namespace Orchestrator.Schedules;

/// <summary>
/// What a schedule does when one of its fire times comes due while an earlier run of it is still going (the
/// schedule's <c>concurrency</c>). Each is Quartz's own: <see cref="Forbid"/> is the job's
/// <c>DisallowConcurrentExecution</c>, the others the trigger's <see cref="OverlapPolicy"/>, so the decision is taken
/// by the clustered job store against the firings every node has running.
/// </summary>
public enum ScheduleOverlap
{
    /// <summary>Queue behind the running one (Quartz holds every trigger of the job while one of its firings runs).</summary>
    Forbid,

    /// <summary>Drop the firing; Quartz records it in the misfire history with the reason <c>overlap</c>.</summary>
    Skip,

    /// <summary>Keep at most one firing waiting behind the running one; the ones after it are settled by the misfire policy.</summary>
    BufferOne,

    /// <summary>Interrupt the running one (its run is recorded cancelled, superseded) and start the new one.</summary>
    CancelPrevious,

    /// <summary>Start alongside the running one.</summary>
    Allow,
}

public static class ScheduleOverlaps
{
    /// <summary>The names the API takes and answers with, in the order the dashboard offers them.</summary>
    public static readonly string[] Names = ["forbid", "skip", "buffer_one", "cancel_previous", "allow"];

    public static string Name(ScheduleOverlap overlap) => Names[(int)overlap];

    public static bool TryParse(string? name, out ScheduleOverlap overlap)
    {
        var index = name is null ? 0 : Array.IndexOf(Names, name);
        overlap = (ScheduleOverlap)Math.Max(index, 0);
        return index >= 0;
    }

    /// <summary>Whether the job itself disallows concurrent execution: only under <see cref="ScheduleOverlap.Forbid"/>.</summary>
    /// <remarks>
    /// Quartz applies <c>DisallowConcurrentExecution</c> before any trigger's overlap policy, so every other mode
    /// needs the job to allow concurrency for its policy to be reached at all.
    /// </remarks>
    public static bool DisallowsConcurrency(ScheduleOverlap overlap) => overlap == ScheduleOverlap.Forbid;

    /// <summary>The schedule trigger's policy: the job's own hold already does <see cref="ScheduleOverlap.Forbid"/>'s work.</summary>
    public static OverlapPolicy ToQuartz(ScheduleOverlap overlap) => overlap switch
    {
        ScheduleOverlap.Skip => OverlapPolicy.Skip,
        ScheduleOverlap.BufferOne => OverlapPolicy.BufferOne,
        ScheduleOverlap.CancelPrevious => OverlapPolicy.CancelPrevious,
        ScheduleOverlap.Allow => OverlapPolicy.AllowAll,
        _ => OverlapPolicy.Default,
    };
}
