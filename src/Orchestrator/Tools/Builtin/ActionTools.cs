using System.Text.Json;
using Orchestrator.Actions;
using Orchestrator.Actions.CallApi;
using Orchestrator.Actions.Notifications;
using Orchestrator.Api;

namespace Orchestrator.Tools.Builtin;

/// <summary>
/// A built-in tool that is an action type offered as a tool: the same config schema, the same checks and the same
/// executor, so an HTTP request made by a task obeys exactly the outbound policy and secrets rules of call_api.
/// </summary>
public abstract class ActionTool(ActionDefinition action) : BuiltinTool
{
    /// <summary>
    /// Admin, like creating the schedule the action would otherwise need: the request can carry configured secrets
    /// ({{secret:NAME}}) and reaches any allowed host, and a notification goes out on channels only admins set up.
    /// </summary>
    public override Security.ApiRole RequiredRole => Security.ApiRole.Admin;

    /// <summary>The action's own checks: call_api takes secrets in headers and body strings, a notification nowhere.</summary>
    public override bool JudgesSecretReferences => true;

    public override string ParametersSchema => action.SchemaJson;

    public override ValueTask ValidateAsync(JsonElement arguments, string? projectId, string prefix, IServiceProvider services, FieldErrors errors, CancellationToken cancellationToken) =>
        action.ValidateAsync(arguments, prefix, errors, cancellationToken, projectId);
}

/// <summary><c>http.request</c>: the call_api executor as a tool (method, URL, headers with secrets, body, accepted codes).</summary>
public sealed class HttpRequestTool(CallApiAction action, HttpActionExecutor executor) : ActionTool(action)
{
    public override string Name => "http.request";

    public override string Description => "Make an HTTP request with the call_api executor: same outbound address policy, {{secret:NAME}} headers and recorded response.";

    public override Task<ActionOutcome> InvokeAsync(ToolContext context, JsonElement arguments, CancellationToken cancellationToken) =>
        executor.ExecuteAsync(arguments, context.IdempotencyKey, cancellationToken);
}

/// <summary><c>notify</c>: the notification sender as a tool, with the run's templates ({{schedule.name}}, {{run.id}}…).</summary>
public sealed class NotifyTool(SendNotificationAction action) : ActionTool(action)
{
    public override string Name => "notify";

    public override string Description => "Send a notification to a named channel (webhook or email), rendering {{schedule.*}} and {{run.*}} placeholders.";

    public override Task<ActionOutcome> InvokeAsync(ToolContext context, JsonElement arguments, CancellationToken cancellationToken) =>
        context.Services.GetRequiredService<NotificationSender>().SendAsync(context.Run with { Config = arguments }, cancellationToken);
}
