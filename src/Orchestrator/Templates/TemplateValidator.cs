using Orchestrator.Api;

namespace Orchestrator.Templates;

/// <summary>
/// The save-time check every surface uses: each placeholder of a field must be one its <see cref="TemplateContext"/>
/// offers. What passes here is what the resolver fills when the field is used, so a save never accepts a placeholder
/// that would fail (or be sent as written) at run time.
/// </summary>
public static class TemplateValidator
{
    /// <summary>Why <paramref name="reference"/> is refused in <paramref name="context"/>, the same words on every surface.</summary>
    public static string NotKnown(TemplateReference reference, TemplateContext context) =>
        $"'{reference.Written}' is not a known placeholder{(context.Strict ? "" : $" in {context.Description}")}; use {context.Listing}.";

    /// <summary>The placeholders of <paramref name="text"/> that <paramref name="context"/> does not offer, each once.</summary>
    public static IEnumerable<TemplateReference> Unavailable(string text, TemplateContext context) =>
        TemplateReference.In(text)
            .Where(r => context.IsPlaceholder(r) && !context.Offers(r))
            .Distinct();

    /// <summary>Adds an error at <paramref name="field"/> for each placeholder of <paramref name="text"/> the context does not offer.</summary>
    public static void Check(string text, TemplateContext context, string field, FieldErrors errors)
    {
        foreach (var reference in Unavailable(text, context))
        {
            errors.Add(field, NotKnown(reference, context));
        }
    }
}
