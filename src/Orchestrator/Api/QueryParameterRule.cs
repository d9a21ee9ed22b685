using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Mvc.ApiExplorer;
using Microsoft.AspNetCore.Mvc.ModelBinding;

namespace Orchestrator.Api;

/// <summary>
/// The query parameters each /api route reads, taken from the same description the OpenAPI document is written from
/// (ASP.NET Core's API explorer over the route's delegate): a parameter bound from the query string is in it, and
/// nothing else is, so the set cannot drift from the handler. A name the route does not read is refused
/// (<see cref="ApiRequestConventions.UseApiKnownQueryParameters"/>): ignored, <c>?limit=5</c> answered the default page
/// and a typo <c>?stat=paused</c> answered everything, each looking like what was asked.
/// </summary>
public sealed partial class QueryParameterRule(IApiDescriptionGroupCollectionProvider descriptions)
{
    private readonly Lazy<Dictionary<string, string[]>> byRoute = new(() => Read(descriptions));

    /// <summary>
    /// The query parameter names the route of <paramref name="endpoint"/> reads for <paramref name="method"/>, in the
    /// order its delegate declares them; null when the route is not described (then nothing is refused).
    /// </summary>
    public IReadOnlyList<string>? Reads(RouteEndpoint endpoint, string method) =>
        byRoute.Value.TryGetValue(Key(method, endpoint.RoutePattern.RawText), out var names) ? names : null;

    /// <summary>The reason a parameter the route does not read is refused, naming the ones it does read.</summary>
    public static string Refusal(string name, IReadOnlyList<string> reads)
    {
        // A typo is one or two edits from the name meant ("stat", "shedule"); a short unknown name gets no guess.
        var near = reads.Select(known => (Known: known, Edits: Distance(known.ToLowerInvariant(), name.ToLowerInvariant())))
            .Where(c => c.Edits <= Math.Min(2, Math.Max(1, name.Length / 3))).OrderBy(c => c.Edits).Select(c => c.Known).FirstOrDefault();
        var hint = near is null ? "" : $" Did you mean '{near}'?";
        return reads.Count == 0
            ? $"is not read by this route: it takes no query parameters; leave {name} out."
            : $"is not read by this route: it reads {string.Join(", ", reads)}.{hint}";
    }

    private static Dictionary<string, string[]> Read(IApiDescriptionGroupCollectionProvider descriptions)
    {
        var routes = new Dictionary<string, string[]>(StringComparer.Ordinal);
        foreach (var description in descriptions.ApiDescriptionGroups.Items.SelectMany(g => g.Items))
        {
            if (description.HttpMethod is not { } method || description.RelativePath is not { } path)
            {
                continue;
            }

            routes[Key(method, path)] = [.. description.ParameterDescriptions
                .Where(p => p.Source == BindingSource.Query)
                .Select(p => p.Name)
                .Distinct(StringComparer.OrdinalIgnoreCase)];
        }

        return routes;
    }

    /// <summary>"GET api/runs/{runId}": the method and the template without slashes at its ends, catch-all marks or constraints.</summary>
    private static string Key(string method, string? template) =>
        $"{method.ToUpperInvariant()} {Parameter().Replace((template ?? "").Trim('/'), m => "{" + m.Groups["name"].Value + "}")}";

    /// <summary>How many single-character edits turn one name into the other (a typo's distance).</summary>
    private static int Distance(string a, string b)
    {
        var previous = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var current = new int[b.Length + 1];
            current[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                current[j] = Math.Min(Math.Min(current[j - 1], previous[j]) + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
            }

            previous = current;
        }

        return previous[b.Length];
    }

    [GeneratedRegex(@"\{\**(?<name>[A-Za-z0-9_]+)[^}]*\}", RegexOptions.CultureInvariant)]
    private static partial Regex Parameter();
}
