using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Orchestrator.Api;
using Orchestrator.Security;

namespace Orchestrator.Projects;

/// <summary>A project's workspace files over HTTP, mapped onto <see cref="WorkspaceFiles"/>.</summary>
public static partial class ProjectFileEndpoints
{
    public static IEndpointRouteBuilder MapProjectFiles(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/projects/{id}/files").WithTags("Projects").RequireAuthorization(Policies.Viewer)
            .AddEndpointFilter(RefuseInvalidPercentEncoding);
        group.MapGet("/{**path}", GetPath).WithName("GetProjectFile").WithSummary("List a directory (JSON) or download a file, inside the project root.")
            .AddOpenApiOperationTransformer(DocumentFileDownload)
            .ProducesValidationProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesValidationProblem(StatusCodes.Status422UnprocessableEntity);
        group.MapPut("/{**path}", PutFile).WithName("PutProjectFile").WithSummary("Write a file (the request body), creating directories.")
            .ProducesValidationProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesValidationProblem(StatusCodes.Status422UnprocessableEntity)
            .RequireAuthorization(Policies.Operator);
        group.MapDelete("/{**path}", DeletePath).WithName("DeleteProjectFile").WithSummary("Delete a file or an empty directory.")
            .ProducesValidationProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesValidationProblem(StatusCodes.Status422UnprocessableEntity)
            .RequireAuthorization(Policies.Operator);
        return app;
    }

    /// <summary>
    /// Kestrel passes a '%' that starts no escape ("files/%ZZ") through as a literal character, so the path would name a
    /// file called "%ZZ"; a literal '%' is written "%25". Only the request line as sent tells the two apart, so the
    /// check reads it (its path, not the query) and refuses the malformed one as the other path problems are: a 422
    /// naming <c>path</c>.
    /// </summary>
    private static async ValueTask<object?> RefuseInvalidPercentEncoding(EndpointFilterInvocationContext context, EndpointFilterDelegate next)
    {
        var rawTarget = context.HttpContext.Features.Get<IHttpRequestFeature>()?.RawTarget ?? "";
        var query = rawTarget.IndexOf('?', StringComparison.Ordinal);
        var rawPath = query < 0 ? rawTarget : rawTarget[..query];
        if (!InvalidEscape().IsMatch(rawPath))
        {
            return await next(context);
        }

        var errors = new FieldErrors();
        errors.Add("path", "contains invalid percent-encoding: '%' must start two hexadecimal digits (write '%25' for a '%').");
        return errors.ToProblem();
    }

    /// <summary>
    /// The 200 is a directory listing (JSON, from the result type) or the file's bytes. OpenAPI holds one response per
    /// status, and a second <c>Produces(200)</c> would replace the listing, so the download is added as another content type.
    /// </summary>
    private static Task DocumentFileDownload(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        if (operation.Responses?.TryGetValue("200", out var ok) == true && ok.Content is { } content)
        {
            content["application/octet-stream"] = new OpenApiMediaType { Schema = new OpenApiSchema { Type = JsonSchemaType.String, Format = "binary" } };
        }

        return Task.CompletedTask;
    }

    public static async Task<Results<Ok<List<FileEntry>>, FileStreamHttpResult, ProblemHttpResult>> GetPath(
        string id, string? path, HttpContext context, WorkspaceFiles files, CancellationToken ct)
    {
        var (decoded, refused) = RequestedPath(context, path);
        if (refused is not null)
        {
            return PathProblem(refused);
        }

        var outcome = await files.ReadAsync(id, decoded, ct);
        if (!outcome.Succeeded)
        {
            return outcome.Problem.ToProblemResult();
        }

        return outcome.Value.Entries is { } entries ? TypedResults.Ok(entries) : TypedResults.Stream(outcome.Value.File!, "application/octet-stream");
    }

