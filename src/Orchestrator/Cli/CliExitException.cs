namespace Orchestrator.Cli;

/// <summary>
/// Ends a remote command with an exit code once what went wrong has been printed; the command's action turns it into
/// the process's exit code (<see cref="RemoteCommand"/>).
/// </summary>
public sealed class CliExitException(int exitCode, string message) : Exception(message)
{
    public int ExitCode { get; } = exitCode;
}
