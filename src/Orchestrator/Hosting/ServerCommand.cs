using System.CommandLine;
using Orchestrator.Cli;
using Orchestrator.Data;
using Orchestrator.Security;

namespace Orchestrator.Hosting;

/// <summary>
/// What the binary was asked to do, read with System.CommandLine before any host is built: serve (the default, also
/// <c>serve</c> or <c>run</c>), <c>migrate</c>, <c>keys create</c> on the local database, or a verb that runs without a
/// server of its own (help, <c>--version</c>, the remote verbs in <see cref="Cli"/>). Configuration arguments
/// (<c>--urls</c>, <c>--environment</c>, <c>--Orchestrator:Database:Provider=Postgres</c>, <c>--Key Value</c>) are taken
/// out first and go to the host; anything the parser then does not know is refused (exit 2), so a typo never starts a
/// server against the real database, and <c>--help</c> never starts one at all.
/// </summary>
public sealed class ServerCommand
{
    public const string Serve = "serve";
    public const string Migrate = "migrate";
    public const string CreateKey = "keys create";

    /// <summary>Runs to completion without a host: help, <c>--version</c>, a remote verb.</summary>
    public const string Client = "client";
    public const string Invalid = "invalid";

    /// <summary>Exit code for a command line that cannot be run (the same as an invalid setting).</summary>
    public const int UsageExitCode = CliExitCodes.Usage;

    /// <summary>
    /// Configuration keys the host itself reads from the command line without a section (<c>--urls</c>); keys with a
    /// section (<c>--Orchestrator:…</c>, <c>--Logging:…</c>, <c>--Kestrel:…</c>) are always configuration.
    /// </summary>
    private static readonly HashSet<string> HostKeys = new(StringComparer.OrdinalIgnoreCase)
    {
        "urls", "environment", "contentRoot", "applicationName", "webroot", "http_ports", "https_ports", "AllowedHosts",
        "shutdownTimeoutSeconds", "detailedErrors", "preventHostingStartup", "hostingStartupAssemblies", "hostingStartupExcludeAssemblies",
    };

    private const string Description = """
        Orchestrator: a clustered job-orchestration server, and the command line to operate it.

        With no command (or 'serve'), runs the server: API, dashboard and scheduler. Configuration arguments go to
        the server, 'migrate' and 'keys create', in any position:
          --urls URL               where the server listens (default http://localhost:5080)
          --environment NAME       Development, Production, ...
          --contentRoot DIR        the directory relative settings are resolved against
          --Section:Key=Value      any setting, e.g. --Orchestrator:Database:Provider=Postgres
          --Section:Key Value      the same, value as the next argument
        Settings also come from appsettings.json and environment variables (Orchestrator__Database__Provider).

        The other commands talk to a running server: --server URL (or ORCHESTRATOR_SERVER), --key KEY (or
        ORCHESTRATOR_KEY), tables by default, --json for the server's JSON.
        Exit codes: 0 ok, 1 operation refused or run failed, 2 usage error, 3 not found, 4 key refused, 5 server unreachable.
        """;

    private readonly ParseResult? parsed;

    private ServerCommand(string verb, IReadOnlyList<string> commandArgs, string[] hostArgs, ParseResult? parsed, string? error = null)
    {
        Verb = verb;
        CommandArgs = commandArgs;
        HostArgs = hostArgs;
        this.parsed = parsed;
        Error = error;
    }

    public string Verb { get; }

    /// <summary><c>keys create</c>'s own arguments, as <see cref="KeyCommands"/> reads them.</summary>
    public IReadOnlyList<string> CommandArgs { get; }

    /// <summary>The configuration arguments, for <c>WebApplication.CreateBuilder</c>.</summary>
    public string[] HostArgs { get; }

    /// <summary>Why the command line cannot be run, when it is our own reason rather than the parser's.</summary>
    public string? Error { get; }

    public static ServerCommand Parse(string[] args)
    {
        var tree = new CommandTree();
        var (own, host, splitError) = SplitConfiguration(args);
        var parsed = tree.Root.Parse(own);
        var command = parsed.CommandResult.Command;
        var terminating = !ReferenceEquals(parsed.Action, command.Action);
        if (parsed.Errors.Count > 0)
        {
            return new(Invalid, [], [], parsed);
        }

        if (terminating)
        {
            // --help, -h, -?, --version: print and exit, whatever else the line holds.
            return new(Client, [], [], parsed);
        }

        if (splitError is not null)
        {
            return Refuse(splitError, tree);
        }

        if (command == tree.Root || command == tree.ServeCommand)
        {
            return new(Serve, [], [.. host], null);
        }

        if (command == tree.MigrateCommand)
        {
            return new(Migrate, [], [.. host], null);
        }

        if (command == tree.Access.Create && tree.Remote.ServerFrom(parsed) is null)
        {
            return tree.Access.LocalRefusal(parsed) is { } refusal
                ? Refuse(refusal, tree, "keys", "create")
                : new(CreateKey, tree.Access.LocalArguments(parsed), [.. host], null);
        }

        return host.Count > 0
            ? Refuse($"'{host[0]}' configures a server, not a remote command: remote commands take --server and --key.", tree)
            : new(Client, [], [], parsed);
    }

