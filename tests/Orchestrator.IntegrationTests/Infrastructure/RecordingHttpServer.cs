using System.Collections.Concurrent;
using System.Diagnostics;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Orchestrator.IntegrationTests.Infrastructure;

/// <summary>A real HTTP server on 127.0.0.1 that records every request it receives and can be told to be slow or to fail.</summary>
public sealed class RecordingHttpServer : IAsyncDisposable
{
    private readonly WebApplication app;
    private readonly ConcurrentQueue<RecordedRequest> requests = new();
    private readonly ConcurrentDictionary<string, Behaviour> behaviours = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, int> inFlightByPath = new(StringComparer.Ordinal);
    private readonly Stopwatch clock = Stopwatch.StartNew();
    private int inFlight;
    private int maxInFlight;

    public sealed record RecordedRequest(string Method, string Path, string? IdempotencyKey, IReadOnlyDictionary<string, string> Headers, string Body, TimeSpan Started, TimeSpan Finished, bool Aborted);

    /// <summary>
    /// How a path answers; <paramref name="Body"/> replaces the default JSON body; <paramref name="Location"/> is sent
    /// as the Location header (with a 3xx <paramref name="Status"/>, a redirect); <paramref name="StreamBytes"/> &gt; 0
    /// sends that many bytes instead of a body, in 256 KiB chunks <paramref name="ChunkDelay"/> apart. With
    /// <paramref name="Hold"/> the answer waits (after the delay) until that task completes, so a test decides when a
    /// request finishes.
    /// </summary>
    public sealed record Behaviour(TimeSpan Delay, int Status = 200, int FailFirst = 0, string? Body = null, Task? Hold = null,
        string? Location = null, long StreamBytes = 0, TimeSpan ChunkDelay = default);

    private RecordingHttpServer(WebApplication app) => this.app = app;

    public string BaseUrl { get; private set; } = "";

    public IReadOnlyList<RecordedRequest> Requests => [.. requests];

    public int MaxInFlight => Volatile.Read(ref maxInFlight);

    public IReadOnlyList<RecordedRequest> RequestsTo(string path) => [.. requests.Where(r => r.Path == path)];

    /// <summary>Now on the clock <see cref="RecordedRequest.Started"/> and <see cref="RecordedRequest.Finished"/> are read on.</summary>
    public TimeSpan Elapsed => clock.Elapsed;

    public void Configure(string path, Behaviour behaviour) => behaviours[path] = behaviour;

    public static async Task<RecordingHttpServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var server = new RecordingHttpServer(app);
        app.Run(server.HandleAsync);
        await app.StartAsync();
        server.BaseUrl = app.Urls.First();
        return server;
    }

    private async Task HandleAsync(HttpContext context)
    {
        var started = clock.Elapsed;
        var now = Interlocked.Increment(ref inFlight);
        int seen;
        while ((seen = Volatile.Read(ref maxInFlight)) < now && Interlocked.CompareExchange(ref maxInFlight, now, seen) != seen)
        {
        }

        using var reader = new StreamReader(context.Request.Body);
        var body = await reader.ReadToEndAsync();
        var path = context.Request.Path.Value ?? "/";
        inFlightByPath.AddOrUpdate(path, 1, (_, n) => n + 1);
        var behaviour = behaviours.GetValueOrDefault(path, new Behaviour(TimeSpan.Zero));
        var aborted = false;
        try
        {
            if (behaviour.Delay > TimeSpan.Zero)
            {
                await Task.Delay(behaviour.Delay, context.RequestAborted);
            }

            if (behaviour.Hold is { } hold)
            {
                await hold.WaitAsync(context.RequestAborted);
            }

            var previousCalls = requests.Count(r => r.Path == path);
            context.Response.StatusCode = previousCalls < behaviour.FailFirst ? 500 : behaviour.Status;
            context.Response.ContentType = "application/json";
            if (behaviour.Location is not null)
            {
                context.Response.Headers.Location = behaviour.Location;
            }

            if (behaviour.StreamBytes > 0)
            {
                context.Response.ContentType = "text/plain; charset=utf-8";
                var chunk = new byte[256 * 1024];
                Array.Fill(chunk, (byte)'x');
                for (long sent = 0; sent < behaviour.StreamBytes; sent += chunk.Length)
                {
                    await context.Response.Body.WriteAsync(chunk.AsMemory(0, (int)Math.Min(chunk.Length, behaviour.StreamBytes - sent)), context.RequestAborted);
                    await context.Response.Body.FlushAsync(context.RequestAborted);
                    await Task.Delay(behaviour.ChunkDelay, context.RequestAborted);
                }

                return;
            }

            // Paths under /echo/ send back the Authorization header they received, so a test can see what a secret became.
            var answer = behaviour.Body ?? (path.StartsWith("/echo/", StringComparison.Ordinal)
                ? System.Text.Json.JsonSerializer.Serialize(new { path, n = previousCalls + 1, authorization = context.Request.Headers.Authorization.ToString() })
                : $$"""{"path":"{{path}}","n":{{previousCalls + 1}}}""");
            await context.Response.WriteAsync(answer);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException)
        {
            // The client went away (a cancel, a timeout, or a reader that stopped at its limit).
            aborted = true;
        }
        finally
        {
            Interlocked.Decrement(ref inFlight);
            inFlightByPath.AddOrUpdate(path, 0, (_, n) => n - 1);
            requests.Enqueue(new RecordedRequest(
                context.Request.Method, path, context.Request.Headers["Idempotency-Key"].FirstOrDefault(),
                context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase),
                body, started, clock.Elapsed, aborted));
        }
    }

    /// <summary>
    /// Waits until at least <paramref name="count"/> requests to the path are done or, with
    /// <paramref name="includeInFlight"/>, done or in flight. Only requests to that path count: a request still in
    /// flight elsewhere (an earlier step) must not satisfy the wait.
    /// </summary>
    public async Task WaitForRequestsAsync(string path, int count, TimeSpan within, bool includeInFlight = false)
    {
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < within)
        {
            if (requests.Count(r => r.Path == path) + (includeInFlight ? InFlightTo(path) : 0) >= count)
            {
                return;
            }

            await Task.Delay(100);
        }

        Assert.Fail($"Expected {count} request(s) to {path} within {within}; saw {requests.Count(r => r.Path == path)}.");
    }

    public int InFlight => Volatile.Read(ref inFlight);

    /// <summary>Requests to the path that have arrived and not been answered yet.</summary>
    public int InFlightTo(string path) => inFlightByPath.GetValueOrDefault(path);

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
