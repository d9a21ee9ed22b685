using System.Text.RegularExpressions;

namespace Orchestrator.Templates;

/// <summary>
/// What placeholders one kind of field accepts: fixed names (<c>run.attempt</c>, <c>schedule.name</c>) and open
/// namespaces whose whole path is data (<c>inputs.*</c>, <c>nodes.*</c>, <c>args.*</c>). Each surface names the context
/// of each field it saves, and the validator refuses a placeholder the context does not offer, so a field never
/// accepts a placeholder that nothing fills when it runs.
/// </summary>
/// <param name="Description">Where this is, for messages: "a schedule's notification".</param>
/// <param name="Names">Fixed names, such as <c>run.id</c>.</param>
/// <param name="OpenNamespaces">Namespaces any path of which is accepted here (what the path reads is checked by the surface).</param>
/// <param name="Strict">
/// Whether every <c>{{name}}</c> (letters, digits, '_' and '.') is a placeholder (a notification's text, written for
/// people), or only those of the language's namespaces (a request body or a tool argument, which may carry another
/// system's braces verbatim).
/// </param>
public sealed partial record TemplateContext(string Description, IReadOnlyList<string> Names, IReadOnlyList<string> OpenNamespaces, bool Strict)
{
    public const string Run = "run";
    public const string Schedule = "schedule";
    public const string Inputs = "inputs";
    public const string Nodes = "nodes";
    public const string Args = "args";

    /// <summary>The namespaces of the language: a placeholder in one of these is never sent as written.</summary>
    public static readonly IReadOnlyList<string> Namespaces = [Run, Schedule, Inputs, Nodes, Args];

    /// <summary>
    /// What every notification fills when it is sent, from the run that sends it (<see cref="InvocationValues"/>): a
    /// schedule's run, or a pipeline node's (then <c>run.id</c> is the pipeline run, <c>run.attempt</c> the node's attempt,
    /// <c>schedule.*</c> the pipeline and node; see the README).
    /// </summary>
    public static readonly IReadOnlyList<string> RunNames =
    [
        "schedule.name", "schedule.id", "schedule.project", "run.id", "run.scheduledFireTime", "run.attempt", "run.idempotencyKey",
    ];

    /// <summary>What a pipeline run fills in any node's config when the node starts (the run's own values).</summary>
    public static readonly IReadOnlyList<string> PipelineRunNames = ["run.id", "run.pipelineId", "run.version", "run.project"];

    /// <summary>A schedule's send_notification subject and message (and the <c>notify</c> tool's).</summary>
    public static readonly TemplateContext ScheduleNotification = new("a schedule's notification", RunNames, [], Strict: true);

    /// <summary>
    /// A pipeline node's send_notification subject and message: everything a schedule's notification accepts, so the
    /// same message works in both, plus the pipeline's data.
    /// </summary>
    public static readonly TemplateContext PipelineNotification =
        new("a pipeline node's notification", [.. RunNames, .. PipelineRunNames.Except(RunNames)], [Inputs, Nodes], Strict: true);

    /// <summary>Any other string of a pipeline node's config or a sub-pipeline's inputs: filled when the node starts.</summary>
    public static readonly TemplateContext PipelineNode = new("a pipeline node's config", PipelineRunNames, [Inputs, Nodes], Strict: false);

    /// <summary>A tool's command or request template: its arguments only.</summary>
    public static readonly TemplateContext Tool = new("a tool's template", [], [Args], Strict: false);

    /// <summary>
    /// Whether <paramref name="reference"/> is a placeholder here, to be checked and filled, rather than braces of
    /// another system's syntax sent as written. In a notification's text that is a name of the shape notifications
    /// always read (letters, digits, '_' and '.'), so <c>{{build-id}}</c> or <c>{{items[0]}}</c> stay text, or a path
    /// of a namespace it offers (a pipeline notification's <c>{{nodes.fetch.output.items[0]}}</c>). Elsewhere only the
    /// language's namespaces are placeholders.
    /// </summary>
    public bool IsPlaceholder(TemplateReference reference) =>
        Strict
            ? OpenNamespaces.Contains(reference.Namespace) || NotificationName().IsMatch(reference.Text)
            : Namespaces.Contains(reference.Namespace);

    public bool Offers(TemplateReference reference) =>
        OpenNamespaces.Contains(reference.Namespace) || Names.Contains(reference.Text);

    /// <summary>The placeholders this context offers, as a person writes them, for messages.</summary>
    public string Listing => string.Join(", ", Names.Select(n => "{{" + n + "}}").Concat(OpenNamespaces.Select(n => n switch
    {
        Nodes => "{{nodes.<id>.output…}}",
        _ => "{{" + n + ".…}}",
    })));

    [GeneratedRegex("^[A-Za-z0-9_.]+$", RegexOptions.CultureInvariant)]
    private static partial Regex NotificationName();
}
