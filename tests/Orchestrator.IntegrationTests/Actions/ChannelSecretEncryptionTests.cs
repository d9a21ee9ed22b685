using System.Net;
using System.Security.Cryptography;
using Npgsql;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Actions;

/// <summary>With Orchestrator:Encryption:Key set, channel secrets are ciphertext in the database and still reach the peer.</summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class ChannelSecretEncryptionTests
{
    [Test]
    public async Task Channel_secrets_are_encrypted_at_rest_and_still_sent()
    {
        await using var peer = await RecordingHttpServer.StartAsync();
        var database = await TestPostgres.CreateDatabaseAsync("sealed");
        await using var server = InProcessServer.Start(PostgresNode.Environment(database, new Dictionary<string, string?>
        {
            ["Orchestrator__Outbound__AllowedHosts__0"] = "127.0.0.1",
            ["Orchestrator__Encryption__Key"] = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32)),
        }));
        await server.WaitUntilReadyAsync();
        Assert.That(server.Output, Does.Contain("Channel secrets are encrypted at rest"));
        using var admin = server.CreateClient(server.PrintedAdminKey);
        await admin.PostForJsonAsync("/api/channels", new
        {
            name = "sealed-hook",
            kind = "webhook",
            webhook = new { url = $"{peer.BaseUrl}/sealed", headers = new Dictionary<string, string> { ["X-Token"] = "tok-9f8e7d6c" } },
        }, HttpStatusCode.Created);
        await admin.PostForJsonAsync("/api/channels", new
        {
            name = "sealed-mail",
            kind = "email",
            email = new { host = "127.0.0.1", port = 2525, security = "none", username = "u", password = "pw-5a4b3c2d", from = "a@example.com", to = new[] { "b@example.com" } },
        }, HttpStatusCode.Created);

        await using (var connection = new NpgsqlConnection(database))
        {
            await connection.OpenAsync();
            await using var query = new NpgsqlCommand("SELECT string_agg(secrets, '|') FROM notification_channels", connection);
            var stored = (string)(await query.ExecuteScalarAsync())!;
            Assert.That(stored.Split('|'), Has.All.StartWith("enc:v1:"));
            Assert.That(stored, Does.Not.Contain("tok-9f8e7d6c").And.Not.Contain("pw-5a4b3c2d"));
        }

        var channel = await admin.GetStringAsync("/api/channels/sealed-mail");
        Assert.That(channel, Does.Contain("\"hasPassword\":true").And.Not.Contain("pw-5a4b3c2d"));
        var sent = await admin.PostForJsonAsync("/api/tools/notify/invoke", new { project = "default", arguments = new { channel = "sealed-hook", message = "hello" } }, HttpStatusCode.OK);
        Assert.That(sent.GetProperty("succeeded").GetBoolean(), Is.True, sent.ToString());
        Assert.That(peer.RequestsTo("/sealed").Single().Headers["X-Token"], Is.EqualTo("tok-9f8e7d6c"), "opened on the way out");
    }
}
