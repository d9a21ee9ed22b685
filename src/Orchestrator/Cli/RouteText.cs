using System.Text;
using System.Text.Json;

namespace Orchestrator.Cli;

/// <summary>Routes and bodies as the remote verbs send them: escaped path segments, query strings of the options given, a file's JSON.</summary>
public static class RouteText
{
    public static string Segment(string value) => Uri.EscapeDataString(value);

    /// <summary>The route with the given query parameters; null or empty values are left out.</summary>
    public static string WithQuery(string route, params (string Name, object? Value)[] parameters)
    {
        var given = parameters.Where(p => p.Value is not null && p.Value.ToString() is { Length: > 0 }).ToList();
        if (given.Count == 0)
        {
            return route;
        }

        var text = new StringBuilder(route).Append('?');
        text.AppendJoin('&', given.Select(p => $"{Uri.EscapeDataString(p.Name)}={Uri.EscapeDataString(Convert.ToString(p.Value, System.Globalization.CultureInfo.InvariantCulture)!)}"));
        return text.ToString();
    }

    /// <summary>
    /// Reads a JSON document from a file (<c>-</c> for stdin) and checks it parses, so a typo in a file is a usage error
    /// (exit 2) that names the file and the position, before anything is sent.
    /// </summary>
    public static async Task<string> ReadJsonFileAsync(RemoteSession session, string path, CancellationToken cancellationToken)
    {
        string text;
        try
        {
            text = path == "-" ? await Console.In.ReadToEndAsync(cancellationToken) : await File.ReadAllTextAsync(path, cancellationToken);
        }
        catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
        {
            throw await session.EndAsync(CliExitCodes.Usage, $"error: cannot read '{path}': {ex.Message}");
        }

        return await CheckJsonAsync(session, text, $"'{path}'");
    }

    public static async Task<string> CheckJsonAsync(RemoteSession session, string text, string what)
    {
        try
        {
            using var document = JsonDocument.Parse(text);
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                throw await session.EndAsync(CliExitCodes.Usage, $"error: {what} must hold a JSON object.");
            }
        }
        catch (JsonException ex)
        {
            throw await session.EndAsync(CliExitCodes.Usage, $"error: {what} is not valid JSON: {ex.Message}");
        }

        return text;
    }
}
