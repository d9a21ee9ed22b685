using System.Globalization;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.OpenApi;
using Microsoft.OpenApi;

namespace Orchestrator.Api;

/// <summary>
/// Writes a list route's <see cref="PagingRule"/> into its OpenAPI operation: <c>page</c> and <c>pageSize</c> with their
/// minimum, maximum and default, <c>cursor</c> with what it is, and the 422 the rule answers with. Read from the same
/// metadata the parser uses, so the document cannot disagree with what is enforced.
/// </summary>
public sealed class PagingOperationTransformer : IOpenApiOperationTransformer
{
    public async Task TransformAsync(OpenApiOperation operation, OpenApiOperationTransformerContext context, CancellationToken cancellationToken)
    {
        var document = context.Document ?? throw new InvalidOperationException("The operation transformer runs without its document.");
        if (context.Description.ActionDescriptor.EndpointMetadata.OfType<PagingRule>().LastOrDefault() is not { } rule)
        {
            // ApiRequestConventions.UseApiPagingParameters refuses a paging parameter sent to a route that is not paged, and
            // UseApiKnownQueryParameters any other query parameter the route does not read.
            if (context.Description.RelativePath?.StartsWith("api/", StringComparison.Ordinal) == true)
            {
                operation.Responses ??= [];
                RoleOperationTransformer.AddProblem(operation.Responses, StatusCodes.Status422UnprocessableEntity,
                    "A query parameter this route does not read was sent (page, pageSize or cursor: this route is not paged; or any name its parameters do not list); 'errors' names it and lists the ones it reads.",
                    await RoleOperationTransformer.SchemaAsync<HttpValidationProblemDetails>(RoleOperationTransformer.ValidationProblemSchemaId, document, context, cancellationToken));
            }

            return;
        }

        foreach (var parameter in (operation.Parameters ?? []).OfType<OpenApiParameter>().Where(p => p.In == ParameterLocation.Query))
        {
            switch (parameter.Name)
            {
                case PagingRule.PageName when rule.ByNumber:
                    Limit(parameter, rule.ByCursor ? "The page number, from 1 (not together with cursor)." : "The page number, from 1.", 1, null, 1);
                    break;
                case PagingRule.PageSizeName:
                    Limit(parameter, $"How many items a page holds: 1 to {rule.MaxSize}, {rule.DefaultSize} when not given.", 1, rule.MaxSize, rule.DefaultSize);
                    break;
                case PagingRule.CursorName when rule.ByCursor:
                    parameter.Description = rule.ByNumber
                        ? "The previous page's nextCursor: the page starts after it (not together with page)."
                        : "The previous page's nextCursor: the page starts after it.";
                    break;
            }
        }

        var validationProblem = await RoleOperationTransformer.SchemaAsync<HttpValidationProblemDetails>(
            RoleOperationTransformer.ValidationProblemSchemaId, document, context, cancellationToken);
        operation.Responses ??= [];
        RoleOperationTransformer.AddProblem(operation.Responses, StatusCodes.Status422UnprocessableEntity,
            $"A paging value is refused (page below 1, pageSize outside 1 to {rule.MaxSize}{(rule.ByCursor ? ", a cursor this list did not give out" : "")}"
            + $"{string.Concat(PagingRule.Names.Where(n => !rule.Reads(n)).Select(n => $", {n}, which this route does not read"))}), a filter is, or a query parameter its parameters do not list was sent; 'errors' names each.",
            validationProblem);
    }

    private static void Limit(OpenApiParameter parameter, string description, int minimum, int? maximum, int @default)
    {
        parameter.Description = description;
        // The framework writes an int? parameter's schema inline; a shared one ($ref) is left alone rather than changed for every user.
        if (parameter.Schema is OpenApiSchema schema)
        {
            schema.Minimum = minimum.ToString(CultureInfo.InvariantCulture);
            schema.Maximum = maximum?.ToString(CultureInfo.InvariantCulture);
            schema.Default = JsonValue.Create(@default);
        }
    }
}
