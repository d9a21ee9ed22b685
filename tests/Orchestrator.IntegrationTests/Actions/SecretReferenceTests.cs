using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Actions;

/// <summary>
/// Follow-ups to the secrets hardening: text that reads as a secret reference but is not one was sent as written; run
/// inputs could complete a reference the definition only opened; a secret could sit in Content-Type, which a redirect
/// carries on; the HTTP client logged every redirect hop's URL; and a tool could print a configured secret into a run
/// record, a node output or an invoke response. One real server process (its output captured) and a real peer.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class SecretReferenceTests : ServerWithPeerFixture
{
    private const string Token = "tkn-5b8e1f0a-ref-secret-value";

    protected override string DatabaseName => "secretrefs";

    // Its tasks read the server process's own environment (/proc/$PPID/environ): only a separate process has one.
    protected override bool SeparateProcess => true;

    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Orchestrator__Secrets__API_TOKEN"] = Token,
    };

    private static void AssertNoSecret(string text, string what)
    {
        Assert.That(text, Does.Not.Contain(Token), $"{what} holds the secret: {text}");
        Assert.That(text, Does.Not.Contain(Token[..12]), $"{what} holds a piece of the secret: {text}");
    }

    private static async Task<string> ReasonAsync(HttpResponseMessage response, string field)
    {
        var problem = await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity);
        Assert.That(problem.GetProperty("errors").TryGetProperty(field, out var reasons), Is.True, problem.ToString());
        return string.Join(" ", reasons.EnumerateArray().Select(r => r.GetString()));
    }

    private static object CallApiPipeline(string id, object config) => new
    {
        id,
        name = id,
        nodes = new object[] { new { id = "n", type = "action", action = new { type = "call_api", config } } },
        edges = Array.Empty<object>(),
    };

    [TestCase("{{secret: API_TOKEN}}")]
    [TestCase("{{Secret:API_TOKEN}}")]
    [TestCase("{{secret:API TOKEN}}")]
    [TestCase("{{secret:API_TOKEN}")]
    public async Task A_malformed_secret_reference_is_refused_on_every_surface_instead_of_sent_as_written(string reference)
    {
        var before = await Admin.GetStringAsync("/api/schedules") + await Admin.GetStringAsync("/api/pipelines") + await Admin.GetStringAsync("/api/tools");
        var headers = new Dictionary<string, string> { ["X-Token"] = reference };
        var body = new { token = "Bearer " + reference };

        var schedule = await Admin.PostAsync("/api/schedules", ApiClient.Json(new
        {
            name = "malformed",
            action = new { type = "call_api", config = new { url = Peer.BaseUrl + "/m", headers } },
            trigger = new { intervalSeconds = 3600 },
        }));
        Assert.That(await ReasonAsync(schedule, "action.config.headers.X-Token"), Does.Contain("malformed secret reference"));

        var inBody = await Admin.PostAsync("/api/schedules", ApiClient.Json(new
        {
            name = "malformed-body",
            action = new { type = "call_api", config = new { method = "POST", url = Peer.BaseUrl + "/m", body } },
            trigger = new { intervalSeconds = 3600 },
        }));
        Assert.That(await ReasonAsync(inBody, "action.config.body.token"), Does.Contain("malformed secret reference"));

        var node = await Admin.PostAsync("/api/pipelines/validate", ApiClient.Json(CallApiPipeline("malformed", new { url = Peer.BaseUrl + "/m", headers })));
        Assert.That(await ReasonAsync(node, "nodes.n.action.config.headers.X-Token"), Does.Contain("malformed secret reference"));

        var tool = await Admin.PostAsync("/api/tools", ApiClient.Json(new
        {
            name = "malformed-http",
            kind = "http",
            parameters = new { type = "object" },
            config = new { url = Peer.BaseUrl + "/m", headers },
        }));
        Assert.That((await tool.Content.ReadAsStringAsync()).Contains("malformed secret reference", StringComparison.Ordinal), Is.True, await tool.Content.ReadAsStringAsync());
        Assert.That(tool.StatusCode, Is.EqualTo(HttpStatusCode.UnprocessableEntity));

        var request = await Admin.PostAsync("/api/tools/http.request/invoke", ApiClient.Json(new { project = "default", arguments = new { url = Peer.BaseUrl + "/m", headers } }));
        Assert.That(request.StatusCode, Is.EqualTo(HttpStatusCode.UnprocessableEntity), await request.Content.ReadAsStringAsync());
        Assert.That(await request.Content.ReadAsStringAsync(), Does.Contain("malformed secret reference"));

        Assert.That(Peer.RequestsTo("/m"), Is.Empty, "nothing was sent");
        Assert.That(await Admin.GetStringAsync("/api/schedules") + await Admin.GetStringAsync("/api/pipelines") + await Admin.GetStringAsync("/api/tools"), Is.EqualTo(before));
    }

    [Test]
    public async Task A_secret_in_Content_Type_is_refused_naming_the_header()
    {
        var response = await Admin.PostAsync("/api/schedules", ApiClient.Json(new
        {
            name = "ctype",
            action = new
            {
                type = "call_api",
                config = new { method = "POST", url = Peer.BaseUrl + "/c", headers = new Dictionary<string, string> { ["content-type"] = "application/x-{{secret:API_TOKEN}}" }, body = new { a = 1 } },
            },
            trigger = new { intervalSeconds = 3600 },
        }));

        Assert.That(await ReasonAsync(response, "action.config.headers.content-type"), Does.Contain("not in Content-Type"));
        Assert.That((await Admin.GetStringAsync("/api/schedules")).Contains("ctype", StringComparison.Ordinal), Is.False);
    }

    [Test]
    public async Task Run_inputs_that_together_form_a_secret_reference_fail_the_node_and_send_nothing()
    {
        // "{{" and "secret:API_TOKEN}}" each carry no reference, so each passes the value check; together they form one.
        await Admin.PostForJsonAsync("/api/pipelines", CallApiPipeline("formed", new
        {
            url = Peer.BaseUrl + "/formed",
            headers = new Dictionary<string, string> { ["X-Token"] = "{{inputs.open}}{{inputs.rest}}" },
        }), HttpStatusCode.Created);

        var runId = (await Admin.PostForJsonAsync("/api/pipelines/formed/run", new { inputs = new { open = "{{", rest = "secret:API_TOKEN}}" } }, HttpStatusCode.Accepted))
            .GetProperty("id").GetString();
        var detail = await Poll.UntilAsync(() => Admin.GetFromJsonAsync<JsonElement>($"/api/pipeline-runs/{runId}"),
            d => d.GetProperty("run").GetProperty("status").GetString() is not ("pending" or "running"), TimeSpan.FromSeconds(30), "the pipeline run");

        Assert.That(detail.GetProperty("run").GetProperty("status").GetString(), Is.EqualTo("failed"), detail.ToString());
        Assert.That(detail.GetRawText(), Does.Contain("would form a '{{secret:"), detail.ToString());
        Assert.That(Peer.RequestsTo("/formed"), Is.Empty, "the secret was sent");
    }

    [Test]
    public async Task An_upstream_response_that_completes_a_secret_reference_fails_the_node_and_sends_nothing()
    {
        Peer.Configure("/parts", new RecordingHttpServer.Behaviour(TimeSpan.Zero, Body: """{"open":"{{","rest":"secret:API_TOKEN}}"}"""));
        await Admin.PostForJsonAsync("/api/pipelines", new
        {
            id = "upstream-formed",
            name = "upstream-formed",
            nodes = new object[]
            {
                new { id = "up", type = "action", action = new { type = "call_api", config = new { url = Peer.BaseUrl + "/parts" } } },
                new
                {
                    id = "send", type = "action", action = new
                    {
                        type = "call_api",
                        config = new
                        {
                            url = Peer.BaseUrl + "/upstream-formed",
                            headers = new Dictionary<string, string> { ["X-Token"] = "{{nodes.up.output.body.open}}{{nodes.up.output.body.rest}}" },
                        },
                    },
                },
            },
            edges = new object[] { new { from = "up", to = "send" } },
        }, HttpStatusCode.Created);

        var runId = (await Admin.PostForJsonAsync("/api/pipelines/upstream-formed/run", new { inputs = new { } }, HttpStatusCode.Accepted)).GetProperty("id").GetString();
        var detail = await Poll.UntilAsync(() => Admin.GetFromJsonAsync<JsonElement>($"/api/pipeline-runs/{runId}"),
            d => d.GetProperty("run").GetProperty("status").GetString() is not ("pending" or "running"), TimeSpan.FromSeconds(30), "the pipeline run");

        Assert.That(detail.GetProperty("run").GetProperty("status").GetString(), Is.EqualTo("failed"), detail.ToString());
        Assert.That(detail.GetRawText(), Does.Contain("would form a '{{secret:"), detail.ToString());
        Assert.That(Peer.RequestsTo("/upstream-formed"), Is.Empty, "the secret was sent");
    }

    [Test]
    public async Task A_redirect_Location_carrying_a_secret_is_not_written_to_the_server_log()
    {
        // The peer points the call at a URL holding what it was sent; the client's per-hop logging wrote that URL.
        Peer.Configure("/hop", new RecordingHttpServer.Behaviour(TimeSpan.Zero, Status: 302, Location: Peer.BaseUrl + "/landing/" + Token));
        await Admin.CreateScheduleAsync(new
        {
            name = "hop",
            action = new { type = "call_api", config = new { url = Peer.BaseUrl + "/hop", headers = new Dictionary<string, string> { ["X-Token"] = "{{secret:API_TOKEN}}" } } },
            trigger = new { at = InOneSecond() },
        });
        var runs = await Poll.UntilAsync(() => Admin.RunsAsync("default.hop"), r => r.Count == 1 && r[0].Status() is "failed" or "succeeded", TimeSpan.FromSeconds(20), "the hop run");

        Assert.That(runs[0].Status(), Is.EqualTo("succeeded"), runs[0].ToString());
        Assert.That(Peer.RequestsTo("/landing/" + Token), Has.Count.EqualTo(1), "the redirect was followed");
        AssertNoSecret(Server.Output, "the server's output");
    }

    private const string PrintServerSecrets = "tr '\\000' '\\n' < /proc/$PPID/environ | grep Secrets";

    [Test]
    public async Task A_shell_run_that_prints_the_servers_secrets_has_them_masked_in_the_invoke_response()
    {
        var result = await Admin.PostForJsonAsync("/api/tools/shell.run/invoke",
            new { project = "default", arguments = new { argv = new[] { "sh", "-c", PrintServerSecrets } } }, HttpStatusCode.OK);

        Assert.That(result.GetRawText(), Does.Contain("Orchestrator__Secrets__API_TOKEN=***"), result.ToString());
        AssertNoSecret(result.GetRawText(), "the invoke response");
    }

    [Test]
    public async Task A_run_task_that_prints_the_servers_secrets_has_them_masked_in_the_run_record()
    {
        await Admin.CreateScheduleAsync(new
        {
            name = "leak",
            action = new { type = "run_task", config = new { tool = "shell.run", arguments = new { argv = new[] { "sh", "-c", PrintServerSecrets } } } },
            trigger = new { at = InOneSecond() },
        });
        var runs = await Poll.UntilAsync(() => Admin.RunsAsync("default.leak"), r => r.Count == 1 && r[0].Status() is "failed" or "succeeded", TimeSpan.FromSeconds(20), "the leak run");

        Assert.That(runs[0].GetRawText(), Does.Contain("Orchestrator__Secrets__API_TOKEN=***"), runs[0].ToString());
        AssertNoSecret(runs[0].GetRawText(), "the run list the dashboard reads");
        AssertNoSecret(await Admin.GetStringAsync("/api/runs/" + runs[0].GetProperty("id").GetString()), "the run");
    }

    [Test]
    public async Task A_pipeline_task_node_that_prints_the_servers_secrets_has_them_masked_in_its_output()
    {
        await Admin.PostForJsonAsync("/api/pipelines", new
        {
            id = "leak-node",
            name = "leak-node",
            nodes = new object[]
            {
                new { id = "n", type = "action", action = new { type = "run_task", config = new { tool = "shell.run", arguments = new { argv = new[] { "sh", "-c", PrintServerSecrets } } } } },
            },
            edges = Array.Empty<object>(),
        }, HttpStatusCode.Created);

        var runId = (await Admin.PostForJsonAsync("/api/pipelines/leak-node/run", new { inputs = new { } }, HttpStatusCode.Accepted)).GetProperty("id").GetString();
        var detail = await Poll.UntilAsync(() => Admin.GetFromJsonAsync<JsonElement>($"/api/pipeline-runs/{runId}"),
            d => d.GetProperty("run").GetProperty("status").GetString() is not ("pending" or "running"), TimeSpan.FromSeconds(30), "the pipeline run");

        Assert.That(detail.GetRawText(), Does.Contain("Orchestrator__Secrets__API_TOKEN=***"), detail.ToString());
        AssertNoSecret(detail.GetRawText(), "the pipeline run");
    }

    [Test]
    public async Task A_command_tool_that_prints_a_secret_to_stderr_and_fails_has_it_masked_in_the_response()
    {
        await Admin.PostForJsonAsync("/api/tools", new
        {
            name = "leaky",
            kind = "command",
            parameters = new { type = "object" },
            config = new { argv = new[] { "sh", "-c", PrintServerSecrets + " >&2; exit 3" } },
        }, HttpStatusCode.Created);

        var result = await Admin.PostForJsonAsync("/api/tools/leaky/invoke", new { project = "default", arguments = new { } }, HttpStatusCode.OK);

        Assert.That(result.GetProperty("succeeded").GetBoolean(), Is.False, result.ToString());
        Assert.That(result.GetRawText(), Does.Contain("Orchestrator__Secrets__API_TOKEN=***"), result.ToString());
        AssertNoSecret(result.GetRawText(), "the invoke response");
    }
}
