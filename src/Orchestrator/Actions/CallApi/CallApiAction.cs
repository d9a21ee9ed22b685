using System.Text.Json;
using System.Text.RegularExpressions;
using Orchestrator.Hosting;

namespace Orchestrator.Actions.CallApi;

/// <summary>The <c>call_api</c> action type: its config schema and the checks beyond it (URL policy, secrets, header names).</summary>
public sealed partial class CallApiAction(OutboundPolicy outbound, SecretTemplates secrets) : ActionDefinition
{
    public const string TypeName = "call_api";
    public const int MaxBodyBytes = 256 * 1024;

    public override string Type => TypeName;

    public override Type JobType => typeof(CallApiJob);

    public override string SchemaJson => """
        {
          "$schema": "http://json-schema.org/draft-07/schema#",
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
                if (!HeaderName().IsMatch(header.Name) || Reserved.Contains(header.Name))
                {
                    errors.Add($"{prefix}.headers.{header.Name}", "is not a header name that can be set (a token; not Host, Content-Length, Transfer-Encoding, Connection or Idempotency-Key).");
                }

                if (header.Value.GetString()!.Any(c => c is '\r' or '\n' or '\0'))
                {
                    errors.Add($"{prefix}.headers.{header.Name}", "must not contain CR, LF or NUL.");
                }

                foreach (var unknown in secrets.UnknownReferences(header.Value.GetString()!))
                {
                    errors.Add($"{prefix}.headers.{header.Name}", SecretTemplates.NotConfigured(unknown));
                }
            }
        }

        if (config.TryGetProperty("body", out var body) && body.GetRawText().Length > MaxBodyBytes)
        {
            errors.Add($"{prefix}.body", $"is larger than {MaxBodyBytes / 1024} KiB.");
        }

        return ValueTask.CompletedTask;
    }

    private static readonly HashSet<string> Reserved = new(StringComparer.OrdinalIgnoreCase)
    {
        "Host", "Content-Length", "Transfer-Encoding", "Connection", "Idempotency-Key",
    };

    [GeneratedRegex("^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$", RegexOptions.CultureInvariant)]
    private static partial Regex HeaderName();
}
