using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;

namespace Orchestrator.Cli;

/// <summary>
/// One remote command's conversation with the server: sends a request, prints a problem answer (title, detail, the
/// field errors) and ends the command with the exit code its status means, or prints the answer as a table or as the
/// server's JSON (<c>--json</c>).
/// </summary>
public sealed class RemoteSession : IDisposable
{
    private static readonly JsonSerializerOptions Indented = new(JsonSerializerOptions.Web) { WriteIndented = true };

    private readonly HttpClient http;
    private readonly string server;

    public RemoteSession(Uri server, string? key, bool json, TextWriter output, TextWriter errors)
    {
        // The address may carry a path (a reverse proxy's prefix): routes are appended to it, not put in its place.
        var baseAddress = server.AbsoluteUri.EndsWith('/') ? server : new Uri(server.AbsoluteUri + "/");
        this.server = server.GetLeftPart(UriPartial.Authority);
        http = new HttpClient { BaseAddress = baseAddress, Timeout = TimeSpan.FromSeconds(100) };
        http.DefaultRequestHeaders.Accept.Add(new MediaTypeWithQualityHeaderValue("application/json"));
        // The audit log records the change as made from the CLI (apply records its own source on the server).
        http.DefaultRequestHeaders.Add(Audit.AuditLog.ClientHeader, "cli");
        if (key is not null)
        {
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", key);
        }

        HasKey = key is not null;
        Json = json;
        Output = output;
        Errors = errors;
    }

    public bool Json { get; }

    public TextWriter Output { get; }

    public TextWriter Errors { get; }

    private bool HasKey { get; }

    /// <summary>
    /// Sends a request to <paramref name="route"/> (relative, e.g. <c>api/schedules</c>) and returns the answer's JSON
    /// (null for 204). Any other answer than 2xx is printed and ends the command (<see cref="CliExitException"/>).
    /// </summary>
    public Task<JsonElement?> SendAsync(HttpMethod method, string route, string? jsonBody, CancellationToken cancellationToken) =>
        SendAsync(method, route, jsonBody, notFoundIsNull: false, cancellationToken);

    /// <summary>
    /// GETs <paramref name="route"/> as <see cref="GetAsync"/> does, except that a 404 is an answer, not the end: null
    /// (nothing printed), for a caller that tries another route next (a run id that may be a pipeline run's).
    /// </summary>
    public Task<JsonElement?> FindAsync(string route, CancellationToken cancellationToken) =>
        SendAsync(HttpMethod.Get, route, null, notFoundIsNull: true, cancellationToken);

    private async Task<JsonElement?> SendAsync(HttpMethod method, string route, string? jsonBody, bool notFoundIsNull, CancellationToken cancellationToken)
    {
        using var request = new HttpRequestMessage(method, route);
        if (jsonBody is not null)
        {
            request.Content = new StringContent(jsonBody, Encoding.UTF8, "application/json");
        }

        HttpResponseMessage response;
        try
        {
            response = await http.SendAsync(request, cancellationToken);
        }
        catch (HttpRequestException ex)
        {
            throw await EndAsync(CliExitCodes.Unreachable, $"error: cannot reach {server}: {ex.Message}");
        }
        catch (TaskCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw await EndAsync(CliExitCodes.Unreachable, $"error: {server} did not answer within {http.Timeout.TotalSeconds:0} s.");
        }

        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            var body = Parse(text);
            if (response.IsSuccessStatusCode)
            {
                return body;
            }

            if (notFoundIsNull && response.StatusCode == HttpStatusCode.NotFound)
            {
                return null;
            }

            var exitCode = response.StatusCode switch
            {
                HttpStatusCode.NotFound => CliExitCodes.NotFound,
                HttpStatusCode.Unauthorized or HttpStatusCode.Forbidden => CliExitCodes.AuthRefused,
                _ => CliExitCodes.Failed,
            };
            await PrintProblemAsync(response.StatusCode, body);
            if (Json && body is not null)
            {
                // A script reading stdout gets the problem document too; the human-readable lines went to stderr.
                await Output.WriteLineAsync(JsonSerializer.Serialize(body.Value, Indented));
            }

            throw new CliExitException(exitCode, $"{(int)response.StatusCode} {response.StatusCode}");
        }
    }

    public Task<JsonElement?> GetAsync(string route, CancellationToken cancellationToken) => SendAsync(HttpMethod.Get, route, null, cancellationToken);

    /// <summary>Prints an answer: its JSON with <c>--json</c>, else a table of a list (or of a page's items) or one object as fields.</summary>
    public async Task PrintAsync(JsonElement? answer, IReadOnlyList<Column> columns)
    {
        if (answer is not { } value)
        {
            return;
        }

        if (Json)
        {
            await Output.WriteLineAsync(JsonSerializer.Serialize(value, Indented));
            return;
        }

        await Output.WriteAsync(CliTable.Render(value, columns));
    }

    /// <summary>A line for a human (what was done); with <c>--json</c> stdout is kept for JSON, so it goes to stderr.</summary>
    public Task SayAsync(string line) => (Json ? Errors : Output).WriteLineAsync(line);

    /// <summary>Prints <paramref name="message"/> to stderr and returns the exception that ends the command with <paramref name="exitCode"/>.</summary>
    public async Task<CliExitException> EndAsync(int exitCode, string message)
    {
        await Errors.WriteLineAsync(message);
        return new CliExitException(exitCode, message);
    }

    public void Dispose() => http.Dispose();

    private async Task PrintProblemAsync(HttpStatusCode status, JsonElement? body)
    {
        var title = Text(body, "title") ?? status.ToString();
        await Errors.WriteLineAsync($"error: {(int)status} {title}");
        var detail = Text(body, "detail");
        if (detail is not null && detail != title)
        {
            await Errors.WriteLineAsync($"  {detail}");
        }

        if (body is { ValueKind: JsonValueKind.Object } problem && problem.TryGetProperty("errors", out var fields) && fields.ValueKind == JsonValueKind.Object)
        {
            foreach (var field in fields.EnumerateObject())
            {
                var reasons = field.Value.ValueKind == JsonValueKind.Array
                    ? field.Value.EnumerateArray().Select(r => r.ToString())
                    : [field.Value.ToString()];
                // The server's detail often is the one field error already ("expiresAt: …"): said once is enough.
                foreach (var line in reasons.Select(reason => $"{field.Name}: {reason}").Where(line => line != detail))
                {
                    await Errors.WriteLineAsync($"  {line}");
                }
            }
        }

        if (status == HttpStatusCode.Unauthorized && !HasKey)
        {
            await Errors.WriteLineAsync($"  No key was sent: pass --key or set {RemoteOptions.KeyVariable}.");
        }
    }

    private static string? Text(JsonElement? body, string property) =>
        body is { ValueKind: JsonValueKind.Object } o && o.TryGetProperty(property, out var value) && value.ValueKind == JsonValueKind.String ? value.GetString() : null;

    private static JsonElement? Parse(string text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        try
        {
            using var document = JsonDocument.Parse(text);
            return document.RootElement.Clone();
        }
        catch (JsonException)
        {
            // Not JSON (a proxy's error page): keep it readable as text rather than fail on it.
            using var document = JsonDocument.Parse(JsonSerializer.Serialize(text));
            return document.RootElement.Clone();
        }
    }
}
