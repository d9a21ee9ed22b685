using System.Diagnostics;
using System.Net.Sockets;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Hosting;

/// <summary>The binary's command line, run as an operator runs it: <c>dotnet Orchestrator.dll …</c>.</summary>
[TestFixture]
public sealed class CommandLineTests
{
    private sealed record Finished(int ExitCode, string Stdout, string Stderr, string WorkingDirectory, int Port);

    /// <summary>Runs the binary with a free port on its command line and its own per-user data directory; kills it if it is still running after the deadline.</summary>
    private static async Task<Finished> RunAsync(params string[] arguments)
    {
        var port = TestPostgres.FreePort();
        var workingDirectory = Directory.CreateTempSubdirectory("orchestrator-cli-").FullName;
        var info = new ProcessStartInfo("dotnet") { WorkingDirectory = workingDirectory, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in (string[])[ServerProcess.ServerDll, .. arguments, "--urls", $"http://127.0.0.1:{port}"])
        {
            info.ArgumentList.Add(argument);
        }

        foreach (var key in info.Environment.Keys.Where(k => k.StartsWith("Orchestrator__", StringComparison.OrdinalIgnoreCase)).ToList())
        {
            info.Environment.Remove(key);
        }

        info.Environment["XDG_DATA_HOME"] = Path.Combine(workingDirectory, "xdg-data");
        using var process = Process.Start(info)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var deadline = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        try
        {
            await process.WaitForExitAsync(deadline.Token);
        }
        catch (OperationCanceledException)
        {
            var listening = IsListening(port);
            process.Kill(entireProcessTree: true);
            Assert.Fail($"'{string.Join(' ', arguments)}' was still running after 30 s (listening on its port: {listening}): it started a server.\n{await stdout}\n{await stderr}");
        }

        return new Finished(process.ExitCode, await stdout, await stderr, workingDirectory, port);
    }

    private static bool IsListening(int port)
    {
        using var client = new TcpClient();
        try
        {
            client.Connect("127.0.0.1", port);
            return true;
        }
        catch (SocketException)
        {
            return false;
        }
    }

    [TestCase("--help")]
    [TestCase("-h")]
    [TestCase("migrate", "--help")]
    [TestCase("serve", "--help")]
    [TestCase("keys", "create", "--help")]
    [TestCase("schedules", "create", "-h")]
    [TestCase("runs", "watch", "--help")]
    public async Task Help_prints_usage_and_exits_0_without_starting_a_server_or_touching_the_database(params string[] arguments)
    {
        var run = await RunAsync(arguments);
        Assert.That(run.ExitCode, Is.Zero, run.Stderr);
        Assert.That(run.Stdout, Does.Contain("Usage:").And.Contain($"Orchestrator {string.Join(' ', arguments[..^1])}".TrimEnd()));
        Assert.That(IsListening(run.Port), Is.False);
        Assert.That(Directory.Exists(ServerProcess.DefaultDataDirectoryOf(run.WorkingDirectory)), Is.False, "no database was created or opened");
    }

    [TestCase("'frobnicate'", "frobnicate")]
    [TestCase("'frob'", "keys", "frob")]
    [TestCase("'--frobnicate'", "--frobnicate")]
    [TestCase("'--verbose'", "--verbose", "true")]
    [TestCase("'now'", "migrate", "now")]
    public async Task Unknown_verb_or_option_exits_2_with_usage_on_stderr_instead_of_serving(string named, params string[] arguments)
    {
        var run = await RunAsync(arguments);
        Assert.That(run.ExitCode, Is.EqualTo(2), run.Stdout + run.Stderr);
        Assert.That(run.Stderr, Does.Contain(named).And.Contain("Usage:").And.Contain("Orchestrator"));
        Assert.That(Directory.Exists(ServerProcess.DefaultDataDirectoryOf(run.WorkingDirectory)), Is.False, "no database was created or opened");
    }

    [TestCase("'--role' is required", "keys", "create")]
    [TestCase("control characters", "keys", "create", "--role", "admin", "--name", "a\nb")]
    public async Task Keys_create_with_bad_arguments_exits_2_without_creating_the_database(string said, params string[] arguments)
    {
        var run = await RunAsync(arguments);
        Assert.That(run.ExitCode, Is.EqualTo(2), run.Stdout + run.Stderr);
        Assert.That(run.Stderr, Does.Contain(said).And.Contain("Usage:").And.Contain("Orchestrator keys create"));
        Assert.That(Directory.Exists(ServerProcess.DefaultDataDirectoryOf(run.WorkingDirectory)), Is.False, "no database was created or opened");
    }

    [Test]
    public async Task Configuration_arguments_still_configure_the_server()
    {
        // '--Key Value' and '--Key=Value' for settings, '--environment' and '--urls' for the host.
        await using var server = ServerProcess.Start(null, null, "--environment", "Production", "--Orchestrator:DataDirectory", "state", "--Logging:LogLevel:Default=Warning");
        await server.WaitUntilReadyAsync();
        Assert.That(File.Exists(Path.Combine(server.WorkingDirectory, "state", "orchestrator.db")), Is.True, server.Output);
    }
}
