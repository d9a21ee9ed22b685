using System.Diagnostics;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Mvc.Testing;
using Microsoft.AspNetCore.TestHost;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Console;
using Npgsql;
using Orchestrator.Hosting;
using Orchestrator.Security;

namespace Orchestrator.IntegrationTests.Infrastructure;

/// <summary>
/// The server's real <c>Program</c> inside the test process (<see cref="WebApplicationFactory{TEntryPoint}"/>): the
/// settings a <see cref="ServerProcess"/> gets as environment variables arrive under the same keys as configuration
/// (the content root's appsettings.json), requests go through TestServer unless a test needs a real socket (a browser,
/// Kestrel's request-body limit, paths sent as written), and the output — the printed admin key and every log line, in
/// the console formatter's words — is captured per server. Many run side by side in one process, so nothing here may
/// touch process-wide state.
/// </summary>
public sealed partial class InProcessServer : ITestServer
{
    private readonly Factory factory;
    private readonly CapturedOutput output = new();
    private readonly int? port;
    private readonly Action<IServiceCollection>? configureServices;
    private bool started;

    private InProcessServer(IReadOnlyDictionary<string, string?> environment, string workingDirectory, bool listenOnLoopback, Action<IServiceCollection>? configureServices)
    {
        WorkingDirectory = workingDirectory;
        this.configureServices = configureServices;
        port = listenOnLoopback ? TestPostgres.FreePort() : null;
        WriteSettings(environment);
        factory = new Factory(this);

        if (port is { } p)
        {
            factory.UseKestrel(p);
        }
    }

    public Uri BaseAddress => port is { } p ? new Uri($"http://127.0.0.1:{p}") : factory.ClientOptions.BaseAddress;

    public string WorkingDirectory { get; }

    public string DefaultDataDirectory => ServerProcess.DefaultDataDirectoryOf(WorkingDirectory);

    public string Output => output.Text;

    public string? PrintedAdminKey => AdminKeyLine().Match(Output) is { Success: true } m ? m.Groups[1].Value : null;

    /// <summary>The server's services, for a test that reads state no endpoint shows.</summary>
    public IServiceProvider Services => factory.Services;

    /// <summary>
    /// Builds (but does not yet start) a server configured by <paramref name="environment"/>, written as the process
    /// tier writes it (<c>Orchestrator__Database__Provider</c>); a null value means "not set". With
    /// <paramref name="listenOnLoopback"/> it listens on 127.0.0.1 through Kestrel, for clients that are not an HttpClient.
    /// <paramref name="configureServices"/> adds to the server's services after its own (e.g. a test's telemetry exporter).
    /// </summary>
    public static InProcessServer Start(IReadOnlyDictionary<string, string?>? environment = null, string? workingDirectory = null, bool listenOnLoopback = false,
        Action<IServiceCollection>? configureServices = null) =>
        new(environment ?? new Dictionary<string, string?>(), workingDirectory ?? Directory.CreateTempSubdirectory("orchestrator-inproc-").FullName, listenOnLoopback, configureServices);

    /// <summary>Starts the host (migrations, admin key, scheduler) and waits for <c>/readyz</c>.</summary>
    public async Task WaitUntilReadyAsync(TimeSpan? within = null)
    {
        var limit = within ?? TimeSpan.FromSeconds(60);
        try
        {
            // Program runs to app.RunAsync() here: preparing the database and printing the key happen before it returns.
            await Task.Run(() =>
            {
                if (port is null)
                {
                    _ = factory.Server;
                }
                else
                {
                    factory.StartServer();
                }
            }).WaitAsync(limit);
            started = true;
        }
        catch (Exception ex) when (ex is not AssertionException)
        {

            Assert.Fail($"The in-process server did not start: {ex.Message}\nOutput:\n{Output}");
        }

        using var http = CreateClient();
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < limit)
        {
            using var response = await http.GetAsync("/readyz");
            if (response.IsSuccessStatusCode)
            {
                return;
            }

            await Task.Delay(100);
        }

