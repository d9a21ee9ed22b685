using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;
using Orchestrator.Security;

namespace Orchestrator.Api;

/// <summary>
/// Writes into each operation of the OpenAPI document the role its route enforces: an <c>x-required-role</c>
/// extension a tool can read, a security requirement naming the role (OpenAPI 3.1 lets a non-OAuth scheme list roles),
/// a sentence in the description a person reads, and the 400/401/403 (and, with a body, 413/415) problem responses the request
/// conventions and the key check can answer before the handler runs. Read from the endpoint's authorization metadata, so the document cannot disagree with what is enforced.
/// </summary>
public sealed class RoleOperationTransformer : IOpenApiOperationTransformer
{
    /// <summary>The extension naming the least role an operation needs, or <see cref="NoRole"/>.</summary>
    public const string RequiredRoleExtension = "x-required-role";

    /// <summary>What <see cref="RequiredRoleExtension"/> says for a route anyone may call (probes, the document itself).</summary>
    public const string NoRole = "none";

    /// <summary>The security scheme the document declares for API keys.</summary>
    public const string SecuritySchemeName = "ApiKey";

    public const string ProblemContentType = "application/problem+json";

    private const string ProblemSchemaId = "ProblemDetails";

    internal const string ValidationProblemSchemaId = "HttpValidationProblemDetails";

    public async Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var endpoint = context.Description.ActionDescriptor;
        var role = EndpointRoles.RequiredRole(endpoint.EndpointMetadata, endpoint.DisplayName ?? context.Description.RelativePath ?? "?");
        operation.Extensions ??= new Dictionary<string, IOpenApiExtension>();
        operation.Extensions[RequiredRoleExtension] = new JsonNodeExtension(JsonValue.Create(role is { } r ? EndpointRoles.Name(r) : NoRole));
        if (role is not { } required)
        {
            // An empty list overrides any document-wide requirement: this operation is called without a key.
            operation.Security = [];
            operation.Description = WithSentence(operation.Description, "Requires no API key.");
            return;
        }

        var document = context.Document ?? throw new InvalidOperationException("The operation transformer runs without its document.");
        operation.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference(SecuritySchemeName, document)] = [EndpointRoles.Name(required)] }];
        operation.Description = WithSentence(operation.Description, required == ApiRole.Admin
            ? "Requires the admin role."
            : $"Requires the {EndpointRoles.Name(required)} role or higher.");

        var problem = await SchemaAsync<ProblemDetails>(ProblemSchemaId, document, context, cancellationToken);
        var validationProblem = await SchemaAsync<HttpValidationProblemDetails>(ValidationProblemSchemaId, document, context, cancellationToken);
        operation.Responses ??= [];
        // ApiRequestConventions and the exception handlers refuse a request they cannot read before any handler runs
        // (a control character in a query value, a missing or malformed JSON body), naming the field in 'errors'.
        AddProblem(operation.Responses, StatusCodes.Status400BadRequest,
            "The request could not be read: a query value with a control character, or a body that is missing or not the JSON this operation takes; 'errors' names the field.",
            validationProblem);
        // Kestrel refuses a body over ServiceHosting.MaxRequestBodyBytes, and the JSON binder one that is not JSON.
        if (operation.RequestBody is { } body)
        {
            AddProblem(operation.Responses, StatusCodes.Status413PayloadTooLarge,
                "The request body is larger than the server accepts (1 MiB).", problem);
            if (body.Content?.Keys.Any(k => k.Contains("json", StringComparison.OrdinalIgnoreCase)) == true)
            {
                AddProblem(operation.Responses, StatusCodes.Status415UnsupportedMediaType,
                    "The request body is not JSON (its Content-Type is not application/json); 'errors' names the body.", validationProblem);
            }
        }

        AddProblem(operation.Responses, StatusCodes.Status401Unauthorized,
            "No API key was sent, or it is not a valid one.", problem);
        // A viewer is the least role: any valid key passes a viewer route, so only stricter routes can answer 403.
        if (required > ApiRole.Viewer)
        {
            AddProblem(operation.Responses, StatusCodes.Status403Forbidden,
                $"The API key's role is below {EndpointRoles.Name(required)}.", problem);
        }
    }

    private static string WithSentence(string? description, string sentence) =>
        string.IsNullOrWhiteSpace(description) ? sentence : $"{description.TrimEnd()}\n\n{sentence}";

    /// <summary>A response the route declared itself (with its own wording) is kept.</summary>
    internal static void AddProblem(OpenApiResponses responses, int status, string description, IOpenApiSchema schema)
    {
        var key = status.ToString(System.Globalization.CultureInfo.InvariantCulture);
        if (responses.ContainsKey(key))
        {
            return;
        }

        responses[key] = new OpenApiResponse
        {
            Description = description,
            Content = new Dictionary<string, OpenApiMediaType> { [ProblemContentType] = new() { Schema = schema } },
        };
    }

    /// <summary>
    /// The same component a route's own <c>ProducesProblem</c>/<c>ProducesValidationProblem</c> refers to (the framework
    /// names it after the type), registered once if no route did, so every problem response points at one schema.
    /// </summary>
    internal static async Task<IOpenApiSchema> SchemaAsync<T>(string id, OpenApiDocument document, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        if (document.Components?.Schemas?.ContainsKey(id) != true)
        {
            var schema = await context.GetOrCreateSchemaAsync(typeof(T), null, cancellationToken);
            document.AddComponent(id, schema);
        }

        return new OpenApiSchemaReference(id, document);
    }
}
