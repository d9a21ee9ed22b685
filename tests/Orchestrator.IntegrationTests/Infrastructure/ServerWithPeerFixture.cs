using System.Globalization;

namespace Orchestrator.IntegrationTests.Infrastructure;

/// <summary>
/// A fixture with a server of its own, on a PostgreSQL database of its own, and a recording HTTP peer on 127.0.0.1 that
/// the server may call (127.0.0.1 is on its outbound allowlist). Subclasses name the database, add settings, and may
/// prepare more once both are up. The server runs in-process unless a subclass asks for the process tier.
/// </summary>
public abstract class ServerWithPeerFixture
{
    protected ITestServer Server { get; private set; } = null!;
    protected RecordingHttpServer Peer { get; private set; } = null!;
    protected HttpClient Admin { get; private set; } = null!;
    protected string Database { get; private set; } = null!;

    /// <summary>A short name for the fixture's database (made unique by <see cref="TestPostgres"/>).</summary>
    protected abstract string DatabaseName { get; }

    /// <summary>Server settings (environment variables) on top of the allowlisted loopback.</summary>
    protected virtual IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>();

    /// <summary>True for a fixture that needs the server as a separate OS process (the process tier).</summary>
    protected virtual bool SeparateProcess => false;

    /// <summary>Runs once the server is ready and <see cref="Admin"/> holds its printed admin key.</summary>
    protected virtual Task StartedAsync() => Task.CompletedTask;

    [OneTimeSetUp]
    public async Task StartServerAndPeerAsync()
    {
        Peer = await RecordingHttpServer.StartAsync();
        Database = await TestPostgres.CreateDatabaseAsync(DatabaseName);
        var settings = new Dictionary<string, string?>(Settings) { ["Orchestrator__Outbound__AllowedHosts__0"] = "127.0.0.1" };
        var environment = PostgresNode.Environment(Database, settings);
        Server = SeparateProcess ? ServerProcess.Start(environment) : InProcessServer.Start(environment);
        await Server.WaitUntilReadyAsync();
        Admin = Server.CreateClient(Server.PrintedAdminKey);
        await StartedAsync();
    }

    [OneTimeTearDown]
    public async Task StopServerAndPeerAsync()
    {
        Admin?.Dispose();
        if (Server is not null)
        {
            await Server.DisposeAsync();
        }

        if (Peer is not null)
        {
            await Peer.DisposeAsync();
        }
    }

    /// <summary>A one-time trigger's instant a second from now.</summary>
    protected static string InOneSecond() => TimeProvider.System.GetUtcNow().AddSeconds(1).ToString("O", CultureInfo.InvariantCulture);
}
