using System.ComponentModel;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.EntityFrameworkCore;
using Orchestrator.Actions.CallApi;
using Orchestrator.Api;
using Orchestrator.Data;
using Orchestrator.Projects;
using Orchestrator.Schedules;
using Orchestrator.Security;

namespace Orchestrator.Actions;

/// <summary>The body of <c>POST /api/actions/dry-run</c>: an action as a schedule carries it, and where it would run.</summary>
public sealed record ActionDryRunRequest(
    [property: Description("The project the action would run in (default: 'default'); project-dependent checks (tool arguments, paths) use it.")] string? Project,
    [property: Description("The schedule's name, for {{schedule.name}} and {{schedule.id}} (default: 'dry-run').")] string? ScheduleName,
    [property: Description("The action: {type, config}, as in a schedule.")] ActionRequest? Action);

/// <summary>What a run of the action would send, with the sample run it was rendered for. Nothing was sent or stored.</summary>
public sealed record ActionDryRunResponse(
    [property: Description("The action type.")] string Type,
    [property: Description("What the executor would send (a call_api's request, a notification's rendered text, …), placeholders filled from the sample run.")] JsonObject Rendered,
    [property: Description("The {{secret:NAME}} names referenced: shown as references in 'rendered', resolved only when a real run sends.")] IReadOnlyList<string> Secrets,
    [property: Description("The run the placeholders were filled from.")] DryRunSample Sample);

/// <summary>The made-up run a dry run fills <c>run.*</c> and <c>schedule.*</c> placeholders from.</summary>
public sealed record DryRunSample(Guid RunId, string ScheduleId, string Project, int Attempt, string IdempotencyKey, DateTimeOffset ScheduledFireTime);

/// <summary>
/// Validates an action exactly as a schedule's create would (the same keys: <c>action.config.url</c>), then renders
/// what a run would send, without sending, storing or resolving a secret: the dashboard's "test run".
/// </summary>
public sealed class ActionDryRunService(ActionCatalog actions, OrchestratorDbContext db, ProjectScope scope, TimeProvider time)
{
    public const string DefaultScheduleName = "dry-run";

    public async Task<Outcome<ActionDryRunResponse>> DryRunAsync(ActionDryRunRequest request, CancellationToken ct)
    {
        var project = request.Project ?? Project.DefaultId;
        if (scope.RefuseOutside(project) is { } outside)
        {
            return outside;
        }

        var errors = new FieldErrors();
        if (!ProjectEndpoints.IsSlug(project) || !await db.Projects.AnyAsync(p => p.Id == project, ct))
        {
            errors.Add("project", $"no project with id '{project}'.");
        }

        var name = request.ScheduleName ?? DefaultScheduleName;
        if (!ScheduleValidator.IsName(name))
        {
            errors.Add("scheduleName", "must be 1–100 letters, digits, '-' or '_', starting with a letter or digit.");
        }

        ActionDefinition? definition = null;
        JsonElement config = default;
        if (request.Action is not { } action)
        {
            errors.Add("action", "is required: {\"type\": …, \"config\": {…}}.");
        }
        else if (string.IsNullOrEmpty(action.Type) || !actions.TryGet(action.Type, out definition))
        {
            errors.Add("action.type", $"{(string.IsNullOrEmpty(action.Type) ? "is required" : $"'{action.Type}' is not an action type")}; use one of {string.Join(", ", actions.Types)}.");
        }
        else if (action.ConfigOrEmpty is not { ValueKind: JsonValueKind.Object } given)
        {
            errors.Add("action.config", "must be a JSON object (leave it out for an action with no settings).");
        }
        else
        {
            config = given;
            await definition.ValidateAsync(config, "action.config", errors, ct, errors.Entries.ContainsKey("project") ? null : project);
        }

        if (errors.Any || definition is null)
        {
            return errors.ToProblemDetails();
        }

        var runId = Guid.CreateVersion7(time.GetUtcNow());
        var sample = new ActionInvocation(runId, $"{project}.{name}", name, project, 1, $"dryrun-{runId:N}", time.GetUtcNow(), config);
        var rendered = definition.DryRun(sample);
        return new ActionDryRunResponse(
            definition.Type, rendered, SecretNames(rendered),
            new DryRunSample(runId, sample.ScheduleId, project, sample.Attempt, sample.IdempotencyKey, sample.ScheduledFireTime));
    }

    private static List<string> SecretNames(JsonNode? node) => node switch
    {
        JsonObject o => [.. o.SelectMany(p => SecretNames(p.Value)).Distinct(StringComparer.Ordinal)],
        JsonArray a => [.. a.SelectMany(SecretNames).Distinct(StringComparer.Ordinal)],
        JsonValue v when v.GetValueKind() == JsonValueKind.String => [.. SecretTemplates.ReferencedNames(v.GetValue<string>())],
        _ => [],
    };
}
