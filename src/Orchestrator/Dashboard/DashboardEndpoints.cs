using System.Reflection;

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
        app.MapGet("/", () => Serve(assets, "index.html")).ExcludeFromDescription();
        app.MapGet("/dashboard/{file}", (string file) => Serve(assets, file)).ExcludeFromDescription();
        return app;
    }

    private static IResult Serve(Dictionary<string, byte[]> assets, string file) =>
        assets.TryGetValue(file, out var content)
            ? Results.Bytes(content, ContentTypes.GetValueOrDefault(Path.GetExtension(file), "application/octet-stream"))
            : Results.NotFound();

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
