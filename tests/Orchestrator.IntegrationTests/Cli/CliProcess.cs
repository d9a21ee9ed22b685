using System.Diagnostics;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Cli;

/// <summary>The binary run as an operator's CLI (<c>dotnet Orchestrator.dll schedules list …</c>), stdout and stderr apart.</summary>
public static class CliProcess
{
    public sealed record Finished(int ExitCode, string Stdout, string Stderr)
    {
        public override string ToString() => $"exit {ExitCode}\n--- stdout ---\n{Stdout}\n--- stderr ---\n{Stderr}";
    }

    /// <summary>
    /// Runs the CLI to completion; <paramref name="environment"/> entries with a null value are removed from the inherited
    /// environment (so a developer's ORCHESTRATOR_SERVER or ORCHESTRATOR_KEY never leaks into a test).
    /// </summary>
    public static async Task<Finished> RunAsync(IReadOnlyDictionary<string, string?>? environment, params string[] arguments)
    {
        var workingDirectory = Directory.CreateTempSubdirectory("orchestrator-cli-").FullName;
        var info = new ProcessStartInfo("dotnet") { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        info.ArgumentList.Add(ServerProcess.ServerDll);
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("Orchestrator__", StringComparison.OrdinalIgnoreCase) || k.StartsWith("ORCHESTRATOR_", StringComparison.Ordinal)).ToList())
        {
            info.Environment.Remove(key);
        }

        info.Environment["XDG_DATA_HOME"] = Path.Combine(workingDirectory, "xdg-data");
        foreach (var (key, value) in environment ?? new Dictionary<string, string?>())
        {
            if (value is null)
            {
                info.Environment.Remove(key);
            }
            else
            {
                info.Environment[key] = value;
            }
        }

        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            Assert.Fail($"'{string.Join(' ', arguments)}' did not finish within 90 s.\n{await stdout}\n{await stderr}");
        }

        return new Finished(process.ExitCode, await stdout, await stderr);
    }
}
