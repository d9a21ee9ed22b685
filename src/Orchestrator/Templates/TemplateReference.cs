using System.Text.RegularExpressions;

namespace Orchestrator.Templates;

/// <summary>
/// One <c>{{namespace.path}}</c> placeholder as written: <c>{{run.attempt}}</c> is namespace <c>run</c>, path
/// <c>attempt</c>; <c>{{nodes.fetch.output.body.items[0]}}</c> is namespace <c>nodes</c>, path
/// <c>fetch.output.body.items[0]</c>. <c>{{secret:NAME}}</c> is not one: secrets keep their own stricter grammar
/// (<see cref="Actions.CallApi.SecretTemplates"/>) because where they may stand is a security rule, not a template rule.
/// </summary>
public sealed partial record TemplateReference(string Namespace, string Path)
{
    /// <summary>What stands between the braces, without the spaces a writer may put around it.</summary>
    public string Text => Path.Length == 0 ? Namespace : Path.StartsWith('[') ? Namespace + Path : $"{Namespace}.{Path}";

    /// <summary>The placeholder as a person would write it, for messages: <c>'{{run.attempt}}'</c>.</summary>
    public string Written => "{{" + Text + "}}";

    /// <summary>Every placeholder in <paramref name="text"/>, in order, with where it stands.</summary>
    public static IEnumerable<(TemplateReference Reference, Match Match)> Find(string text) =>
        Syntax().Matches(text).Select(m => (From(m), m));

    public static IEnumerable<TemplateReference> In(string text) => Find(text).Select(f => f.Reference);

    /// <summary>
    /// The reference <paramref name="text"/> is when it is exactly one placeholder (spaces inside the braces allowed),
    /// else null: such a value takes the placeholder's JSON value with its type instead of its text.
    /// </summary>
    public static TemplateReference? Whole(string text) =>
        Syntax().Match(text) is { Success: true } m && m.Index == 0 && m.Length == text.Length ? From(m) : null;

    /// <summary><paramref name="text"/> with each placeholder <paramref name="replace"/> answers for replaced by its answer (null leaves it as written).</summary>
    public static string Replace(string text, Func<TemplateReference, string?> replace) =>
        Syntax().Replace(text, m => replace(From(m)) ?? m.Value);

    private static TemplateReference From(Match m)
    {
        var rest = m.Groups[2].Value;
        return new TemplateReference(m.Groups[1].Value, rest.StartsWith('.') ? rest[1..] : rest);
    }

    // A namespace (letters, digits, '_' or '-'), then a path of names and [indices] after '.' or '['. Neither ':' nor
    // spaces belong to a path, so "{{secret:X}}" and prose like "{{ not this }}" are not placeholders.
    [GeneratedRegex(@"\{\{\s*([A-Za-z0-9_-]+)((?:[.\[][^{}\s]*)?)\s*\}\}", RegexOptions.CultureInvariant)]
    private static partial Regex Syntax();
}
