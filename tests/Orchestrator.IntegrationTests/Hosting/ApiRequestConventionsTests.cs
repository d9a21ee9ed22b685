using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Hosting;

/// <summary>What every /api route answers before its handler runs: who is asking first, then whether the body can be read.</summary>
[TestFixture]
[NonParallelizable]
public sealed class ApiRequestConventionsTests
{
    private ServerProcess server = null!;
    private HttpClient anonymous = null!;
    private HttpClient admin = null!;
    private HttpClient viewer = null!;
    private List<(string Method, string Path, bool JsonBodyRequired)> routes = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        server = ServerProcess.Start();
        await server.WaitUntilReadyAsync();
        anonymous = server.CreateClient();
        admin = server.CreateClient(server.PrintedAdminKey);
        var (exitCode, output) = await ServerProcess.RunCommandAsync(null, server.WorkingDirectory, "keys", "create", "--role", "viewer");
        Assert.That(exitCode, Is.Zero, output);
        viewer = server.CreateClient(output.Split('\n').Select(l => l.Trim()).Single(l => l.StartsWith("orch_", StringComparison.Ordinal)));

        // Every /api operation of the OpenAPI document, with its path parameters filled in.
        using var document = JsonDocument.Parse(await anonymous.GetStringAsync("/openapi/v1.json"));
        routes = [];
        foreach (var path in document.RootElement.GetProperty("paths").EnumerateObject().Where(p => p.Name.StartsWith("/api/", StringComparison.Ordinal)))
        {
            foreach (var operation in path.Value.EnumerateObject().Where(o => o.Name is "get" or "post" or "put" or "delete"))
            {
                var jsonBody = operation.Value.TryGetProperty("requestBody", out var body)
                    && body.TryGetProperty("required", out var required) && required.GetBoolean()
                    && body.GetProperty("content").EnumerateObject().Any(c => c.Name.Contains("json", StringComparison.Ordinal));
                routes.Add((operation.Name.ToUpperInvariant(), Fill(path.Name), jsonBody));
            }
        }

        Assert.That(routes.Count(r => r.JsonBodyRequired), Is.GreaterThan(10), "the document lists the routes that take a JSON body");
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        anonymous?.Dispose();
        admin?.Dispose();
        viewer?.Dispose();
        if (server is not null)
        {
            await server.DisposeAsync();
        }
    }

    private static string Fill(string template) => template
        .Replace("{runId}", Guid.NewGuid().ToString(), StringComparison.Ordinal)
        .Replace("{path}", "a.txt", StringComparison.Ordinal)
        .Replace("{id}", "default", StringComparison.Ordinal)
        .Replace("{name}", "files.read", StringComparison.Ordinal);

    private static HttpRequestMessage Request(string method, string path, string? body, string contentType) =>
        new(new HttpMethod(method), path) { Content = body is null ? null : new StringContent(body, Encoding.UTF8, contentType) };

    [Test]
    public async Task Unauthenticated_text_plain_write_is_401_not_415()
    {
        var wrong = new List<string>();
        foreach (var (method, path, _) in routes)
        {
            using var response = await anonymous.SendAsync(Request(method, path, method is "GET" or "DELETE" ? null : "x", "text/plain"));
            if (response.StatusCode != HttpStatusCode.Unauthorized)
            {
                wrong.Add($"{method} {path}: {(int)response.StatusCode}");
            }
        }

        Assert.That(wrong, Is.Empty, "no key: 401 on every /api route, whatever the body");
        await ApiAssertions.AssertProblemAsync(await anonymous.SendAsync(Request("POST", "/api/schedules", "x", "text/plain")), HttpStatusCode.Unauthorized);
    }

    [Test]
    public async Task Unauthenticated_request_for_a_missing_route_or_method_is_401_not_404_or_405()
    {
        await ApiAssertions.AssertProblemAsync(await anonymous.GetAsync("/api/no-such-thing"), HttpStatusCode.Unauthorized);
        await ApiAssertions.AssertProblemAsync(await anonymous.SendAsync(Request("PATCH", "/api/projects", "{}", "application/json")), HttpStatusCode.Unauthorized);
    }

    [Test]
    public async Task Viewer_text_plain_write_to_an_admin_route_is_403_not_415()
    {
        await ApiAssertions.AssertProblemAsync(await viewer.SendAsync(Request("POST", "/api/schedules", "x", "text/plain")), HttpStatusCode.Forbidden);
        var problem = await ApiAssertions.AssertProblemAsync(await admin.SendAsync(Request("POST", "/api/schedules", "x", "text/plain")), HttpStatusCode.UnsupportedMediaType);
        Assert.That(problem.GetProperty("detail").GetString(), Does.Contain("text/plain"));
    }

    [TestCase("", "empty")]
    [TestCase("null", "null")]
    [TestCase(" \n null ", "null")]
    [TestCase(" \r\n ", "empty")]
    public async Task Empty_or_null_body_says_a_JSON_object_body_is_required_on_every_route_that_takes_one(string body, string said)
    {
        var wrong = new List<string>();
        foreach (var (method, path, _) in routes.Where(r => r.JsonBodyRequired))
        {
            using var response = await admin.SendAsync(Request(method, path, body, "application/json"));
            var text = await response.Content.ReadAsStringAsync();
            if (response.StatusCode != HttpStatusCode.BadRequest || response.Content.Headers.ContentType?.MediaType != "application/problem+json"
                || !text.Contains("A JSON object body is required", StringComparison.Ordinal) || !text.Contains(said, StringComparison.Ordinal)
                || !text.Contains("\"body\"", StringComparison.Ordinal))
            {
                wrong.Add($"{method} {path}: {(int)response.StatusCode} {text}");
            }
        }

        Assert.That(wrong, Is.Empty);
    }

    [TestCase("/api/schedules/%00")]
    [TestCase("/api/projects/x/files/%00")]
    [TestCase("/api/runs/a%00b")]
    public async Task Nul_in_a_route_answers_a_problem_body_not_an_empty_400(string path)
    {
        // Kestrel refuses the request line itself, before any middleware; the answer still says what was wrong.
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", server.Port);
        await using var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes($"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"));
        using var reader = new StreamReader(stream, Encoding.ASCII);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        var raw = await reader.ReadToEndAsync(timeout.Token);

        Assert.That(raw, Does.StartWith("HTTP/1.1 400 "));
        Assert.That(raw, Does.Contain("Content-Type: application/problem+json"));
        var body = raw[(raw.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..];
        using var problem = JsonDocument.Parse(body);
        Assert.That(problem.RootElement.GetProperty("status").GetInt32(), Is.EqualTo(400));
        Assert.That(problem.RootElement.GetProperty("detail").GetString(), Does.Contain("%00"));
        Assert.That(raw, Does.Contain($"Content-Length: {Encoding.UTF8.GetByteCount(body)}"));
    }

    [Test]
    public async Task Api_responses_are_no_store_and_no_response_names_the_server()
    {
        foreach (var response in new[]
        {
            await admin.GetAsync("/api/projects"), await admin.GetAsync("/api/schedules/nope"), await anonymous.GetAsync("/api/projects"),
            await anonymous.GetAsync("/healthz"), await anonymous.GetAsync("/"),
        })
        {
            var uri = response.RequestMessage!.RequestUri!.AbsolutePath;
            Assert.That(response.Headers.Contains("Server"), Is.False, uri);
            if (uri.StartsWith("/api", StringComparison.Ordinal))
            {
                Assert.That(response.Headers.CacheControl?.NoStore, Is.True, uri);
            }
        }
    }
}
