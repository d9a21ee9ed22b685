namespace Orchestrator.Actions;

/// <summary>Keys of what a schedule keeps in its Quartz JobDataMap (all strings, so the store holds plain JSON).</summary>
public static class JobDataKeys
{
    /// <summary>The normalized schedule as the API returned it on create, for GET to answer faithfully.</summary>
    public const string Schedule = "orchestrator.schedule";
    public const string ActionType = "orchestrator.actionType";
    public const string Config = "orchestrator.config";
    public const string TimeoutSeconds = "orchestrator.timeoutSeconds";

    /// <summary>Whole seconds the schedule's trigger fires after its nominal fire times (its jitter offset); absent means none.</summary>
    public const string JitterOffsetSeconds = "orchestrator.jitterOffsetSeconds";

    /// <summary>When the schedule was created (ISO-8601, UTC), kept across replaces; absent on a schedule stored before it was kept.</summary>
    public const string CreatedAt = "orchestrator.createdAt";

    /// <summary>On a run-now trigger: the ledger row the API already created for it.</summary>
    public const string RunId = "orchestrator.runId";
}
