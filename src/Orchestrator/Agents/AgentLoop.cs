using System.ClientModel;
using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using Orchestrator.Actions;
using Orchestrator.Cluster;
using Orchestrator.Hosting;
using Orchestrator.Projects;
using Orchestrator.Telemetry;
using Orchestrator.Templates;
using Orchestrator.Tools;

namespace Orchestrator.Agents;

/// <summary>A limit of an agent run was reached; the message names it.</summary>
public sealed class AgentLimitException(string message) : Exception(message);

/// <summary>
/// The durable agent loop: asks the task's model, runs each tool call it makes (validated against the tool's schema,
/// in the project, through <see cref="ToolInvoker"/>), feeds the results back, and stops at an answer without tool
/// calls or at a limit. Every model turn and tool call is a step in <see cref="AgentStepStore"/>; a run taken over
/// after a crash or a shutdown replays its completed steps from there (a model turn is never asked again, a tool call
/// never run again) and runs a tool call that was cut off again under the same idempotency key.
/// </summary>
/// <remarks>
/// The tools are offered as declarations only, never auto-invoked: each call has to be a persisted step, checked and
/// run by this loop, so a function-invoking chat client would run them out of its sight.
/// </remarks>
public sealed partial class AgentLoop(
    AgentStepStore store,
    ModelClients models,
    ToolRegistry registry,
    ToolInvoker invoker,
    ProjectService projects,
    IOptionsMonitor<OrchestratorOptions> options,
    NodeShutdown shutdown,
    TimeProvider time,
    IServiceProvider services,
    OrchestratorMetrics metrics,
    ILogger<AgentLoop> logger)
{
    private static readonly JsonSerializerOptions Json = AIJsonUtilities.DefaultOptions;

    public async Task<ActionOutcome> RunAsync(ActionInvocation invocation, JsonElement config, CancellationToken cancellationToken)
    {
        var settings = options.CurrentValue.Agents;
        var task = AgentTask.From(config, settings);
        var run = new RunState(invocation, task, await store.LoadAsync(invocation.IdempotencyKey, cancellationToken));
        var started = time.GetUtcNow();
        var deadline = started.AddSeconds(task.TimeoutSeconds);
        using var timeLimit = new CancellationTokenSource(TimeSpan.FromSeconds(task.TimeoutSeconds), time);
        using var token = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken, timeLimit.Token);
        var closeAs = AgentStepStatus.Failed;
        var answered = false;
        try
        {
            var answer = await LoopAsync(run, settings, deadline, token.Token);
            answered = true;
            return new ActionOutcome(true, ResultOf(run, answer));
        }
        catch (OperationCanceledException) when (timeLimit.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            throw Failed(run, $"time limit reached: timeoutSeconds = {task.TimeoutSeconds} elapsed before the goal was answered.");
        }
        catch (ModelDeadlineExceededException)
        {
            throw Failed(run, $"time limit reached: timeoutSeconds = {task.TimeoutSeconds} elapsed while waiting for the model (retries included).");
        }
        catch (AgentLimitException ex)
        {
            throw Failed(run, ex.Message);
        }
        catch (ModelUnavailableException ex)
        {
            throw Failed(run, ex.Message);
        }
        catch (Exception ex) when (ex is ClientResultException or HttpRequestException)
        {
            // The SDK's message names the status and the endpoint's error text; never the key, which is only a header.
            throw Failed(run, $"model '{task.Model}' failed: {ex.Message}");
        }
        catch (OperationCanceledException)
        {
            closeAs = AgentStepStatus.Cancelled;
            throw;
        }
        finally
        {
            // What finished and waits for the next step's write is stored first, whatever ended the loop: a completed
            // tool call or model turn is never repeated, not even after a shutdown.
            // When the loop is already ending on an exception, a failing write here (the database gone, the run taken
            // over) is logged rather than thrown: thrown from a finally block it would replace the exception that says
            // why the run failed. After an answer it still throws, since the answer's steps were not stored.
            try
            {
                await FlushAsync(run, CancellationToken.None);
            }
            catch (Exception ex) when (!answered)
            {
                LogEndWriteFailed(logger, ex, invocation.RunId, "its last steps");
            }

            // A shutdown hands the run to recovery, which resumes from the open steps; anything else ends the attempt.
            if (!(cancellationToken.IsCancellationRequested && shutdown.IsStopping))
            {
                try
                {
                    await store.CloseAsync(invocation.IdempotencyKey, settings.KeepTranscripts, closeAs, time.GetUtcNow(), CancellationToken.None);
                }
                catch (Exception ex) when (!answered)
                {
                    LogEndWriteFailed(logger, ex, invocation.RunId, "the close of its steps");
                }
            }
        }
    }

    private async Task<string> LoopAsync(RunState run, AgentsOptions settings, DateTimeOffset deadline, CancellationToken ct)
    {
        var task = run.Task;
        var root = await projects.FindRootAsync(run.Invocation.ProjectId, ct)
            ?? throw new AgentLimitException($"project '{run.Invocation.ProjectId}' no longer exists.");
        var offered = await OfferedToolsAsync(task, ct);
        var chatOptions = new ChatOptions
        {
            Tools = [.. offered.Select(o => AIFunctionFactory.CreateDeclaration(o.Key, o.Value.Description ?? o.Value.Name, ParseSchema(o.Value.ParametersSchema)))],
            ToolMode = offered.Count > 0 ? ChatToolMode.Auto : null,
        };
        var values = new InvocationValues(run.Invocation);
        var messages = new List<ChatMessage>
        {
            new(ChatRole.System,
                "You work toward a goal for a scheduled task of the Orchestrator server, in project '" + run.Invocation.ProjectId + "'. " +
                "Call the offered tools when you need them; each call's arguments must match its JSON Schema. " +
                "When the goal is achieved, reply with your final answer and no tool call: it is recorded as the run's result."),
            new(ChatRole.User, UserPrompt(task, values)),
        };

        IChatClient? client = null;
        while (true)
        {
            // A model turn: from storage when this conversation already had it, otherwise asked now.
            List<ChatMessage> reply;
            if (run.NextOpen(AgentStepKind.Model) is { Status: AgentStepStatus.Succeeded } done)
            {
                reply = JsonSerializer.Deserialize<List<ChatMessage>>(done.Content!, Json) ?? [];
                run.Advance();
            }
            else
            {
                var cut = run.NextOpen(AgentStepKind.Model);
                if (run.ModelTurns == 0 && settings.DailyTokenBudget > 0)
                {
                    await CheckBudgetAsync(run, settings.DailyTokenBudget, ct);
                }

                run.CheckSteps(cut is null);
                if (run.ConversationTokens >= task.MaxTokens)
                {
                    throw new AgentLimitException($"token limit reached: {run.ConversationTokens} tokens used of maxTokens = {task.MaxTokens}.");
                }

                var step = await StartStepAsync(run, cut, AgentStepKind.Model, null, null, ct);
                using (var span = OrchestratorActivities.StartAgentStep(step.Number, "model", step.Attempt, null, task.Model))
                {
                    try
                    {
                        client ??= models.Create(task.Model, deadline);
                        var response = await client.GetResponseAsync(messages, chatOptions, ct);
                        reply = [.. response.Messages];
                        var usage = response.Usage;
                        step.InputTokens = usage?.InputTokenCount ?? 0;
                        step.OutputTokens = usage?.OutputTokenCount ?? 0;
                        step.TotalTokens = usage?.TotalTokenCount ?? (step.InputTokens + step.OutputTokens);
                        step.Status = AgentStepStatus.Succeeded;
                    }
                    catch (Exception ex)
                    {
                        // The type only: a model error's text can quote what it was sent.
                        OrchestratorActivities.Failed(span, ex);
                        OrchestratorActivities.EndAgentStep(span, ex is OperationCanceledException ? "cancelled" : "failed", null, null, null);
                        throw;
                    }

                    OrchestratorActivities.EndAgentStep(span, StatusName(step.Status), step.InputTokens, step.OutputTokens, step.TotalTokens);
                }

                step.FinishedAt = time.GetUtcNow();
                step.Content = JsonSerializer.Serialize(reply, Json);
                metrics.RecordAgentTokens(run.Invocation.ProjectId, task.Model, step.InputTokens ?? 0, step.OutputTokens ?? 0);
                // Stored with the next step's start (or the run's end), in the same round trip.
                run.Finished(step, counted: cut is null);
                if (run.ConversationTokens > task.MaxTokens)
                {
                    throw new AgentLimitException($"token limit reached: {run.ConversationTokens} tokens used of maxTokens = {task.MaxTokens}.");
                }
            }

            run.ModelTurns++;
            messages.AddRange(reply);
            var calls = reply.SelectMany(m => m.Contents).OfType<FunctionCallContent>().ToList();
            if (calls.Count == 0)
            {
                return string.Concat(reply.Select(m => m.Text));
            }

            foreach (var call in calls)
            {
                var output = await ToolStepAsync(run, call, offered, root, ct);
                messages.Add(new ChatMessage(ChatRole.Tool, [new FunctionResultContent(call.CallId, output)]));
            }
        }
    }

    /// <summary>One tool call of the model: replayed from storage, run again after a crash, refused, or run now.</summary>
    private async Task<string> ToolStepAsync(RunState run, FunctionCallContent call, IReadOnlyDictionary<string, ToolDefinition> offered, string root, CancellationToken ct)
    {
        var previous = run.NextOpen(AgentStepKind.Tool);
        if (previous is { Status: not AgentStepStatus.Running })
        {
            run.Advance();
            return JsonNode.Parse(previous.Content!)!["output"]!.GetValue<string>();
        }

        run.CheckSteps(previous is null);
        var tool = offered.GetValueOrDefault(call.Name);
        var arguments = ArgumentsOf(call);
        var content = new JsonObject { ["callId"] = call.CallId, ["name"] = call.Name, ["arguments"] = arguments?.DeepClone() };
        var refusal = tool is null
            ? $"Tool '{call.Name}' is not offered in this task; call one of: {(offered.Count == 0 ? "(none)" : string.Join(", ", offered.Keys))}."
            : arguments is null
                ? $"The arguments of '{call.Name}' are not a JSON object: {call.Exception?.Message ?? "missing"}."
                : await ArgumentProblemsAsync(tool, arguments, run.Invocation.ProjectId, ct);
        if (refusal is not null)
        {
            var refused = NewStep(run, AgentStepKind.Tool, tool?.Name ?? call.Name);
            refused.Status = AgentStepStatus.Refused;
            refused.FinishedAt = refused.StartedAt;
            refused.Error = refusal;
            content["output"] = refusal;
            refused.Content = content.ToJsonString();
            OrchestratorActivities.EndAgentStep(
                OrchestratorActivities.StartAgentStep(refused.Number, "tool", refused.Attempt, refused.ToolName, null), "refused", null, null, null);
            run.Finished(refused, counted: true);
            return refusal;
        }

        // Persisted before it runs, so a crash in the call leaves a step the survivor runs again with the same key.
        var step = await StartStepAsync(run, previous, AgentStepKind.Tool, tool!.Name, content.ToJsonString(), ct);
        using var argumentsDocument = JsonDocument.Parse(arguments!.ToJsonString());
        var context = new ToolContext(run.Invocation.ProjectId, root,
            run.Invocation with { IdempotencyKey = step.IdempotencyKey, Config = argumentsDocument.RootElement }, services);
        string output;
        using var span = OrchestratorActivities.StartAgentStep(step.Number, "tool", step.Attempt, tool.Name, null);
        try
        {
            var outcome = await invoker.InvokeAsync(tool, context, argumentsDocument.RootElement, ct);
            step.Status = outcome.Succeeded ? AgentStepStatus.Succeeded : AgentStepStatus.Failed;
            step.Error = outcome.Error;
            output = new JsonObject { ["succeeded"] = outcome.Succeeded, ["result"] = outcome.Result.DeepClone(), ["error"] = outcome.Error }.ToJsonString();
        }
        catch (ActionFailedException ex)
        {
            // The tool failed (masked by the invoker): the model is told, and may try another way.
            step.Status = AgentStepStatus.Failed;
            step.Error = ex.Message;
            output = new JsonObject { ["succeeded"] = false, ["error"] = ex.Message, ["result"] = ex.Result?.DeepClone() }.ToJsonString();
        }
        catch (Exception ex)
        {
            OrchestratorActivities.Failed(span, ex);
            OrchestratorActivities.EndAgentStep(span, ex is OperationCanceledException ? "cancelled" : "failed", null, null, null);
            throw;
        }

        OrchestratorActivities.EndAgentStep(span, StatusName(step.Status), null, null, null);

        output = Truncate(output, options.CurrentValue.Agents.ToolResultMaxChars);
        content["output"] = output;
        step.Content = content.ToJsonString();
        step.FinishedAt = time.GetUtcNow();
        // Stored with the next step's start (or the run's end), in the same round trip.
        run.Finished(step, counted: previous is null);
        return output;
    }

    /// <summary>Why the arguments cannot run, as the model is told: each problem's path, keyword and message; or null.</summary>
    private async Task<string?> ArgumentProblemsAsync(ToolDefinition tool, JsonObject arguments, string projectId, CancellationToken ct)
    {
        using var document = JsonDocument.Parse(arguments.ToJsonString());
        // A model must not reach a secret by naming it: only a tool's own template or a schedule's config may.
        var problems = Actions.CallApi.SecretTemplates.ReferenceProblems(document.RootElement, "$", _ => false)
            .Select(p => new ArgumentError(p.Field, "secret", "a tool call cannot reference a secret."))
            .ToList();
        if (problems.Count == 0)
        {
            problems = [.. await registry.ValidateAsync(tool, document.RootElement, projectId, services, ct)];
        }

        return problems.Count == 0
            ? null
            : $"The arguments of '{AgentTask.FunctionName(tool.Name)}' do not match its schema; fix them and call again. Errors: " +
              new JsonArray([.. problems.Select(p => (JsonNode)new JsonObject { ["path"] = p.Path, ["keyword"] = p.Keyword, ["message"] = p.Message })]).ToJsonString();
    }

    private async Task<AgentStep> StartStepAsync(RunState run, AgentStep? cut, AgentStepKind kind, string? toolName, string? content, CancellationToken ct)
    {
        if (cut is not null)
        {
            // Cut off by a crash or a shutdown: the same step (and for a tool, the same idempotency key) again.
            cut.Attempt += 1;
            cut.Status = AgentStepStatus.Running;
            cut.StartedAt = time.GetUtcNow();
            run.Stage(cut);
            await FlushAsync(run, ct);
            run.Advance();
            return cut;
        }

        var step = NewStep(run, kind, toolName);
        step.Content = content;
        // Persisted before the model is asked or the tool runs, with the previous step's end and the run's usage: one
        // round trip. A crash after it leaves an open step that the survivor takes again.
        run.Stage(step);
        await FlushAsync(run, ct);
        return step;
    }

    private async Task FlushAsync(RunState run, CancellationToken ct)
    {
        var (added, changed, usage) = run.Unwritten();
        await store.WriteAsync(added, changed, run.Invocation.RunId, usage, ct);
        run.Written();
    }

    private static string StatusName(AgentStepStatus status) => status.ToString().ToLowerInvariant();

    private AgentStep NewStep(RunState run, AgentStepKind kind, string? toolName)
    {
        var number = run.NextNumber++;
        return new AgentStep
        {
            RunKey = run.Invocation.IdempotencyKey,
            Number = number,
            RunId = run.Invocation.RunId,
            ProjectId = run.Invocation.ProjectId,
            Kind = kind,
            ToolName = toolName,
            Status = AgentStepStatus.Running,
            Attempt = 1,
            IdempotencyKey = $"{run.Invocation.IdempotencyKey}-step-{number}",
            StartedAt = time.GetUtcNow(),
        };
    }

    private async Task CheckBudgetAsync(RunState run, long budget, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var dayStart = new DateTimeOffset(now.UtcDateTime.Date, TimeSpan.Zero);
        var spent = await store.SpentSinceAsync(run.Invocation.ProjectId, dayStart, ct);
        if (spent >= budget)
        {
            throw new AgentLimitException(
                $"daily token budget reached: project '{run.Invocation.ProjectId}' has used {spent} tokens today (UTC) of " +
                $"{OrchestratorOptions.SectionName}:Agents:DailyTokenBudget = {budget}; no model call was made.");
        }
    }

    /// <summary>The listed tools by the name the model calls them, each as the registry has it now.</summary>
    private async Task<Dictionary<string, ToolDefinition>> OfferedToolsAsync(AgentTask task, CancellationToken ct)
    {
        var offered = new Dictionary<string, ToolDefinition>(StringComparer.Ordinal);
        foreach (var name in task.Tools)
        {
            var tool = await registry.FindAsync(name, ct) ?? throw new AgentLimitException($"tool '{name}' no longer exists.");
            if (!tool.Enabled)
            {
                throw new AgentLimitException($"tool '{name}' is disabled.");
            }

            offered[AgentTask.FunctionName(name)] = tool;
        }

        return offered;
    }

    private static string UserPrompt(AgentTask task, InvocationValues values)
    {
        var goal = TemplateResolver.RenderText(task.Goal, values);
        if (task.Inputs is not { } inputs)
        {
            return goal;
        }

        var rendered = TemplateResolver.RenderJson(JsonNode.Parse(inputs.GetRawText()), values);
        return goal + "\n\nInputs (JSON):\n" + rendered?.ToJsonString();
    }

    private static JsonElement ParseSchema(string schema)
    {
        using var document = JsonDocument.Parse(schema);
        return document.RootElement.Clone();
    }

    /// <summary>The call's arguments as a JSON object, or null when the model sent something that is not one.</summary>
    private static JsonObject? ArgumentsOf(FunctionCallContent call)
    {
        if (call.Exception is not null)
        {
            return null;
        }

        try
        {
            return JsonSerializer.SerializeToNode(call.Arguments ?? new Dictionary<string, object?>(), Json) as JsonObject;
        }
        catch (Exception ex) when (ex is JsonException or NotSupportedException)
        {
            return null;
        }
    }

    private static string Truncate(string text, int max) =>
        text.Length <= max ? text : string.Concat(text.AsSpan(0, max), $"… [truncated: {text.Length - max} more characters]");

    private static JsonObject ResultOf(RunState run, string? answer) => new()
    {
        ["answer"] = answer,
        ["model"] = run.Task.Model,
        ["usage"] = new JsonObject
        {
            ["inputTokens"] = run.Usage.InputTokens,
            ["outputTokens"] = run.Usage.OutputTokens,
            ["totalTokens"] = run.Usage.TotalTokens,
            ["steps"] = run.Usage.Steps,
        },
    };

    private static ActionFailedException Failed(RunState run, string reason) => new(reason, ResultOf(run, null));

    /// <summary>
    /// One attempt's view of the run: every step so far (closed ones count toward usage), the open steps it resumes,
    /// and the totals the limits are judged on (this conversation's steps and tokens).
    /// </summary>
    private sealed class RunState
    {
        private readonly List<AgentStep> open;
        private int cursor;

        public RunState(ActionInvocation invocation, AgentTask task, List<AgentStep> all)
        {
            Invocation = invocation;
            Task = task;
            open = [.. all.Where(s => !s.Closed)];
            stored = [.. all.Select(s => s.Number)];
            NextNumber = all.Count == 0 ? 1 : all.Max(s => s.Number) + 1;
            Usage = new AgentUsage(all.Sum(s => s.InputTokens ?? 0), all.Sum(s => s.OutputTokens ?? 0), all.Sum(s => s.TotalTokens ?? 0), all.Count);
            ConversationSteps = open.Count;
            ConversationTokens = open.Sum(s => s.TotalTokens ?? 0);
        }

        public ActionInvocation Invocation { get; }

        public AgentTask Task { get; }

        public int NextNumber { get; set; }

        public AgentUsage Usage { get; private set; }

        public int ConversationSteps { get; private set; }

        public long ConversationTokens { get; private set; }

        public int ModelTurns { get; set; }

        /// <summary>The next stored step of this conversation when it is of <paramref name="kind"/>.</summary>
        public AgentStep? NextOpen(AgentStepKind kind) => cursor < open.Count && open[cursor].Kind == kind ? open[cursor] : null;

        public void Advance() => cursor++;

        /// <summary>Refuses a new step past <c>maxSteps</c>; a step taken again after a crash was counted already.</summary>
        public void CheckSteps(bool isNew)
        {
            if (isNew && ConversationSteps >= Task.MaxSteps)
            {
                throw new AgentLimitException($"step limit reached: {ConversationSteps} steps taken of maxSteps = {Task.MaxSteps} without a final answer.");
            }
        }

        /// <summary>Steps whose state is not stored yet, by number, and whether the usage changed since the last write.</summary>
        private readonly SortedDictionary<int, AgentStep> unwritten = [];
        private bool usageChanged;

        /// <summary>The numbers of the steps the table has a row for: a new step is inserted, never written over.</summary>
        private readonly HashSet<int> stored;

        public void Stage(AgentStep step) => unwritten[step.Number] = step;

        public (IReadOnlyCollection<AgentStep> Added, IReadOnlyCollection<AgentStep> Changed, AgentUsage? Usage) Unwritten() =>
            ([.. unwritten.Values.Where(s => !stored.Contains(s.Number))], [.. unwritten.Values.Where(s => stored.Contains(s.Number))], usageChanged ? Usage : null);

        public void Written()
        {
            stored.UnionWith(unwritten.Keys);
            unwritten.Clear();
            usageChanged = false;
        }

        /// <summary>A step ended: its state and the usage it adds wait for the next write.</summary>
        public void Finished(AgentStep step, bool counted)
        {
            Stage(step);
            Spent(step, counted);
            usageChanged = true;
        }

        /// <summary>Adds a finished step's tokens, and the step itself when it is new.</summary>
        private void Spent(AgentStep step, bool counted)
        {
            var steps = counted ? 1 : 0;
            ConversationSteps += steps;
            ConversationTokens += step.TotalTokens ?? 0;
            Usage = Usage.Add(step.InputTokens ?? 0, step.OutputTokens ?? 0, step.TotalTokens ?? 0, steps);
        }
    }

    [LoggerMessage(Level = LogLevel.Error, Message = "Agent run {RunId} ended on an error, and storing {What} failed too; the run's own error is the one reported")]
    private static partial void LogEndWriteFailed(ILogger logger, Exception exception, Guid runId, string what);
}
