using System.Net;
using System.Text.Json;
using Npgsql;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Tools;

/// <summary>http tools on a real server process and PostgreSQL, sending to a real HTTP server on 127.0.0.1: how arguments fill the request, and what they must never reach.</summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class HttpToolTests : ServerWithPeerFixture
{
    private const string Secret = "tok-83be1f0c-never-sent";

    protected override string DatabaseName => "httptools";

    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Orchestrator__Secrets__API_TOKEN"] = Secret,
    };

    protected override async Task StartedAsync()
    {
        await RegisterAsync("exfil-header", Text("note"), new { method = "GET", url = Peer.BaseUrl + "/exfil-header", headers = new Dictionary<string, string> { ["X-Note"] = "note: {{args.note}}" } });
        await RegisterAsync("exfil-body", Text("note"), new { method = "POST", url = Peer.BaseUrl + "/exfil-body", body = new { note = "{{args.note}}" } });
        await RegisterAsync("exfil-url", Text("note"), new { method = "GET", url = Peer.BaseUrl + "/exfil-url?note={{args.note}}" });
    }

    private static object Text(params string[] names) => new
    {
        type = "object",
        properties = names.ToDictionary(n => n, _ => (object)new { type = "string" }),
    };

    private async Task RegisterAsync(string name, object parameters, object config) =>
        await Admin.PostForJsonAsync("/api/tools", new { name, kind = "http", parameters, config }, HttpStatusCode.Created);

    private async Task<JsonElement> InvokeAsync(string tool, object arguments) =>
        await Admin.PostForJsonAsync($"/api/tools/{tool}/invoke", new { arguments }, HttpStatusCode.OK);

    /// <summary>No request to <paramref name="path"/> (whatever its query) carried the secret; other tests send it on purpose elsewhere.</summary>
    private void AssertSecretNeverSentTo(string path) =>
        Assert.That(Peer.Requests.Where(r => r.Path.StartsWith(path, StringComparison.Ordinal)).Where(r => r.Body.Contains(Secret, StringComparison.Ordinal) || r.Headers.Values.Any(v => v.Contains(Secret, StringComparison.Ordinal)) ||
            r.Path.Contains(Secret, StringComparison.Ordinal)), Is.Empty, "the secret's value reached the peer");

    private static IEnumerable<TestCaseData> SecretReferencesInArguments()
    {
        foreach (var hostile in new[] { "{{secret:API_TOKEN}}", "{{ secret:API_TOKEN }}", "Bearer {{secret:API_TOKEN}} ok" })
        {
            yield return new TestCaseData("header", hostile).SetName($"An argument cannot reference a secret through a header: {hostile}");
            yield return new TestCaseData("body", hostile).SetName($"An argument cannot reference a secret through a JSON body: {hostile}");
            yield return new TestCaseData("url", hostile).SetName($"An argument cannot reference a secret through the URL: {hostile}");
        }
    }

    [TestCaseSource(nameof(SecretReferencesInArguments))]
    public async Task An_argument_that_could_reference_a_secret_is_refused_naming_it_and_nothing_is_sent(string where, string hostile)
    {
        // Refused when the arguments are validated (a schedule's or pipeline's too), before the template is even filled.
        var response = await Admin.PostAsync($"/api/tools/exfil-{where}/invoke", ApiClient.Json(new { arguments = new { note = hostile } }));
        var problem = await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity);
        Assert.That(problem.GetProperty("errors").TryGetProperty("arguments.note", out var reasons), Is.True, problem.ToString());
        Assert.That(reasons.ToString(), Does.Contain("cannot reference a secret"));
        Assert.That(Peer.RequestsTo($"/exfil-{where}"), Is.Empty, "the request was refused before it was sent");
        AssertSecretNeverSentTo($"/exfil-{where}");
    }

    [Test]
    public async Task An_argument_cannot_complete_a_secret_reference_the_template_leaves_open()
    {
        // "{{{args.x}}" puts one brace before the argument; "{secret:API_TOKEN}}" has no "{{" of its own but would finish the reference.
        await RegisterAsync("open-brace", Text("x"), new { method = "GET", url = Peer.BaseUrl + "/open-brace", headers = new Dictionary<string, string> { ["X-Note"] = "{{{args.x}}" } });
        var result = await InvokeAsync("open-brace", new { x = "{secret:API_TOKEN}}" });
        Assert.That(result.GetProperty("succeeded").GetBoolean(), Is.False, result.ToString());
        Assert.That(result.GetProperty("error").GetString(), Does.Contain("X-Note").And.Contain("secret reference"));
        Assert.That(Peer.RequestsTo("/open-brace"), Is.Empty);
        AssertSecretNeverSentTo("/open-brace");

        var harmless = await InvokeAsync("open-brace", new { x = "plain" });
        Assert.That(harmless.GetProperty("succeeded").GetBoolean(), Is.True, harmless.ToString());
        Assert.That(Peer.RequestsTo("/open-brace").Single().Headers["X-Note"], Is.EqualTo("{plain"));
    }

    [Test]
    public async Task An_argument_cannot_complete_a_secret_reference_the_template_leaves_open_in_the_body()
    {
        // Body strings resolve secrets too, so the same trick must not work there, in a JSON body or a text body.
        await RegisterAsync("open-brace-json", Text("x"), new { method = "POST", url = Peer.BaseUrl + "/open-brace-json", body = new { note = "{{{args.x}}" } });
        await RegisterAsync("open-brace-text", Text("x"), new { method = "POST", url = Peer.BaseUrl + "/open-brace-text", body = "note {{{args.x}}" });
        foreach (var tool in new[] { "open-brace-json", "open-brace-text" })
        {
            var result = await InvokeAsync(tool, new { x = "{secret:API_TOKEN}}" });
            Assert.That(result.GetProperty("succeeded").GetBoolean(), Is.False, result.ToString());
            Assert.That(result.GetProperty("error").GetString(), Does.Contain("secret reference"), result.ToString());
            Assert.That(Peer.RequestsTo("/" + tool), Is.Empty);
            AssertSecretNeverSentTo("/" + tool);
        }
    }

    [Test]
    public async Task A_secret_the_template_itself_references_is_still_sent()
    {
        await RegisterAsync("authorized", Text("who"), new
        {
            method = "GET",
            url = Peer.BaseUrl + "/authorized",
            headers = new Dictionary<string, string> { ["Authorization"] = "Bearer {{secret:API_TOKEN}}", ["X-Who"] = "{{args.who}}" },
        });
        var result = await InvokeAsync("authorized", new { who = "me" });
        Assert.That(result.GetProperty("succeeded").GetBoolean(), Is.True, result.ToString());
        var request = Peer.RequestsTo("/authorized").Single();
        Assert.That(request.Headers["Authorization"], Is.EqualTo("Bearer " + Secret));
        Assert.That(request.Headers["X-Who"], Is.EqualTo("me"));
    }

    [Test]
    public async Task Line_breaks_in_an_argument_are_removed_from_a_header_so_it_cannot_add_headers()
    {
        await RegisterAsync("tagged", Text("tag"), new { method = "GET", url = Peer.BaseUrl + "/tagged", headers = new Dictionary<string, string> { ["X-Tag"] = "tag={{args.tag}}" } });
        var result = await InvokeAsync("tagged", new { tag = "a\r\nX-Injected: yes\nb" });
        Assert.That(result.GetProperty("succeeded").GetBoolean(), Is.True, result.ToString());
        var request = Peer.RequestsTo("/tagged").Single();
        Assert.That(request.Headers["X-Tag"], Is.EqualTo("tag=aX-Injected: yesb"));
        Assert.That(request.Headers.ContainsKey("X-Injected"), Is.False);
    }

    [Test]
    public async Task A_json_body_template_takes_whole_placeholders_as_typed_values_and_fills_text_in_other_strings()
    {
        await RegisterAsync("search", new
        {
            type = "object",
            properties = new { q = new { type = "string" }, n = new { type = "integer" }, tags = new { type = "array" }, who = new { type = "string" }, strict = new { type = "boolean" } },
        }, new
        {
            method = "POST",
            url = Peer.BaseUrl + "/search",
            body = new Dictionary<string, object>
            {
                ["query"] = "{{args.q}}",
                ["limit"] = "{{args.n}}",
                ["tags"] = "{{args.tags}}",
                ["note"] = "asked by {{args.who}} ({{args.n}})",
                ["nested"] = new object[] { new { strict = "{{ args.strict }}" }, "{{args.who}}" },
                ["fixed"] = 1,
            },
        });
        var result = await InvokeAsync("search", new { q = "a \"quoted\" {x}", n = 5, tags = new[] { "x", "y" }, who = "me", strict = true });
        Assert.That(result.GetProperty("succeeded").GetBoolean(), Is.True, result.ToString());

        var request = Peer.RequestsTo("/search").Single();
        Assert.That(request.Headers["Content-Type"], Does.StartWith("application/json"));
        var body = JsonDocument.Parse(request.Body).RootElement;
        Assert.That(body.GetProperty("query").GetString(), Is.EqualTo("a \"quoted\" {x}"));
        Assert.That(body.GetProperty("limit").ValueKind, Is.EqualTo(JsonValueKind.Number));
        Assert.That(body.GetProperty("limit").GetInt32(), Is.EqualTo(5));
        Assert.That(body.GetProperty("tags").EnumerateArray().Select(t => t.GetString()), Is.EqualTo(new[] { "x", "y" }));
        Assert.That(body.GetProperty("note").GetString(), Is.EqualTo("asked by me (5)"));
        Assert.That(body.GetProperty("nested")[0].GetProperty("strict").GetBoolean(), Is.True);
        Assert.That(body.GetProperty("nested")[1].GetString(), Is.EqualTo("me"));
        Assert.That(body.GetProperty("fixed").GetInt32(), Is.EqualTo(1));
    }

    [Test]
    public async Task A_string_body_template_is_sent_as_text()
    {
        await RegisterAsync("greet", Text("who"), new { method = "POST", url = Peer.BaseUrl + "/greet", body = "hello {{args.who}}\n" });
        var result = await InvokeAsync("greet", new { who = "{\"a\": 1}" });
        Assert.That(result.GetProperty("succeeded").GetBoolean(), Is.True, result.ToString());
        var request = Peer.RequestsTo("/greet").Single();
        Assert.That(request.Body, Is.EqualTo("hello {\"a\": 1}\n"));
        Assert.That(request.Headers["Content-Type"], Does.StartWith("text/plain"));
    }

    private static IEnumerable<TestCaseData> BadConfigs()
    {
        TestCaseData Case(string name, object config, string field) => new TestCaseData(config, field).SetName("bad http tool config: " + name);
        const string Url = "https://example.com/api/{{args.q}}";
        yield return Case("unknown method", new { url = Url, method = "FETCH" }, "config.method");
        yield return Case("method from an argument", new { url = Url, method = "{{args.m}}" }, "config.method");
        yield return Case("headers not an object", new { url = Url, headers = "X-A: 1" }, "config.headers");
        yield return Case("header value not a string", new { url = Url, headers = new Dictionary<string, object> { ["X-A"] = 5 } }, "config.headers.X-A");
        yield return Case("reserved header", new { url = Url, headers = new Dictionary<string, string> { ["Host"] = "evil" } }, "config.headers.Host");
        yield return Case("header with a line break", new { url = Url, headers = new Dictionary<string, string> { ["X-A"] = "a\r\nX-B: b" } }, "config.headers.X-A");
        yield return Case("unknown secret", new { url = Url, headers = new Dictionary<string, string> { ["Authorization"] = "Bearer {{secret:NOPE}}" } }, "config.headers.Authorization");
        yield return Case("secret named by an argument", new { url = Url, headers = new Dictionary<string, string> { ["Authorization"] = "{{secret:{{args.name}}}}" } }, "config.headers.Authorization");
        yield return Case("timeout zero", new { url = Url, timeoutSeconds = 0 }, "config.timeoutSeconds");
        yield return Case("timeout not a number", new { url = Url, timeoutSeconds = "{{args.t}}" }, "config.timeoutSeconds");
        yield return Case("accepted status not a status", new { url = Url, acceptedStatusCodes = new[] { 99 } }, "config.acceptedStatusCodes[0]");
        yield return Case("body too large", new { url = Url, body = new string('x', 300 * 1024) }, "config.body");
        yield return Case("unknown setting", new { url = Url, retries = 3 }, "config.retries");
        yield return Case("url not absolute", new { url = "/relative/{{args.q}}" }, "config.url");
        yield return Case("url entirely from an argument", new { url = "{{args.url}}" }, "config.url");
        yield return Case("not an object", new[] { Url }, "config");
    }

    [TestCaseSource(nameof(BadConfigs))]
    public async Task An_http_tool_config_call_api_would_refuse_is_422_naming_the_field_and_nothing_is_stored(object config, string field)
    {
        var before = await Admin.GetStringAsync("/api/tools");
        var response = await Admin.PostAsync("/api/tools", ApiClient.Json(new { name = "bad-http", kind = "http", parameters = new { type = "object" }, config }));
        var problem = await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity);
        Assert.That(problem.GetProperty("errors").TryGetProperty(field, out _), Is.True, problem.ToString());
        Assert.That(await Admin.GetStringAsync("/api/tools"), Is.EqualTo(before));
    }

    [Test]
    public async Task A_full_http_tool_config_with_placeholders_is_accepted()
    {
        await RegisterAsync("full", Text("q", "id"), new
        {
            method = "PUT",
            url = Peer.BaseUrl + "/items/{{args.id}}?q={{args.q}}",
            headers = new Dictionary<string, string> { ["Authorization"] = "Bearer {{secret:API_TOKEN}}", ["X-Id"] = "{{args.id}}" },
            body = new { id = "{{args.id}}" },
            timeoutSeconds = 10,
            acceptedStatusCodes = new[] { 200, 204 },
            recordHeaders = new[] { "Content-Type" },
            maxResponseChars = 100,
        });
        var result = await InvokeAsync("full", new { q = "x", id = "42" });
        Assert.That(result.GetProperty("succeeded").GetBoolean(), Is.True, result.ToString());
        Assert.That(Peer.RequestsTo("/items/42").Single().Method, Is.EqualTo("PUT"));
    }

    [TestCase("http", """{"url": "http://127.0.0.1:1/x", "method": "NOT A METHOD"}""")]
    [TestCase("http", """{"url": 5}""")]
    [TestCase("http", """{"url": "relative/path"}""")]
    [TestCase("http", """{"url": "http://127.0.0.1:1/x", "headers": {"Content-Type": "not a media type;;"}, "body": "x"}""")]
    [TestCase("http", """{"url": "http://127.0.0.1:1/x", "timeoutSeconds": "soon"}""")]
    [TestCase("command", """{"argv": "ls"}""")]
    [TestCase("command", """{}""")]
    [TestCase("command", """[1]""")]
    public async Task A_stored_config_that_cannot_be_used_fails_the_invocation_instead_of_a_server_error(string kind, string storedConfig)
    {
        var name = $"stale-{kind}-{Guid.NewGuid():N}"[..30];
        object config = kind == "http" ? new { url = Peer.BaseUrl + "/stale" } : new { argv = new[] { "true" } };
        await Admin.PostForJsonAsync("/api/tools", new { name, kind, parameters = new { type = "object" }, config }, HttpStatusCode.Created);
        // As a config stored before registration checked it, or edited in the database, would be.
        await using (var connection = new NpgsqlConnection(Database))
        {
            await connection.OpenAsync();
            await using var update = new NpgsqlCommand("UPDATE tools SET config = @config WHERE name = @name", connection);
            update.Parameters.AddWithValue("config", storedConfig);
            update.Parameters.AddWithValue("name", name);
            Assert.That(await update.ExecuteNonQueryAsync(), Is.EqualTo(1));
        }

        var response = await Admin.PostAsync($"/api/tools/{name}/invoke", ApiClient.Json(new { arguments = new { } }));
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), body);
        var result = JsonDocument.Parse(body).RootElement;
        Assert.That(result.GetProperty("succeeded").GetBoolean(), Is.False, body);
        Assert.That(result.GetProperty("error").GetString(), Does.Contain("config"), body);
    }
}
