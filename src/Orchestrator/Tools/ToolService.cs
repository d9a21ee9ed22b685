using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using Orchestrator.Actions;
using Orchestrator.Actions.Tasks;
using Orchestrator.Api;
using Orchestrator.Data;
using Orchestrator.Definitions;
using Orchestrator.Pipelines;
using Orchestrator.Projects;
using Orchestrator.Schedules;
using Orchestrator.Security;
using Quartz;

namespace Orchestrator.Tools;

public sealed record ToolRequest(string? Name, string? Description, string? Kind, JsonElement? Parameters, JsonElement? Result, JsonElement? Config, bool? Enabled);

public sealed record ValidateRequest(JsonElement? Arguments, string? Project);

public sealed record InvokeRequest(string? Project, JsonElement? Arguments, int? TimeoutSeconds);

public sealed record ToolResponse(string Name, string? Description, string Kind, JsonNode? Parameters, JsonNode? Result, JsonNode? Config, bool Enabled, int Version,
    DateTimeOffset CreatedAt, DateTimeOffset UpdatedAt)
{
    public static ToolResponse From(ToolDefinition t) => new(t.Name, t.Description, t.Kind.ToString().ToLowerInvariant(), JsonNode.Parse(t.ParametersSchema),
        t.ResultSchema is null ? null : JsonNode.Parse(t.ResultSchema), JsonNode.Parse(t.ConfigJson), t.Enabled, t.Version, t.CreatedAt, t.UpdatedAt);
}

/// <summary>Arguments that match the tool's schema (a mismatch is a 422 instead).</summary>
public sealed record ToolValidationResponse(bool Valid, string Tool, int Version);

/// <summary>What one direct invocation gave: a failed run is still a 200, with <c>succeeded: false</c> and the error.</summary>
public sealed record ToolInvocationResponse(string Tool, int Version, string Project, bool Succeeded, JsonObject Result, string? Error);

