using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Options;
using Orchestrator.Hosting;

namespace Orchestrator.Actions.CallApi;

/// <summary>
/// <c>{{secret:NAME}}</c> references, resolved from <c>Orchestrator:Secrets</c> only at send time, in the two places a
/// secret can go: call_api header values and the string values of a call_api body (the same fields of http tools and
/// <c>http.request</c>). Anywhere else a reference is refused when the config is saved (<see cref="ActionDefinition"/>),
/// never sent as written. Configs, run snapshots and API responses keep the reference, never the value; recorded
/// responses and errors have what a peer echoes of it masked (<see cref="SecretMask"/>).
/// </summary>
public sealed partial class SecretTemplates(IOptionsMonitor<OrchestratorOptions> options)
{
    public const string Mask = "***";

    /// <summary>Why a reference to <paramref name="name"/> is refused, the same words wherever a config is checked.</summary>
    public static string NotConfigured(string name) => $"references secret '{name}', which is not configured under Orchestrator:Secrets.";

    /// <summary>The configured secret values, for masking what a tool or a peer echoes of them.</summary>
    public IEnumerable<string> ConfiguredValues => options.CurrentValue.Secrets.Values;

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

    /// <summary>What a refusal says: where secrets may be used, so the operator knows where to move the reference.</summary>
    public const string WhereSecretsGo =
        "a {{secret:NAME}} reference may be used only in call_api header values and body string values (not in Content-Type, " +
        "which a redirect carries on with the body; and the same fields of http tools and http.request); notification channels keep their own secrets (write-only)";

    /// <summary>Why a reference is refused where none may stand.</summary>
    public const string Misplaced = $"cannot reference a secret here: {WhereSecretsGo}.";

    /// <summary>
    /// Why text that reads as a reference but is not one (<c>{{secret: X}}</c>, <c>{{Secret:X}}</c>, <c>{{secret:MY X}}</c>,
    /// an opened <c>{{secret:</c>) is refused where secrets may stand: it would be sent as written.
    /// </summary>
    public const string Malformed = "malformed secret reference (write {{secret:NAME}}, NAME being letters, digits, '_', '.' or '-').";

    /// <summary>
    /// What is wrong with the secret references in one value, or null: <see cref="Misplaced"/> when it mentions a secret
    /// where none is <paramref name="accepted"/>, <see cref="Malformed"/> when, where one is, anything reads as a
    /// reference that is not a complete one.
    /// </summary>
    public static string? ReferenceProblem(string text, bool accepted) =>
        !MentionsSecret(text) ? null
        : !accepted ? Misplaced
        : MentionsSecret(Reference().Replace(text, "")) ? Malformed
        : null;

    /// <summary>
    /// The places in <paramref name="config"/> (under <paramref name="prefix"/>) whose secret references are refused,
    /// with the reason: a mention where <paramref name="accepts"/> (given the path relative to the config, such as
    /// <c>headers.X-Token</c> or <c>body.items[0]</c>) does not allow one, or a malformed one where it does; property
    /// names never may.
    /// </summary>
    public static IEnumerable<(string Field, string Reason)> ReferenceProblems(JsonElement config, string prefix, Func<string, bool> accepts)
    {
        var found = new List<(string, string)>();
        Walk(config, "");
        return found;

        void Walk(JsonElement element, string path)
        {
            switch (element.ValueKind)
            {
                case JsonValueKind.Object:
                    foreach (var property in element.EnumerateObject())
                    {
                        var child = path.Length == 0 ? property.Name : $"{path}.{property.Name}";
                        if (MentionsSecret(property.Name))
                        {
                            found.Add((Join(prefix, child), Misplaced));
                        }

                        Walk(property.Value, child);
                    }

                    break;
                case JsonValueKind.Array:
                    var i = 0;
                    foreach (var item in element.EnumerateArray())
                    {
                        Walk(item, $"{path}[{i++}]");
                    }

                    break;
                case JsonValueKind.String when ReferenceProblem(element.GetString()!, accepts(path)) is { } reason:
                    found.Add((Join(prefix, path), reason));
                    break;
            }
        }

        static string Join(string prefix, string path) => path.Length == 0 ? prefix : path.StartsWith('[') ? prefix + path : $"{prefix}.{path}";
    }

    /// <summary>
    /// Whether filling a template's placeholders formed a secret reference the template did not write itself, or undid
    /// one it did: <paramref name="written"/> is the template with each placeholder cut out as a break
    /// (<see cref="PlaceholderBreak"/>), so a reference a placeholder is part of (<c>{{secret:{{inputs.x}}}}</c>) counts as
    /// none. Run inputs, upstream responses and tool arguments must never choose which secret is sent.
    /// </summary>
    public static bool FillingChangesReferences(string written, string filled) => !ReferencedNames(written).SequenceEqual(ReferencedNames(filled));

    /// <summary>What stands for a placeholder in a template's written text: a character no reference can span.</summary>
    public const string PlaceholderBreak = "\0";

    /// <summary>Whether <paramref name="text"/> holds anything that reads as a secret reference (even a malformed name).</summary>
    public static bool MentionsSecret(string text) => Mention().IsMatch(text);

    /// <summary>
    /// The body text a call sends: a string body with its references resolved; a JSON body with the references in its
    /// string values resolved (re-serialized only then, so a body without secrets goes out byte for byte as written).
    /// </summary>
    public string ResolveBody(JsonElement body, ICollection<string> used)
    {
        if (body.ValueKind == JsonValueKind.String)
        {
            return Resolve(body.GetString()!, used);
        }

        var raw = body.GetRawText();
        if (!Reference().IsMatch(raw))
        {
            return raw;
        }

        return ResolveStrings(JsonNode.Parse(raw), used)?.ToJsonString(BodyJson) ?? "null";
    }

    private JsonNode? ResolveStrings(JsonNode? node, ICollection<string> used)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var name in obj.Select(p => p.Key).ToList())
                {
                    var child = obj[name];
                    if (ResolveStrings(child, used) is var resolved && !ReferenceEquals(resolved, child))
                    {
                        obj[name] = resolved;
                    }
                }

                return obj;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    var child = array[i];
                    if (ResolveStrings(child, used) is var resolved && !ReferenceEquals(resolved, child))
                    {
                        array[i] = resolved;
                    }
                }

                return array;
            case JsonValue value when value.GetValueKind() == JsonValueKind.String:
                return JsonValue.Create(Resolve(value.GetValue<string>(), used));
            default:
                return node;
        }
    }

    /// <summary>Non-ASCII text and HTML-sensitive characters go out as written, as in a body sent without secrets.</summary>
    private static readonly JsonSerializerOptions BodyJson = new() { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    [GeneratedRegex(@"\{\{\s*secret\s*:", RegexOptions.CultureInvariant | RegexOptions.IgnoreCase)]
    private static partial Regex Mention();

    [GeneratedRegex(@"\{\{\s*secret:([A-Za-z0-9_.-]{1,100})\s*\}\}", RegexOptions.CultureInvariant)]
    private static partial Regex Reference();
}
