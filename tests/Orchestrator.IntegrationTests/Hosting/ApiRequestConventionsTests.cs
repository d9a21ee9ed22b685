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
        Assert.That(raw, Does.Contain("\r\nCache-Control: no-store\r\n"), "the problem body is the same answer an /api route gives: not cached");
    }

    [Test]
    public async Task Kestrel_error_answer_to_a_HEAD_request_carries_no_body()
    {
        var raw = await SendRawAsync("HEAD /api/runs/a%00b HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");

        Assert.That(raw, Does.StartWith("HTTP/1.1 400 "));
        Assert.That(raw, Does.EndWith("\r\n\r\n"), "a HEAD answer ends with its head");
        Assert.That(raw, Does.Contain("Content-Length: 0"));
        Assert.That(raw, Does.Not.Contain("problem+json"));
    }

    [Test]
    public async Task Kestrel_error_answer_on_a_kept_alive_connection_after_a_dispatched_request_has_a_problem_body()
    {
        // Clients reuse connections: the %00 request is the second on this one, after a request the application answered.
        var raw = await SendRawAsync("GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\nGET /api/runs/a%00b HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n");

        Assert.That(raw, Does.StartWith("HTTP/1.1 200 "));
        var second = raw[raw.LastIndexOf("HTTP/1.1 ", StringComparison.Ordinal)..];
        Assert.That(second, Does.StartWith("HTTP/1.1 400 "));
        Assert.That(second, Does.Contain("Content-Type: application/problem+json"));
        Assert.That(second, Does.Contain("Cache-Control: no-store"));
        Assert.That(second[(second.IndexOf("\r\n\r\n", StringComparison.Ordinal) + 4)..], Does.Contain("\"status\":400"));
    }

    [Test]
    public async Task Nul_in_a_route_through_a_reused_http_client_connection_has_a_problem_body()
    {
        using var client = new HttpClient { BaseAddress = server.BaseAddress };
        Assert.That((await client.GetAsync("/healthz")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var response = await client.GetAsync("/api/schedules/a%00b");
        var problem = await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.That(problem.GetProperty("detail").GetString(), Does.Contain("%00"));
    }

    private async Task<string> SendRawAsync(string request)
    {
        using var client = new TcpClient();
        await client.ConnectAsync("127.0.0.1", server.Port);
        await using var stream = client.GetStream();
        await stream.WriteAsync(Encoding.ASCII.GetBytes(request));
        using var reader = new StreamReader(stream, Encoding.ASCII);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        return await reader.ReadToEndAsync(timeout.Token);
    }

    [TestCase("/api/runs?scheduleId=a%00b", "scheduleId", "U+0000")]
    [TestCase("/api/runs?project=x&status=a%0Ab", "status", "U+000A")]
    [TestCase("/api/schedules?project=%1F", "project", "U+001F")]
    [TestCase("/api/projects?page=1%7F", "page", "U+007F")]
    [TestCase("/api/pipelines?pro%00ject=x", "pro\uFFFDject", "U+0000")]
    public async Task Control_character_in_a_query_value_is_a_400_naming_the_parameter_on_every_provider(string uri, string parameter, string character)
    {
        var problem = await ApiAssertions.AssertProblemAsync(await admin.GetAsync(uri), HttpStatusCode.BadRequest);
        Assert.That(problem.GetProperty("errors").GetProperty(parameter)[0].GetString(), Does.Contain(character));
        Assert.That(problem.GetProperty("detail").GetString(), Does.Contain($"'{parameter}'"));

        // Who is asking still comes first.
        await ApiAssertions.AssertProblemAsync(await anonymous.GetAsync(uri), HttpStatusCode.Unauthorized);
    }

    [TestCase("\"timeoutSeconds\": 9223372036854775808", "timeoutSeconds", "must be a whole number between -2147483648 and 2147483647; 9223372036854775808 is not.")]
    [TestCase("\"timeoutSeconds\": 2147483648", "timeoutSeconds", "must be a whole number between -2147483648 and 2147483647; 2147483648 is not.")]
    [TestCase("\"timeoutSeconds\": 1e3", "timeoutSeconds", "must be a whole number written without a decimal point or exponent (such as 1000); 1e3 is not.")]
    [TestCase("\"timeoutSeconds\": 1.5", "timeoutSeconds", "must be a whole number; 1.5 is not.")]
    [TestCase("\"timeoutSeconds\": \"soon\"", "timeoutSeconds", "must be a whole number between -2147483648 and 2147483647, not a string.")]
    // A number written as a string was read as the number (ASP.NET Core's web defaults) although the schema says integer.
    [TestCase("\"timeoutSeconds\": \"30\"", "timeoutSeconds", "must be a whole number between -2147483648 and 2147483647, not a string.")]
    [TestCase("\"trigger\": { \"intervalSeconds\": \"60\" }", "trigger.intervalSeconds", "must be a whole number between -9223372036854775808 and 9223372036854775807, not a string.")]
    [TestCase("\"timeoutSeconds\": [1]", "timeoutSeconds", "must be a whole number between -2147483648 and 2147483647, not an array.")]
    [TestCase("\"enabled\": 1", "enabled", "must be true or false, not a number.")]
    [TestCase("\"description\": 7", "description", "must be a string, not a number.")]
    [TestCase("\"trigger\": { \"intervalSeconds\": 9223372036854775808 }", "trigger.intervalSeconds", "must be a whole number between -9223372036854775808 and 9223372036854775807; 9223372036854775808 is not.")]
    [TestCase("\"trigger\": { \"intervalSeconds\": true }", "trigger.intervalSeconds", "must be a whole number between -9223372036854775808 and 9223372036854775807, not true/false.")]
    [TestCase("\"trigger\": 5", "trigger", "must be a JSON object, not a number.")]
    public async Task Value_the_binder_cannot_read_is_a_400_saying_what_the_field_takes_with_an_errors_map(string member, string field, string reason)
    {
        var body = $$"""{ "name": "binder-probe", "action": { "type": "noop", "config": {} }, {{member}} }""";
        var problem = await ApiAssertions.AssertProblemAsync(await admin.SendAsync(Request("POST", "/api/schedules", body, "application/json")), HttpStatusCode.BadRequest);

        Assert.That(problem.GetProperty("errors").GetProperty(field)[0].GetString(), Is.EqualTo(reason));
        Assert.That(problem.GetProperty("detail").GetString(), Does.Contain($"'$.{field}'").And.Contain(reason));
        Assert.That(problem.GetProperty("detail").GetString(), Does.Not.Contain("System.").And.Not.Contain("JSON type"));
        await ApiAssertions.AssertProblemAsync(await admin.GetAsync("/api/schedules/binder-probe"), HttpStatusCode.NotFound);
    }

    // Each was answered 201/200 with the misspelled value dropped (a fixed backoff stored as exponential, a dry run run).
    [TestCase("POST", "/api/schedules", """{ "name": "strict-probe", "action": { "type": "noop", "config": {} }, "trigger": { "intervalSeconds": 60 }, "retry": { "backof": "fixed" } }""",
        "retry.backof", "'backof' is not a known property of retry; known: maxAttempts, backoff, initialDelaySeconds, maxDelaySeconds.")]
    [TestCase("POST", "/api/schedules", """{ "name": "strict-probe", "action": { "type": "noop", "config": {} }, "trigger": { "intervalSeconds": 60 }, "timeoutSecond": 5 }""",
        "timeoutSecond", "'timeoutSecond' is not a known property of the request body; known: name, project, description, action, trigger, misfire, concurrency, retry, timeoutSeconds, executionGroup, enabled, jitterSeconds, deadline, expectSuccessEvery.")]
    [TestCase("POST", "/api/channels", """{ "name": "strict-probe", "kind": "webhook", "webhook": { "url": "https://example.com/hook", "fromat": "slack" } }""",
        "webhook.fromat", "'fromat' is not a known property of webhook; known: url, format, headers.")]
    [TestCase("POST", "/api/pipelines", """{ "id": "strict-probe", "maxParalelism": 2, "nodes": [{ "id": "a", "type": "action", "action": { "type": "noop", "config": {} } }], "edges": [] }""",
        "maxParalelism", "'maxParalelism' is not a known property of the request body; known: id, name, project, description, maxParallelism, failurePolicy, nodes, edges, deadline, expectSuccessEvery.")]
    [TestCase("POST", "/api/pipelines", """{ "id": "strict-probe", "nodes": [{ "id": "a", "type": "action", "action": { "type": "noop", "config": {} }, "timeoutSecond": 5 }], "edges": [] }""",
        "nodes[0].timeoutSecond", "'timeoutSecond' is not a known property of nodes[0]; known: id, type, action, expression, pipeline, inputs, timeoutSeconds, retry.")]
    [TestCase("POST", "/api/schedules/default/backfill", """{ "from": "2026-01-01T00:00:00Z", "to": "2026-01-02T00:00:00Z", "dryRun": true }""",
        "dryRun", "'dryRun' is not a known property of the request body; known: from, to.")]
    public async Task Unknown_property_is_a_400_naming_its_path_and_the_known_ones(string method, string path, string body, string field, string reason)
    {
        var problem = await ApiAssertions.AssertProblemAsync(await admin.SendAsync(Request(method, path, body, "application/json")), HttpStatusCode.BadRequest);

        Assert.That(problem.GetProperty("errors").GetProperty(field)[0].GetString(), Is.EqualTo(reason));
        Assert.That(problem.GetProperty("detail").GetString(), Does.Contain($"'$.{field}'").And.Contain(reason));
        Assert.That(problem.GetProperty("detail").GetString(), Does.Not.Contain("System.").And.Not.Contain("Orchestrator."));
        await ApiAssertions.AssertProblemAsync(await admin.GetAsync("/api/schedules/strict-probe"), HttpStatusCode.NotFound);
        await ApiAssertions.AssertProblemAsync(await admin.GetAsync("/api/pipelines/strict-probe"), HttpStatusCode.NotFound);
        await ApiAssertions.AssertProblemAsync(await admin.GetAsync("/api/channels/strict-probe"), HttpStatusCode.NotFound);
    }

    [Test]
    public async Task Query_value_the_binder_cannot_read_is_a_400_naming_the_parameter_with_an_errors_map()
    {
        // Not a paging value: those are judged by the list's paging rule (a 422 naming its range, ApiRulesTests).
        var problem = await ApiAssertions.AssertProblemAsync(await admin.GetAsync("/api/stats?hours=abc"), HttpStatusCode.BadRequest);
        Assert.That(problem.GetProperty("errors").GetProperty("hours")[0].GetString(), Does.StartWith("must be a whole number between -2147483648 and 2147483647"));
        Assert.That(problem.GetProperty("detail").GetString(), Does.Contain("'hours'").And.Not.Contain("int?"));
    }

    [TestCase("PUT", "/healthz")]
    [TestCase("POST", "/readyz")]
    [TestCase("DELETE", "/healthz")]
    [TestCase("POST", "/")]
    [TestCase("PUT", "/dashboard/app.js")]
    [TestCase("POST", "/openapi/v1.json")]
    public async Task Read_only_route_outside_api_refuses_other_methods_with_a_405_problem(string method, string path)
    {
        var problem = await ApiAssertions.AssertProblemAsync(await anonymous.SendAsync(Request(method, path, method == "DELETE" ? null : "{}", "application/json")), HttpStatusCode.MethodNotAllowed);
        Assert.That(problem.GetProperty("status").GetInt32(), Is.EqualTo(405));
    }

    [TestCase("/healthz")]
    [TestCase("/readyz")]
    [TestCase("/")]
    public async Task Read_only_route_outside_api_answers_GET_and_HEAD(string path)
    {
        using var get = await anonymous.GetAsync(path);
        Assert.That(get.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        using var head = await anonymous.SendAsync(new HttpRequestMessage(HttpMethod.Head, path));
        Assert.That(head.StatusCode, Is.EqualTo(HttpStatusCode.OK));
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
