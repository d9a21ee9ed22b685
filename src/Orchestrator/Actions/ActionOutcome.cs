using System.Text.Json.Nodes;

namespace Orchestrator.Actions;

/// <summary>What one execution of an action produced: success or not, a JSON result to record, and an error message.</summary>
public sealed record ActionOutcome(bool Succeeded, JsonObject Result, string? Error = null);

/// <summary>Everything an executor needs for one run; the idempotency key is stable across attempts of one fire time.</summary>
public sealed record ActionInvocation(
    Guid RunId,
    string ScheduleId,
    string ScheduleName,
    string ProjectId,
    int Attempt,
    string IdempotencyKey,
    DateTimeOffset ScheduledFireTime,
    System.Text.Json.JsonElement Config);

/// <summary>Thrown by an executor for a failure that should be recorded and retried under the schedule's policy.</summary>
public sealed class ActionFailedException(string message, JsonObject? result = null) : Exception(message)
{
    public JsonObject? Result { get; } = result;
}
