using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Orchestrator.Data;
using Orchestrator.Hosting;

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
    /// Every problem with <paramref name="arguments"/> for <paramref name="tool"/>: schema errors with path and keyword,
    /// then a built-in tool's own checks (only when the schema passed, so they can trust the shape).
    /// </summary>
    public async Task<IReadOnlyList<ArgumentError>> ValidateAsync(ToolDefinition tool, JsonElement arguments, string? projectId, IServiceProvider services, CancellationToken cancellationToken)
    {
        var builtin = tool.Kind == ToolKind.Builtin ? builtins.Find(tool.Name) : null;
        var schema = builtin?.Schema ?? await NJsonSchema.JsonSchema.FromJsonAsync(tool.ParametersSchema, cancellationToken);
        var problems = SchemaChecks.Validate(schema, arguments);
        if (problems.Count > 0)
        {
            return problems;
        }

        // Only http.request (call_api's rules, below) resolves secrets in its arguments; any other tool would get the
        // reference as text (a command's argv, a file's content, an http tool's argument), so it is refused.
        if (builtin is not Builtin.ActionTool)
        {
            var misplaced = Actions.CallApi.SecretTemplates.MisplacedReferences(arguments, "$", _ => false)
                .Select(path => new ArgumentError(path, "secret", $"cannot reference a secret in a tool argument: {Actions.CallApi.SecretTemplates.WhereSecretsGo}."))
                .ToList();
            if (misplaced.Count > 0 || builtin is null)
            {
                return misplaced;
            }
        }

        var errors = new FieldErrors();
        await builtin.ValidateAsync(arguments, projectId, "$", services, errors, cancellationToken);
        return [.. errors.Entries.SelectMany(e => e.Value.Select(reason => new ArgumentError(e.Key, "semantic", reason)))];
    }
}
