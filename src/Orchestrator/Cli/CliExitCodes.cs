namespace Orchestrator.Cli;

/// <summary>
/// The exit codes of every command, so a script can tell apart what it can retry (5), what needs a different key (4),
/// what names nothing (3) and what it got wrong itself (2). The README's "Command line" section lists them.
/// </summary>
public static class CliExitCodes
{
    public const int Ok = 0;

    /// <summary>The operation was refused (400, 409, 422, a server error) or the watched run did not succeed.</summary>
    public const int Failed = 1;

    /// <summary>The command line cannot be run: an unknown verb or option, a missing value, an unreadable file. Also an invalid setting of the server.</summary>
    public const int Usage = 2;

    /// <summary>The server answered 404: the schedule, run, pipeline, tool, channel or key does not exist.</summary>
    public const int NotFound = 3;

    /// <summary>The server answered 401 or 403: no key, an unknown or revoked key, or a role below what the route needs.</summary>
    public const int AuthRefused = 4;

    /// <summary>No answer from the server: connection refused, a name that does not resolve, a timeout.</summary>
    public const int Unreachable = 5;
}
