using Microsoft.AspNetCore.Authorization;
using Orchestrator.Security;

namespace Orchestrator.Api;

/// <summary>The least role an endpoint admits, read from the same authorization metadata the middleware enforces.</summary>
public static class EndpointRoles
{
    /// <summary>
    /// Null when the endpoint needs no key. Group-level and route-level <c>RequireAuthorization</c> policies must all
    /// pass, so the strictest one is the role the route needs (a viewer group with an admin route needs admin).
    /// </summary>
    /// <exception cref="InvalidOperationException">
    /// The endpoint is authorized by something other than one of <see cref="Policies"/> (a role list, the default
    /// policy): the document could not say who may call it, so it refuses to guess.
    /// </exception>
    public static ApiRole? RequiredRole(IEnumerable<object> endpointMetadata, string endpointName)
    {
        var metadata = endpointMetadata.ToList();
        // The authorization middleware skips every policy when any IAllowAnonymous is present, wherever it was added.
        if (metadata.OfType<IAllowAnonymous>().Any())
        {
            return null;
        }

        ApiRole? required = null;
        foreach (var authorize in metadata.OfType<IAuthorizeData>())
        {
            if (authorize.Roles is not null || authorize.AuthenticationSchemes is not null
                || !SecurityServiceCollectionExtensions.TryParseRole(authorize.Policy, out var role)
                || !string.Equals(authorize.Policy, role.ToString(), StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidOperationException(
                    $"The endpoint '{endpointName}' is authorized by '{authorize.Policy ?? authorize.Roles ?? "the default policy"}', " +
                    $"not by one of the role policies ({Policies.Viewer}, {Policies.Operator}, {Policies.Admin}); use RequireAuthorization(Policies.X).");
            }

            if (required is null || role > required)
            {
                required = role;
            }
        }

        return required;
    }

    /// <summary>The role as the API and the key commands spell it: <c>viewer</c>, <c>operator</c>, <c>admin</c>.</summary>
    public static string Name(ApiRole role) => role.ToString().ToLowerInvariant();
}
