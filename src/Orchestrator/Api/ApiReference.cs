using Scalar.AspNetCore;

namespace Orchestrator.Api;

/// <summary>
/// The interactive API reference (Scalar) at <c>/docs</c>, over the typed document at <c>/openapi/v1.json</c>. Like the
/// dashboard it is anonymous and read-only; "try it" sends the key a user types as <c>Authorization: Bearer</c>.
/// Everything the page loads comes from this server: production networks reach nothing outside the machine, and a
/// page that holds a key must not run script from elsewhere.
/// </summary>
public static class ApiReference
{
    public const string Route = "/docs";

    /// <summary>
    /// Scalar's bundle is served by the server (<c>/docs/scalar.js</c>), but its page starts it with an inline script
    /// and the bundle injects its styles at run time, so those two are allowed inline; "try it" calls this server only.
    /// Nothing may frame the page and forms post nowhere, as on the dashboard.
    /// </summary>
    private const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self' 'unsafe-inline'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; "
        + "connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    public static IEndpointRouteBuilder MapApiReference(this IEndpointRouteBuilder app)
    {
        app.MapScalarApiReference(Route, options => options
                .WithTitle("Orchestrator API")
                .WithOpenApiRoutePattern("/openapi/{documentName}.json")
                .AddPreferredSecuritySchemes([RoleOperationTransformer.SecuritySchemeName])
                // Off: each of these loads from or reports to Scalar's servers, which the CSP (and the network) refuses.
                .DisableDefaultFonts()
                .DisableTelemetry()
                .DisableAgent()
                .DisableMcp())
            .WithMetadata(new HttpMethodMetadata([HttpMethods.Get, HttpMethods.Head]))
            .AddEndpointFilter(async (context, next) =>
            {
                var headers = context.HttpContext.Response.Headers;
                headers.ContentSecurityPolicy = ContentSecurityPolicy;
                headers["Cross-Origin-Opener-Policy"] = "same-origin";
                return await next(context);
            });
        return app;
    }
}