    public static async Task<Results<Ok<FileEntry>, ProblemHttpResult>> PutFile(string id, string? path, HttpRequest request, WorkspaceFiles files, CancellationToken ct)
    {
        var (decoded, refused) = RequestedPath(request.HttpContext, path);
        if (refused is not null)
        {
            return PathProblem(refused);
        }

        var outcome = await files.WriteAsync(id, decoded, request.Body, ct);
        return outcome.Succeeded ? TypedResults.Ok(outcome.Value) : outcome.Problem.ToProblemResult();
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> DeletePath(string id, string? path, HttpContext context, WorkspaceFiles files, CancellationToken ct)
    {
        var (decoded, refused) = RequestedPath(context, path);
        if (refused is not null)
        {
            return PathProblem(refused);
        }

        var outcome = await files.DeleteAsync(id, decoded, ct);
        return outcome.Succeeded ? TypedResults.NoContent() : outcome.Problem.ToProblemResult();
    }

    /// <summary>
    /// The file path as the client wrote it, percent-decoded exactly once (an empty string for the project root). Kestrel
    /// has already decoded the route value, except "%2F"; decoding that value again turned a double-encoded
    /// "%252e%252e" into "..", a name the client never sent. So the path is taken from the request line and decoded
    /// once here, strictly: bytes that are not UTF-8 (the overlong "%c0%ae") are refused, and so is an escape that is
    /// still there after decoding (the client encoded twice; a name holding "%2e" literally is written "%252e" and
    /// refused with it, rather than guessed at).
    /// </summary>
    internal static (string? Path, string? Error) RequestedPath(HttpContext context, string? routeValue)
    {
        var target = context.Features.Get<IHttpRequestFeature>()?.RawTarget;
        if (target is not null && !target.StartsWith('/') && target.IndexOf("://", StringComparison.Ordinal) is var scheme and > 0)
        {
            // An absolute-form request line (http://host/api/...): the path starts after the authority.
            var slash = target.IndexOf('/', scheme + 3);
            target = slash < 0 ? "/" : target[slash..];
        }

        if (target is null || !target.StartsWith('/'))
        {
            // No request line to read (an in-memory host): the route value, where only "%2F" is still encoded.
            return (routeValue?.Replace("%2F", "/", StringComparison.OrdinalIgnoreCase) ?? "", null);
        }

        var query = target.IndexOf('?', StringComparison.Ordinal);
        // "", "api", "projects", "{id}", "files", then the file path with its own slashes. The path is cut at the fifth
        // slash, so the four segments before it must be those the route matched, as sent: Kestrel routes on the
        // normalised path, and "/api/projects/p/./files/x" reaches this endpoint with the path "x" while its fifth
        // slash is the one before "files" — cutting there would name another file than the one routed.
        var parts = (query < 0 ? target : target[..query]).Split('/', 6);
        if (parts.Length < 5 || !IsSegment(parts[1], "api", StringComparison.OrdinalIgnoreCase) ||
            !IsSegment(parts[2], "projects", StringComparison.OrdinalIgnoreCase) ||
            !IsSegment(parts[3], RouteId(context), StringComparison.Ordinal) ||
            !IsSegment(parts[4], "files", StringComparison.OrdinalIgnoreCase))
        {
            return (null, NotCanonicalPrefix);
        }

        return DecodeOnce(parts.Length == 6 ? parts[5] : "");
    }

    /// <summary>Why a request line whose segments before the file path are not plainly /api/projects/{id}/files is refused.</summary>
    internal const string NotCanonicalPrefix =
        "is not under /api/projects/{id}/files as sent: the segments before the file path must be written plainly, without dot segments, empty segments or encoded slashes.";

    /// <summary>The route's project id as the client named it ("%2F" is the one escape routing leaves in a route value).</summary>
    private static string? RouteId(HttpContext context) =>
        (context.Request.RouteValues["id"] as string)?.Replace("%2F", "/", StringComparison.OrdinalIgnoreCase);

    /// <summary>Whether a raw segment of the request line, decoded once, is <paramref name="expected"/>.</summary>
    private static bool IsSegment(string raw, string? expected, StringComparison comparison) =>
        expected is not null && DecodeOnce(raw) is ({ } decoded, null) && string.Equals(decoded, expected, comparison);

    /// <summary>Percent-decodes <paramref name="encoded"/> once into UTF-8 text, or says why it cannot.</summary>
    internal static (string? Path, string? Error) DecodeOnce(string encoded)
    {
        var bytes = new List<byte>(encoded.Length);
        for (var i = 0; i < encoded.Length; i++)
        {
            if (encoded[i] == '%' && i + 2 < encoded.Length && Uri.IsHexDigit(encoded[i + 1]) && Uri.IsHexDigit(encoded[i + 2]))
            {
                bytes.Add((byte)Convert.ToInt32(encoded.Substring(i + 1, 2), 16));
                i += 2;
            }
            else
            {
                bytes.AddRange(System.Text.Encoding.UTF8.GetBytes(encoded[i].ToString()));
            }
        }

        string decoded;
        try
        {
            decoded = new System.Text.UTF8Encoding(encoderShouldEmitUTF8Identifier: false, throwOnInvalidBytes: true).GetString([.. bytes]);
        }
        catch (System.Text.DecoderFallbackException)
        {
            return (null, "is not valid UTF-8 (overlong or broken percent-encoding).");
        }

        return ResidualEscape().IsMatch(decoded)
            ? (null, "is percent-encoded twice (an escape such as '%252e' decodes to '%2e', not '.'); send each character encoded once.")
            : (decoded, null);
    }

    private static ProblemHttpResult PathProblem(string error)
    {
        var errors = new FieldErrors();
        errors.Add("path", error);
        if (error != NotCanonicalPrefix)
        {
            return errors.ToProblem();
        }

        // Not a path the workspace refuses but a request line that does not plainly name the route: a 400.
        var details = errors.ToProblemDetails();
        details.Status = StatusCodes.Status400BadRequest;
        details.Title = "The request target is not valid.";
        return TypedResults.Problem(details);
    }

    [GeneratedRegex("%(?![0-9A-Fa-f]{2})", RegexOptions.CultureInvariant)]
    private static partial Regex InvalidEscape();

    [GeneratedRegex("%[0-9A-Fa-f]{2}", RegexOptions.CultureInvariant)]
    private static partial Regex ResidualEscape();
}
