using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;
using Microsoft.Net.Http.Headers;
using Orchestrator.Api;
using Orchestrator.Security;

namespace Orchestrator.Definitions;

/// <summary>Definitions as code: <c>POST /api/apply</c> and <c>GET /api/export</c>, HTTP mapped onto <see cref="ApplyService"/>.</summary>
public static class DefinitionEndpoints
{
    public const string YamlMediaType = "application/yaml";

    public static IServiceCollection AddDefinitions(this IServiceCollection services)
    {
        services.AddScoped<ApplyService>();
        return services;
    }

    public static IEndpointRouteBuilder MapDefinitions(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api").WithTags("Definitions").RequireAuthorization(Policies.Admin);
        group.MapPost("/apply", Apply).WithName("ApplyDefinitions")
            .WithSummary("Apply definition documents (JSON {documents, dryRun, prune, force}, or multi-document YAML with the flags as query parameters): the plan, or the plan applied all or nothing.")
            .Accepts<ApplyRequest>("application/json", YamlMediaType)
            .ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status409Conflict)
            .ProducesValidationProblem(StatusCodes.Status422UnprocessableEntity);
        group.MapGet("/export", Export).WithName("ExportDefinitions")
            .WithSummary("Every definition as documents apply takes: JSON by default, YAML with ?format=yaml or Accept: application/yaml.")
            .Produces<string>(StatusCodes.Status200OK, YamlMediaType)
            .ProducesProblem(StatusCodes.Status400BadRequest);
        return app;
    }

    public static async Task<Results<Ok<ApplyResponse>, ProblemHttpResult>> Apply(
        HttpRequest request, ApplyService service, IOptions<JsonOptions> json, bool? dryRun, bool? prune, bool? force, CancellationToken ct)
    {
        string body;
        using (var reader = new StreamReader(request.Body, Encoding.UTF8))
        {
            body = await reader.ReadToEndAsync(ct);
        }

        ApplyRequest? apply;
        try
        {
            apply = IsYaml(request.ContentType)
                ? new ApplyRequest([.. DefinitionFiles.ParseYaml(body, "body")], null, null, null)
                : JsonSerializer.Deserialize<ApplyRequest>(body, json.Value.SerializerOptions);
        }
        catch (DefinitionFileException ex)
        {
            return BodyProblem("body", ex.Message);
        }
        catch (JsonException ex)
        {
            return BodyProblem(ex.Path is { Length: > 2 } path ? path[2..] : "body", ex.Message.Split(" Path: ", 2)[0]);
        }

        if (apply is null)
        {
            return BodyProblem("body", "A JSON object body is required; the body is null.");
        }

        // The body's flags win; the query's serve a YAML body (which has no place for them) and any JSON body that leaves them out.
        var outcome = await service.ApplyAsync(apply with { DryRun = apply.DryRun ?? dryRun, Prune = apply.Prune ?? prune, Force = apply.Force ?? force }, ct);
        return outcome.Succeeded ? TypedResults.Ok(outcome.Value) : outcome.Problem.ToProblemResult();
    }

    public static async Task<Results<Ok<ExportResponse>, ContentHttpResult, ProblemHttpResult>> Export(HttpRequest request, ApplyService service, string? format, CancellationToken ct)
    {
        if (format is not (null or "json" or "yaml"))
        {
            return BodyProblem("format", "must be 'json' or 'yaml'.");
        }

        var documents = await service.ExportAsync(ct);
        var yaml = format == "yaml" || (format is null && request.GetTypedHeaders().Accept.Any(a => IsYaml(a.MediaType.Value)));
        return yaml ? TypedResults.Text(DefinitionFiles.ToYaml(documents), YamlMediaType, Encoding.UTF8) : TypedResults.Ok(new ExportResponse(documents));
    }

    private static bool IsYaml(string? contentType) =>
        MediaTypeHeaderValue.TryParse(contentType, out var media)
        && media.MediaType.Value is "application/yaml" or "application/x-yaml" or "text/yaml" or "text/x-yaml";

    private static ProblemHttpResult BodyProblem(string field, string reason) =>
        TypedResults.Problem(new HttpValidationProblemDetails(new Dictionary<string, string[]> { [field] = [reason] })
        {
            Status = StatusCodes.Status400BadRequest,
            Title = "The request could not be read.",
            Detail = $"{field}: {reason}",
        });
}
