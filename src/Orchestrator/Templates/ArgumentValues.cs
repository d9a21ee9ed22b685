using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Orchestrator.Actions;

namespace Orchestrator.Templates;

/// <summary>
/// <c>{{args.x}}</c> from the arguments a tool is invoked with: x is a top-level argument's name (letters, digits,
/// '_'); a deeper path is not an argument and stays as written. Inside text a string argument is its text, any other
/// its JSON as the caller sent it; a value that is exactly one placeholder takes the argument's JSON value.
/// </summary>
/// <param name="refuseTemplateSyntax">
/// Whether an argument holding "{{" fails the call: what an http tool sends goes through secret expansion after this,
/// so text from an argument could otherwise name a server secret ("{{secret:DB_PASSWORD}}") and send it anywhere.
/// </param>
public sealed partial class ArgumentValues(JsonElement arguments, bool refuseTemplateSyntax = false) : ITemplateValues
{
    public bool Fills(TemplateReference reference) => IsArgument(reference);

    public static bool IsArgument(TemplateReference reference) => reference.Namespace == TemplateContext.Args && Name().IsMatch(reference.Path);

    /// <summary>The argument names the placeholders of <paramref name="text"/> use, each once.</summary>
    public static IEnumerable<string> NamesIn(string text) =>
        TemplateReference.In(text).Where(IsArgument).Select(r => r.Path).Distinct(StringComparer.Ordinal);

    public JsonNode? Lookup(TemplateReference reference, out bool found)
    {
        found = true;
        return JsonNode.Parse(Argument(reference.Path).GetRawText());
    }

    public string TextOf(TemplateReference reference, JsonNode? value)
    {
        var argument = Argument(reference.Path);
        return argument.ValueKind switch
        {
            JsonValueKind.String => argument.GetString()!,
            JsonValueKind.True => "true",
            JsonValueKind.False => "false",
            _ => argument.GetRawText(),
        };
    }

    private JsonElement Argument(string name)
    {
        var value = arguments.ValueKind == JsonValueKind.Object && arguments.TryGetProperty(name, out var v) && v.ValueKind is not JsonValueKind.Null
            ? v
            : throw new ActionFailedException($"Argument '{name}' is used by the tool's template but was not given.");
        if (refuseTemplateSyntax && (value.GetRawText().Contains("{{", StringComparison.Ordinal) || (value.ValueKind == JsonValueKind.String && value.GetString()!.Contains("{{", StringComparison.Ordinal))))
        {
            throw new ActionFailedException($"Argument '{name}' contains '{{{{', which an http tool does not accept in arguments (it could reference a server secret).");
        }

        return value;
    }

    [GeneratedRegex("^[A-Za-z0-9_]+$", RegexOptions.CultureInvariant)]
    private static partial Regex Name();
}
