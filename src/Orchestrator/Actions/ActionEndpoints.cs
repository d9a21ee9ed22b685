using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using Orchestrator.Security;

namespace Orchestrator.Actions;

/// <summary>An action type as <c>GET /api/actions</c> serves it: the schema is the very one configs are validated with.</summary>
public sealed record ActionTypeResponse(string Name, string Description, JsonObject Schema);

/// <summary>The action types this server runs, with their config schemas: what the dashboard builds its forms from.</summary>
public static class ActionEndpoints
{
    public static IEndpointRouteBuilder MapActions(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/actions").WithTags("Actions").RequireAuthorization(Policies.Viewer);
        group.MapGet("/", ListActions).WithName("ListActions")
            .WithSummary("Action types by name, each with a one-line description and the JSON Schema its config must satisfy.");
        return app;
    }

    public static Ok<List<ActionTypeResponse>> ListActions(ActionCatalog actions) =>
        // Parsed from the schema's text on each call: a fresh node per response, and the text is what validation reads.
        TypedResults.Ok(actions.All.Select(a => new ActionTypeResponse(a.Type, a.Description, JsonNode.Parse(a.SchemaJson)!.AsObject())).ToList());
}
