using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Cli;

/// <summary>
/// <c>keys list|create|revoke</c> and <c>audit</c> against a real HTTP peer that stands in for the admin routes of
/// SPEC §4 (<c>GET/POST /api/keys</c>, <c>DELETE /api/keys/{id}</c>, <c>GET /api/audit</c>): what the CLI sends, and
/// how it shows what comes back.
/// </summary>
[TestFixture]
[Category("Cli")]
public sealed class CliKeysAndAuditContractTests
{
    private RecordingHttpServer peer = null!;

    // A peer per test, so each test's requests are its own.
    [SetUp]
    public async Task StartAsync() => peer = await RecordingHttpServer.StartAsync();

    [TearDown]
    public async Task StopAsync() => await peer.DisposeAsync();

    private Task<CliProcess.Finished> Cli(params string[] arguments) =>
        CliProcess.RunAsync(new Dictionary<string, string?> { ["ORCHESTRATOR_SERVER"] = peer.BaseUrl, ["ORCHESTRATOR_KEY"] = "orch_admin_test" }, arguments);

    [Test]
    public async Task Keys_create_with_a_server_posts_name_role_and_projects_and_prints_the_key_once()
    {
        peer.Configure("/api/keys", new RecordingHttpServer.Behaviour(TimeSpan.Zero, 201, Body: """{"id":"k-1","name":"ci","role":"operator","key":"orch_secret_once"}"""));
        var created = await Cli("keys", "create", "--role", "operator", "--name", "ci", "--project", "alpha", "--project", "beta", "--expires-at", "2030-01-01T00:00:00Z");
        Assert.That(created.ExitCode, Is.Zero, created.ToString());
        Assert.That(created.Stdout, Does.Contain("orch_secret_once"));

        var sent = peer.RequestsTo("/api/keys");
        var request = sent[^1];
        Assert.That(request.Method, Is.EqualTo("POST"));
        Assert.That(request.Headers["Authorization"], Is.EqualTo("Bearer orch_admin_test"));
        using var body = JsonDocument.Parse(request.Body);
        Assert.That(body.RootElement.GetProperty("name").GetString(), Is.EqualTo("ci"));
        Assert.That(body.RootElement.GetProperty("role").GetString(), Is.EqualTo("operator"));
        Assert.That(body.RootElement.GetProperty("projects").EnumerateArray().Select(p => p.GetString()), Is.EqualTo(new[] { "alpha", "beta" }));
        Assert.That(body.RootElement.GetProperty("expiresAt").GetString(), Is.EqualTo("2030-01-01T00:00:00Z"), "sent as written, for the server to read");
    }

    [Test]
    public async Task Keys_create_sends_nothing_that_was_not_given()
    {
        peer.Configure("/api/keys", new RecordingHttpServer.Behaviour(TimeSpan.Zero, 201, Body: """{"id":"k-2","name":"viewer-x","role":"viewer","key":"orch_x"}"""));
        var created = await Cli("keys", "create", "--role", "viewer", "--json");
        Assert.That(created.ExitCode, Is.Zero, created.ToString());
        using var printed = JsonDocument.Parse(created.Stdout);
        Assert.That(printed.RootElement.GetProperty("key").GetString(), Is.EqualTo("orch_x"));
        using var body = JsonDocument.Parse(peer.RequestsTo("/api/keys")[0].Body);
        Assert.That(body.RootElement.EnumerateObject().Select(p => p.Name), Is.EquivalentTo(new[] { "name", "role" }));
        Assert.That(body.RootElement.GetProperty("name").GetString(), Does.StartWith("viewer-"));
    }

    [Test]
    public async Task Keys_list_revoke_and_audit_call_their_routes()
    {
        peer.Configure("/api/keys", new RecordingHttpServer.Behaviour(TimeSpan.Zero, Body: """{"items":[{"id":"k-1","prefix":"orch_ab","name":"ci","role":"operator","projects":null,"status":"active","createdAt":"2026-11-30T10:00:00Z"}],"page":1,"pageSize":50,"total":1}"""));
        var listed = await Cli("keys", "list");
        Assert.That(listed.ExitCode, Is.Zero, listed.ToString());
        Assert.That(listed.Stdout, Does.StartWith("ID").And.Contain("STATUS").And.Contain("1 in all"));
        Assert.That(listed.Stdout.Split('\n')[1], Does.StartWith("k-1").And.Contain("operator").And.Contain("active"));

        peer.Configure("/api/keys/k-1", new RecordingHttpServer.Behaviour(TimeSpan.Zero, 204, Body: ""));
        var revoked = await Cli("keys", "revoke", "k-1");
        Assert.That(revoked.ExitCode, Is.Zero, revoked.ToString());
        Assert.That(peer.RequestsTo("/api/keys/k-1").Single().Method, Is.EqualTo("DELETE"));

        peer.Configure("/api/audit", new RecordingHttpServer.Behaviour(TimeSpan.Zero, Body: """{"items":[{"id":7,"at":"2026-11-30T10:00:00Z","actor":{"keyId":null,"name":"ci"},"action":"pause","resourceType":"schedule","resourceId":"default.a","project":"default","reason":"window"}],"pageSize":50,"nextCursor":"c7"}"""));
        var table = await Cli("audit", "--actor", "ci");
        Assert.That(table.ExitCode, Is.Zero, table.ToString());
        Assert.That(table.Stdout.Split('\n')[1], Does.Contain("ci").And.Contain("pause").And.Contain("default.a").And.Contain("window"));
        Assert.That(table.Stdout, Does.Contain("more: --cursor c7"));

        var audit = await Cli("audit", "--actor", "ci", "--json");
        Assert.That(audit.ExitCode, Is.Zero, audit.ToString());
        using var page = JsonDocument.Parse(audit.Stdout);
        Assert.That(page.RootElement.GetProperty("items")[0].GetProperty("action").GetString(), Is.EqualTo("pause"));
        Assert.That(peer.RequestsTo("/api/audit"), Has.Count.EqualTo(2));
    }

    [Test]
    public async Task A_forbidden_answer_exits_4_with_the_problems_text()
    {
        peer.Configure("/api/audit", new RecordingHttpServer.Behaviour(TimeSpan.Zero, 403, Body: """{"title":"Forbidden","status":403,"detail":"This route needs the admin role; the key has viewer."}"""));
        var audit = await Cli("audit");
        Assert.That(audit.ExitCode, Is.EqualTo(4), audit.ToString());
        Assert.That(audit.Stderr, Does.Contain("403 Forbidden").And.Contain("needs the admin role"));
    }
}
