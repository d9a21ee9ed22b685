using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Actions.CallApi;
using Orchestrator.Templates;

namespace Orchestrator.Pipelines;

/// <summary>
/// A pipeline run as a source of the one template language (<see cref="TemplateResolver"/>): <c>{{inputs.x}}</c>,
/// <c>{{nodes.fetch.output.body.id}}</c> and the run's own <c>{{run.id}}</c>, <c>{{run.pipelineId}}</c>,
/// <c>{{run.version}}</c>, <c>{{run.project}}</c>, filled on the coordinator when a node starts. What a notification
/// fills per attempt when it sends (<c>{{run.attempt}}</c>, <c>{{schedule.*}}</c>…) is left for the sender.
/// </summary>
public static class PipelineTemplates
{
    /// <summary>The data paths the pipeline fills in <paramref name="config"/>, for the graph checks (upstream reads only).</summary>
    public static IEnumerable<DataPath> PathsIn(JsonElement config)
    {
        foreach (var text in Strings(config))
        {
            foreach (var reference in TemplateReference.In(text).Where(Fills))
            {
                yield return DataPath.Parse(reference.Text);
            }
        }
    }

    public static JsonNode? Render(JsonElement config, JsonNode context)
    {
        try
        {
            return TemplateResolver.RenderJson(JsonNode.Parse(config.GetRawText()), new RunValues(context), RefuseFormedReferences);
        }
        catch (TemplateException ex)
        {
            throw new ExpressionException(ex.Message);
        }
    }

    /// <summary>Whether <paramref name="text"/> holds a placeholder the pipeline fills, so the value is only known when the node runs.</summary>
    public static bool HasPlaceholder(string text) => TemplateReference.In(text).Any(Fills);

    /// <summary>
    /// <paramref name="text"/> without the placeholders the pipeline fills, each cut out as a break no reference can
    /// span: what is left is what the definition writes itself, checked on save like a schedule's value (so an opened
    /// <c>{{secret:{{inputs.x}}}}</c> is a malformed reference there, not one a run input completes).
    /// </summary>
    public static string WithoutPlaceholders(string text) => TemplateReference.Replace(text, r => Fills(r) ? SecretTemplates.PlaceholderBreak : null);

    /// <summary>
    /// The run's data namespaces, and every <c>run.*</c> but those a notification fills per attempt: a <c>run.*</c> name
    /// the run does not have (saved before the save-time check knew the names) still fails the node instead of being
    /// sent as written.
    /// </summary>
    private static bool Fills(TemplateReference reference) => reference.Namespace switch
    {
        TemplateContext.Inputs or TemplateContext.Nodes => true,
        TemplateContext.Run => TemplateContext.PipelineRunNames.Contains(reference.Text) || !TemplateContext.RunNames.Contains(reference.Text),
        _ => false,
    };

    /// <summary>
    /// Values without a reference of their own can still complete one with the text around them ("{{" and
    /// "secret:X}}" from two inputs): the filled-in text must reference exactly the secrets the definition wrote.
    /// </summary>
    private static void RefuseFormedReferences(string written, string filled)
    {
        if (SecretTemplates.FillingChangesReferences(WithoutPlaceholders(written), filled))
        {
            throw new TemplateException("the filled-in values would form a '{{secret:…}}' reference the definition does not write; only the definition itself may reference secrets.");
        }
    }

    private sealed class RunValues(JsonNode context) : ITemplateValues
    {
        public bool Fills(TemplateReference reference) => PipelineTemplates.Fills(reference);

        public JsonNode? Lookup(TemplateReference reference, out bool found)
        {
            DataPath path;
            try
            {
                path = DataPath.Parse(reference.Text);
            }
            catch (ExpressionException ex)
            {
                throw new TemplateException(ex.Message);
            }

            var value = path.Evaluate(context, out found);

            // A value from an upstream response or from run inputs must not smuggle in a secret reference that a later step
            // (a header) would resolve and send: '{{secret:…}}' may only be written in the definition itself.
            if (found && value is not null && SecretTemplates.MentionsSecret(value.ToJsonString()))
            {
                throw new TemplateException($"the value of '{reference.Written}' contains a '{{{{secret:…}}}}' reference, which is refused in template values.");
            }

            return value;
        }
    }

    private static IEnumerable<string> Strings(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                yield return element.GetString()!;
                break;
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    foreach (var s in Strings(property.Value))
                    {
                        yield return s;
                    }
                }

                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                {
                    foreach (var s in Strings(item))
                    {
                        yield return s;
                    }
                }

                break;
        }
    }
}
