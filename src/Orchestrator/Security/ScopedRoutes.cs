using Microsoft.AspNetCore.Authorization;

namespace Orchestrator.Security;

/// <summary>
/// The routes a project-scoped key may call at all: those whose service confines what they return and change to the
/// key's projects (through <see cref="ProjectScope"/>), and cluster-wide reads that reveal nothing of any project
/// (actions, models, cron helpers, cluster nodes, the tool and channel registries). Everything else, and any route not
/// listed here (a new route is closed to scoped keys until its service honours the scope), is refused with 403:
/// registering or changing tools and channels, creating projects, keys, audit, apply and export need an unscoped key.
/// </summary>
public static class ScopedRoutes
{
    private static readonly HashSet<string> Open = new(StringComparer.Ordinal)
    {
        "GET /api/actions",
        "POST /api/actions/dry-run",
        "GET /api/models",
        "GET /api/cluster/nodes",
        "GET /api/cluster/misfires",
        "POST /api/cron/describe",
        "POST /api/cron/parse",
        "GET /api/channels",
        "GET /api/channels/{name}",
        "GET /api/tools",
        "GET /api/tools/{name}",
        "POST /api/tools/{name}/validate",
        "POST /api/tools/{name}/invoke",
        "GET /api/projects",
        "GET /api/projects/{id}",
        "PUT /api/projects/{id}",
        "DELETE /api/projects/{id}",
        "GET /api/projects/{id}/files/{**path}",
        "PUT /api/projects/{id}/files/{**path}",
        "DELETE /api/projects/{id}/files/{**path}",
        "GET /api/schedules",
        "POST /api/schedules",
        "POST /api/schedules/batch",
        "POST /api/schedules/preview",
        "GET /api/schedules/{id}",
        "PUT /api/schedules/{id}",
        "DELETE /api/schedules/{id}",
        "POST /api/schedules/{id}/pause",
        "POST /api/schedules/{id}/resume",
        "POST /api/schedules/{id}/run",
        "POST /api/schedules/{id}/backfill",
        "GET /api/schedules/{id}/runs",
        "GET /api/schedules/{id}/misfires",
        "GET /api/schedules/{id}/occurrences",
        "GET /api/runs",
        "GET /api/runs/{runId}",
        "GET /api/runs/{runId}/steps",
        "POST /api/runs/{runId}/cancel",
        "POST /api/runs/{runId}/requeue",
        "GET /api/runs/{runId}/attempts",
        "GET /api/stats",
        "GET /api/pipelines",
        "POST /api/pipelines",
        "POST /api/pipelines/validate",
        "GET /api/pipelines/{id}",
        "PUT /api/pipelines/{id}",
        "DELETE /api/pipelines/{id}",
        "POST /api/pipelines/{id}/run",
        "GET /api/pipelines/{id}/runs",
        "GET /api/pipeline-runs/{runId}",
        "POST /api/pipeline-runs/{runId}/cancel",
        "GET /api/deadlines",
    };

    /// <summary>Whether a scoped key may call <paramref name="method"/> on the route template <paramref name="pattern"/>.</summary>
    public static bool Allows(string method, string? pattern) =>
        pattern is not null && Open.Contains($"{method.ToUpperInvariant()} /{pattern.Trim('/')}");

    /// <summary>Every open route, for the README and the tests.</summary>
    public static IReadOnlyCollection<string> All => Open;
}

/// <summary>Part of every role policy: a project-scoped key passes only on a route of <see cref="ScopedRoutes"/>.</summary>
public sealed class ScopedRouteRequirement : IAuthorizationRequirement;

public sealed class ScopedRouteHandler : AuthorizationHandler<ScopedRouteRequirement>
{
    /// <summary>Set on the request when the scope (not the role) refused it, so the 403 can say which.</summary>
    public const string RefusedItem = "orchestrator:scope-refused";

    protected override Task HandleRequirementAsync(AuthorizationHandlerContext context, ScopedRouteRequirement requirement)
    {
        if (ProjectScope.Of(context.User) is null)
        {
            context.Succeed(requirement);
            return Task.CompletedTask;
        }

        var http = context.Resource as HttpContext;
        var pattern = (http?.GetEndpoint() as RouteEndpoint)?.RoutePattern.RawText;
        if (http is not null && ScopedRoutes.Allows(http.Request.Method, pattern))
        {
            context.Succeed(requirement);
        }
        else if (http is not null)
        {
            http.Items[RefusedItem] = true;
        }

        return Task.CompletedTask;
    }
}
