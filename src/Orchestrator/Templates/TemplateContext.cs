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
/// Whether every <c>{{name}}</c> is a placeholder (a notification's text, written for people), or only those of the
/// language's namespaces (a request body or a tool argument, which may carry another system's braces verbatim).
/// </param>
public sealed record TemplateContext(string Description, IReadOnlyList<string> Names, IReadOnlyList<string> OpenNamespaces, bool Strict)
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

    public bool Offers(TemplateReference reference) =>
        OpenNamespaces.Contains(reference.Namespace) || Names.Contains(reference.Text);

    /// <summary>The placeholders this context offers, as a person writes them, for messages.</summary>
    public string Listing => string.Join(", ", Names.Select(n => "{{" + n + "}}").Concat(OpenNamespaces.Select(n => n switch
    {
        Nodes => "{{nodes.<id>.output…}}",
        _ => "{{" + n + ".…}}",
    })));
}
