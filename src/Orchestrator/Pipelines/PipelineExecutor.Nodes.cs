using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Actions;
using Orchestrator.Api;
using Polly;
using Polly.Retry;
using Polly.Timeout;

namespace Orchestrator.Pipelines;

/// <summary>Node execution: an action node through the dispatcher, with its timeout and retry.</summary>
public sealed partial class PipelineExecutor
{
    private async Task<NodeResult> RunActionAsync(PipelineRun run, NodeDefinition node, JsonElement config, string key, int firstAttempt, CancellationToken token)
    {
        var attempt = firstAttempt;
        try
        {
            await using var scope = scopes.CreateAsyncScope();
            actions.TryGet(node.ActionType!, out var action);
            // The filled-in config is checked like a schedule's (schema, address policy, tool arguments) before anything is sent.
            var errors = new FieldErrors();
            await action!.ValidateAsync(config, "config", errors, token, run.ProjectId);
            if (errors.Any)
            {
                return new NodeResult(node.Id, NodeRunStatus.Failed, null, $"the filled-in config is not valid: {errors.Summary}", attempt);
            }

            var pipeline = BuildResilience(node, run, () => ++attempt);
            var outcome = await pipeline.ExecuteAsync(async ct =>
            {
                var invocation = new ActionInvocation(run.Id, $"pipeline:{run.PipelineId}", node.Id, run.ProjectId, attempt, key, run.CreatedAt, config);
                try
                {
                    return await dispatcher.ExecuteAsync(node.ActionType!, invocation, scope.ServiceProvider, ct);
                }
                catch (ActionFailedException ex)
                {
                    return new ActionOutcome(false, ex.Result ?? [], ex.Message);
                }
                catch (OperationCanceledException ex) when (!ct.IsCancellationRequested)
                {
                    // The action's own time limit (e.g. call_api's timeoutSeconds while reading the body): a failed attempt.
                    return new ActionOutcome(false, [], $"the action gave up: {ex.Message}");
                }
            }, token);
            return new NodeResult(node.Id, outcome.Succeeded ? NodeRunStatus.Succeeded : NodeRunStatus.Failed, Shape(outcome.Result), outcome.Error, attempt);
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
            return new NodeResult(node.Id, NodeRunStatus.Cancelled, null, "cancelled", attempt);
        }
        catch (TimeoutRejectedException)
        {
            return new NodeResult(node.Id, NodeRunStatus.Failed, null, $"timed out after {node.TimeoutSeconds} s (attempt {attempt})", attempt);
        }
        catch (Exception ex)
        {
            LogNodeCrashed(logger, run.Id, node.Id, ex);
            return new NodeResult(node.Id, NodeRunStatus.Failed, null, $"unexpected {ex.GetType().Name}: {ex.Message}", attempt);
        }
    }

    /// <summary>
    /// Per node: a timeout per attempt inside a retry; each new attempt is recorded as it starts. The waits between
    /// attempts are the schedules' (the node's retry as a <see cref="Schedules.RetrySpec"/>, its Quartz policy's delays).
    /// </summary>
    private ResiliencePipeline<ActionOutcome> BuildResilience(NodeDefinition node, PipelineRun run, Func<int> nextAttempt)
    {
        var builder = new ResiliencePipelineBuilder<ActionOutcome> { TimeProvider = time };
        if (node.Retry?.ToSpec() is { MaxAttempts: > 1 } retry)
        {
            var policy = retry.ToQuartz();
            builder.AddRetry(new RetryStrategyOptions<ActionOutcome>
            {
                MaxRetryAttempts = retry.MaxAttempts - 1,
                // Polly counts retries from 0, Quartz from 1.
                DelayGenerator = args => ValueTask.FromResult<TimeSpan?>(policy.DelayFor(args.AttemptNumber + 1)),
                ShouldHandle = args => ValueTask.FromResult(args.Outcome.Exception is TimeoutRejectedException || args.Outcome.Result is { Succeeded: false }),
                OnRetry = async _ => await RecordAttemptAsync(run, node.Id, nextAttempt()),
            });
        }

        if (node.TimeoutSeconds is { } seconds)
        {
            builder.AddTimeout(TimeSpan.FromSeconds(seconds));
        }

        return builder.Build();
    }

    /// <summary>An HTTP node's JSON body is offered as JSON, so later nodes can read <c>output.body.items[0].id</c>.</summary>
    private static JsonObject Shape(JsonObject result)
    {
        var output = JsonNode.Parse(result.ToJsonString())!.AsObject();
        if (output["body"] is JsonValue body && body.GetValueKind() == JsonValueKind.String && output["bodyTruncated"]?.GetValue<bool>() != true)
        {
            var text = body.GetValue<string>().TrimStart();
            if (text.StartsWith('{') || text.StartsWith('['))
            {
                try
                {
                    output["body"] = JsonNode.Parse(text);
                }
                catch (JsonException)
                {
                    // Not JSON after all: the text stays as it is.
                }
            }
        }

        return output;
    }
}
