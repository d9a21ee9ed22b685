using System.Diagnostics;

namespace Orchestrator.Telemetry;

/// <summary>
/// The product's activity source, <c>Orchestrator</c>: a span per run (a child of Quartz's firing span), per pipeline
/// node, per agent step, and per SMTP send. Outbound HTTP spans come from the HttpClient instrumentation and nest under whichever of
/// these is current.
/// </summary>
/// <remarks>
/// A static source, as .NET intends (an <see cref="ActivitySource"/> is a name listeners subscribe to, not state): a
/// span costs one null check when nothing listens. Attribute names are namespaced <c>orchestrator.*</c>, beside the
/// OpenTelemetry semantic conventions (<c>server.address</c>) where one exists.
/// </remarks>
public static class OrchestratorActivities
{
    public const string SourceName = "Orchestrator";

    public const string ScheduleId = "orchestrator.schedule.id";
    public const string Project = "orchestrator.project";
    public const string RunId = "orchestrator.run.id";
    public const string Attempt = "orchestrator.run.attempt";
    public const string Trigger = "orchestrator.run.trigger";
    public const string Outcome = "orchestrator.run.outcome";
    public const string Node = "orchestrator.node";
    public const string ActionType = "orchestrator.action_type";
    public const string LedgerDecision = "orchestrator.ledger.decision";
    public const string PipelineId = "orchestrator.pipeline.id";
    public const string PipelineRunId = "orchestrator.pipeline.run.id";
    public const string PipelineNodeId = "orchestrator.pipeline.node.id";
    public const string PipelineNodeType = "orchestrator.pipeline.node.type";
    public const string AgentStepNumber = "orchestrator.agent.step.number";
    public const string AgentStepKind = "orchestrator.agent.step.kind";
    public const string AgentStepAttempt = "orchestrator.agent.step.attempt";
    public const string AgentStepStatus = "orchestrator.agent.step.status";
    public const string AgentTool = "orchestrator.agent.tool";

    // OpenTelemetry's generative-AI semantic conventions, for what they name.
    public const string GenAiModel = "gen_ai.request.model";
    public const string GenAiInputTokens = "gen_ai.usage.input_tokens";
    public const string GenAiOutputTokens = "gen_ai.usage.output_tokens";
    public const string AgentTotalTokens = "orchestrator.agent.usage.total_tokens";

    public static readonly ActivitySource Source = new(SourceName, typeof(OrchestratorActivities).Assembly.GetName().Version?.ToString());

    /// <summary>A pipeline node's span, a child of the pipeline's run (or of the Quartz firing of a run started through the API).</summary>
    public static Activity? StartPipelineNode(Guid pipelineRunId, string pipelineId, string nodeId, string nodeType, string? actionType, int attempt, string instance)
    {
        var activity = Source.StartActivity($"pipeline node {actionType ?? nodeType}");
        activity?.SetTag(PipelineRunId, pipelineRunId.ToString())
            .SetTag(PipelineId, pipelineId)
            .SetTag(PipelineNodeId, nodeId)
            .SetTag(PipelineNodeType, nodeType)
            .SetTag(ActionType, actionType)
            .SetTag(Attempt, attempt)
            .SetTag(Node, instance);
        return activity;
    }

    /// <summary>Ends a pipeline node's span with the node's status (<c>succeeded</c>, <c>failed</c>, …) and error.</summary>
    public static void EndPipelineNode(Activity? activity, string status, string? error)
    {
        if (activity is null)
        {
            return;
        }

        activity.SetTag(Outcome, status);
        if (status is "failed" or "cancelled")
        {
            activity.SetStatus(ActivityStatusCode.Error, error);
        }

        activity.Dispose();
    }

    /// <summary>
    /// An agent step's span (a model turn or a tool call), a child of the run's span or of the pipeline node's. Its
    /// attributes are the step's number, kind, attempt, tool or model; never the conversation's content or a call's
    /// arguments, which can hold what the run must not leak.
    /// </summary>
    public static Activity? StartAgentStep(int number, string kind, int attempt, string? tool, string? model)
    {
        var activity = Source.StartActivity(tool is null ? $"agent {kind}" : $"agent {kind} {tool}");
        activity?.SetTag(AgentStepNumber, number)
            .SetTag(AgentStepKind, kind)
            .SetTag(AgentStepAttempt, attempt)
            .SetTag(AgentTool, tool)
            .SetTag(GenAiModel, model);
        return activity;
    }

    /// <summary>Ends an agent step's span with its status (<c>succeeded</c>, <c>failed</c>, <c>refused</c>, <c>cancelled</c>) and a model turn's tokens.</summary>
    public static void EndAgentStep(Activity? activity, string status, long? inputTokens, long? outputTokens, long? totalTokens)
    {
        if (activity is null)
        {
            return;
        }

        activity.SetTag(AgentStepStatus, status)
            .SetTag(GenAiInputTokens, inputTokens)
            .SetTag(GenAiOutputTokens, outputTokens)
            .SetTag(AgentTotalTokens, totalTokens);
        if (status is "failed" or "cancelled")
        {
            activity.SetStatus(ActivityStatusCode.Error, "agent step " + status);
        }

        activity.Dispose();
    }

    /// <summary>An email's span: connecting, authenticating and sending through one SMTP server.</summary>
    public static Activity? StartSmtpSend(string host, int port)
    {
        var activity = Source.StartActivity("smtp send", ActivityKind.Client);
        activity?.SetTag("server.address", host).SetTag("server.port", port).SetTag("network.protocol.name", "smtp");
        return activity;
    }

    /// <summary>Marks a span failed with the exception's type (the message is the caller's to record, masked).</summary>
    public static void Failed(Activity? activity, Exception exception, string? description = null)
    {
        activity?.SetTag("error.type", exception.GetType().FullName).SetStatus(ActivityStatusCode.Error, description);
    }
}