        Assert.Fail($"The in-process server was not ready within {limit}. Output:\n{Output}");
    }

    public HttpClient CreateClient(string? apiKey = null)
    {
        var client = port is null
            ? factory.CreateClient(new WebApplicationFactoryClientOptions { AllowAutoRedirect = false })
            : new HttpClient { BaseAddress = BaseAddress };
        client.Timeout = TimeSpan.FromSeconds(30);
        if (apiKey is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", apiKey);
        }

        return client;
    }

    public async ValueTask DisposeAsync()
    {
        if (TestContext.CurrentContext.Result.Outcome.Status == NUnit.Framework.Interfaces.TestStatus.Failed)
        {
            await TestContext.Out.WriteLineAsync($"--- in-process server output ---\n{Output}");
        }

        if (started)
        {
            await StopAsync();
        }
        else
        {
            await factory.DisposeAsync();
        }

        // Every stopped server leaves its pools' idle connections open in this test process (Npgsql keeps them for five
        // minutes), one pool per fixture database and connection string: across the run they would fill the test
        // PostgreSQL's max_connections. Busy connections of servers still running close when returned, not before.
        NpgsqlConnection.ClearAllPools();
    }

    /// <summary>
    /// Stops the host the way SIGTERM does, through the application lifetime, so <c>Program</c>'s own
    /// <c>app.RunAsync()</c> runs the one shutdown and then disposes the host. The factory is not disposed after it:
    /// its DisposeAsync would stop the host a second time (finding Quartz shut down, or the host disposed), and
    /// disposing it instead of this would stop the host from outside while <c>RunAsync</c> stops it too.
    /// </summary>
    private async Task StopAsync()
    {
        var lifetime = factory.Services.GetRequiredService<IHostApplicationLifetime>();
        var stopped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var registration = lifetime.ApplicationStopped.Register(stopped.SetResult);
        lifetime.StopApplication();
        await stopped.Task.WaitAsync(TimeSpan.FromSeconds(90));
    }

    /// <summary>
    /// The settings go where the binary reads them from its content root (appsettings.json, under every other source
    /// but the shipped defaults), with the same keys: the factory hands host settings to <c>Program</c> as command-line
    /// arguments, and the parent sections of a nested key would arrive there as bare '--Orchestrator=' options, which
    /// the command line rightly refuses.
    /// </summary>
    private void WriteSettings(IReadOnlyDictionary<string, string?> environment)
    {
        var settings = new SortedDictionary<string, string>(StringComparer.OrdinalIgnoreCase)
        {
            // A process gets its own XDG_DATA_HOME; in one process the per-user default would be the developer's own
            // home, so a server that names no data directory gets the one its process twin would have.
            ["Orchestrator:DataDirectory"] = DefaultDataDirectory,
        };
        foreach (var (key, value) in environment)
        {
            var name = key.Replace("__", ":", StringComparison.Ordinal);
            if (value is null)
            {
                settings.Remove(name);
            }
            else
            {
                settings[name] = value;
            }
        }

        File.WriteAllText(Path.Combine(WorkingDirectory, "appsettings.json"), JsonSerializer.Serialize(settings));
    }

    [GeneratedRegex(@"Admin API key: (orch_[A-Za-z0-9_\-]+)")]
    private static partial Regex AdminKeyLine();

    private sealed class Factory(InProcessServer server) : WebApplicationFactory<Program>
    {
        protected override void ConfigureWebHost(IWebHostBuilder builder)
        {
            // As the process tier runs it: no ASPNETCORE_ENVIRONMENT, so Production; data paths relative to its own directory.
            builder.UseEnvironment("Production");
            builder.UseContentRoot(server.WorkingDirectory);
            builder.ConfigureTestServices(services =>
            {
                // The console stays the test runner's; this server's console and logs go to its own captured output.
                services.RemoveAll<ILoggerProvider>();
                services.AddSingleton(sp => server.output.LoggerProvider(sp.GetServices<ConsoleFormatter>().First(f => f.Name == ConsoleFormatterNames.Simple)));
                services.PostConfigure<SimpleConsoleFormatterOptions>(o => o.ColorBehavior = LoggerColorBehavior.Disabled);
                services.RemoveAll<AdminKeyBootstrap>();
                services.AddSingleton(sp => new AdminKeyBootstrap(sp.GetRequiredService<IServiceScopeFactory>(), sp.GetRequiredService<StorageChoice>(), server.output.Console));
                server.configureServices?.Invoke(services);
            });
        }
    }
}
