using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Api;

namespace Orchestrator.Actions.CallApi;

/// <summary>
/// The <c>call_api</c> action type: its config schema and the checks beyond it (URL policy, header names, secrets:
/// allowed in header values and body string values, and each must be configured).
/// </summary>
public sealed class CallApiAction(OutboundPolicy outbound, SecretTemplates secrets) : ActionDefinition
{
    public const string TypeName = "call_api";
    public const int MaxBodyBytes = 256 * 1024;

    public override string Type => TypeName;

    public override Type JobType => typeof(CallApiJob);

    public override string Description => "Calls an HTTP API: method, URL, headers and body, with the run's idempotency key as a header.";

    public override Task<ActionOutcome> ExecuteAsync(ActionInvocation invocation, IServiceProvider services, CancellationToken cancellationToken) =>
        services.GetRequiredService<HttpActionExecutor>().ExecuteAsync(invocation.Config, invocation.IdempotencyKey, cancellationToken);

    public override string SchemaJson => """
        {
          "$schema": "https://json-schema.org/draft/2020-12/schema",
          "title": "call_api config",
          "type": "object",
          "additionalProperties": false,
          "required": ["url"],
          "properties": {
            "method": { "type": "string", "enum": ["GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"] },
            "url": { "type": "string", "format": "uri", "minLength": 1, "maxLength": 2048 },
            "headers": { "type": "object", "maxProperties": 50, "additionalProperties": { "type": "string", "maxLength": 4096 } },
            "body": {},
            "timeoutSeconds": { "type": "integer", "minimum": 1, "maximum": 300 },
            "acceptedStatusCodes": { "type": "array", "maxItems": 50, "items": { "type": "integer", "minimum": 100, "maximum": 599 } },
            "recordHeaders": { "type": "array", "maxItems": 20, "items": { "type": "string", "minLength": 1, "maxLength": 100 } },
            "maxResponseChars": { "type": "integer", "minimum": 0, "maximum": 65536 }
          }
        }
        """;

    /// <summary>
    /// The request <see cref="HttpActionExecutor"/> would send: the defaults it applies written out, the idempotency key
    /// header it adds, and the body with the content type it would get. Secret references are kept as written.
    /// </summary>
    public override JsonObject DryRun(ActionInvocation sample)
    {
        var config = sample.Config;
        var headers = new JsonObject { ["Idempotency-Key"] = sample.IdempotencyKey };
        if (config.TryGetProperty("headers", out var given))
        {
            foreach (var header in given.EnumerateObject())
            {
                headers[header.Name] = header.Value.GetString();
            }
        }

        var request = new JsonObject
        {
            ["method"] = config.TryGetProperty("method", out var m) ? m.GetString() : "GET",
            ["url"] = config.GetProperty("url").GetString(),
            ["headers"] = headers,
            ["timeoutSeconds"] = config.TryGetProperty("timeoutSeconds", out var t) ? t.GetInt32() : HttpActionExecutor.DefaultTimeoutSeconds,
        };
        if (config.TryGetProperty("body", out var body) && body.ValueKind is not JsonValueKind.Null)
        {
            if (!headers.Any(h => string.Equals(h.Key, "Content-Type", StringComparison.OrdinalIgnoreCase)))
            {
                headers["Content-Type"] = body.ValueKind == JsonValueKind.String ? "text/plain; charset=utf-8" : "application/json";
            }

            request["body"] = JsonNode.Parse(body.GetRawText());
        }

        return request;
    }

    protected override ValueTask ValidateSemanticsAsync(JsonElement config, string prefix, string? projectId, FieldErrors errors, CancellationToken cancellationToken)
    {
        if (outbound.CheckUrl(config.GetProperty("url").GetString()!) is { } reason)
        {
            errors.Add($"{prefix}.url", reason);
        }

        if (config.TryGetProperty("headers", out var headers))
        {
            foreach (var header in headers.EnumerateObject())
            {
                // The schema already bounds the count and the value's length; the same rules hold for webhook channels.
                RequestHeaderRules.Check($"{prefix}.headers.{header.Name}", header.Name, header.Value.GetString()!, errors);
                foreach (var unknown in secrets.UnknownReferences(header.Value.GetString()!))
                {
                    errors.Add($"{prefix}.headers.{header.Name}", SecretTemplates.NotConfigured(unknown));
                }
            }
        }

        if (config.TryGetProperty("body", out var body))
        {
            if (body.GetRawText().Length > MaxBodyBytes)
            {
                errors.Add($"{prefix}.body", $"is larger than {MaxBodyBytes / 1024} KiB.");
            }

            CheckBodySecrets(body, $"{prefix}.body", errors);
        }

        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Header values and the body's string values are where the executor resolves secrets; not Content-Type, a content
    /// header that a 307/308 redirect carries to another origin with the body (and that a call without a body drops).
    /// </summary>
    protected override bool AcceptsSecretAt(string path) =>
        (path.StartsWith("headers.", StringComparison.Ordinal) && !string.Equals(path, "headers.Content-Type", StringComparison.OrdinalIgnoreCase))
        || path == "body" || path.StartsWith("body.", StringComparison.Ordinal) || path.StartsWith("body[", StringComparison.Ordinal);

    private void CheckBodySecrets(JsonElement element, string field, FieldErrors errors)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                foreach (var unknown in secrets.UnknownReferences(element.GetString()!))
                {
                    errors.Add(field, SecretTemplates.NotConfigured(unknown));
                }

                break;
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    CheckBodySecrets(property.Value, $"{field}.{property.Name}", errors);
                }

                break;
            case JsonValueKind.Array:
                var i = 0;
                foreach (var item in element.EnumerateArray())
                {
                    CheckBodySecrets(item, $"{field}[{i++}]", errors);
                }

                break;
        }
    }
}
