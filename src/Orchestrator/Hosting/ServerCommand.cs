using Orchestrator.Data;
using Orchestrator.Security;

namespace Orchestrator.Hosting;

/// <summary>
/// What the binary was asked to do: serve (default), <c>migrate</c>, <c>keys create --role R [--name N]</c>, or print
/// its usage (<c>--help</c>). Every other argument must be configuration (<c>--urls</c>, <c>--environment</c>,
/// <c>--Orchestrator:Database:Provider=Postgres</c>, <c>--Key Value</c>) and goes to the host; anything else (an unknown
/// verb, an option that is no configuration key) is refused before a host is built, so a typo never starts a server
/// against the real database.
/// </summary>
public sealed record ServerCommand(string Verb, IReadOnlyList<string> CommandArgs, string[] HostArgs, string? Error = null)
{
    public const string Serve = "serve";
    public const string Migrate = "migrate";
    public const string CreateKey = "keys create";
    public const string Help = "help";
    public const string Invalid = "invalid";

    /// <summary>Exit code for a command line that cannot be run (the same as an invalid setting).</summary>
    public const int UsageExitCode = 2;

    /// <summary>
    /// Configuration keys the host itself reads from the command line without a section (<c>--urls</c>); keys with a
    /// section (<c>--Orchestrator:…</c>, <c>--Logging:…</c>, <c>--Kestrel:…</c>) are always configuration.
    /// </summary>
    private static readonly HashSet<string> HostKeys = new(StringComparer.OrdinalIgnoreCase)
    {
        "urls", "environment", "contentRoot", "applicationName", "webroot", "http_ports", "https_ports", "AllowedHosts",
        "shutdownTimeoutSeconds", "detailedErrors", "preventHostingStartup", "hostingStartupAssemblies", "hostingStartupExcludeAssemblies",
    };

    public static string Usage => """
        Usage: Orchestrator [command] [configuration]

        Commands:
          (none)                         run the server (API, dashboard and scheduler)
          migrate                        apply the database migrations and exit (PostgreSQL: once per release)
          keys create --role R [--name N]
                                         create an API key (role admin, operator or viewer), print it once and exit

        Options:
          -h, --help                     print this help and exit

        Configuration (any command):
          --urls URL                     where the server listens (default http://localhost:5080)
          --environment NAME             Development, Production, ...
          --contentRoot DIR              the directory relative settings are resolved against
          --Section:Key=Value            any setting, e.g. --Orchestrator:Database:Provider=Postgres
          --Section:Key Value            the same, value as the next argument
        Settings also come from appsettings.json and environment variables (Orchestrator__Database__Provider).
        """;

    public static ServerCommand Parse(string[] args)
    {
        if (AsksForHelp(args))
        {
            return new(Help, [], []);
        }

        string verb;
        int start;
        if (args.Length > 0 && args[0] == "migrate")
        {
            (verb, start) = (Migrate, 1);
        }
        else if (args.Length > 0 && args[0] == "keys")
        {
            if (args.Length < 2 || args[1] != "create")
            {
                return Refuse($"'{string.Join(' ', args.Take(2))}' is not a command; the keys command is 'keys create'.");
            }

            (verb, start) = (CreateKey, 2);
        }
        else if (args.Length > 0 && !args[0].StartsWith('-'))
        {
            return Refuse($"'{args[0]}' is not a command.");
        }
        else
        {
            (verb, start) = (Serve, 0);
        }

        var own = new List<string>();
        var host = new List<string>();
        for (var i = start; i < args.Length; i++)
        {
            var argument = args[i];
            if (verb == CreateKey && argument is "--role" or "--name")
            {
                own.Add(argument);
                if (i + 1 < args.Length)
                {
                    own.Add(args[++i]);
                }

                continue;
            }

            if (!argument.StartsWith("--", StringComparison.Ordinal) || argument.Length == 2)
            {
                return Refuse($"'{argument}' is not an option{(i == start ? "" : " (configuration values follow their key: --Key Value or --Key=Value)")}.");
            }

            var equals = argument.IndexOf('=', StringComparison.Ordinal);
            var key = equals < 0 ? argument[2..] : argument[2..equals];
            if (!key.Contains(':', StringComparison.Ordinal) && !HostKeys.Contains(key))
            {
                return Refuse($"'--{key}' is not an option or a configuration key (settings have a section: --Orchestrator:{key}=…).");
            }

            host.Add(argument);
            if (equals < 0)
            {
                // '--Key Value': the value is the next argument, as the host's command-line configuration reads it.
                if (i + 1 >= args.Length)
                {
                    return Refuse($"'--{key}' needs a value (--{key}=VALUE or --{key} VALUE).");
                }

                host.Add(args[++i]);
            }
        }

        if (verb == CreateKey && KeyCommands.CheckArguments(own) is { } keyError)
        {
            return Refuse(keyError);
        }

        return new(verb, own, [.. host]);
    }

    /// <summary>
    /// Help is asked for by an argument in option position only: <c>--contentRoot /h</c> names a directory called /h.
    /// Any <c>--Key</c> without '=' takes the next argument as its value (the host's reading, and --role/--name's).
    /// </summary>
    private static bool AsksForHelp(string[] args)
    {
        for (var i = 0; i < args.Length; i++)
        {
            var argument = args[i];
            if (argument is "-h" or "--help" or "-?" or "/?" or "/h")
            {
                return true;
            }

            if (argument.StartsWith("--", StringComparison.Ordinal) && argument.Length > 2 && !argument.Contains('=', StringComparison.Ordinal))
            {
                i++;
            }
        }

        return false;
    }

    /// <summary>
    /// For <c>--help</c> and a command line that cannot be run: prints the usage (to stdout for help, with the error to
    /// stderr otherwise) and returns the exit code; null when there is something to run.
    /// </summary>
    public int? ExitWithoutRunning(TextWriter output, TextWriter errors)
    {
        switch (Verb)
        {
            case Help:
                output.WriteLine(Usage);
                return 0;
            case Invalid:
                errors.WriteLine($"error: {Error}");
                errors.WriteLine();
                errors.WriteLine(Usage);
                return UsageExitCode;
            default:
                return null;
        }
    }

    private static ServerCommand Refuse(string error) => new(Invalid, [], [], error);

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
