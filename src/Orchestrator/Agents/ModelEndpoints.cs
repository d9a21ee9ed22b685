using System.ComponentModel;
using Microsoft.AspNetCore.Http.HttpResults;
using Orchestrator.Security;

namespace Orchestrator.Agents;

/// <summary>A configured model as <c>GET /api/models</c> lists it.</summary>
public sealed record ModelResponse(
    [property: Description("The name an agent task gives as its model, e.g. default.")] string Name,
    [property: Description("The model id sent to the endpoint, e.g. gpt-4.1-mini.")] string Model,
    [property: Description("The endpoint's host (and port when not the scheme's default); never its path, query or key.")] string EndpointHost,
    [property: Description("Whether the secret named by the model's ApiKeySecret has a value on this node.")] bool KeyResolves);

/// <summary>The models agent tasks may use: configured by the operator, so listed here and never posted.</summary>
public static class ModelEndpoints
{
    public static IEndpointRouteBuilder MapModels(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/models").WithTags("Models").RequireAuthorization(Policies.Viewer);
        group.MapGet("/", ListModels).WithName("ListModels")
            .WithSummary("The configured models by name, each with its model id, its endpoint's host and whether its key resolves; never the key.");
        return app;
    }

    public static Ok<List<ModelResponse>> ListModels(ModelClients models) =>
        TypedResults.Ok(models.List().Select(m => new ModelResponse(m.Name, m.ModelId, m.EndpointHost, m.KeyResolves)).ToList());
}
