using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Actions;

/// <summary>
/// <c>POST /api/actions/dry-run</c>: an action is validated as a schedule's create would validate it (the same error
/// keys) and rendered as a run would send it, from a sample run, with secrets as references; nothing reaches the peer,
/// no run is recorded, no schedule is made. Operator and up; a scoped key only in its projects.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class ActionDryRunTests : ServerWithPeerFixture
{
    private const string Token = "tkn-9d41c2e7-dry-run-secret";
    private readonly string workspaces = Directory.CreateTempSubdirectory("orchestrator-dryrun-ws-").FullName;

    protected override string DatabaseName => "dryrun";

    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Orchestrator__Secrets__API_TOKEN"] = Token,
        ["Orchestrator__Workspaces__Roots__0"] = workspaces,
    };

    protected override async Task StartedAsync()
    {
        await Admin.PostForJsonAsync("/api/channels", new { name = "dry-hook", kind = "webhook", webhook = new { url = $"{Peer.BaseUrl}/dry-hook" } }, HttpStatusCode.Created);
        await Admin.PostForJsonAsync("/api/projects", new { id = "beta", name = "Beta", rootPath = Path.Combine(workspaces, "beta") }, HttpStatusCode.Created);
    }

    private async Task<int> RunCountAsync() => (await Admin.GetFromJsonAsync<JsonElement>("/api/runs")).GetProperty("total").GetInt32();

    [Test]
    public async Task A_call_is_rendered_with_its_idempotency_key_and_secret_references_and_not_sent()
    {
        var runsBefore = await RunCountAsync();
        var result = await Admin.PostForJsonAsync("/api/actions/dry-run", new
        {
            scheduleName = "nightly",
            action = new
            {
                type = "call_api",
                config = new
                {
                    method = "POST",
                    url = $"{Peer.BaseUrl}/dry-call",
                    headers = new Dictionary<string, string> { ["Authorization"] = "Bearer {{secret:API_TOKEN}}" },
                    body = new { a = 1, token = "{{secret:API_TOKEN}}" },
                },
            },
        }, HttpStatusCode.OK);

        var text = result.GetRawText();
        Assert.That(text, Does.Not.Contain(Token), "a secret's value never leaves the server in a dry run");
        var rendered = result.GetProperty("rendered");
        Assert.That(rendered.GetProperty("method").GetString(), Is.EqualTo("POST"));
        Assert.That(rendered.GetProperty("url").GetString(), Is.EqualTo($"{Peer.BaseUrl}/dry-call"));
        var headers = rendered.GetProperty("headers");
        Assert.That(headers.GetProperty("Authorization").GetString(), Is.EqualTo("Bearer {{secret:API_TOKEN}}"));
        Assert.That(headers.GetProperty("Content-Type").GetString(), Is.EqualTo("application/json"));
        var sample = result.GetProperty("sample");
        Assert.That(headers.GetProperty("Idempotency-Key").GetString(), Is.EqualTo(sample.GetProperty("idempotencyKey").GetString()));
        Assert.That(sample.GetProperty("scheduleId").GetString(), Is.EqualTo("default.nightly"));
        Assert.That(rendered.GetProperty("body").GetProperty("token").GetString(), Is.EqualTo("{{secret:API_TOKEN}}"));
        Assert.That(rendered.GetProperty("timeoutSeconds").GetInt32(), Is.EqualTo(30), "the executor's default is written out");
        Assert.That(result.GetProperty("secrets").EnumerateArray().Select(s => s.GetString()), Is.EqualTo(new[] { "API_TOKEN" }));

        await Task.Delay(500);
        Assert.That(Peer.RequestsTo("/dry-call"), Is.Empty, "nothing is sent");
        Assert.That(await RunCountAsync(), Is.EqualTo(runsBefore), "no run is recorded");
        Assert.That((await Admin.GetFromJsonAsync<JsonElement>("/api/schedules")).GetProperty("total").GetInt32(), Is.Zero, "no schedule is made");
    }

    [Test]
    public async Task A_notification_is_rendered_for_the_sample_run_and_not_sent()
    {
        var result = await Admin.PostForJsonAsync("/api/actions/dry-run", new
        {
            project = "beta",
            scheduleName = "report",
            action = new { type = "send_notification", config = new { channel = "dry-hook", message = "Run {{run.id}} of {{schedule.id}}, attempt {{run.attempt}}" } },
        }, HttpStatusCode.OK);

        var rendered = result.GetProperty("rendered");
        var runId = result.GetProperty("sample").GetProperty("runId").GetGuid();
        Assert.That(rendered.GetProperty("message").GetString(), Is.EqualTo($"Run {runId} of beta.report, attempt 1"));
        Assert.That(rendered.GetProperty("subject").GetString(), Is.EqualTo("report"), "the sender's default subject, {{schedule.name}}");
        Assert.That(rendered.GetProperty("severity").GetString(), Is.EqualTo("info"));
        Assert.That(rendered.GetProperty("channel").GetString(), Is.EqualTo("dry-hook"));
        await Task.Delay(500);
        Assert.That(Peer.RequestsTo("/dry-hook"), Is.Empty, "nothing is sent");
    }

    [Test]
    public async Task Bad_input_is_a_422_naming_each_field_as_a_schedule_create_would()
    {
        // A schema error (the URL) and, in a config the schema accepts, a check beyond it (a secret not configured).
        foreach (var (config, key) in new (object, string)[]
        {
            (new { url = "not a url" }, "action.config.url"),
            (new { url = "https://api.example.com/x", headers = new Dictionary<string, string> { ["X-Token"] = "{{secret:NOT_CONFIGURED}}" } }, "action.config.headers.X-Token"),
        })
        {
            var dry = await ApiAssertions.AssertProblemAsync(
                await Admin.PostAsJsonAsync("/api/actions/dry-run", new { action = new { type = "call_api", config } }), HttpStatusCode.UnprocessableEntity);
            var create = await ApiAssertions.AssertProblemAsync(
                await Admin.PostAsJsonAsync("/api/schedules", new { name = "same-errors", action = new { type = "call_api", config }, trigger = new { cron = "0 0 3 * * ?", timeZone = "UTC" } }),
                HttpStatusCode.UnprocessableEntity);
            var keys = dry.GetProperty("errors").EnumerateObject().Select(e => e.Name).ToList();
            Assert.That(keys, Is.EqualTo(new[] { key }), dry.ToString());
            Assert.That(create.GetProperty("errors").EnumerateObject().Select(e => e.Name), Is.EqualTo(keys), "the same keys as a create");
        }

        var unknown = await ApiAssertions.AssertProblemAsync(
            await Admin.PostAsJsonAsync("/api/actions/dry-run", new { project = "nowhere", scheduleName = "bad name", action = new { type = "teleport", config = new { } } }),
            HttpStatusCode.UnprocessableEntity);
        var errors = unknown.GetProperty("errors");
        Assert.That(errors.GetProperty("project")[0].GetString(), Does.Contain("nowhere"));
        Assert.That(errors.GetProperty("scheduleName")[0].GetString(), Does.Contain("letters, digits"));
        Assert.That(errors.GetProperty("action.type")[0].GetString(), Does.Contain("'teleport' is not an action type"));

        // A config left out is an empty one: fine for noop (no settings), refused for call_api by its missing url.
        var noopBare = await Admin.PostAsJsonAsync("/api/actions/dry-run", new { action = new { type = "noop" } });
        Assert.That(noopBare.StatusCode, Is.EqualTo(HttpStatusCode.OK), await noopBare.Content.ReadAsStringAsync());
        var noConfig = await ApiAssertions.AssertProblemAsync(
            await Admin.PostAsJsonAsync("/api/actions/dry-run", new { action = new { type = "call_api" } }), HttpStatusCode.UnprocessableEntity);
        Assert.That(noConfig.GetProperty("errors").TryGetProperty("action.config.url", out _), Is.True, noConfig.ToString());
        var nonObject = await ApiAssertions.AssertProblemAsync(
            await Admin.PostAsJsonAsync("/api/actions/dry-run", new { action = new { type = "noop", config = "x" } }), HttpStatusCode.UnprocessableEntity);
        Assert.That(nonObject.GetProperty("errors").GetProperty("action.config")[0].GetString(), Does.Contain("must be a JSON object"));

        // An unknown property is refused, as on every route.
        await ApiAssertions.AssertProblemAsync(
            await Admin.PostAsJsonAsync("/api/actions/dry-run", new { action = new { type = "noop", config = new { } }, sendIt = true }), HttpStatusCode.BadRequest);
    }

    [Test]
    public async Task A_viewer_may_not_and_a_scoped_key_only_in_its_projects()
    {
        var viewerKey = await Admin.PostForJsonAsync("/api/keys", new { name = "dry-viewer", role = "viewer" }, HttpStatusCode.Created);
        using var viewer = Server.CreateClient(viewerKey.GetProperty("key").GetString());
        var noop = new { project = "beta", action = new { type = "noop", config = new { } } };
        await ApiAssertions.AssertProblemAsync(await viewer.PostAsJsonAsync("/api/actions/dry-run", noop), HttpStatusCode.Forbidden);

        var scopedKey = await Admin.PostForJsonAsync("/api/keys", new { name = "dry-beta", role = "operator", projects = new[] { "beta" } }, HttpStatusCode.Created);
        using var scoped = Server.CreateClient(scopedKey.GetProperty("key").GetString());
        var ok = await scoped.PostForJsonAsync("/api/actions/dry-run", noop, HttpStatusCode.OK);
        Assert.That(ok.GetProperty("rendered").EnumerateObject(), Is.Empty);
        var outside = await ApiAssertions.AssertProblemAsync(
            await scoped.PostAsJsonAsync("/api/actions/dry-run", new { project = "default", action = new { type = "noop", config = new { } } }), HttpStatusCode.Forbidden);
        Assert.That(outside.GetProperty("detail").GetString(), Does.Contain("'default'"));
    }
}
