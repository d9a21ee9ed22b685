using System.Diagnostics;
using System.Net.Sockets;

namespace Orchestrator.IntegrationTests.Infrastructure;

/// <summary>
/// A real SMTP server on 127.0.0.1: Debian's aiosmtpd in its own process, delivering into a maildir the test reads.
/// <c>.ci/run</c> installs it; without it the email tests fail under CI=true and are skipped elsewhere.
/// </summary>
public sealed class LoopbackSmtpServer : IAsyncDisposable
{
    private readonly Process process;

    private LoopbackSmtpServer(Process process, int port, string maildir)
    {
        this.process = process;
        Port = port;
        Maildir = maildir;
    }

    public int Port { get; }

    public string Maildir { get; }

    public static async Task<LoopbackSmtpServer> StartAsync()
    {
        const string python = "/usr/bin/python3";
        if (!File.Exists(python) || RunQuietly(python, "-c \"import aiosmtpd\"") != 0)
        {
            var message = "aiosmtpd is not installed (apt-get install python3-aiosmtpd); .ci/run installs it.";
            if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
            {
                Assert.Fail(message);
            }

            Assert.Ignore(message);
        }

        var port = TestPostgres.FreePort();
        var maildir = Directory.CreateTempSubdirectory("orchestrator-maildir-").FullName;
        foreach (var sub in new[] { "tmp", "new", "cur" })
        {
            Directory.CreateDirectory(Path.Combine(maildir, sub));
        }

        var info = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "-m", "aiosmtpd", "-n", "-l", $"127.0.0.1:{port}", "-c", "aiosmtpd.handlers.Mailbox", maildir })
        {
            info.ArgumentList.Add(argument);
        }

        var process = Process.Start(info)!;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(15))
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync("127.0.0.1", port);
                return new LoopbackSmtpServer(process, port, maildir);
            }
            catch (SocketException)
            {
                await Task.Delay(100);
            }
        }

        process.Kill();
        Assert.Fail("aiosmtpd did not start listening within 15 s.");
        return null!;
    }

    /// <summary>The raw messages delivered so far (maildir new/ and cur/).</summary>
    public IReadOnlyList<string> Messages()
    {
        var files = new[] { "new", "cur" }.Select(d => Path.Combine(Maildir, d)).Where(Directory.Exists).SelectMany(Directory.GetFiles);
        return [.. files.Select(File.ReadAllText)];
    }

    private static int RunQuietly(string file, string arguments)
    {
        using var p = Process.Start(new ProcessStartInfo(file, arguments) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        p.WaitForExit();
        return p.ExitCode;
    }

    public ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            process.Kill();
        }

        process.Dispose();
        return ValueTask.CompletedTask;
    }
}
