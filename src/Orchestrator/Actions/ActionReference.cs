using System.Text.Json;

namespace Orchestrator.Actions;

/// <summary>
/// An action config that names something kept elsewhere by a literal string: a run_task's <c>tool</c>, a
/// send_notification's <c>channel</c>, an execute_pipeline's <c>pipeline</c>. A delete looks for these in schedules
/// and pipeline nodes so it can refuse while something would still fire into a name that no longer exists.
/// </summary>
public sealed record ActionReference(string ActionType, string Property, string Value)
{
    public bool IsIn(string? actionType, JsonElement? config) =>
        actionType == ActionType
        && config is { ValueKind: JsonValueKind.Object } c
        && c.TryGetProperty(Property, out var named)
        && named.ValueKind == JsonValueKind.String
        && named.GetString() == Value;

    public bool IsIn(string? actionType, string? configJson)
    {
        if (actionType != ActionType || configJson is null)
        {
            return false;
        }

        using var config = JsonDocument.Parse(configJson);
        return IsIn(actionType, config.RootElement);
    }
}
