using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Orchestrator.Actions;

namespace Orchestrator.Tools;

/// <summary>A process to start from an argv array: no shell, an explicit environment (nothing inherited), a working directory and a time limit.</summary>
public sealed record ProcessRequest(IReadOnlyList<string> Argv, string WorkingDirectory, IReadOnlyDictionary<string, string> Environment, TimeSpan Timeout, string? StandardInput = null);

/// <summary>
/// Runs a process for a tool and records exit code, stdout and stderr (each capped), and duration. A process past its
/// time limit, or whose run is cancelled, is killed with its whole process tree.
/// </summary>
public static class ProcessRunner
{
    public const int MaxOutputChars = 64 * 1024;

    public static async Task<ActionOutcome> RunAsync(ProcessRequest request, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo
        {
            FileName = request.Argv[0],
            WorkingDirectory = request.WorkingDirectory,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var argument in request.Argv.Skip(1))
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment.Clear();
        foreach (var (name, value) in request.Environment)
        {
            info.Environment[name] = value;
        }

        var clock = Stopwatch.StartNew();
        using var process = new Process { StartInfo = info };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new ActionFailedException($"Could not start '{request.Argv[0]}': {ex.Message}");
        }

        var stdout = ReadCappedAsync(process.StandardOutput);
        var stderr = ReadCappedAsync(process.StandardError);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(request.Timeout);
        try
        {
            if (request.StandardInput is { } input)
            {
                await process.StandardInput.WriteAsync(input.AsMemory(), limit.Token);
            }

            process.StandardInput.Close();
            await process.WaitForExitAsync(limit.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException)
        {
            // IOException: the process closed its stdin early (e.g. it exited); that is its business, not a failure of ours.
            if (ex is IOException)
            {
                await process.WaitForExitAsync(limit.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }

            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync(CancellationToken.None);
                cancellationToken.ThrowIfCancellationRequested();
                throw new ActionFailedException($"'{request.Argv[0]}' timed out after {request.Timeout.TotalSeconds:0} s and was killed.",
                    Result(-1, await stdout, await stderr, clock.Elapsed));
            }
        }

        var result = Result(process.ExitCode, await stdout, await stderr, clock.Elapsed);
        return process.ExitCode == 0
            ? new ActionOutcome(true, result)
            : new ActionOutcome(false, result, $"'{request.Argv[0]}' exited with code {process.ExitCode}.");
    }

    private static JsonObject Result(int exitCode, (string Text, bool Truncated) stdout, (string Text, bool Truncated) stderr, TimeSpan elapsed) => new()
    {
        ["exitCode"] = exitCode,
        ["stdout"] = stdout.Text,
        ["stderr"] = stderr.Text,
        ["truncated"] = stdout.Truncated || stderr.Truncated,
        ["durationMs"] = (long)elapsed.TotalMilliseconds,
    };

    private static async Task<(string Text, bool Truncated)> ReadCappedAsync(StreamReader reader)
    {
        var text = new StringBuilder();
        var buffer = new char[8192];
        var truncated = false;
        int read;
        while ((read = await reader.ReadAsync(buffer)) > 0)
        {
            var room = MaxOutputChars - text.Length;
            if (room > 0)
            {
                text.Append(buffer, 0, Math.Min(room, read));
            }

            // Keep draining past the cap, or a chatty process would block on a full pipe.
            truncated |= read > room;
        }

        return (text.ToString(), truncated);
    }
}
