using System.Text.RegularExpressions;
using Orchestrator.Api;

namespace Orchestrator.Actions.CallApi;

/// <summary>
/// What an operator may set as an outbound request header, for call_api (and http tools) and webhook channels alike: a
/// token name that is not one the client owns (Host, Content-Length, Transfer-Encoding, Connection, the
/// Idempotency-Key every call carries), a value without CR, LF or NUL, and at most <see cref="MaxHeaders"/> of them.
/// </summary>
public static partial class RequestHeaderRules
{
    public const int MaxHeaders = 50;
    public const int MaxValueLength = 4096;

    private static readonly HashSet<string> Reserved = new(StringComparer.OrdinalIgnoreCase)
    {
        "Host", "Content-Length", "Transfer-Encoding", "Connection", "Idempotency-Key",
    };

    public static bool IsReserved(string name) => Reserved.Contains(name);

    /// <summary>Checks one header, reporting under <paramref name="field"/>.</summary>
    public static void Check(string field, string name, string value, FieldErrors errors)
    {
        if (!HeaderName().IsMatch(name) || IsReserved(name))
        {
            errors.Add(field, "is not a header name that can be set (a token; not Host, Content-Length, Transfer-Encoding, Connection or Idempotency-Key).");
        }

        if (value.Any(c => c is '\r' or '\n' or '\0'))
        {
            errors.Add(field, "must not contain CR, LF or NUL.");
        }

        if (value.Length > MaxValueLength)
        {
            errors.Add(field, $"is longer than {MaxValueLength} characters.");
        }
    }

    [GeneratedRegex("^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,100}$", RegexOptions.CultureInvariant)]
    private static partial Regex HeaderName();
}