/// <summary>
/// The tool use cases: list, read, register, replace (a new version), delete, validate arguments, and invoke. The
/// endpoints call this; so can anything else that needs a tool's registration rules or a direct invocation.
/// </summary>
public sealed class ToolService(
    OrchestratorDbContext db, ToolRegistry registry, BuiltinToolCatalog builtins, ToolInvoker invoker, ActionCatalog actions, ProjectService projects,
    IServiceProvider services, ISchedulerFactory schedulers, ProjectScope scope, ScopedKeyLimits limits, Audit.AuditLog audit, TimeProvider time)
{
    public const int DefaultInvokeTimeoutSeconds = 300;
    public const int MaxInvokeTimeoutSeconds = 3600;

    public async Task<List<ToolResponse>> ListAsync(CancellationToken cancellationToken) =>
        [.. (await registry.ListAsync(cancellationToken)).Select(ToolResponse.From)];

    public async Task<Outcome<ToolResponse>> GetAsync(string name, CancellationToken cancellationToken) =>
        await registry.FindAsync(name, cancellationToken) is { } tool ? ToolResponse.From(tool) : Problems.NotFound("tool", name);

    public async Task<Outcome<ToolResponse>> RegisterAsync(ToolRequest request, CancellationToken cancellationToken)
    {
        var errors = new FieldErrors();
        if (!ToolRequestRules.IsToolName(request.Name))
        {
            errors.Add("name", "is required: 1–100 lowercase letters, digits, '.', '_' or '-', starting with a letter.");
        }

        var tool = await ToolRequestRules.BuildAsync(request, actions, errors, cancellationToken);
        if (tool is null || errors.Any)
        {
            return errors.ToProblemDetails();
        }

        if (registry.IsBuiltin(request.Name!))
        {
            return Problems.Conflict($"'{request.Name}' is a built-in tool; choose another name.", "name");
        }

        if (await db.Tools.AnyAsync(t => t.Name == request.Name, cancellationToken))
        {
            return Problems.Conflict($"A tool named '{request.Name}' already exists.", "name");
        }

        tool.Name = request.Name!;
        tool.Version = 1;
        tool.CreatedAt = tool.UpdatedAt = time.GetUtcNow();
        db.Tools.Add(tool);
        audit.Add(new Audit.AuditChange("tool.create", "tool", tool.Name, null, null, ToolResponse.From(tool)));
        await db.SaveChangesAsync(cancellationToken);
        return ToolResponse.From(tool);
    }

    public async Task<Outcome<ToolResponse>> ReplaceAsync(string name, ToolRequest request, CancellationToken cancellationToken, bool force = false)
    {
        if (registry.IsBuiltin(name))
        {
            return BuiltinIsReadOnly(name);
        }

        var existing = await db.Tools.FirstOrDefaultAsync(t => t.Name == name, cancellationToken);
        if (existing is null)
        {
            return Problems.NotFound("tool", name);
        }

        if (await ManagedMarks.RefuseUnlessForcedAsync(db, DefinitionKinds.Tool, name, force, cancellationToken) is { } managed)
        {
            return managed;
        }

        var errors = new FieldErrors();
        if (request.Name is not null && request.Name != name)
        {
            errors.Add("name", $"must match the tool in the URL ('{name}').");
        }

        var replacement = await ToolRequestRules.BuildAsync(request, actions, errors, cancellationToken);
        if (replacement is null || errors.Any)
        {
            return errors.ToProblemDetails();
        }

        var before = ToolResponse.From(existing);
        existing.Description = replacement.Description;
        existing.Kind = replacement.Kind;
        existing.ParametersSchema = replacement.ParametersSchema;
        existing.ResultSchema = replacement.ResultSchema;
        existing.ConfigJson = replacement.ConfigJson;
        existing.Enabled = replacement.Enabled;
        existing.Version += 1;
        existing.UpdatedAt = time.GetUtcNow();
        audit.Add(new Audit.AuditChange("tool.update", "tool", name, null, before, ToolResponse.From(existing)));
        await db.SaveChangesAsync(cancellationToken);
        return ToolResponse.From(existing);
    }

    /// <summary>
    /// Deletes a registered tool; the value is the name deleted. A tool a run_task schedule or pipeline node still runs
    /// is refused: each of their firings would fail on it.
    /// </summary>
    public async Task<Outcome<string>> DeleteAsync(string name, CancellationToken cancellationToken, bool force = false)
    {
        if (registry.IsBuiltin(name))
        {
            return BuiltinIsReadOnly(name);
        }

        if (!await db.Tools.AnyAsync(t => t.Name == name, cancellationToken))
        {
            return Problems.NotFound("tool", name);
        }

        if (await ManagedMarks.RefuseUnlessForcedAsync(db, DefinitionKinds.Tool, name, force, cancellationToken) is { } managed)
        {
            return managed;
        }

        var reference = new ActionReference(RunTaskAction.TypeName, "tool", name);
        if (InUseProblem.For($"Tool '{name}'",
                await ScheduleReferences.UsingAsync(schedulers, reference, cancellationToken),
                await PipelineReferences.UsingAsync(db, reference, cancellationToken)) is { } inUse)
        {
            return inUse;
        }

        var before = await GetAsync(name, cancellationToken);
        if (await db.Tools.Where(t => t.Name == name).ExecuteDeleteAsync(cancellationToken) == 0)
        {
            return Problems.NotFound("tool", name);
        }

        await ManagedMarks.ForgetAsync(db, DefinitionKinds.Tool, name, cancellationToken);
        await audit.RecordAsync(new Audit.AuditChange("tool.delete", "tool", name, null, before.Value, null), cancellationToken);
        return name;
    }

    public async Task<Outcome<ToolValidationResponse>> ValidateAsync(string name, ValidateRequest request, CancellationToken cancellationToken)
    {
        var tool = await registry.FindAsync(name, cancellationToken);
        if (tool is null)
        {
            return Problems.NotFound("tool", name);
        }

        // Validation may look into the project (paths inside its root): only into one the key may see.
        if (request.Project is { } project && scope.RefuseOutside(project) is { } outside)
        {
            return outside;
        }

        // A project that does not exist (a typo, a 100 kB string) is refused as invoke refuses it: judged against no
        // project, the arguments read as "valid" for a project they can never run in.
        if (request.Project is { } named && await projects.FindRootAsync(named, cancellationToken) is null)
        {
            var errors = new FieldErrors();
            errors.Add("project", $"no project with id '{(named.Length > 100 ? named[..100] + "…" : named)}'.");
            return errors.ToProblemDetails();
        }

        var arguments = request.Arguments ?? JsonDocument.Parse("{}").RootElement;
        var problems = await registry.ValidateAsync(tool, arguments, request.Project, services, cancellationToken);
        return problems.Count == 0 ? new ToolValidationResponse(true, tool.Name, tool.Version) : ArgumentProblem(tool.Name, problems);
    }

    /// <summary>
    /// Validates the arguments, then runs the tool in the project's root. <paramref name="callerRole"/> is the role of
    /// whoever asks: a built-in tool that stands for a route needs that route's role, so it is no way around it.
    /// </summary>
    public async Task<Outcome<ToolInvocationResponse>> InvokeAsync(string name, InvokeRequest request, ApiRole callerRole, CancellationToken cancellationToken)
    {
        var tool = await registry.FindAsync(name, cancellationToken);
        if (tool is null)
        {
            return Problems.NotFound("tool", name);
        }

        if (!tool.Enabled)
        {
            return Problems.Conflict($"Tool '{name}' is disabled.");
        }

        if (builtins.Find(name) is { } builtin && callerRole < builtin.RequiredRole)
        {
            return new ProblemDetails
            {
                Status = StatusCodes.Status403Forbidden,
                Title = "Forbidden",
                Detail = $"Invoking '{name}' directly needs the {builtin.RequiredRole.ToString().ToLowerInvariant()} role, as the route it stands for does.",
            };
        }

        // A scoped key runs no program of its choosing and hands no tool a secret reference (see ScopedKeyLimits).
        if (await limits.CheckInvocationAsync(tool, request.Arguments, cancellationToken) is { } limited)
        {
            return limited;
        }

        var errors = new FieldErrors();
        var seconds = request.TimeoutSeconds ?? DefaultInvokeTimeoutSeconds;
        if (seconds is < 1 or > MaxInvokeTimeoutSeconds)
        {
            errors.Add("timeoutSeconds", $"must be between 1 and {MaxInvokeTimeoutSeconds}.");
        }

        // A scoped key invokes only in one of its projects (naming it, if the default project is not one of them).
        var projectId = request.Project ?? Project.DefaultId;
        if (scope.RefuseOutside(projectId) is { } outside)
        {
            return outside;
        }

        var root = await projects.FindRootAsync(projectId, cancellationToken);
        if (root is null)
        {
            errors.Add("project", $"no project with id '{projectId}'.");
        }

        if (errors.Any)
        {
            return errors.ToProblemDetails();
        }

        var arguments = request.Arguments ?? JsonDocument.Parse("{}").RootElement;
        var problems = await registry.ValidateAsync(tool, arguments, projectId, services, cancellationToken);
        if (problems.Count > 0)
        {
            return ArgumentProblem(tool.Name, problems);
        }

        // A direct invocation is a run of its own for the tool: its own idempotency key, and the same template context a scheduled run has.
        var run = new ActionInvocation(Guid.NewGuid(), "", $"invoke:{tool.Name}", projectId, 1, $"invoke-{Guid.NewGuid():N}", time.GetUtcNow(), arguments);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(TimeSpan.FromSeconds(seconds));
        ActionOutcome outcome;
        try
        {
            outcome = await invoker.InvokeAsync(tool, new ToolContext(projectId, root!, run, services), arguments, timeout.Token);
        }
        catch (ActionFailedException ex)
        {
            outcome = new ActionOutcome(false, ex.Result ?? [], ex.Message);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !cancellationToken.IsCancellationRequested)
        {
            outcome = new ActionOutcome(false, [], $"timed out after {seconds} s");
        }

        return new ToolInvocationResponse(tool.Name, tool.Version, projectId, outcome.Succeeded, outcome.Result, outcome.Error);
    }

    /// <summary>A 422 whose <c>errors</c> are keyed by argument path, with the keyword-level detail under <c>argumentErrors</c>.</summary>
    public static HttpValidationProblemDetails ArgumentProblem(string tool, IReadOnlyList<ArgumentError> problems)
    {
        var details = new HttpValidationProblemDetails(problems.GroupBy(p => "arguments" + p.Path[1..])
            .ToDictionary(g => g.Key, g => g.Select(p => p.Message).ToArray()))
        {
            Status = StatusCodes.Status422UnprocessableEntity,
            Title = $"The arguments do not match tool '{tool}'.",
            // Sentences naming the argument ("text must be at most 1000 characters long."); argumentErrors keeps the keywords.
            Detail = string.Join(" ", problems.Select(SchemaChecks.Sentence)),
        };
        details.Extensions["argumentErrors"] = problems;
        return details;
    }

    private static ProblemDetails BuiltinIsReadOnly(string name) =>
        Problems.Conflict($"'{name}' is a built-in tool: it comes with the server and cannot be replaced or deleted (switch it off with Orchestrator:Tools:DisabledBuiltins).");
}
