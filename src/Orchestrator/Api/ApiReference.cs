using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;
using Scalar.AspNetCore;

namespace Orchestrator.Api;

/// <summary>
/// The interactive API reference (Scalar) at <c>/docs</c>, over the typed document at <c>/openapi/v1.json</c>. Like the
/// dashboard it is anonymous and read-only; "try it" sends the key a user types as <c>Authorization: Bearer</c>.
/// Everything the page loads comes from this server: production networks reach nothing outside the machine, and a
/// page that holds a key must not run script from elsewhere.
/// </summary>
public static partial class ApiReference
{
    public const string Route = "/docs";

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
            .AddEndpointFilter(async (context, next) => new WithContentSecurityPolicy(await next(context)));
        return app;
    }

    /// <summary>
    /// Scripts: only this server's files (Scalar's bundle at <c>/docs/scalar.js</c>) and the page's own inline start
    /// script, by its hash, so nothing injected could run. Styles may be inline: the bundle injects its styles at run time.
    /// "Try it" calls this server only; nothing may frame the page and forms post nowhere, as on the dashboard.
    /// </summary>
    internal static string ContentSecurityPolicy(IEnumerable<string> inlineScripts) =>
        "default-src 'none'; script-src 'self'"
        + string.Concat(inlineScripts.Select(s => $" 'sha256-{Convert.ToBase64String(SHA256.HashData(Encoding.UTF8.GetBytes(s)))}'"))
        + "; style-src 'self' 'unsafe-inline'; img-src 'self' data:; font-src 'self' data:; connect-src 'self'; "
        + "base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    [GeneratedRegex("<script(?![^>]*\\ssrc=)[^>]*>(?<body>.*?)</script>", RegexOptions.Singleline | RegexOptions.IgnoreCase)]
    private static partial Regex InlineScript();

    /// <summary>
    /// Runs Scalar's result into a buffer so the policy can name the hash of the inline script it actually wrote
    /// (its text depends on Scalar's version and our options), then sends the same bytes.
    /// </summary>
    private sealed class WithContentSecurityPolicy(object? inner) : IResult
    {
        public async Task ExecuteAsync(HttpContext httpContext)
        {
            if (inner is not IResult result)
            {
                throw new InvalidOperationException($"Scalar's endpoint returned {inner?.GetType().Name ?? "null"}, not a result.");
            }

            var response = httpContext.Response;
            response.Headers["Cross-Origin-Opener-Policy"] = "same-origin";
            if (Path.HasExtension(httpContext.Request.Path.Value))
            {
                // Scalar's own files (the bundle is megabytes): no inline script to hash, so no need to buffer them.
                response.Headers.ContentSecurityPolicy = ContentSecurityPolicy([]);
                await result.ExecuteAsync(httpContext);
                return;
            }

            var original = response.Body;
            using var buffer = new MemoryStream();
            response.Body = buffer;
            try
            {
                await result.ExecuteAsync(httpContext);
            }
            finally
            {
                response.Body = original;
            }

            var body = buffer.ToArray();
            var inlineScripts = response.ContentType?.StartsWith("text/html", StringComparison.OrdinalIgnoreCase) == true
                ? InlineScript().Matches(Encoding.UTF8.GetString(body)).Select(m => m.Groups["body"].Value)
                : [];
            response.Headers.ContentSecurityPolicy = ContentSecurityPolicy(inlineScripts);
            await original.WriteAsync(body, httpContext.RequestAborted);
        }
    }
}
