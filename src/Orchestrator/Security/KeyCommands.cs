namespace Orchestrator.Security;

/// <summary><c>Orchestrator keys create --role R [--name N]</c>: prints a new key once.</summary>
public static class KeyCommands
{
    public static async Task<int> CreateAsync(IServiceProvider services, IReadOnlyList<string> args, TextWriter output, TextWriter errors)
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
                default:
                    await errors.WriteLineAsync($"Unknown argument '{args[i]}'. Usage: Orchestrator keys create --role admin|operator|viewer [--name NAME]");
                    return 2;
            }
        }

        if (!SecurityServiceCollectionExtensions.TryParseRole(roleText, out var role))
        {
            await errors.WriteLineAsync($"--role '{roleText}' is not a role. Accepted values: admin, operator, viewer.");
            return 2;
        }

        await using var scope = services.CreateAsyncScope();
        var time = scope.ServiceProvider.GetRequiredService<TimeProvider>();
        name ??= $"{role.ToString().ToLowerInvariant()}-{time.GetUtcNow():yyyyMMddHHmmss}-{Guid.NewGuid().ToString("N")[..6]}";
        if (name.Length is 0 or > 100)
        {
            await errors.WriteLineAsync("--name must be 1–100 characters.");
            return 2;
        }

        var store = scope.ServiceProvider.GetRequiredService<ApiKeyStore>();
        try
        {
            var (_, plain) = await store.CreateAsync(name, role, CancellationToken.None);
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
