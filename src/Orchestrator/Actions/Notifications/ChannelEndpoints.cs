using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.OpenApi;
using Orchestrator.Api;
using Orchestrator.Security;

namespace Orchestrator.Actions.Notifications;

/// <summary>The notification channels API: HTTP mapped onto <see cref="ChannelService"/>.</summary>
public static class ChannelEndpoints
{
    public static IServiceCollection AddChannels(this IServiceCollection services)
    {
        services.AddScoped<ChannelService>();
        // A channel's settings are written without a discriminator (the response's kind says which shape), but the
        // document generator names "$type" as one for any polymorphic type: a client built from it would wait for a
        // property that is never sent.
        services.Configure<OpenApiOptions>("v1", options => options.AddSchemaTransformer((schema, context, _) =>
        {
            if (context.JsonTypeInfo.Type == typeof(ChannelSettingsResponse))
            {
                schema.Discriminator = null;
            }

            return Task.CompletedTask;
        }));
        return services;
    }

    public static IEndpointRouteBuilder MapChannels(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/channels").WithTags("Channels").RequireAuthorization(Policies.Viewer);
        group.MapGet("/", ListChannels).WithName("ListChannels").WithSummary("Notification channels; secrets are never returned.");
        group.MapGet("/{name}", GetChannel).WithName("GetChannel").WithSummary("One channel.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPost("/", CreateChannel).WithName("CreateChannel").WithSummary("Create a webhook or email channel.")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesValidationProblem(StatusCodes.Status422UnprocessableEntity)
            .RequireAuthorization(Policies.Admin);
        group.MapPut("/{name}", ReplaceChannel).WithName("ReplaceChannel").WithSummary("Replace a channel; omitted secrets are kept.")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesValidationProblem(StatusCodes.Status422UnprocessableEntity)
            .RequireAuthorization(Policies.Admin);
        group.MapDelete("/{name}", DeleteChannel).WithName("DeleteChannel").WithSummary("Delete a channel.")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .RequireAuthorization(Policies.Admin);
        return app;
    }

    public static async Task<Ok<List<ChannelResponse>>> ListChannels(ChannelService channels, CancellationToken ct) =>
        TypedResults.Ok(await channels.ListAsync(ct));

    public static async Task<Results<Ok<ChannelResponse>, ProblemHttpResult>> GetChannel(string name, ChannelService channels, CancellationToken ct)
    {
        var outcome = await channels.GetAsync(name, ct);
        return outcome.Succeeded ? TypedResults.Ok(outcome.Value) : outcome.Problem.ToProblemResult();
    }

    public static async Task<Results<Created<ChannelResponse>, ProblemHttpResult>> CreateChannel(ChannelRequest request, ChannelService channels, CancellationToken ct)
    {
        var outcome = await channels.CreateAsync(request, ct);
        return outcome.Succeeded ? TypedResults.Created($"/api/channels/{outcome.Value.Name}", outcome.Value) : outcome.Problem.ToProblemResult();
    }

    public static async Task<Results<Ok<ChannelResponse>, ProblemHttpResult>> ReplaceChannel(string name, ChannelRequest request, ChannelService channels, bool? force, CancellationToken ct)
    {
        var outcome = await channels.ReplaceAsync(name, request, ct, force == true);
        return outcome.Succeeded ? TypedResults.Ok(outcome.Value) : outcome.Problem.ToProblemResult();
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteChannel(string name, ChannelService channels, bool? force, CancellationToken ct)
    {
        var outcome = await channels.DeleteAsync(name, ct, force == true);
        return outcome.Succeeded ? TypedResults.NoContent() : outcome.Problem.ToProblemResult();
    }
}
