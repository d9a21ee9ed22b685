using System.CommandLine;

namespace Orchestrator.Cli;

/// <summary>
/// <c>--server</c>, <c>--key</c> and <c>--json</c>, shared by every verb that talks to a running server. The environment
/// variables are read when the command runs, not as option defaults, so <c>--help</c> never prints a key.
/// </summary>
public sealed class RemoteOptions
{
    public const string ServerVariable = "ORCHESTRATOR_SERVER";
    public const string KeyVariable = "ORCHESTRATOR_KEY";

    public Option<string?> Server { get; } = new("--server", "-s")
    {
        Description = $"The server's base address, e.g. http://localhost:5080 (default: ${ServerVariable}).",
        HelpName = "url",
        Recursive = true,
    };

    public Option<string?> Key { get; } = new("--key", "-k")
    {
        Description = $"An API key (default: ${KeyVariable}); sent as 'Authorization: Bearer'.",
        HelpName = "key",
        Recursive = true,
    };

    public Option<bool> Json { get; } = new("--json")
    {
        Description = "Print the server's JSON instead of a table.",
        Recursive = true,
    };

    /// <summary>Adds the three options to a verb group; they apply to its subcommands too.</summary>
    public void AddTo(Command command)
    {
        command.Add(Server);
        command.Add(Key);
        command.Add(Json);
    }

    /// <summary>The server named by <c>--server</c> or <c>ORCHESTRATOR_SERVER</c>, or null when neither is set.</summary>
    public string? ServerFrom(ParseResult parsed) =>
        parsed.GetValue(Server) is { Length: > 0 } given ? given
        : Environment.GetEnvironmentVariable(ServerVariable) is { Length: > 0 } variable ? variable
        : null;

    public string? KeyFrom(ParseResult parsed) =>
        parsed.GetValue(Key) is { Length: > 0 } given ? given
        : Environment.GetEnvironmentVariable(KeyVariable) is { Length: > 0 } variable ? variable
        : null;
}
