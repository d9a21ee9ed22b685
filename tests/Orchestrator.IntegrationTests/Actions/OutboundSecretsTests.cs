using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Actions;

/// <summary>
/// What a peer can do to the secrets a call sends: echo them (whole, cut by the response cap, or in pieces) and redirect
/// them to another origin or to a scheme that is not HTTP. Two real servers on 127.0.0.1 on different ports are two
/// origins; 127.0.0.1 is allowlisted for both. Every surface that sends: schedules, the http.request tool, pipeline
/// nodes, webhook channels.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class OutboundSecretsTests : ServerWithPeerFixture
{
    /// <summary>45 characters, as in the report; JSON and URLs spell it as it is.</summary>
    private const string Long = "tok-9f3b2c7d-41e8-4a6b-b0c2-5d7e8f9a1b2c-ends";
    private const string Token = "tkn-7c1d5e2f-hop-secret";

    private RecordingHttpServer other = null!;

    protected override string DatabaseName => "outsecrets";

    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Orchestrator__Secrets__LONG"] = Long,
        ["Orchestrator__Secrets__API_TOKEN"] = Token,
    };

    protected override async Task StartedAsync() => other = await RecordingHttpServer.StartAsync();

    [OneTimeTearDown]
    public async Task StopOtherAsync()
    {
        if (other is not null)
        {
            await other.DisposeAsync();
        }
    }

    private async Task<JsonElement> RunOnceAsync(string name, object config)
    {
        await Admin.CreateScheduleAsync(new { name, action = new { type = "call_api", config }, trigger = new { at = InOneSecond() } });
        var runs = await Poll.UntilAsync(() => Admin.RunsAsync("default." + name), r => r.Count == 1 && r[0].Status() is "failed" or "succeeded",
            TimeSpan.FromSeconds(20), "the run of " + name);
        return runs[0];
    }

    private async Task<JsonElement> InvokeHttpRequestAsync(object arguments) =>
        await Admin.PostForJsonAsync("/api/tools/http.request/invoke", new { project = "default", arguments }, HttpStatusCode.OK);

    /// <summary>No run of eight characters of the secret anywhere in the text (the fragment length masked), nor its first four.</summary>
    private static void AssertNoPieceOf(string secret, string text, string what)
    {
        for (var i = 0; i + 8 <= secret.Length; i++)
        {
            Assert.That(text, Does.Not.Contain(secret.Substring(i, 8)), $"{what} holds a piece of the secret: {text}");
        }

        Assert.That(text, Does.Not.Contain(secret[..4]), $"{what} holds the secret's beginning: {text}");
    }

    /// <summary>The cap that cuts the /echo/ answer of <paramref name="path"/> after <paramref name="keep"/> characters of the secret.</summary>
    private static int CapCutting(string path, int keep) =>
        JsonSerializer.Serialize(new { path, n = 1, authorization = "Bearer " }).Length - 2 + keep;

    [Test]
    public async Task Secret_cut_by_maxResponseChars_is_still_masked()
    {
        const string path = "/echo/cut";
        var run = await RunOnceAsync("cut", new
        {
            url = Peer.BaseUrl + path,
            headers = new Dictionary<string, string> { ["Authorization"] = "Bearer {{secret:LONG}}" },
            maxResponseChars = CapCutting(path, 24),
        });

        Assert.That(run.Status(), Is.EqualTo("succeeded"), run.ToString());
        Assert.That(run.GetProperty("result").GetProperty("body").GetString(), Does.Contain("Bearer ***"), run.ToString());
        AssertNoPieceOf(Long, run.GetRawText(), "the run");
        AssertNoPieceOf(Long, await Admin.GetStringAsync("/api/runs/" + run.GetProperty("id").GetString()), "the run as the API shows it");
    }

    [Test]
    public async Task Secret_cut_by_maxResponseChars_is_still_masked_in_an_http_request_tool_result()
    {
        const string path = "/echo/cut-tool";
        var result = await InvokeHttpRequestAsync(new
        {
            url = Peer.BaseUrl + path,
            headers = new Dictionary<string, string> { ["Authorization"] = "Bearer {{secret:LONG}}" },
            maxResponseChars = CapCutting(path, 24),
        });

        Assert.That(result.GetProperty("succeeded").GetBoolean(), Is.True, result.ToString());
        AssertNoPieceOf(Long, result.GetRawText(), "the tool's result");
    }

    [Test]
    public async Task Secret_cut_by_maxResponseChars_is_still_masked_in_a_pipeline_node_output()
    {
        const string path = "/echo/cut-node";
        await Admin.PostForJsonAsync("/api/pipelines", new
        {
            id = "cut-node",
            name = "cut-node",
            nodes = new object[]
            {
                new
                {
                    id = "call", type = "action", action = new
                    {
                        type = "call_api",
                        config = new { url = Peer.BaseUrl + path, headers = new Dictionary<string, string> { ["Authorization"] = "Bearer {{secret:LONG}}" }, maxResponseChars = CapCutting(path, 24) },
                    },
                },
            },
            edges = Array.Empty<object>(),
        }, HttpStatusCode.Created);
        var runId = (await Admin.PostForJsonAsync("/api/pipelines/cut-node/run", new { inputs = new { } }, HttpStatusCode.Accepted)).GetProperty("id").GetString();

        var detail = await Poll.UntilAsync(() => Admin.GetFromJsonAsync<JsonElement>($"/api/pipeline-runs/{runId}"),
            d => d.GetProperty("run").GetProperty("status").GetString() is not ("pending" or "running"), TimeSpan.FromSeconds(30), "the pipeline run");

        Assert.That(detail.GetProperty("run").GetProperty("status").GetString(), Is.EqualTo("succeeded"), detail.ToString());
        AssertNoPieceOf(Long, detail.GetRawText(), "the pipeline run");
    }

    [Test]
    public async Task A_fragment_of_a_secret_echoed_in_a_body_or_a_header_is_masked()
    {
        // A peer that cuts the value itself, and puts pieces of it in the middle of its body and in a recorded header.
        Peer.Configure("/fragments", new RecordingHttpServer.Behaviour(TimeSpan.Zero, Status: 201,
            Body: $$"""{"seen":"{{Long[..24]}}","tail":"{{Long[30..]}}","more":true}""", Location: "https://example.com/t/" + Long[10..30]));

        var run = await RunOnceAsync("fragments", new { url = Peer.BaseUrl + "/fragments", headers = new Dictionary<string, string> { ["X-Api-Token"] = "{{secret:LONG}}" } });

        Assert.That(run.Status(), Is.EqualTo("succeeded"), run.ToString());
        var result = run.GetProperty("result");
        Assert.That(result.GetProperty("body").GetString(), Is.EqualTo("""{"seen":"***","tail":"***","more":true}"""));
        Assert.That(result.GetProperty("headers").GetProperty("Location").GetString(), Is.EqualTo("https://example.com/t/***"));
        AssertNoPieceOf(Long, run.GetRawText(), "the run");
    }

    [TestCase(302)]
    [TestCase(307)]
    public async Task Secret_headers_do_not_follow_a_redirect_to_another_origin(int status)
    {
        var landed = $"/landed-{status}";
        Peer.Configure($"/hop-{status}", new RecordingHttpServer.Behaviour(TimeSpan.Zero, Status: status, Location: other.BaseUrl + landed));

        var run = await RunOnceAsync($"hop-{status}", new
        {
            method = "POST",
            url = Peer.BaseUrl + $"/hop-{status}",
            headers = new Dictionary<string, string>
            {
                ["X-Api-Token"] = "{{secret:API_TOKEN}}",
                ["Authorization"] = "Bearer {{secret:LONG}}",
                ["X-Trace"] = "visible",
            },
            body = new { plain = true },
        });

        Assert.That(run.Status(), Is.EqualTo("succeeded"), run.ToString());
        Assert.That(Peer.RequestsTo($"/hop-{status}").Single().Headers["X-Api-Token"], Is.EqualTo(Token), "the first origin gets the secret");
        var second = other.RequestsTo(landed).Single();
        Assert.That(second.Headers.ContainsKey("X-Api-Token"), Is.False, "a secret header reached the second origin");
        Assert.That(second.Headers.ContainsKey("Authorization"), Is.False);
        Assert.That(second.Headers["X-Trace"], Is.EqualTo("visible"), "headers without secrets still follow");
        Assert.That(second.Headers.Values.Any(v => v.Contains(Token, StringComparison.Ordinal) || v.Contains(Long, StringComparison.Ordinal)), Is.False);
        Assert.That(second.Method, Is.EqualTo(status == 307 ? "POST" : "GET"));
    }

    [Test]
    public async Task Secret_headers_follow_a_redirect_within_the_same_origin()
    {
        Peer.Configure("/same-hop", new RecordingHttpServer.Behaviour(TimeSpan.Zero, Status: 302, Location: "/same-landed"));

        var run = await RunOnceAsync("same-hop", new { url = Peer.BaseUrl + "/same-hop", headers = new Dictionary<string, string> { ["X-Api-Token"] = "{{secret:API_TOKEN}}" } });

        Assert.That(run.Status(), Is.EqualTo("succeeded"), run.ToString());
        Assert.That(Peer.RequestsTo("/same-landed").Single().Headers["X-Api-Token"], Is.EqualTo(Token));
    }

    [Test]
    public async Task A_307_to_another_origin_does_not_resend_a_body_that_carries_a_secret()
    {
        Peer.Configure("/body-hop", new RecordingHttpServer.Behaviour(TimeSpan.Zero, Status: 307, Location: other.BaseUrl + "/body-landed"));

        var run = await RunOnceAsync("body-hop", new { method = "POST", url = Peer.BaseUrl + "/body-hop", body = new { token = "{{secret:API_TOKEN}}" } });

        Assert.That(run.Status(), Is.EqualTo("failed"), run.ToString());
        Assert.That(run.GetProperty("error").GetString(), Does.Contain("another origin").And.Contain("carries a secret"), run.ToString());
        Assert.That(JsonDocument.Parse(Peer.RequestsTo("/body-hop").Single().Body).RootElement.GetProperty("token").GetString(), Is.EqualTo(Token));
        Assert.That(other.RequestsTo("/body-landed"), Is.Empty);
    }

    [Test]
    public async Task Secret_headers_of_an_http_request_tool_do_not_follow_a_redirect_to_another_origin()
    {
        Peer.Configure("/tool-hop", new RecordingHttpServer.Behaviour(TimeSpan.Zero, Status: 307, Location: other.BaseUrl + "/tool-landed"));

        var result = await InvokeHttpRequestAsync(new { url = Peer.BaseUrl + "/tool-hop", headers = new Dictionary<string, string> { ["X-Api-Token"] = "{{secret:API_TOKEN}}" } });

        Assert.That(result.GetProperty("succeeded").GetBoolean(), Is.True, result.ToString());
        Assert.That(other.RequestsTo("/tool-landed").Single().Headers.ContainsKey("X-Api-Token"), Is.False);
    }

    [Test]
    public async Task Webhook_channel_headers_do_not_follow_a_redirect_to_another_origin()
    {
        Peer.Configure("/hook-hop", new RecordingHttpServer.Behaviour(TimeSpan.Zero, Status: 307, Location: other.BaseUrl + "/hook-landed"));
        await Admin.PostForJsonAsync("/api/channels", new
        {
            name = "hop-hook",
            kind = "webhook",
            webhook = new { url = Peer.BaseUrl + "/hook-hop", headers = new Dictionary<string, string> { ["X-Hook-Token"] = "hook-9d2e-secret" } },
        }, HttpStatusCode.Created);
        await Admin.CreateScheduleAsync(new
        {
            name = "hop-hook-send",
            action = new { type = "send_notification", config = new { channel = "hop-hook", message = "hello" } },
            trigger = new { at = InOneSecond() },
        });

        await other.WaitForRequestsAsync("/hook-landed", 1, TimeSpan.FromSeconds(20));
        var landed = other.RequestsTo("/hook-landed").Single();
        Assert.That(Peer.RequestsTo("/hook-hop").Single().Headers["X-Hook-Token"], Is.EqualTo("hook-9d2e-secret"));
        Assert.That(landed.Headers.ContainsKey("X-Hook-Token"), Is.False, "the channel's header reached the second origin");
        Assert.That(JsonDocument.Parse(landed.Body).RootElement.GetProperty("message").GetString(), Is.EqualTo("hello"), "the body (no secret in it) follows a 307");
    }

    private static IEnumerable<TestCaseData> OtherSchemes() =>
        new[] { "gopher://127.0.0.1:70/1x", "ftp://127.0.0.1/file", "dict://127.0.0.1:2628/d:x", "file:///etc/passwd" }
            .Select((target, i) => new TestCaseData(target, i).SetName($"A redirect to {target.Split(':')[0]} fails the call cleanly"));

    [TestCaseSource(nameof(OtherSchemes))]
    public async Task A_redirect_to_a_scheme_other_than_http_fails_the_call_cleanly(string target, int i)
    {
        Peer.Configure($"/scheme-{i}", new RecordingHttpServer.Behaviour(TimeSpan.Zero, Status: 302, Location: target));

        var run = await RunOnceAsync($"scheme-{i}", new { url = Peer.BaseUrl + $"/scheme-{i}" });
        var tool = await InvokeHttpRequestAsync(new { url = Peer.BaseUrl + $"/scheme-{i}" });

        var scheme = target.Split(':')[0];
        Assert.That(run.Status(), Is.EqualTo("failed"), run.ToString());
        Assert.That(run.GetProperty("error").GetString(), Does.Contain($"redirected to a {scheme}: URL; only http and https redirects are followed"), run.ToString());
        Assert.That(tool.GetProperty("succeeded").GetBoolean(), Is.False, tool.ToString());
        Assert.That(tool.GetProperty("error").GetString(), Does.Contain("only http and https redirects are followed"), tool.ToString());
        Assert.That(Peer.RequestsTo($"/scheme-{i}"), Has.Count.EqualTo(2), "one request each, nothing more");
    }

    [Test]
    public async Task A_secret_in_a_call_api_body_is_sent_resolved_and_kept_as_a_reference_in_records()
    {
        var run = await RunOnceAsync("body-secret", new
        {
            method = "POST",
            url = Peer.BaseUrl + "/body-secret",
            body = new { auth = new { token = "{{secret:API_TOKEN}}", note = "key {{secret:API_TOKEN}}!" }, items = new object[] { "{{secret:LONG}}", 1 } },
        });

        Assert.That(run.Status(), Is.EqualTo("succeeded"), run.ToString());
        var sent = JsonDocument.Parse(Peer.RequestsTo("/body-secret").Single().Body).RootElement;
        Assert.That(sent.GetProperty("auth").GetProperty("token").GetString(), Is.EqualTo(Token));
        Assert.That(sent.GetProperty("auth").GetProperty("note").GetString(), Is.EqualTo($"key {Token}!"));
        Assert.That(sent.GetProperty("items")[0].GetString(), Is.EqualTo(Long));
        Assert.That(sent.GetProperty("items")[1].GetInt32(), Is.EqualTo(1));
        var records = run.GetRawText() + await Admin.GetStringAsync("/api/schedules/default.body-secret");
        Assert.That(records, Does.Contain("{{secret:API_TOKEN}}"));
        Assert.That(records, Does.Not.Contain(Token).And.Not.Contain(Long));
        Assert.That(Server.Output, Does.Not.Contain(Token), "nor the server's logs");
    }

    private static IEnumerable<TestCaseData> MisplacedSecrets()
    {
        TestCaseData Case(string name, object action, string field) => new TestCaseData(action, field).SetName("A secret reference is refused where it would be sent as written: " + name);
        yield return Case("notification message", new { type = "send_notification", config = new { channel = "refs", message = "token {{secret:API_TOKEN}}" } }, "action.config.message");
        yield return Case("notification subject", new { type = "send_notification", config = new { channel = "refs", subject = "{{secret:API_TOKEN}}", message = "m" } }, "action.config.subject");
        yield return Case("call_api url", new { type = "call_api", config = new { url = "https://example.com/{{secret:API_TOKEN}}" } }, "action.config.url");
        yield return Case("call_api body property name", new { type = "call_api", config = new { url = "https://example.com/", body = new Dictionary<string, int> { ["{{secret:API_TOKEN}}"] = 1 } } }, "action.config.body.{{secret:API_TOKEN}}");
        yield return Case("unknown secret in a call_api body", new { type = "call_api", config = new { url = "https://example.com/", body = new { a = new[] { "{{secret:NOPE}}" } } } }, "action.config.body.a[0]");
        yield return Case("tool argument", new { type = "run_task", config = new { tool = "files.write", arguments = new { path = "x.txt", content = "{{secret:API_TOKEN}}" } } }, "action.config.arguments.content");
    }

    [TestCaseSource(nameof(MisplacedSecrets))]
    public async Task A_secret_reference_is_refused_where_it_would_be_sent_as_written(object action, string field)
    {
        await EnsureChannelAsync();
        var before = await Admin.GetStringAsync("/api/schedules");
        var response = await Admin.PostAsync("/api/schedules", ApiClient.Json(new { name = "misplaced", action, trigger = new { intervalSeconds = 3600 } }));

        var problem = await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity);
        Assert.That(problem.GetProperty("errors").TryGetProperty(field, out var reasons), Is.True, problem.ToString());
        Assert.That(reasons.ToString(), Does.Contain("header values and body string values").Or.Contain("not configured"), problem.ToString());
        Assert.That(await Admin.GetStringAsync("/api/schedules"), Is.EqualTo(before), "nothing was stored");
    }

    [Test]
    public async Task A_secret_reference_in_a_pipeline_notification_node_is_refused_when_the_pipeline_is_saved()
    {
        await EnsureChannelAsync();
        var response = await Admin.PostAsync("/api/pipelines", ApiClient.Json(new
        {
            id = "misplaced-secret",
            name = "misplaced-secret",
            nodes = new object[] { new { id = "tell", type = "action", action = new { type = "send_notification", config = new { channel = "refs", message = "{{secret:API_TOKEN}}" } } } },
            edges = Array.Empty<object>(),
        }));

        var problem = await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity);
        Assert.That(problem.ToString(), Does.Contain("header values and body string values"), problem.ToString());
        Assert.That((await Admin.GetAsync("/api/pipelines/misplaced-secret")).StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task A_secret_reference_in_a_command_tool_argument_is_refused_at_invoke()
    {
        var response = await Admin.PostAsync("/api/tools/files.write/invoke", ApiClient.Json(new { project = "default", arguments = new { path = "leak.txt", content = "{{secret:API_TOKEN}}" } }));

        var problem = await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity);
        Assert.That(problem.ToString(), Does.Contain("cannot reference a secret"), problem.ToString());
    }

    [Test]
    public async Task The_schedules_create_tool_takes_secrets_where_a_schedule_does_and_refuses_them_elsewhere()
    {
        await EnsureChannelAsync();
        var created = await InvokeToolAsync("schedules.create", new
        {
            name = "tool-made-secret",
            action = new { type = "call_api", config = new { url = Peer.BaseUrl + "/tool-made", headers = new Dictionary<string, string> { ["X-Api-Token"] = "{{secret:API_TOKEN}}" } } },
            trigger = new { intervalSeconds = 3600 },
        });
        Assert.That(created.StatusCode, Is.EqualTo(HttpStatusCode.OK), await created.Content.ReadAsStringAsync());

        var refused = await InvokeToolAsync("schedules.create", new
        {
            name = "tool-made-leak",
            action = new { type = "send_notification", config = new { channel = "refs", message = "{{secret:API_TOKEN}}" } },
            trigger = new { intervalSeconds = 3600 },
        });
        var problem = await ApiAssertions.AssertProblemAsync(refused, HttpStatusCode.UnprocessableEntity);
        Assert.That(problem.ToString(), Does.Contain("header values and body string values"), problem.ToString());
    }

    private Task<HttpResponseMessage> InvokeToolAsync(string tool, object arguments) =>
        Admin.PostAsync($"/api/tools/{tool}/invoke", ApiClient.Json(new { project = "default", arguments }));

    private static IEnumerable<TestCaseData> LineBreaksInUrls()
    {
        foreach (var bad in new[] { "\r\n", "\n", "\0" })
        {
            var shown = bad.Replace("\r", "CR", StringComparison.Ordinal).Replace("\n", "LF", StringComparison.Ordinal).Replace("\0", "NUL", StringComparison.Ordinal);
            yield return new TestCaseData(bad).SetName($"A call_api URL with {shown} is refused on every surface");
        }
    }

    [TestCaseSource(nameof(LineBreaksInUrls))]
    public async Task A_call_api_url_with_a_control_character_is_refused_on_every_surface(string bad)
    {
        var url = $"https://example.com/a{bad}X-Injected: 1";
        var schedule = await Admin.PostAsync("/api/schedules", ApiClient.Json(new { name = "crlf-url", action = new { type = "call_api", config = new { url } }, trigger = new { intervalSeconds = 3600 } }));
        var problem = await ApiAssertions.AssertProblemAsync(schedule, HttpStatusCode.UnprocessableEntity);
        Assert.That(problem.GetProperty("errors").TryGetProperty("action.config.url", out _), Is.True, problem.ToString());

        var pipeline = await Admin.PostAsync("/api/pipelines", ApiClient.Json(new
        {
            id = "crlf-url",
            name = "crlf-url",
            nodes = new object[] { new { id = "call", type = "action", action = new { type = "call_api", config = new { url } } } },
            edges = Array.Empty<object>(),
        }));
        problem = await ApiAssertions.AssertProblemAsync(pipeline, HttpStatusCode.UnprocessableEntity);
        Assert.That(problem.GetProperty("errors").EnumerateObject().Select(e => e.Name), Has.Some.EndsWith("action.config.url"), problem.ToString());

        var tool = await Admin.PostAsync("/api/tools", ApiClient.Json(new { name = "crlf-url", kind = "http", parameters = new { type = "object" }, config = new { url } }));
        problem = await ApiAssertions.AssertProblemAsync(tool, HttpStatusCode.UnprocessableEntity);
        Assert.That(problem.GetProperty("errors").TryGetProperty("config.url", out _), Is.True, problem.ToString());
    }

    private async Task EnsureChannelAsync()
    {
        if ((await Admin.GetAsync("/api/channels/refs")).StatusCode == HttpStatusCode.NotFound)
        {
            await Admin.PostForJsonAsync("/api/channels", new { name = "refs", kind = "webhook", webhook = new { url = Peer.BaseUrl + "/refs" } }, HttpStatusCode.Created);
        }
    }
}
