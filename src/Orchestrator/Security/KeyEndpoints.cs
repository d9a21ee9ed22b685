using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Orchestrator.Api;

namespace Orchestrator.Security;

/// <summary>
/// The keys API (admin, and only with a key without projects: see <see cref="ScopedRoutes"/>): list, create (the key
/// is in the 201 once), revoke.
/// </summary>
public static class KeyEndpoints
{
    public static IEndpointRouteBuilder MapKeys(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/keys").WithTags("Keys").RequireAuthorization(Policies.Admin);
        group.MapGet("/", ListKeys).WithName("ListKeys").WithSummary("API keys, newest first: prefix, name, role, projects, times; never the key or its hash.")
            .WithPaging(PagingRule.Standard);
        group.MapPost("/", CreateKey).WithName("CreateKey")
            .WithSummary("Create a key {name, role, projects?, expiresAt?}; the response holds the key, shown this once.")
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesValidationProblem(StatusCodes.Status422UnprocessableEntity);
        group.MapDelete("/{id}", RevokeKey).WithName("RevokeKey")
            .WithSummary("Revoke a key: refused at once on every node; it stays listed with revokedAt.")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict);
        return app;
    }

    public static async Task<Results<Ok<PagedList<KeyResponse>>, ProblemHttpResult>> ListKeys(KeyService keys, int? page, int? pageSize, CancellationToken ct)
    {
        var paging = PagingRule.Standard.Read(page, pageSize);
        return paging.Succeeded ? TypedResults.Ok(await keys.ListAsync(paging.Value, ct)) : paging.Problem.ToProblemResult();
    }

    public static async Task<Results<Created<CreatedKeyResponse>, ProblemHttpResult>> CreateKey(KeyRequest request, KeyService keys, CancellationToken ct)
    {
        var outcome = await keys.CreateAsync(request, ct);
        return outcome.Succeeded ? TypedResults.Created($"/api/keys/{outcome.Value.Id}", outcome.Value) : outcome.Problem.ToProblemResult();
    }

    // The id is read here, not by a route constraint, so a malformed id gets the same problem as an unknown one.
    public static async Task<Results<NoContent, ProblemHttpResult>> RevokeKey(string id, ClaimsPrincipal user, KeyService keys, CancellationToken ct)
    {
        if (!Guid.TryParse(id, out var keyId))
        {
            return ApiProblems.NotFound("key", id);
        }

        Guid? caller = Guid.TryParse(user.FindFirstValue(ClaimTypes.NameIdentifier), out var callerId) ? callerId : null;
        var outcome = await keys.RevokeAsync(keyId, caller, ct);
        return outcome.Succeeded ? TypedResults.NoContent() : outcome.Problem.ToProblemResult();
    }
}
