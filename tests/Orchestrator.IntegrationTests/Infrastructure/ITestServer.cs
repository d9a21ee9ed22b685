namespace Orchestrator.IntegrationTests.Infrastructure;

/// <summary>
/// What a fixture needs from a running server, whichever tier runs it: a client, the output (console and logs, as the
/// console formatter writes them, so <see cref="ServerLog"/> reads both the same way), the admin key it printed, and
/// its working directory.
/// </summary>
public interface ITestServer : IAsyncDisposable
{
    /// <summary>Where a client reaches it (TestServer's base address in-process; the loopback URL otherwise).</summary>
    Uri BaseAddress { get; }

    string WorkingDirectory { get; }

    /// <summary>The data directory a server that names none uses (inside its working directory, never the real home).</summary>
    string DefaultDataDirectory { get; }

    string Output { get; }

    string? PrintedAdminKey { get; }

    Task WaitUntilReadyAsync(TimeSpan? within = null);

    HttpClient CreateClient(string? apiKey = null);
}
