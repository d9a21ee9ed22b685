namespace Orchestrator.Security;

/// <summary><c>Orchestrator keys create --role R [--name N]</c>: prints a new key once.</summary>
public static class KeyCommands
{
    /// <summary>The audit log's actor for a key made at the server's console: no key stands behind it.</summary>
    public const string LocalActor = "local";

    /// <summary>
    /// Checks <c>--role</c> and <c>--name</c> without any I/O, so a mistyped command is refused (exit 2) before the
    /// database is created or migrated; null when they are fine.
    /// </summary>
    public static string? CheckArguments(IReadOnlyList<string> args)
    {
        string? roleText = null;
        string? name = null;
        for (var i = 0; i < args.Count; i++)
        {
            switch (args[i])
            {
                case "--role" when i + 1 < args.Count:
                    roleText = args[++i];
                    break;
                case "--name" when i + 1 < args.Count:
                    name = args[++i];
                    break;
                case "--role" or "--name":
                    return $"'{args[i]}' needs a value.";
                default:
                    return $"Unknown argument '{args[i]}'. Usage: Orchestrator keys create --role admin|operator|viewer [--name NAME]";
            }
        }

        if (roleText is null)
        {
            return "keys create needs --role (admin, operator or viewer).";
        }

        if (!SecurityServiceCollectionExtensions.TryParseRole(roleText, out _))
        {
            return $"--role '{roleText}' is not a role. Accepted values: admin, operator, viewer.";
        }

        if (name is not null && name.Length is 0 or > 100)
        {
            return "--name must be 1–100 characters.";
        }

        // A newline or other control character in a name would forge or break lines wherever the name is printed or logged.
        if (name is not null && name.Any(char.IsControl))
        {
            return "--name must not contain control characters (such as a newline).";
        }

        return null;
    }

    public static async Task<int> CreateAsync(IServiceProvider services, IReadOnlyList<string> args, TextWriter output, TextWriter errors)
    {
        if (CheckArguments(args) is { } error)
        {
            await errors.WriteLineAsync(error);
            return 2;
        }

        string? roleText = null;
        string? name = null;
        for (var i = 0; i < args.Count; i += 2)
        {
            if (args[i] == "--role")
            {
                roleText = args[i + 1];
            }
            else
            {
                name = args[i + 1];
            }
        }

        // CheckArguments has already refused a role that does not parse; this reads the one it accepted.
        if (!SecurityServiceCollectionExtensions.TryParseRole(roleText, out var role))
        {
            await errors.WriteLineAsync($"--role '{roleText}' is not a role. Accepted values: admin, operator, viewer.");
            return 2;
        }

        await using var scope = services.CreateAsyncScope();
        var time = scope.ServiceProvider.GetRequiredService<TimeProvider>();
        name ??= $"{role.ToString().ToLowerInvariant()}-{time.GetUtcNow():yyyyMMddHHmmss}-{Guid.NewGuid().ToString("N")[..6]}";
        var store = scope.ServiceProvider.GetRequiredService<ApiKeyStore>();
        try
        {
            var (key, plain) = await store.CreateAsync(name, role, CancellationToken.None);
            // Written to the database directly, with no API key behind it: the log says the CLI did it, on the server itself.
            scope.ServiceProvider.GetRequiredService<Audit.AuditScope>().MarkSurface("cli", LocalActor);
            await scope.ServiceProvider.GetRequiredService<Audit.AuditLog>().RecordAsync(
                new Audit.AuditChange("key.create", "key", key.Id.ToString(), null, null, KeyService.Described(key)), CancellationToken.None);
            await output.WriteLineAsync($"Created {role.ToString().ToLowerInvariant()} key '{name}'. It is shown once:");
            await output.WriteLineAsync(plain);
            return 0;
        }
        catch (Microsoft.EntityFrameworkCore.DbUpdateException)
        {
            await errors.WriteLineAsync($"A key named '{name}' already exists; choose another --name.");
            return 1;
        }
    }
}
