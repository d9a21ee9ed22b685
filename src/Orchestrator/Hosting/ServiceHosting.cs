using System.Text.Json;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.OpenApi;

namespace Orchestrator.Hosting;

public static class ServiceHosting
{
    /// <summary>Largest request body the API accepts; bigger bodies get 413 before any handler runs.</summary>
    public const long MaxRequestBodyBytes = 1024 * 1024;

    /// <summary>
    /// Console, Windows service or systemd (Type=notify) from the same binary: each integration is a no-op
    /// unless the process was started by that service manager.
    /// </summary>
    public static WebApplicationBuilder AddServiceHosting(this WebApplicationBuilder builder)
    {
        builder.Services.AddWindowsService(o => o.ServiceName = "Orchestrator");
        builder.Services.AddSystemd();
        builder.WebHost.ConfigureKestrel(k =>
        {
            k.Limits.MaxRequestBodySize = MaxRequestBodyBytes;
            // The product and its version are nobody's business but the operator's.
            k.AddServerHeader = false;
            k.ConfigureEndpointDefaults(KestrelErrorBodies.Use);
        });
        builder.Services.AddSingleton(TimeProvider.System);
        return builder;
    }

    public static IServiceCollection AddApiConventions(this IServiceCollection services)
    {
        services.AddProblemDetails();
        services.RemoveContentTypeEndpointSelection();
        services.AddExceptionHandler<NulCharacterExceptionHandler>();
        services.AddExceptionHandler<BadRequestExceptionHandler>();
        services.Configure<RouteHandlerOptions>(o => o.ThrowOnBadRequest = true);
        services.Configure<JsonOptions>(o =>
        {
            o.SerializerOptions.PropertyNamingPolicy = JsonNamingPolicy.CamelCase;
            o.SerializerOptions.AllowTrailingCommas = false;
            o.SerializerOptions.UnmappedMemberHandling = System.Text.Json.Serialization.JsonUnmappedMemberHandling.Skip;
            // A name given twice is refused, in the record and in every JSON object under it (configs, arguments, schemas):
            // "last one wins" would let a reviewer read one value while the server stores another.
            o.SerializerOptions.AllowDuplicateProperties = false;
        });
        services.AddOpenApi(o => o.AddDocumentTransformer((document, _, _) =>
        {
            document.Info = new OpenApiInfo { Title = "Orchestrator", Version = "v1", Description = "Clustered job orchestration on Quartz.NET." };
            document.Components ??= new OpenApiComponents();
            document.Components.SecuritySchemes ??= new Dictionary<string, IOpenApiSecurityScheme>();
            document.Components.SecuritySchemes["ApiKey"] = new OpenApiSecurityScheme
            {
                Type = SecuritySchemeType.Http,
                Scheme = "bearer",
                Description = "An API key: 'Authorization: Bearer <key>' (or 'X-Api-Key: <key>').",
            };
            document.Security = [new OpenApiSecurityRequirement { [new OpenApiSecuritySchemeReference("ApiKey", document)] = [] }];
            return Task.CompletedTask;
        }));
        return services;
    }
}

/// <summary>
/// Turns malformed bodies (bad JSON, wrong types, oversized) into a 400/413 problem that says where and why,
/// instead of an empty 400. Anything else becomes a 500 problem without internals.
/// </summary>
internal sealed partial class BadRequestExceptionHandler(IProblemDetailsService problems, ILogger<BadRequestExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not BadHttpRequestException bad)
        {
            LogUnhandled(logger, exception, context.Request.Method, context.Request.Path);
            return false;
        }

        var detail = bad.InnerException switch
        {
            JsonException json => $"The body is not valid for this request at '{json.Path ?? "$"}': {FirstSentence(json.Message)}",
            _ => bad.Message,
        };
        context.Response.StatusCode = bad.StatusCode;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            Exception = exception,
            ProblemDetails = { Status = bad.StatusCode, Title = "The request could not be read.", Detail = detail },
        });
    }

    private static string FirstSentence(string message)
    {
        // System.Text.Json names the .NET type it wanted; the caller only needs to know the JSON type was wrong.
        if (message.Contains("could not be converted to", StringComparison.Ordinal))
        {
            return "the value has the wrong JSON type for this field.";
        }

        // "Duplicate property 'x' encountered during deserialization of type '…'": the .NET type means nothing to the caller.
        if (DuplicateProperty().Match(message) is { Success: true } duplicate)
        {
            return $"the property '{duplicate.Groups[1].Value}' is given more than once; each property of a JSON object may appear only once.";
        }

        // It also appends "Path: $.x | LineNumber…", which we already report.
        var cut = message.IndexOf(" Path:", StringComparison.Ordinal);
        return cut > 0 ? message[..cut] : message;
    }

    [System.Text.RegularExpressions.GeneratedRegex("^Duplicate property '(.*?)' encountered", System.Text.RegularExpressions.RegexOptions.CultureInvariant)]
    private static partial System.Text.RegularExpressions.Regex DuplicateProperty();

    [LoggerMessage(Level = LogLevel.Error, Message = "Unhandled exception for {Method} {Path}")]
    private static partial void LogUnhandled(ILogger logger, Exception exception, string method, string path);
}
