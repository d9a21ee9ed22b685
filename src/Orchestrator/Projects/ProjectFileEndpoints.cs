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
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesValidationProblem(StatusCodes.Status422UnprocessableEntity);
        group.MapPut("/{**path}", PutFile).WithName("PutProjectFile").WithSummary("Write a file (the request body), creating directories.")
            .ProducesProblem(StatusCodes.Status404NotFound)
            .ProducesProblem(StatusCodes.Status413PayloadTooLarge)
            .ProducesValidationProblem(StatusCodes.Status422UnprocessableEntity)
            .RequireAuthorization(Policies.Operator);
        group.MapDelete("/{**path}", DeletePath).WithName("DeleteProjectFile").WithSummary("Delete a file or an empty directory.")
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
        string id, string? path, WorkspaceFiles files, CancellationToken ct)
    {
        var outcome = await files.ReadAsync(id, path, ct);
        if (!outcome.Succeeded)
        {
            return outcome.Problem.ToProblemResult();
        }

        return outcome.Value.Entries is { } entries ? TypedResults.Ok(entries) : TypedResults.Stream(outcome.Value.File!, "application/octet-stream");
    }

    public static async Task<Results<Ok<FileEntry>, ProblemHttpResult>> PutFile(string id, string? path, HttpRequest request, WorkspaceFiles files, CancellationToken ct)
    {
        var outcome = await files.WriteAsync(id, path, request.Body, ct);
        return outcome.Succeeded ? TypedResults.Ok(outcome.Value) : outcome.Problem.ToProblemResult();
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> DeletePath(string id, string? path, WorkspaceFiles files, CancellationToken ct)
    {
        var outcome = await files.DeleteAsync(id, path, ct);
        return outcome.Succeeded ? TypedResults.NoContent() : outcome.Problem.ToProblemResult();
    }

    [GeneratedRegex("%(?![0-9A-Fa-f]{2})", RegexOptions.CultureInvariant)]
    private static partial Regex InvalidEscape();
}
