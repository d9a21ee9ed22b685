using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using Orchestrator.Hosting;

namespace Orchestrator.Actions.CallApi;

/// <summary>
/// <c>{{secret:NAME}}</c> references in header values, resolved from <c>Orchestrator:Secrets</c> only at send
/// time. Configs, run snapshots and API responses keep the reference, never the value; recorded responses
/// have any resolved value masked in case the peer echoes it back.
/// </summary>
public sealed partial class SecretTemplates(IOptionsMonitor<OrchestratorOptions> options)
{
    public const string Mask = "***";

    /// <summary>Why a reference to <paramref name="name"/> is refused, the same words wherever a config is checked.</summary>
    public static string NotConfigured(string name) => $"references secret '{name}', which is not configured under Orchestrator:Secrets.";

    public IEnumerable<string> UnknownReferences(string template) =>
        Reference().Matches(template).Select(m => m.Groups[1].Value).Where(n => !options.CurrentValue.Secrets.ContainsKey(n));

    /// <summary>The secret names referenced in <paramref name="text"/>, in order.</summary>
    public static IReadOnlyList<string> ReferencedNames(string text) => [.. Reference().Matches(text).Select(m => m.Groups[1].Value)];

    public string Resolve(string template, ICollection<string> used) => Reference().Replace(template, m =>
    {
        var value = options.CurrentValue.Secrets.TryGetValue(m.Groups[1].Value, out var v) ? v : "";
        if (value.Length > 0)
        {
            used.Add(value);
        }

        return value;
    });

    public static string Redact(string text, IEnumerable<string> secrets) =>
        secrets.Where(s => s.Length >= 4).Aggregate(text, (current, secret) => current.Replace(secret, Mask, StringComparison.Ordinal));

    [GeneratedRegex(@"\{\{\s*secret:([A-Za-z0-9_.-]{1,100})\s*\}\}", RegexOptions.CultureInvariant)]
    private static partial Regex Reference();
}
