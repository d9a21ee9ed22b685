using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Security;

/// <summary>
/// The keys API on a real PostgreSQL: list, create (shown once), revoke (refused at once, on another node too), expiry,
/// last used, and the validation of each field.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class KeyManagementTests
{
    private InProcessServer server = null!;
    private Dictionary<string, string?> environment = null!;
    private HttpClient admin = null!;

    [OneTimeSetUp]
    public async Task StartServer()
    {
        var database = await TestPostgres.CreateDatabaseAsync("keys");
        var workspaceRoot = Directory.CreateTempSubdirectory("orchestrator-keys-ws-").FullName;
        environment = PostgresNode.Environment(database, new Dictionary<string, string?> { ["Orchestrator__Workspaces__Roots__0"] = workspaceRoot });
        server = InProcessServer.Start(environment);
        await server.WaitUntilReadyAsync();
        admin = server.CreateClient(server.PrintedAdminKey ?? throw new InvalidOperationException("no admin key printed:\n" + server.Output));
        await admin.PostForJsonAsync("/api/projects", new { id = "alpha", name = "Alpha", rootPath = Path.Combine(workspaceRoot, "alpha") }, HttpStatusCode.Created);
    }

    [OneTimeTearDown]
    public async Task StopServer()
    {
        admin?.Dispose();
        if (server is not null)
        {
            await server.DisposeAsync();
        }
    }

    private static string Unique(string name) => $"{name}-{Guid.NewGuid().ToString("N")[..8]}";

    private async Task<List<JsonElement>> KeysAsync()
    {
        var page = await admin.GetFromJsonAsync<JsonElement>("/api/keys?pageSize=200");
        return [.. page.GetProperty("items").EnumerateArray()];
    }

    private async Task<JsonElement> KeyNamedAsync(string name) => (await KeysAsync()).Single(k => k.GetProperty("name").GetString() == name);

    private async Task<JsonElement> CreateAsync(object body) => await admin.PostForJsonAsync("/api/keys", body, HttpStatusCode.Created);

    private async Task<object?> ScalarAsync(string sql)
    {
        await using var connection = new NpgsqlConnection(environment["Orchestrator__Database__ConnectionString"]);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }

    [Test]
    public async Task Created_key_is_shown_once_works_and_is_listed_without_its_secret()
    {
        var name = Unique("deploy-bot");
        var created = await CreateAsync(new { name, role = "operator", projects = new[] { "alpha" } });
        var plain = created.GetProperty("key").GetString()!;
        Assert.That(plain, Does.StartWith(created.GetProperty("prefix").GetString() + "_"));
        Assert.That(created.GetProperty("role").GetString(), Is.EqualTo("operator"));
        Assert.That(created.GetProperty("projects").EnumerateArray().Select(p => p.GetString()), Is.EqualTo(new[] { "alpha" }));

        using var client = server.CreateClient(plain);
        Assert.That((await client.GetAsync("/api/projects/alpha")).StatusCode, Is.EqualTo(HttpStatusCode.OK));

        var listed = await KeyNamedAsync(name);
        Assert.That(listed.GetProperty("id").GetGuid(), Is.EqualTo(created.GetProperty("id").GetGuid()));
        Assert.That(listed.GetProperty("status").GetString(), Is.EqualTo("active"));
        Assert.That(listed.TryGetProperty("key", out _), Is.False, "the key is never listed");
        Assert.That(listed.TryGetProperty("hash", out _), Is.False, "nor its hash");
        var everything = JsonSerializer.Serialize(await KeysAsync());
        Assert.That(everything, Does.Not.Contain(plain[14..]), "no listing carries the secret part of any key");
    }

    [Test]
    public async Task Revoked_key_is_refused_at_once_on_this_node_and_on_another_and_stays_listed()
    {
        var name = Unique("revoke-me");
        var created = await CreateAsync(new { name, role = "viewer" });
        var plain = created.GetProperty("key").GetString()!;
        await using var other = InProcessServer.Start(environment);
        await other.WaitUntilReadyAsync();
        using var here = server.CreateClient(plain);
        using var there = other.CreateClient(plain);
        Assert.That((await here.GetAsync("/api/projects")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await there.GetAsync("/api/projects")).StatusCode, Is.EqualTo(HttpStatusCode.OK));

        var revoked = await admin.DeleteAsync($"/api/keys/{created.GetProperty("id").GetGuid()}");
        Assert.That(revoked.StatusCode, Is.EqualTo(HttpStatusCode.NoContent), await revoked.Content.ReadAsStringAsync());

        var refusedHere = await ApiAssertions.AssertProblemAsync(await here.GetAsync("/api/projects"), HttpStatusCode.Unauthorized);
        var refusedThere = await ApiAssertions.AssertProblemAsync(await there.GetAsync("/api/projects"), HttpStatusCode.Unauthorized);
        // The holder of the whole key learns it was revoked (and needs a new one) ...
        Assert.That(refusedHere.GetProperty("detail").GetString(), Does.Contain($"'{name}' was revoked"));
        Assert.That(refusedThere.GetProperty("detail").GetString(), Does.Contain("was revoked"));
        // ... a guess with the same prefix learns nothing about the key.
        using var guess = server.CreateClient(plain[..^1] + (plain[^1] == 'A' ? 'B' : 'A'));
        var guessed = await ApiAssertions.AssertProblemAsync(await guess.GetAsync("/api/projects"), HttpStatusCode.Unauthorized);
        Assert.That(guessed.GetProperty("detail").GetString(), Is.EqualTo("The API key is not valid."));
        var listed = await KeyNamedAsync(name);
        Assert.That(listed.GetProperty("status").GetString(), Is.EqualTo("revoked"));
        Assert.That(listed.GetProperty("revokedAt").ValueKind, Is.EqualTo(JsonValueKind.String));

        // A revoked key's name is free again; revoking it twice changes nothing.
        await CreateAsync(new { name, role = "viewer" });
        Assert.That((await admin.DeleteAsync($"/api/keys/{created.GetProperty("id").GetGuid()}")).StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        Assert.That((await KeysAsync()).Count(k => k.GetProperty("name").GetString() == name), Is.EqualTo(2));
    }

    [Test]
    public async Task Expired_key_is_refused_with_a_problem_saying_it_expired()
    {
        var name = Unique("short-lived");
        var expires = TimeProvider.System.GetUtcNow().AddSeconds(3);
        var created = await CreateAsync(new { name, role = "viewer", expiresAt = expires.ToString("O", CultureInfo.InvariantCulture) });
        using var client = server.CreateClient(created.GetProperty("key").GetString());
        Assert.That((await client.GetAsync("/api/projects")).StatusCode, Is.EqualTo(HttpStatusCode.OK), "valid until it expires");

        await Task.Delay(expires - TimeProvider.System.GetUtcNow() + TimeSpan.FromMilliseconds(300));
        var problem = await ApiAssertions.AssertProblemAsync(await client.GetAsync("/api/projects"), HttpStatusCode.Unauthorized);
        Assert.That(problem.GetProperty("detail").GetString(), Does.Contain("expired"));
        Assert.That((await KeyNamedAsync(name)).GetProperty("status").GetString(), Is.EqualTo("expired"));
    }

    [Test]
    public async Task Last_used_is_recorded_and_written_at_most_once_a_minute()
    {
        var name = Unique("busy");
        var created = await CreateAsync(new { name, role = "viewer" });
        var id = created.GetProperty("id").GetGuid();
        Assert.That((await KeyNamedAsync(name)).GetProperty("lastUsedAt").ValueKind, Is.EqualTo(JsonValueKind.Null), "never used yet");

        using var client = server.CreateClient(created.GetProperty("key").GetString());
        Assert.That((await client.GetAsync("/api/projects")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var first = await ScalarAsync($"SELECT last_used_at FROM api_keys WHERE id = '{id}'");
        Assert.That(first, Is.InstanceOf<DateTime>(), "the first use is recorded");
        Assert.That((await KeyNamedAsync(name)).GetProperty("lastUsedAt").ValueKind, Is.EqualTo(JsonValueKind.String));

        for (var i = 0; i < 5; i++)
        {
            Assert.That((await client.GetAsync("/api/projects")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        }

        Assert.That(await ScalarAsync($"SELECT last_used_at FROM api_keys WHERE id = '{id}'"), Is.EqualTo(first), "uses within the minute write nothing");

        // A use more than a minute after the recorded one is written.
        await ScalarAsync($"UPDATE api_keys SET last_used_at = last_used_at - interval '2 minutes' WHERE id = '{id}'");
        var aged = await ScalarAsync($"SELECT last_used_at FROM api_keys WHERE id = '{id}'");
        Assert.That((await client.GetAsync("/api/projects")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((DateTime)(await ScalarAsync($"SELECT last_used_at FROM api_keys WHERE id = '{id}'"))!, Is.GreaterThan((DateTime)aged!));
    }

    private static IEnumerable<TestCaseData> BadKeys()
    {
        yield return new TestCaseData(new { role = "viewer" }, "name").SetName("missing name");
        yield return new TestCaseData(new { name = "  ", role = "viewer" }, "name").SetName("blank name");
        yield return new TestCaseData(new { name = new string('n', 101), role = "viewer" }, "name").SetName("name too long");
        yield return new TestCaseData(new { name = "line\nbreak", role = "viewer" }, "name").SetName("control character in name");
        yield return new TestCaseData(new { name = "x" }, "role").SetName("missing role");
        yield return new TestCaseData(new { name = "x", role = "root" }, "role").SetName("unknown role");
        yield return new TestCaseData(new { name = "x", role = "Admin" }, "role").SetName("role in another case");
        yield return new TestCaseData(new { name = "x", role = "viewer", projects = Array.Empty<string>() }, "projects").SetName("empty projects");
        yield return new TestCaseData(new { name = "x", role = "viewer", projects = new[] { "nope" } }, "projects").SetName("unknown project");
        yield return new TestCaseData(new { name = "x", role = "viewer", projects = new[] { "../etc" } }, "projects").SetName("malformed project");
        yield return new TestCaseData(new { name = "x", role = "viewer", expiresAt = "2020-01-01T00:00:00Z" }, "expiresAt").SetName("expiry in the past");
        yield return new TestCaseData(new { name = "x", role = "viewer", expiresAt = "tomorrow" }, "expiresAt").SetName("expiry not a time");
    }

    [TestCaseSource(nameof(BadKeys))]
    public async Task Invalid_key_request_is_422_naming_the_field_and_stores_nothing(object body, string field)
    {
        var before = (await KeysAsync()).Count;
        var problem = await ApiAssertions.AssertProblemAsync(await admin.PostAsync("/api/keys", ApiClient.Json(body)), HttpStatusCode.UnprocessableEntity);
        Assert.That(problem.GetProperty("errors").TryGetProperty(field, out _), Is.True, problem.ToString());
        Assert.That((await KeysAsync()).Count, Is.EqualTo(before));
    }

    [Test]
    public async Task Duplicate_active_name_is_409_and_unknown_properties_are_refused()
    {
        var name = Unique("twice");
        await CreateAsync(new { name, role = "viewer" });
        var problem = await ApiAssertions.AssertProblemAsync(await admin.PostAsync("/api/keys", ApiClient.Json(new { name, role = "admin" })), HttpStatusCode.Conflict);
        Assert.That(problem.GetProperty("detail").GetString(), Does.Contain(name));
        await ApiAssertions.AssertProblemAsync(await admin.PostAsync("/api/keys", ApiClient.Json(new { name = Unique("x"), role = "viewer", secret = "mine" })), HttpStatusCode.BadRequest);
        Assert.That((await KeysAsync()).Count(k => k.GetProperty("name").GetString() == name), Is.EqualTo(1));
    }

    [Test]
    public async Task Unknown_key_id_is_404_for_revoke()
    {
        await ApiAssertions.AssertProblemAsync(await admin.DeleteAsync($"/api/keys/{Guid.NewGuid()}"), HttpStatusCode.NotFound);
        await ApiAssertions.AssertProblemAsync(await admin.DeleteAsync("/api/keys/not-a-guid"), HttpStatusCode.NotFound);
    }

    [Test]
    public async Task Operator_and_viewer_keys_cannot_manage_keys()
    {
        foreach (var role in new[] { "viewer", "operator" })
        {
            using var client = server.CreateClient((await CreateAsync(new { name = Unique(role), role })).GetProperty("key").GetString());
            await ApiAssertions.AssertProblemAsync(await client.GetAsync("/api/keys"), HttpStatusCode.Forbidden);
            await ApiAssertions.AssertProblemAsync(await client.PostAsync("/api/keys", ApiClient.Json(new { name = Unique("sneaky"), role = "admin" })), HttpStatusCode.Forbidden);
        }
    }

    [Test]
    public async Task The_last_active_admin_key_cannot_revoke_itself_but_can_once_another_exists()
    {
        // A second unscoped admin retires every other one (the printed key included), so it is the last.
        var spare = await CreateAsync(new { name = Unique("spare-admin"), role = "admin" });
        var spareId = spare.GetProperty("id").GetGuid();
        using var spareClient = server.CreateClient(spare.GetProperty("key").GetString());
        var others = (await KeysAsync()).Where(k => k.GetProperty("role").GetString() == "admin" && k.GetProperty("status").GetString() == "active"
            && k.GetProperty("projects").ValueKind == JsonValueKind.Null && k.GetProperty("id").GetGuid() != spareId).ToList();
        Assert.That(others, Is.Not.Empty, "the printed admin key is there to retire");
        foreach (var other in others)
        {
            Assert.That((await spareClient.DeleteAsync($"/api/keys/{other.GetProperty("id").GetGuid()}")).StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        }

        var problem = await ApiAssertions.AssertProblemAsync(await spareClient.DeleteAsync($"/api/keys/{spareId}"), HttpStatusCode.Conflict);
        Assert.That(problem.GetProperty("detail").GetString(), Does.Contain("last active admin"));
        Assert.That((await spareClient.GetAsync("/api/keys")).StatusCode, Is.EqualTo(HttpStatusCode.OK), "the key still works");

        // A fresh admin made by the spare takes over; now the spare may go.
        var successor = await spareClient.PostForJsonAsync("/api/keys", new { name = Unique("successor"), role = "admin" }, HttpStatusCode.Created);
        Assert.That((await spareClient.DeleteAsync($"/api/keys/{spareId}")).StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        await ApiAssertions.AssertProblemAsync(await spareClient.GetAsync("/api/keys"), HttpStatusCode.Unauthorized);

        // The fixture's client goes on with the successor.
        admin.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", successor.GetProperty("key").GetString());
    }

    [Test]
    public async Task Keys_work_the_same_on_the_embedded_SQLite_database()
    {
        await using var embedded = InProcessServer.Start();
        await embedded.WaitUntilReadyAsync();
        using var root = embedded.CreateClient(embedded.PrintedAdminKey);
        var expires = TimeProvider.System.GetUtcNow().AddHours(1).ToString("O", CultureInfo.InvariantCulture);
        var created = await root.PostForJsonAsync("/api/keys", new { name = "lite", role = "viewer", expiresAt = expires }, HttpStatusCode.Created);
        using var lite = embedded.CreateClient(created.GetProperty("key").GetString());
        Assert.That((await lite.GetAsync("/api/projects")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var listed = (await root.GetFromJsonAsync<JsonElement>("/api/keys")).GetProperty("items").EnumerateArray().Single(k => k.GetProperty("name").GetString() == "lite");
        Assert.That(listed.GetProperty("lastUsedAt").ValueKind, Is.EqualTo(JsonValueKind.String), "last used is written on SQLite too");
        Assert.That(listed.GetProperty("expiresAt").GetDateTimeOffset(), Is.EqualTo(DateTimeOffset.Parse(expires, CultureInfo.InvariantCulture)).Within(TimeSpan.FromMilliseconds(1)));

        await ApiAssertions.AssertProblemAsync(await root.PostAsync("/api/keys", ApiClient.Json(new { name = "lite", role = "viewer" })), HttpStatusCode.Conflict);
        Assert.That((await root.DeleteAsync($"/api/keys/{created.GetProperty("id").GetGuid()}")).StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        await ApiAssertions.AssertProblemAsync(await lite.GetAsync("/api/projects"), HttpStatusCode.Unauthorized);
        await root.PostForJsonAsync("/api/keys", new { name = "lite", role = "viewer" }, HttpStatusCode.Created);

        // The printed key is the only admin here: it may not revoke itself.
        var bootstrap = (await root.GetFromJsonAsync<JsonElement>("/api/keys")).GetProperty("items").EnumerateArray().Single(k => k.GetProperty("name").GetString() == "bootstrap-admin");
        await ApiAssertions.AssertProblemAsync(await root.DeleteAsync($"/api/keys/{bootstrap.GetProperty("id").GetGuid()}"), HttpStatusCode.Conflict);
    }
}
