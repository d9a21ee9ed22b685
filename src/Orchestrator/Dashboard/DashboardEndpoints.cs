namespace Orchestrator.Dashboard;

/// <summary>
/// The web dashboard: static files compiled into the server (no Node at build or run time), served at <c>/</c>.
/// The page holds no data of its own; it signs in with an API key (kept in the tab's session storage) and calls the
/// same <c>/api</c> routes, under the same roles, as any client.
/// </summary>
public static class DashboardEndpoints
{
    private static readonly Dictionary<string, string> ContentTypes = new(StringComparer.Ordinal)
    {
        [".html"] = "text/html; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".svg"] = "image/svg+xml",
    };

    public static IEndpointRouteBuilder MapDashboard(this IEndpointRouteBuilder app)
    {
        var assets = LoadAssets();
        string[] read = [HttpMethods.Get, HttpMethods.Head];
        app.MapMethods("/", read, (HttpContext context) => Serve(context, assets, "index.html")).ExcludeFromDescription();
        app.MapMethods("/dashboard/{file}", read, (HttpContext context, string file) => Serve(context, assets, file)).ExcludeFromDescription();
        return app;
    }

    /// <summary>
    /// The page holds an admin key: only its own scripts and styles may run, it may talk only to this server, nothing
    /// may frame it, and forms cannot post anywhere. The assets are not versioned, so browsers revalidate them.
    /// </summary>
    private const string ContentSecurityPolicy =
        "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

    private static IResult Serve(HttpContext context, Dictionary<string, byte[]> assets, string file)
    {
        if (!assets.TryGetValue(file, out var content))
        {
            return Results.NotFound();
        }

        var headers = context.Response.Headers;
        headers.ContentSecurityPolicy = ContentSecurityPolicy;
        headers.CacheControl = "no-cache";
        headers["Cross-Origin-Opener-Policy"] = "same-origin";
        return Results.Bytes(content, ContentTypes.GetValueOrDefault(Path.GetExtension(file), "application/octet-stream"));
    }

    /// <summary>Headers every response gets: no MIME sniffing, no framing, no referrer leaving the server.</summary>
    public static IApplicationBuilder UseSecurityHeaders(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        var headers = context.Response.Headers;
        headers.XContentTypeOptions = "nosniff";
        headers.XFrameOptions = "DENY";
        headers["Referrer-Policy"] = "no-referrer";
        await next(context);
    });

    private static Dictionary<string, byte[]> LoadAssets()
    {
        var assembly = typeof(DashboardEndpoints).Assembly;
        const string prefix = "Orchestrator.Dashboard.assets.";
        var assets = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(prefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            assets[name[prefix.Length..]] = copy.ToArray();
        }

        return assets;
    }
}