    /// <summary>
    /// Runs what needs no host of its own (help, a remote verb) or reports a command line that cannot be run, and
    /// returns the exit code; null when Program.cs is to build the host (serve, migrate, keys create).
    /// </summary>
    public async Task<int?> RunWithoutServerAsync(TextWriter output, TextWriter errors, CancellationToken cancellationToken = default)
    {
        switch (Verb)
        {
            case Client:
                return await parsed!.InvokeAsync(new InvocationConfiguration { Output = output, Error = errors }, cancellationToken);
            case Invalid:
                if (Error is not null)
                {
                    await errors.WriteLineAsync($"error: {Error}");
                    await errors.WriteLineAsync();
                }

                // The parser's error action prints each error and the command's help; the code is ours (2, as for an
                // invalid setting), so a service manager and a script read a bad command line the same way.
                await parsed!.InvokeAsync(new InvocationConfiguration { Output = errors, Error = errors }, cancellationToken);
                return UsageExitCode;
            default:
                return null;
        }
    }

    /// <summary>Our own refusal: the reason, then the help of the command it is about (its parse with --help, printed to stderr).</summary>
    private static ServerCommand Refuse(string error, CommandTree tree, params string[] path) =>
        new(Invalid, [], [], tree.Root.Parse([.. path, "--help"]), error);

    /// <summary>
    /// Takes the configuration arguments out of the command line: <c>--Key=Value</c> or <c>--Key Value</c> where the key has
    /// a section or is one the host reads. The value after <c>--Key</c> is the host's whatever it looks like
    /// (<c>--contentRoot -h</c> names a directory), as the host's command-line configuration reads it.
    /// </summary>
    private static (List<string> Own, List<string> Host, string? Error) SplitConfiguration(string[] args)
    {
        var own = new List<string>();
        var host = new List<string>();
        string? error = null;
        for (var i = 0; i < args.Length; i++)
        {
            var argument = args[i];
            if (!argument.StartsWith("--", StringComparison.Ordinal) || argument.Length == 2)
            {
                own.Add(argument);
                continue;
            }

            var equals = argument.IndexOf('=', StringComparison.Ordinal);
            var key = equals < 0 ? argument[2..] : argument[2..equals];
            if (!key.Contains(':', StringComparison.Ordinal) && !HostKeys.Contains(key))
            {
                own.Add(argument);
                continue;
            }

            host.Add(argument);
            if (equals < 0)
            {
                if (i + 1 >= args.Length)
                {
                    error ??= $"'--{key}' needs a value (--{key}=VALUE or --{key} VALUE).";
                    continue;
                }

                host.Add(args[++i]);
            }
        }

        return (own, host, error);
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

    /// <summary>The command tree; the local verbs' actions only mark the choice, Program.cs runs them with the host.</summary>
    private sealed class CommandTree
    {
        public CommandTree()
        {
            Root = new RootCommand(Description);
            ServeCommand = new Command(Serve, "Run the server: API, dashboard and scheduler (the default when no command is given).");
            ServeCommand.Aliases.Add("run");
            MigrateCommand = new Command(Migrate, "Apply the database migrations and exit (PostgreSQL: once per release, before the nodes start).");
            Access = new AccessCommands(Remote);
            foreach (var local in new Command[] { Root, ServeCommand, MigrateCommand })
            {
                local.SetAction(_ => 0);
            }

            Root.Add(ServeCommand);
            Root.Add(MigrateCommand);
            Root.Add(ScheduleCommands.Build(Remote));
            Root.Add(RunCommands.Build(Remote));
            Root.Add(CatalogCommands.Pipelines(Remote));
            Root.Add(CatalogCommands.Tools(Remote));
            Root.Add(CatalogCommands.Channels(Remote));
            Root.Add(Access.Keys);
            Root.Add(Access.Audit);
            Root.Add(DefinitionCommands.Apply(Remote));
            Root.Add(DefinitionCommands.Export(Remote));
        }

        public RootCommand Root { get; }

        public Command ServeCommand { get; }

        public Command MigrateCommand { get; }

        public RemoteOptions Remote { get; } = new();

        public AccessCommands Access { get; }
    }
}
