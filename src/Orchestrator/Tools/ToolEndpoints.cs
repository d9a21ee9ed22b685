using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Orchestrator.Actions;
using Orchestrator.Actions.CallApi;
using Orchestrator.Data;
using Orchestrator.Hosting;
using Orchestrator.Security;

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

/// <summary>The tool registry API: register, read, replace (a new version), delete, and validate arguments before anything runs.</summary>
public static partial class ToolEndpoints
{
    public static IEndpointRouteBuilder MapTools(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/tools").WithTags("Tools").RequireAuthorization(Policies.Viewer);
        group.MapGet("/", ListTools).WithName("ListTools").WithSummary("Registered tools.");
        group.MapGet("/{name}", GetTool).WithName("GetTool").WithSummary("One tool with its parameter schema.");
        group.MapPost("/", RegisterTool).WithName("RegisterTool").WithSummary("Register a command or http tool with a JSON Schema for its arguments; built-in tools are listed but not registered.")
            .RequireAuthorization(Policies.Admin);
        group.MapPut("/{name}", ReplaceTool).WithName("ReplaceTool").WithSummary("Replace a tool; its version goes up by one.").RequireAuthorization(Policies.Admin);
        group.MapDelete("/{name}", DeleteTool).WithName("DeleteTool").WithSummary("Delete a tool.").RequireAuthorization(Policies.Admin);
        group.MapPost("/{name}/validate", ValidateArguments).WithName("ValidateToolArguments")
            .WithSummary("Check {arguments} against the tool's schema; a 422 lists every error with its path, keyword and message.");
        group.MapPost("/{name}/invoke", InvokeTool).WithName("InvokeTool")
            .WithSummary("Validate {arguments}, then run the tool in {project}'s root (timeout {timeoutSeconds}, default 300) and return its result.")
            .RequireAuthorization(Policies.Operator);
        return app;
    }

    public const int DefaultInvokeTimeoutSeconds = 300;
    public const int MaxInvokeTimeoutSeconds = 3600;

    public static async Task<Results<Ok<JsonObject>, ProblemHttpResult>> InvokeTool(
        string name, InvokeRequest request, ClaimsPrincipal user, OrchestratorDbContext db, ToolRegistry registry, BuiltinToolCatalog builtins,
        ToolInvoker invoker, IServiceProvider services, TimeProvider time, CancellationToken ct)
    {
        var tool = await registry.FindAsync(name, ct);
        if (tool is null)
        {
            return ApiProblems.NotFound("tool", name);
        }

        if (!tool.Enabled)
        {
            return ApiProblems.Conflict($"Tool '{name}' is disabled.");
        }

        if (builtins.Find(name) is { } builtin && RoleOf(user) < builtin.RequiredRole)
        {
            return TypedResults.Problem(statusCode: StatusCodes.Status403Forbidden, title: "Forbidden",
                detail: $"Invoking '{name}' directly needs the {builtin.RequiredRole.ToString().ToLowerInvariant()} role, as the route it stands for does.");
        }

        var errors = new FieldErrors();
        var seconds = request.TimeoutSeconds ?? DefaultInvokeTimeoutSeconds;
        if (seconds is < 1 or > MaxInvokeTimeoutSeconds)
        {
            errors.Add("timeoutSeconds", $"must be between 1 and {MaxInvokeTimeoutSeconds}.");
        }

        var projectId = request.Project ?? Projects.Project.DefaultId;
        // Only a project id is looked up: anything else (a NUL, which the database cannot even compare) is no project.
        var root = Projects.ProjectEndpoints.IsSlug(projectId)
            ? await db.Projects.AsNoTracking().Where(p => p.Id == projectId).Select(p => p.RootPath).FirstOrDefaultAsync(ct)
            : null;
        if (root is null)
        {
            errors.Add("project", $"no project with id '{projectId}'.");
        }

        if (errors.Any)
        {
            return errors.ToProblem();
        }

        var arguments = request.Arguments ?? JsonDocument.Parse("{}").RootElement;
        var problems = await registry.ValidateAsync(tool, arguments, projectId, services, ct);
        if (problems.Count > 0)
        {
            return ArgumentProblem(tool.Name, problems);
        }

        // A direct invocation is a run of its own for the tool: its own idempotency key, and the same template context a scheduled run has.
        var run = new Orchestrator.Actions.ActionInvocation(Guid.NewGuid(), "", $"invoke:{tool.Name}", projectId, 1, $"invoke-{Guid.NewGuid():N}", time.GetUtcNow(), arguments);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(seconds));
        Orchestrator.Actions.ActionOutcome outcome;
        try
        {
            outcome = await invoker.InvokeAsync(tool, new ToolContext(projectId, root!, run, services), arguments, timeout.Token);
        }
        catch (Orchestrator.Actions.ActionFailedException ex)
        {
            outcome = new Orchestrator.Actions.ActionOutcome(false, ex.Result ?? [], ex.Message);
        }
        catch (OperationCanceledException) when (timeout.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            outcome = new Orchestrator.Actions.ActionOutcome(false, [], $"timed out after {seconds} s");
        }

