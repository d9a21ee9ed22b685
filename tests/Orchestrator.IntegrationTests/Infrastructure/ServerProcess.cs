using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text;
using System.Text.RegularExpressions;

namespace Orchestrator.IntegrationTests.Infrastructure;

/// <summary>
/// The Orchestrator server as a separate OS process, started the way an operator starts it
/// (<c>dotnet Orchestrator.dll</c>), configured only through environment variables and arguments.
/// <see cref="Kill"/> is SIGKILL: no shutdown hooks run.
/// </summary>
public sealed partial class ServerProcess : ITestServer
{
    private readonly Process process;
    private readonly StringBuilder output = new();
    private readonly Lock gate = new();

    private ServerProcess(Process process, int port, string workingDirectory)
    {
        this.process = process;
        Port = port;
        WorkingDirectory = workingDirectory;
        BaseAddress = new Uri($"http://127.0.0.1:{port}");
    }

    public int Port { get; }

    public Uri BaseAddress { get; }

    public string WorkingDirectory { get; }

    /// <summary>
    /// Where a server started without <c>Orchestrator:DataDirectory</c> keeps its data: the per-user default under this
    /// process's own <c>XDG_DATA_HOME</c> (inside its working directory), never the developer's real home.
    /// </summary>
    public string DefaultDataDirectory => DefaultDataDirectoryOf(WorkingDirectory);

    public static string DefaultDataDirectoryOf(string workingDirectory) => Path.Combine(workingDirectory, "xdg-data", "orchestrator");

    public bool HasExited => process.HasExited;

    public int ExitCode => process.ExitCode;

    public string Output
    {
        get
        {
            lock (gate)
            {
                return output.ToString();
            }
        }
    }

    /// <summary>The admin key the server printed on its first start, if it printed one.</summary>
    public string? PrintedAdminKey => AdminKeyLine().Match(Output) is { Success: true } m ? m.Groups[1].Value : null;

    public static string ServerDll
    {
        get
        {
            var root = RepositoryRoot();
            var configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
            var dll = Path.Combine(root, "src", "Orchestrator", "bin", configuration, "net10.0", "Orchestrator.dll");
            return File.Exists(dll) ? dll : throw new FileNotFoundException("Build the server first.", dll);
        }
    }

    /// <summary>Starts the server; environment entries with a null value are removed from the inherited environment.</summary>
    public static ServerProcess Start(IReadOnlyDictionary<string, string?>? environment = null, string? workingDirectory = null, params string[] arguments)
    {
        var port = TestPostgres.FreePort();
        workingDirectory ??= Directory.CreateTempSubdirectory("orchestrator-node-").FullName;
        return Launch([ServerDll, "--urls", $"http://127.0.0.1:{port}", .. arguments], environment, workingDirectory, port);
    }

    /// <summary>Runs a one-shot command of the server binary (<c>migrate</c>, <c>keys create</c>) to completion.</summary>
    public static async Task<(int ExitCode, string Output)> RunCommandAsync(IReadOnlyDictionary<string, string?>? environment, string workingDirectory, params string[] arguments)
    {
        await using var server = Launch([ServerDll, .. arguments], environment, workingDirectory, 0);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(60));
        await server.process.WaitForExitAsync(timeout.Token);
        server.process.WaitForExit(); // drains the output readers
        return (server.process.ExitCode, server.Output);
    }

    private static ServerProcess Launch(string[] arguments, IReadOnlyDictionary<string, string?>? environment, string workingDirectory, int port)
    {
        var info = new ProcessStartInfo("dotnet")
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        // The test runner's own environment must not leak configuration into "no configuration" starts.
        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("Orchestrator__", StringComparison.OrdinalIgnoreCase) || k.StartsWith("ASPNETCORE_", StringComparison.Ordinal) || k == "DOTNET_ENVIRONMENT").ToList())
        {
            info.Environment.Remove(key);
        }

        info.Environment["TZ"] = TestPostgres.SessionTimeZone;
        // The server's default data directory is per-user (LocalApplicationData = $XDG_DATA_HOME on Linux): a test
        // server that sets no DataDirectory must write into its own working directory, not the developer's home.
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

        var process = new Process { StartInfo = info, EnableRaisingEvents = true };
        var server = new ServerProcess(process, port, workingDirectory);
        process.OutputDataReceived += (_, e) => server.Append(e.Data);
        process.ErrorDataReceived += (_, e) => server.Append(e.Data);
        process.Start();
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return server;
    }

    /// <summary>Polls <c>/readyz</c> until it answers 200; fails with the server's output if it exits or the deadline passes.</summary>
    public async Task WaitUntilReadyAsync(TimeSpan? within = null)
    {
        using var http = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(5) };
        var deadline = Stopwatch.StartNew();
        var limit = within ?? TimeSpan.FromSeconds(60);
        while (deadline.Elapsed < limit)
        {
            if (process.HasExited)
            {
                Assert.Fail($"The server exited with code {process.ExitCode} before it was ready. Output:\n{Output}");
            }

            try
            {
                using var response = await http.GetAsync("/readyz");
                if (response.IsSuccessStatusCode)
                {
                    return;
                }
            }
            catch (HttpRequestException)
            {
            }
            catch (TaskCanceledException)
            {
            }

            await Task.Delay(200);
        }

        Assert.Fail($"The server was not ready within {limit}. Output:\n{Output}");
    }

    public async Task<int> WaitForExitAsync(TimeSpan within)
    {
        using var timeout = new CancellationTokenSource(within);
        await process.WaitForExitAsync(timeout.Token);
        process.WaitForExit();
        return process.ExitCode;
    }

    public HttpClient CreateClient(string? apiKey = null)
    {
        var client = new HttpClient { BaseAddress = BaseAddress, Timeout = TimeSpan.FromSeconds(30) };
        if (apiKey is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }

        return client;
    }

    /// <summary>SIGTERM, as systemd or Ctrl+C sends: a graceful shutdown. Returns the exit code.</summary>
    public async Task<int> StopGracefullyAsync(TimeSpan within)
    {
        using (var kill = Process.Start("kill", ["-TERM", process.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)]))
        {
            await kill!.WaitForExitAsync();
        }

        return await WaitForExitAsync(within);
    }

    /// <summary>SIGKILL: the node dies without checking out of the cluster or finishing anything.</summary>
    public void Kill()
    {
        if (!process.HasExited)
        {
            process.Kill(entireProcessTree: true);
            process.WaitForExit();
        }
    }

    public async ValueTask DisposeAsync()
    {
        Kill();
        if (TestContext.CurrentContext.Result.Outcome.Status == NUnit.Framework.Interfaces.TestStatus.Failed)
        {
            await TestContext.Out.WriteLineAsync($"--- server :{Port} output ---\n{Output}");
        }

        process.Dispose();
    }

    private void Append(string? line)
    {
        if (line is null)
        {
            return;
        }

        lock (gate)
        {
            output.AppendLine(line);
        }
    }

    private static string RepositoryRoot()
    {
        var directory = new DirectoryInfo(AppContext.BaseDirectory);
        while (directory is not null && !File.Exists(Path.Combine(directory.FullName, "Orchestrator.sln")))
        {
            directory = directory.Parent;
        }

        return directory?.FullName ?? throw new InvalidOperationException("Orchestrator.sln not found above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex(@"Admin API key: (orch_[A-Za-z0-9_\-]+)")]
    private static partial Regex AdminKeyLine();
}
