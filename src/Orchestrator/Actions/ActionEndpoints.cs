using System.ComponentModel;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using Orchestrator.Api;
using Orchestrator.Security;

namespace Orchestrator.Actions;

/// <summary>An action type as <c>GET /api/actions</c> serves it: the schema is the very one configs are validated with.</summary>
public sealed record ActionTypeResponse(
    [property: Description("The type a schedule's or a pipeline node's action names, e.g. call_api.")] string Name,
    [property: Description("What the action does, in one line.")] string Description,
    [property: Description("The JSON Schema (draft 2020-12) a config of this type must satisfy: the one the server validates with.")] JsonObject Schema);

/// <summary>The action types this server runs, with their config schemas: what the dashboard builds its forms from.</summary>
public static class ActionEndpoints
{
    public static IEndpointRouteBuilder MapActions(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/actions").WithTags("Actions").RequireAuthorization(Policies.Viewer);
        group.MapGet("/", ListActions).WithName("ListActions")
            .WithSummary("Action types by name, each with a one-line description and the JSON Schema its config must satisfy.");
        group.MapPost("/dry-run", DryRun).WithName("DryRunAction").RequireAuthorization(Policies.Operator)
            .WithSummary("Validate an action as a schedule's create would and render what a run would send (placeholders filled from a sample run, secrets as references); nothing is sent or stored.")
            .ProducesValidationProblem(StatusCodes.Status422UnprocessableEntity)
            .ProducesProblem(StatusCodes.Status400BadRequest).ProducesProblem(StatusCodes.Status403Forbidden);
        return app;
    }

    public static async Task<Results<Ok<ActionDryRunResponse>, ProblemHttpResult>> DryRun(ActionDryRunRequest request, ActionDryRunService dryRuns, CancellationToken ct)
    {
        var outcome = await dryRuns.DryRunAsync(request, ct);
        return outcome.Succeeded ? TypedResults.Ok(outcome.Value) : outcome.Problem.ToProblemResult();
    }

    public static Ok<List<ActionTypeResponse>> ListActions(ActionCatalog actions) =>
        // Parsed from the schema's text on each call: a fresh node per response, and the text is what validation reads.
        TypedResults.Ok(actions.All.Select(a => new ActionTypeResponse(a.Type, a.Description, JsonNode.Parse(a.SchemaJson)!.AsObject())).ToList());
}
