using System.Net.Http.Json;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Security;

/// <summary>
/// The admin key the first start creates is in the audit log like any other key: <c>key.create</c> by <c>system</c>,
/// its name, prefix and role, never its secret; and only once, however often the server starts again.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class BootstrapKeyAuditTests
{
    [Test]
    public async Task The_first_start_audits_the_admin_key_it_creates_once_as_system_without_the_secret()
    {
        var database = await TestPostgres.CreateDatabaseAsync("bootstrapaudit");
        var environment = PostgresNode.Environment(database);
        var server = InProcessServer.Start(environment);
        try
        {
            await server.WaitUntilReadyAsync();
            var plain = server.PrintedAdminKey;
            Assert.That(plain, Is.Not.Null.And.StartsWith("orch_"), server.Output);
            using (var admin = server.CreateClient(plain))
            {
                var entry = await SingleKeyCreateAsync(admin);
                Assert.That(entry.GetProperty("actor").GetProperty("name").GetString(), Is.EqualTo("system"));
                Assert.That(entry.GetProperty("actor").GetProperty("keyId").ValueKind, Is.EqualTo(JsonValueKind.Null));
                Assert.That(entry.GetProperty("source").GetString(), Is.EqualTo("system"));
                Assert.That(entry.GetProperty("resourceType").GetString(), Is.EqualTo("key"));
                var after = entry.GetProperty("after");
                Assert.That(after.GetProperty("name").GetString(), Is.EqualTo("bootstrap-admin"));
                Assert.That(after.GetProperty("role").GetString(), Is.EqualTo("admin"));
                Assert.That(after.GetProperty("prefix").GetString(), Is.EqualTo(plain![..13]), "the prefix identifies the key without being it");

                // The key the entry names is the one that was printed: the keys list shows it under that id.
                var keys = await admin.GetFromJsonAsync<JsonElement>("/api/keys");
                var listed = keys.GetProperty("items").EnumerateArray().Single(k => k.GetProperty("name").GetString() == "bootstrap-admin");
                Assert.That(listed.GetProperty("id").GetString(), Is.EqualTo(entry.GetProperty("resourceId").GetString()));

                var text = entry.GetRawText();
                Assert.That(text, Does.Not.Contain(plain), "the key itself is never in the log");
                Assert.That(text, Does.Not.Contain(plain[14..]), "nor its secret part");
            }

            // A later start finds a key and creates none: still exactly one entry.
            await server.DisposeAsync();
            server = InProcessServer.Start(environment, server.WorkingDirectory);
            await server.WaitUntilReadyAsync();
            Assert.That(server.PrintedAdminKey, Is.Null, "no second key is created");
            using var again = server.CreateClient(plain);
            await SingleKeyCreateAsync(again);
        }
        finally
        {
            await server.DisposeAsync();
        }
    }

    private static async Task<JsonElement> SingleKeyCreateAsync(HttpClient admin)
    {
        var page = await admin.GetFromJsonAsync<JsonElement>("/api/audit?action=key.create");
        var items = page.GetProperty("items").EnumerateArray().ToList();
        Assert.That(items, Has.Count.EqualTo(1), page.ToString());
        return items[0];
    }
}
