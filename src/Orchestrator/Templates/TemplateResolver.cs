using System.Text.Json;
using System.Text.Json.Nodes;

namespace Orchestrator.Templates;

/// <summary>Thrown when a placeholder a source fills has nothing at its path; the message names the placeholder.</summary>
public sealed class TemplateException(string message) : Exception(message);

/// <summary>
/// Where placeholder values come from at run time. A source answers for some namespaces only: the rest stay as written
/// for the source that fills them later (a pipeline fills its data when a node starts; the notification sender fills
/// <c>run.*</c> and <c>schedule.*</c> per attempt when it sends).
/// </summary>
public interface ITemplateValues
{
    /// <summary>Whether this source fills <paramref name="reference"/> (else it is left as written).</summary>
    bool Fills(TemplateReference reference);

    /// <summary>The value of a reference this source fills; <c>found = false</c> when nothing is at its path.</summary>
    JsonNode? Lookup(TemplateReference reference, out bool found);

    /// <summary>The text a value is written as inside other text: a string as is, null as nothing, anything else as JSON.</summary>
    string TextOf(TemplateReference reference, JsonNode? value) => value switch
    {
        null => "",
        JsonValue v when v.GetValueKind() == JsonValueKind.String => v.GetValue<string>(),
        _ => value.ToJsonString(),
    };
}

/// <summary>
/// The one <c>{{…}}</c> resolver. In text, a placeholder becomes its value's text (a string as is, null as nothing,
/// anything else as JSON). In a JSON config, a string that is exactly one placeholder takes the value with its JSON
/// type; other strings are filled as text. No expressions, no code: a placeholder is a name looked up in a source.
/// </summary>
public static class TemplateResolver
{
    public static string RenderText(string text, ITemplateValues values, Func<TemplateReference, string, string>? encode = null) =>
        !text.Contains("{{", StringComparison.Ordinal) ? text
        : TemplateReference.Replace(text, reference => values.Fills(reference) ? Encode(reference, values.TextOf(reference, Value(reference, values)), encode) : null);

    /// <summary>
    /// Fills the strings of <paramref name="node"/> in place (the node is returned, or what replaces it).
    /// <paramref name="checkFilled"/>, given the written and the filled text of each string filled as text, may refuse
    /// the result by throwing (the secret rules: values must not complete a reference the text did not write).
    /// </summary>
    public static JsonNode? RenderJson(JsonNode? node, ITemplateValues values, Action<string, string>? checkFilled = null)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var name in obj.Select(p => p.Key).ToList())
                {
                    var child = obj[name];
                    var rendered = RenderJson(child, values, checkFilled);
                    if (!ReferenceEquals(rendered, child))
                    {
                        obj[name] = rendered;
                    }
                }

                return obj;
            case JsonArray array:
                for (var i = 0; i < array.Count; i++)
                {
                    var child = array[i];
                    var rendered = RenderJson(child, values, checkFilled);
                    if (!ReferenceEquals(rendered, child))
                    {
                        array[i] = rendered;
                    }
                }

                return array;
            case JsonValue value when value.GetValueKind() == JsonValueKind.String && value.GetValue<string>() is var text && text.Contains("{{", StringComparison.Ordinal):
                if (TemplateReference.Whole(text) is { } whole && values.Fills(whole))
                {
                    return Value(whole, values)?.DeepClone();
                }

                var filled = RenderText(text, values);
                if (filled == text)
                {
                    return node;
                }

                checkFilled?.Invoke(text, filled);
                return JsonValue.Create(filled);
            default:
                return node;
        }
    }

    private static JsonNode? Value(TemplateReference reference, ITemplateValues values)
    {
        var value = values.Lookup(reference, out var found);
        return found ? value : throw new TemplateException($"'{reference.Written}' refers to nothing in this run.");
    }

    private static string Encode(TemplateReference reference, string text, Func<TemplateReference, string, string>? encode) =>
        encode is null ? text : encode(reference, text);
}
