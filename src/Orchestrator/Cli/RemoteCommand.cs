using System.CommandLine;

namespace Orchestrator.Cli;

/// <summary>
/// Gives a remote verb its action: resolves the server and key, opens a <see cref="RemoteSession"/>, runs the verb and
/// maps every way it can end to an exit code from <see cref="CliExitCodes"/>.
/// </summary>
public static class RemoteCommand
{
    public static Command WithRemoteAction(this Command command, RemoteOptions options, Func<RemoteSession, ParseResult, CancellationToken, Task<int>> run)
    {
        command.SetAction(async (parsed, cancellationToken) =>
        {
            var output = parsed.InvocationConfiguration.Output;
            var errors = parsed.InvocationConfiguration.Error;
            var server = options.ServerFrom(parsed);
            if (server is null)
            {
                await errors.WriteLineAsync($"error: no server given: pass --server URL or set {RemoteOptions.ServerVariable}.");
                return CliExitCodes.Usage;
            }

            if (!Uri.TryCreate(server, UriKind.Absolute, out var address) || address.Scheme is not ("http" or "https"))
            {
                await errors.WriteLineAsync($"error: --server '{server}' is not an http:// or https:// address.");
                return CliExitCodes.Usage;
            }

            using var session = new RemoteSession(address, options.KeyFrom(parsed), parsed.GetValue(options.Json), output, errors);
            try
            {
                return await run(session, parsed, cancellationToken);
            }
            catch (CliExitException exit)
            {
                return exit.ExitCode;
            }
        });
        return command;
    }
}
