using System.Globalization;
using System.Text.Json.Nodes;
using Orchestrator.Actions;

namespace Orchestrator.Templates;

/// <summary>
/// <c>run.*</c> and <c>schedule.*</c> from the run an action executes for (<see cref="TemplateContext.RunNames"/>),
/// filled when it executes, so each attempt sends its own <c>run.attempt</c>. A pipeline node's invocation carries the
/// pipeline run's id, the node's attempt and idempotency key, the pipeline as <c>schedule.id</c> and the node as
/// <c>schedule.name</c>.
/// </summary>
public sealed class InvocationValues(ActionInvocation run) : ITemplateValues
{
    public bool Fills(TemplateReference reference) => TemplateContext.RunNames.Contains(reference.Text);

    public JsonNode? Lookup(TemplateReference reference, out bool found)
    {
        found = true;
        return reference.Text switch
        {
            "schedule.name" => run.ScheduleName,
            "schedule.id" => run.ScheduleId,
            "schedule.project" => run.ProjectId,
            "run.id" => run.RunId.ToString(),
            "run.scheduledFireTime" => run.ScheduledFireTime.ToString("O", CultureInfo.InvariantCulture),
            "run.attempt" => run.Attempt.ToString(CultureInfo.InvariantCulture),
            "run.idempotencyKey" => run.IdempotencyKey,
            _ => NotFound(out found),
        };
    }

    private static JsonNode? NotFound(out bool found)
    {
        found = false;
        return null;
    }
}
