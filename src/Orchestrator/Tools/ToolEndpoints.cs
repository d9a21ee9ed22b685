using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Orchestrator.Api;
using Orchestrator.Security;

namespace Orchestrator.Tools;

/// <summary>The tool registry API: register, read, replace (a new version), delete, validate and invoke; HTTP mapped onto <see cref="ToolService"/>.</summary>
public static class ToolEndpoints
{
    public static IEndpointRouteBuilder MapTools(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/tools").WithTags("Tools").RequireAuthorization(Policies.Viewer);
        group.MapGet("/", ListTools).WithName("ListTools").WithSummary("Registered tools.");
        group.MapGet("/{name}", GetTool).WithName("GetTool").WithSummary("One tool with its parameter schema.")
            .ProducesProblem(StatusCodes.Status404NotFound);
        group.MapPost("/", RegisterTool).WithName("RegisterTool").WithSummary("Register a command or http tool with a JSON Schema for its arguments; built-in tools are listed but not registered.")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesValidationProblem(StatusCodes.Status422UnprocessableEntity)
            .RequireAuthorization(Policies.Admin);
        group.MapPut("/{name}", ReplaceTool).WithName("ReplaceTool").WithSummary("Replace a tool; its version goes up by one.")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesValidationProblem(StatusCodes.Status422UnprocessableEntity)
            .RequireAuthorization(Policies.Admin);
        group.MapDelete("/{name}", DeleteTool).WithName("DeleteTool").WithSummary("Delete a tool.")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .RequireAuthorization(Policies.Admin);
        group.MapPost("/{name}/validate", ValidateArguments).WithName("ValidateToolArguments")
            .WithSummary("Check {arguments} against the tool's schema; a 422 lists every error with its path, keyword and message.")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesValidationProblem(StatusCodes.Status422UnprocessableEntity);
        group.MapPost("/{name}/invoke", InvokeTool).WithName("InvokeTool")
            .WithSummary("Validate {arguments}, then run the tool in {project}'s root (timeout {timeoutSeconds}, default 300) and return its result.")
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status403Forbidden)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesValidationProblem(StatusCodes.Status422UnprocessableEntity)
            .RequireAuthorization(Policies.Operator);
        return app;
    }

    public static async Task<Ok<List<ToolResponse>>> ListTools(ToolService tools, CancellationToken ct) =>
        TypedResults.Ok(await tools.ListAsync(ct));

    public static async Task<Results<Ok<ToolResponse>, ProblemHttpResult>> GetTool(string name, ToolService tools, CancellationToken ct)
    {
        var outcome = await tools.GetAsync(name, ct);
        return outcome.Succeeded ? TypedResults.Ok(outcome.Value) : outcome.Problem.ToProblemResult();
    }

    public static async Task<Results<Created<ToolResponse>, ProblemHttpResult>> RegisterTool(ToolRequest request, ToolService tools, CancellationToken ct)
    {
        var outcome = await tools.RegisterAsync(request, ct);
        return outcome.Succeeded ? TypedResults.Created($"/api/tools/{outcome.Value.Name}", outcome.Value) : outcome.Problem.ToProblemResult();
    }

    public static async Task<Results<Ok<ToolResponse>, ProblemHttpResult>> ReplaceTool(string name, ToolRequest request, ToolService tools, bool? force, CancellationToken ct)
    {
        var outcome = await tools.ReplaceAsync(name, request, ct, force == true);
        return outcome.Succeeded ? TypedResults.Ok(outcome.Value) : outcome.Problem.ToProblemResult();
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteTool(string name, ToolService tools, bool? force, CancellationToken ct)
    {
        var outcome = await tools.DeleteAsync(name, ct, force == true);
        return outcome.Succeeded ? TypedResults.NoContent() : outcome.Problem.ToProblemResult();
    }

    public static async Task<Results<Ok<ToolValidationResponse>, ProblemHttpResult>> ValidateArguments(
        string name, ValidateRequest request, ToolService tools, CancellationToken ct)
    {
        var outcome = await tools.ValidateAsync(name, request, ct);
        return outcome.Succeeded ? TypedResults.Ok(outcome.Value) : outcome.Problem.ToProblemResult();
    }

    public static async Task<Results<Ok<ToolInvocationResponse>, ProblemHttpResult>> InvokeTool(
        string name, InvokeRequest request, ClaimsPrincipal user, ToolService tools, CancellationToken ct)
    {
        var outcome = await tools.InvokeAsync(name, request, RoleOf(user), ct);
        return outcome.Succeeded ? TypedResults.Ok(outcome.Value) : outcome.Problem.ToProblemResult();
    }

    private static ApiRole RoleOf(ClaimsPrincipal user) =>
        SecurityServiceCollectionExtensions.TryParseRole(user.FindFirst(ApiKeyAuthenticationHandler.RoleClaim)?.Value, out var role) ? role : ApiRole.Viewer;
}
