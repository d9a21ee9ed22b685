using Orchestrator.Data;
using Orchestrator.Security;

namespace Orchestrator.Hosting;

/// <summary>
/// What the binary was asked to do: serve (default), <c>migrate</c>, or <c>keys create --role R [--name N]</c>.
/// Every other argument is configuration (<c>--Orchestrator:Database:Provider=Postgres</c>) and goes to the host.
/// </summary>
public sealed record ServerCommand(string Verb, IReadOnlyList<string> CommandArgs, string[] HostArgs)
{
    public const string Serve = "serve";
    public const string Migrate = "migrate";
    public const string CreateKey = "keys create";

    public static ServerCommand Parse(string[] args)
    {
        if (args.Length > 0 && args[0] == "migrate")
        {
            return new(Migrate, [], args[1..]);
        }

        if (args.Length > 1 && args[0] == "keys" && args[1] == "create")
        {
            var own = new List<string>();
            var host = new List<string>();
            for (var i = 2; i < args.Length; i++)
            {
                if (args[i] is "--role" or "--name")
                {
                    own.Add(args[i]);
                    if (i + 1 < args.Length)
                    {
                        own.Add(args[++i]);
                    }
                }
                else
                {
                    host.Add(args[i]);
                }
            }

            return new(CreateKey, own, [.. host]);
        }

        return new(Serve, [], args);
    }

    /// <summary>Runs <c>migrate</c> or <c>keys create</c> against the configured database and returns the exit code.</summary>
    public async Task<int> RunOneShotAsync(IServiceProvider services, StorageChoice storage)
    {
        var initializer = services.GetRequiredService<DatabaseInitializer>();
        try
        {
            if (Verb == Migrate)
            {
                await initializer.MigrateAsync(CancellationToken.None);
                return 0;
            }

            // A key can be made before the first start (the way to get one for a Windows service, whose console nobody sees).
            await (storage.MigrateOnStart ? initializer.MigrateAsync(CancellationToken.None) : initializer.EnsureUpToDateAsync(CancellationToken.None));
            return await KeyCommands.CreateAsync(services, CommandArgs, Console.Out, Console.Error);
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.Data.Common.DbException)
        {
            await Console.Error.WriteLineAsync($"{Verb} failed: {ex.Message}");
            return 1;
        }
    }
}