        return TypedResults.Ok(new JsonObject
        {
            ["tool"] = tool.Name,
            ["version"] = tool.Version,
            ["project"] = projectId,
            ["succeeded"] = outcome.Succeeded,
            ["result"] = outcome.Result,
            ["error"] = outcome.Error,
        });
    }

    private static ApiRole RoleOf(ClaimsPrincipal user) =>
        SecurityServiceCollectionExtensions.TryParseRole(user.FindFirst(ApiKeyAuthenticationHandler.RoleClaim)?.Value, out var role) ? role : ApiRole.Viewer;

    public static async Task<Ok<List<ToolResponse>>> ListTools(ToolRegistry registry, CancellationToken ct) =>
        TypedResults.Ok((await registry.ListAsync(ct)).Select(ToolResponse.From).ToList());

    public static async Task<Results<Ok<ToolResponse>, ProblemHttpResult>> GetTool(string name, ToolRegistry registry, CancellationToken ct) =>
        await registry.FindAsync(name, ct) is { } tool ? TypedResults.Ok(ToolResponse.From(tool)) : ApiProblems.NotFound("tool", name);

    public static async Task<Results<Created<ToolResponse>, ProblemHttpResult>> RegisterTool(
        ToolRequest request, OrchestratorDbContext db, ToolRegistry registry, ActionCatalog actions, TimeProvider time, CancellationToken ct)
    {
        var errors = new FieldErrors();
        if (string.IsNullOrEmpty(request.Name) || !NamePattern().IsMatch(request.Name))
        {
            errors.Add("name", "is required: 1–100 lowercase letters, digits, '.', '_' or '-', starting with a letter.");
        }

        var tool = await BuildAsync(request, actions, errors, ct);
        if (tool is null || errors.Any)
        {
            return errors.ToProblem();
        }

        if (registry.IsBuiltin(request.Name!))
        {
            return ApiProblems.Conflict($"'{request.Name}' is a built-in tool; choose another name.");
        }

        if (await db.Tools.AnyAsync(t => t.Name == request.Name, ct))
        {
            return ApiProblems.Conflict($"A tool named '{request.Name}' already exists.");
        }

        tool.Name = request.Name!;
        tool.Version = 1;
        tool.CreatedAt = tool.UpdatedAt = time.GetUtcNow();
        db.Tools.Add(tool);
        await db.SaveChangesAsync(ct);
        return TypedResults.Created($"/api/tools/{tool.Name}", ToolResponse.From(tool));
    }

    public static async Task<Results<Ok<ToolResponse>, ProblemHttpResult>> ReplaceTool(
        string name, ToolRequest request, OrchestratorDbContext db, ToolRegistry registry, ActionCatalog actions, TimeProvider time, CancellationToken ct)
    {
        if (registry.IsBuiltin(name))
        {
            return BuiltinIsReadOnly(name);
        }

        var existing = await db.Tools.FirstOrDefaultAsync(t => t.Name == name, ct);
        if (existing is null)
        {
            return ApiProblems.NotFound("tool", name);
        }

        var errors = new FieldErrors();
        if (request.Name is not null && request.Name != name)
        {
            errors.Add("name", $"must match the tool in the URL ('{name}').");
        }

        var replacement = await BuildAsync(request, actions, errors, ct);
        if (replacement is null || errors.Any)
        {
            return errors.ToProblem();
        }

        existing.Description = replacement.Description;
        existing.Kind = replacement.Kind;
        existing.ParametersSchema = replacement.ParametersSchema;
        existing.ResultSchema = replacement.ResultSchema;
        existing.ConfigJson = replacement.ConfigJson;
        existing.Enabled = replacement.Enabled;
        existing.Version += 1;
        existing.UpdatedAt = time.GetUtcNow();
        await db.SaveChangesAsync(ct);
        return TypedResults.Ok(ToolResponse.From(existing));
    }

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteTool(string name, OrchestratorDbContext db, ToolRegistry registry, CancellationToken ct) =>
        registry.IsBuiltin(name) ? BuiltinIsReadOnly(name)
        : await db.Tools.Where(t => t.Name == name).ExecuteDeleteAsync(ct) == 0 ? ApiProblems.NotFound("tool", name) : TypedResults.NoContent();

    public static async Task<Results<Ok<JsonObject>, ProblemHttpResult>> ValidateArguments(
        string name, ValidateRequest request, ToolRegistry registry, IServiceProvider services, CancellationToken ct)
    {
        var tool = await registry.FindAsync(name, ct);
        if (tool is null)
        {
            return ApiProblems.NotFound("tool", name);
        }

        var arguments = request.Arguments ?? JsonDocument.Parse("{}").RootElement;
        var problems = await registry.ValidateAsync(tool, arguments, request.Project, services, ct);
        if (problems.Count == 0)
        {
            return TypedResults.Ok(new JsonObject { ["valid"] = true, ["tool"] = tool.Name, ["version"] = tool.Version });
        }

        return ArgumentProblem(tool.Name, problems);
    }

    private static ProblemHttpResult BuiltinIsReadOnly(string name) =>
        ApiProblems.Conflict($"'{name}' is a built-in tool: it comes with the server and cannot be replaced or deleted (switch it off with Orchestrator:Tools:DisabledBuiltins).");

    /// <summary>A 422 whose <c>errors</c> are keyed by argument path, with the keyword-level detail under <c>argumentErrors</c>.</summary>
    public static ProblemHttpResult ArgumentProblem(string tool, IReadOnlyList<ArgumentError> problems)
    {
        var details = new HttpValidationProblemDetails(problems.GroupBy(p => "arguments" + p.Path[1..])
            .ToDictionary(g => g.Key, g => g.Select(p => $"{p.Message} (keyword: {p.Keyword})").ToArray()))
        {
            Status = StatusCodes.Status422UnprocessableEntity,
            Title = $"The arguments do not match tool '{tool}'.",
            Detail = string.Join(" ", problems.Select(p => $"{p.Path}: {p.Message} ({p.Keyword})")),
        };
        details.Extensions["argumentErrors"] = problems;
        return TypedResults.Problem(details);
    }

    private static async Task<ToolDefinition?> BuildAsync(ToolRequest request, ActionCatalog actions, FieldErrors errors, CancellationToken ct)
    {
        if (request.Description is { Length: > 2000 })
        {
            errors.Add("description", "must be at most 2000 characters.");
        }
        else if (request.Description?.Contains('\0', StringComparison.Ordinal) == true)
        {
            // PostgreSQL text cannot hold NUL: storing it failed as a 500.
            errors.Add("description", "must not contain NUL characters.");
        }

        ToolKind kind;
        switch (request.Kind)
        {
            case "command":
                kind = ToolKind.Command;
                break;
            case "http":
                kind = ToolKind.Http;
                break;
            case "builtin":
                errors.Add("kind", "built-in tools are provided by the server and cannot be registered; use 'command' or 'http'.");
                return null;
            default:
                errors.Add("kind", $"{(request.Kind is null ? "is required" : $"'{request.Kind}' is not a tool kind")}; use 'command' or 'http'.");
                return null;
        }

        if (request.Parameters is not { } parameters)
        {
            errors.Add("parameters", "is required: a JSON Schema for the tool's arguments.");
            return null;
        }

        if (parameters.GetRawText().Length > 64 * 1024)
        {
            errors.Add("parameters", "is larger than 64 KiB.");
            return null;
        }

        SchemaChecks.Parse(parameters, "parameters", errors);
        if (parameters.ValueKind == JsonValueKind.Object
            && !(parameters.TryGetProperty("type", out var parametersType) && parametersType.ValueKind == JsonValueKind.String && parametersType.GetString() == "object"))
        {
            // Arguments are always a JSON object whose properties the templates name; a schema for anything else can never match.
            errors.Add("parameters.type", "must be \"object\": a tool's arguments are a JSON object, each '{{args.x}}' naming one of its properties.");
        }

        if (request.Result is { } result)
        {
            SchemaChecks.Parse(result, "result", errors);
        }

        var config = request.Config ?? JsonDocument.Parse("{}").RootElement;
        if (config.ValueKind != JsonValueKind.Object)
        {
            errors.Add("config", kind == ToolKind.Command ? "must be an object with 'argv'." : "must be a call_api config object with 'url'.");
        }
        else if (kind == ToolKind.Command)
        {
            CheckCommandConfig(config, errors);
        }
        else
        {
            var callApi = actions.TryGet(CallApiAction.TypeName, out var definition) ? definition : throw new InvalidOperationException("The call_api action type is not registered.");
            // An http tool is a call_api config with placeholders, so it is held to call_api's schema and checks (method,
            // headers, body size, timeouts, outbound policy, known secrets) with each placeholder standing in as a plain value.
            await callApi.ValidateAsync(WithPlaceholdersFilled(config), "config", errors, ct);
        }

        if (config.ValueKind == JsonValueKind.Object && parameters.ValueKind == JsonValueKind.Object)
        {
            CheckPlaceholdersNameParameters(config, parameters, errors);
        }

        return new ToolDefinition
        {
            Name = "",
            Description = request.Description,
            Kind = kind,
            ParametersSchema = parameters.GetRawText(),
            ResultSchema = request.Result?.GetRawText(),
            ConfigJson = config.GetRawText(),
            Enabled = request.Enabled ?? true,
        };
    }

    /// <summary>The whole of a command tool's config: an argv template and a timeout; anything else would be ignored, so it is refused.</summary>
    private static void CheckCommandConfig(JsonElement config, FieldErrors errors)
    {
        foreach (var property in config.EnumerateObject().Where(p => p.Name is not ("argv" or "timeoutSeconds")))
        {
            errors.Add($"config.{property.Name}", "is not a property of a command tool's config; it has 'argv' and 'timeoutSeconds' only (no shell is ever used).");
        }

        if (!config.TryGetProperty("argv", out var argv) || argv.ValueKind != JsonValueKind.Array || argv.GetArrayLength() is 0 or > 100
            || argv.EnumerateArray().Any(a => a.ValueKind != JsonValueKind.String))
        {
            errors.Add("config.argv", "is required: an array of 1–100 strings; each '{{args.x}}' becomes exactly one argument.");
        }
        else
        {
            if (string.IsNullOrWhiteSpace(argv[0].GetString()) || argv[0].GetString()!.Contains("{{", StringComparison.Ordinal))
            {
                errors.Add("config.argv[0]", "must name the program literally; it cannot come from an argument.");
            }
            else if (ProcessRunner.ProgramError(argv[0].GetString()!) is { } program)
            {
                errors.Add("config.argv[0]", program);
            }

            var i = 0;
            foreach (var item in argv.EnumerateArray())
            {
                if (item.GetString()!.Contains('\0', StringComparison.Ordinal))
                {
                    errors.Add($"config.argv[{i}]", "must not contain NUL characters (the process would get the argument cut short there).");
                }

                i++;
            }
        }

        if (config.TryGetProperty("timeoutSeconds", out var timeout)
            && (timeout.ValueKind != JsonValueKind.Number || !timeout.TryGetInt32(out var seconds) || seconds is < 1 or > ToolInvoker.MaxTimeoutSeconds))
        {
            errors.Add("config.timeoutSeconds", $"must be a whole number of seconds between 1 and {ToolInvoker.MaxTimeoutSeconds}.");
        }
    }

    /// <summary>Each '{{args.x}}' of a template must name a property of the parameters schema: otherwise no valid arguments could ever fill it.</summary>
    private static void CheckPlaceholdersNameParameters(JsonElement config, JsonElement parameters, FieldErrors errors)
    {
        var declared = parameters.TryGetProperty("properties", out var properties) && properties.ValueKind == JsonValueKind.Object
            ? properties.EnumerateObject().Select(p => p.Name).ToHashSet(StringComparer.Ordinal)
            : [];
        foreach (var (path, text) in JsonStrings.WithPaths(config, "config"))
        {
            foreach (var name in TemplatePlaceholder().Matches(text).Select(m => m.Groups[1].Value).Distinct(StringComparer.Ordinal).Where(n => !declared.Contains(n)))
            {
                errors.Add(path, $"'{{{{args.{name}}}}}' names no parameter of this tool; declare '{name}' under parameters.properties"
                    + (declared.Count == 0 ? "." : $" or use one of {string.Join(", ", declared.Order(StringComparer.Ordinal))}."));
            }
        }
    }

    private static JsonElement WithPlaceholdersFilled(JsonElement config)
    {
        static JsonNode? Fill(JsonNode? node) => node switch
        {
            JsonObject obj => new JsonObject(obj.Select(p => KeyValuePair.Create(p.Key, Fill(p.Value)))),
            JsonArray array => new JsonArray([.. array.Select(Fill)]),
            JsonValue value when value.GetValueKind() == JsonValueKind.String => JsonValue.Create(TemplatePlaceholder().Replace(value.GetValue<string>(), "x")),
            _ => node?.DeepClone(),
        };

        return JsonDocument.Parse(Fill(JsonNode.Parse(config.GetRawText()))?.ToJsonString() ?? "null").RootElement.Clone();
    }

    [GeneratedRegex("^[a-z][a-z0-9._-]{0,99}$", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();

    [GeneratedRegex(@"\{\{\s*args\.([A-Za-z0-9_]+)\s*\}\}", RegexOptions.CultureInvariant)]
    private static partial Regex TemplatePlaceholder();
}
