using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Orchestrator.Api;
using Orchestrator.Data;

namespace Orchestrator.Tools;

/// <summary>
/// One place to look a tool up by name: the built-in tools (provided by this server's code, versioned with it)
/// first, then the operator-defined tools in EF Core. Built-in names cannot be registered, so the two never clash.
/// </summary>
public sealed class ToolRegistry(OrchestratorDbContext db, BuiltinToolCatalog builtins)
{
    public async Task<ToolDefinition?> FindAsync(string name, CancellationToken cancellationToken) =>
        builtins.Find(name) is { } builtin
            ? builtin.ToDefinition(builtins.IsEnabled(name))
            : await db.Tools.AsNoTracking().FirstOrDefaultAsync(t => t.Name == name, cancellationToken);

    public async Task<List<ToolDefinition>> ListAsync(CancellationToken cancellationToken)
    {
        var stored = await db.Tools.AsNoTracking().OrderBy(t => t.Name).ToListAsync(cancellationToken);
        return [.. builtins.All.Select(b => b.ToDefinition(builtins.IsEnabled(b.Name))).Concat(stored).OrderBy(t => t.Name, StringComparer.Ordinal)];
    }

    public bool IsBuiltin(string name) => builtins.Find(name) is not null;

    /// <summary>
    /// Only a built-in tool whose arguments are an action config (<c>http.request</c>, <c>notify</c>) or a schedule
    /// (<c>schedules.create</c>) judges secret references itself, by the action's rules. Any other tool would get a
    /// <c>{{secret:…}}</c> reference as text (a command's argv, a file's content, an http tool's argument), so it is
    /// refused wherever it stands in the arguments.
    /// </summary>
    private List<ArgumentError> MisplacedSecrets(ToolDefinition tool, JsonElement arguments) =>
        tool.Kind == ToolKind.Builtin && builtins.Find(tool.Name) is { JudgesSecretReferences: true }
            ? []
            : [.. Actions.CallApi.SecretTemplates.ReferenceProblems(arguments, "$", _ => false)
                .Select(problem => new ArgumentError(problem.Field, "secret", $"cannot reference a secret in a tool argument: {Actions.CallApi.SecretTemplates.WhereSecretsGo}."))];

    /// <summary>
    /// Every problem with <paramref name="arguments"/> for <paramref name="tool"/>: schema errors with path and keyword,
    /// then a built-in tool's own checks (only when the schema passed, so they can trust the shape).
    /// </summary>
    public async Task<IReadOnlyList<ArgumentError>> ValidateAsync(ToolDefinition tool, JsonElement arguments, string? projectId, IServiceProvider services, CancellationToken cancellationToken)
    {
        if (MisplacedSecrets(tool, arguments) is { Count: > 0 } misplaced)
        {
            return misplaced;
        }

        var builtin = tool.Kind == ToolKind.Builtin ? builtins.Find(tool.Name) : null;
        var schema = builtin?.Schema ?? SchemaChecks.Build(tool.ParametersSchema);
        var problems = SchemaChecks.Validate(schema, arguments);
        if (problems.Count > 0)
        {
            return problems;
        }

        if (builtin is null)
        {
            return tool.Kind == ToolKind.Command ? ToolInvoker.CommandArgumentProblems(tool.ConfigJson, arguments) : problems;
        }

        var errors = new FieldErrors();
        await builtin.ValidateAsync(arguments, projectId, "$", services, errors, cancellationToken);
        return [.. errors.Entries.SelectMany(e => e.Value.Select(reason => new ArgumentError(e.Key, "semantic", reason)))];
    }
}
