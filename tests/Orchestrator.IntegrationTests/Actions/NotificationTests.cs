using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Actions;

/// <summary>send_notification through real peers: aiosmtpd for email, a Kestrel server for webhooks.</summary>
[TestFixture]
[NonParallelizable]
public sealed class NotificationTests : ServerWithPeerFixture
{
    protected override string DatabaseName => "notify";

    private static object Notify(string name, string channel, string subject, string message) => new
    {
        name,
        action = new { type = "send_notification", config = new { channel, subject, message, severity = "warning" } },
        trigger = new { at = InOneSecond() },
    };

    [Test]
    public async Task Email_reaches_a_real_smtp_server_with_the_rendered_subject_and_the_idempotency_key()
    {
        await using var smtp = await LoopbackSmtpServer.StartAsync();
        await Admin.PostForJsonAsync("/api/channels", new
        {
            name = "ops-mail",
            kind = "email",
            email = new { host = "127.0.0.1", port = smtp.Port, security = "none", from = "orchestrator@example.com", to = new[] { "ops@example.com" } },
        }, HttpStatusCode.Created);
        await Admin.CreateScheduleAsync(Notify("mail-report", "ops-mail", "Report {{schedule.name}} for {{run.scheduledFireTime}}", "Run {{run.id}}, attempt {{run.attempt}}"));

        var message = await Poll.UntilAsync(() => Task.FromResult(smtp.Messages()), m => m.Count == 1, TimeSpan.FromSeconds(20), "the email");
        var runs = await Poll.UntilAsync(() => Admin.RunsAsync("default.mail-report"), r => r.Count == 1 && r[0].Status() == "succeeded", TimeSpan.FromSeconds(10), "the run");
        var run = runs[0];
        var fireTime = run.GetProperty("scheduledFireTime").GetDateTimeOffset().ToUniversalTime();

        Assert.That(message[0], Does.Contain($"Subject: Report mail-report for {fireTime:yyyy-MM-ddTHH:mm:ss}"));
        Assert.That(message[0], Does.Contain($"Run {run.GetProperty("id").GetString()}, attempt 1"));
        Assert.That(message[0], Does.Contain("To: ops@example.com"));
        Assert.That(message[0], Does.Contain($"X-Orchestrator-Idempotency-Key: {run.GetProperty("idempotencyKey").GetString()}"));
        Assert.That(run.GetProperty("result").GetProperty("kind").GetString(), Is.EqualTo("email"));
    }

    [Test]
    public async Task Webhook_reaches_the_http_server_as_json_and_as_a_slack_compatible_body()
    {
        await Admin.PostForJsonAsync("/api/channels", new { name = "hook-json", kind = "webhook", webhook = new { url = Peer.BaseUrl + "/notify-json", headers = new Dictionary<string, string> { ["X-Hook-Token"] = "hook-secret-77" } } }, HttpStatusCode.Created);
        await Admin.PostForJsonAsync("/api/channels", new { name = "hook-slack", kind = "webhook", webhook = new { url = Peer.BaseUrl + "/notify-slack", format = "slack" } }, HttpStatusCode.Created);
        await Admin.CreateScheduleAsync(Notify("hook-a", "hook-json", "Done: {{schedule.id}}", "run {{run.id}}"));
        await Admin.CreateScheduleAsync(Notify("hook-b", "hook-slack", "Slack {{schedule.name}}", "hello"));

        await Peer.WaitForRequestsAsync("/notify-json", 1, TimeSpan.FromSeconds(20));
        await Peer.WaitForRequestsAsync("/notify-slack", 1, TimeSpan.FromSeconds(20));
        var json = JsonDocument.Parse(Peer.RequestsTo("/notify-json")[0].Body).RootElement;
        Assert.That(json.GetProperty("subject").GetString(), Is.EqualTo("Done: default.hook-a"));
        Assert.That(json.GetProperty("severity").GetString(), Is.EqualTo("warning"));
        Assert.That(json.GetProperty("idempotencyKey").GetString(), Is.EqualTo(Peer.RequestsTo("/notify-json")[0].IdempotencyKey));
        Assert.That(Peer.RequestsTo("/notify-json")[0].Headers["X-Hook-Token"], Is.EqualTo("hook-secret-77"));
        var slack = JsonDocument.Parse(Peer.RequestsTo("/notify-slack")[0].Body).RootElement;
        Assert.That(slack.GetProperty("text").GetString(), Is.EqualTo("*[WARNING] Slack hook-b*\nhello"));

        var channel = await Admin.GetStringAsync("/api/channels/hook-json");
        Assert.That(channel, Does.Not.Contain("hook-secret-77"), "webhook header values are write-only");
        Assert.That(channel, Does.Contain("X-Hook-Token"));
    }

    [Test]
    public async Task Channel_passwords_are_write_only_and_kept_when_a_replace_omits_them()
    {
        var created = await Admin.PostForJsonAsync("/api/channels", new
        {
            name = "secret-mail",
            kind = "email",
            email = new { host = "smtp.example.com", port = 587, username = "bot", password = "pw-9c1e-secret", from = "a@example.com", to = new[] { "b@example.com" } },
        }, HttpStatusCode.Created);
        Assert.That(created.GetRawText(), Does.Not.Contain("pw-9c1e-secret"));
        Assert.That(created.GetProperty("settings").GetProperty("hasPassword").GetBoolean(), Is.True);

        var replaced = await Admin.PutAsync("/api/channels/secret-mail", ApiClient.Json(new
        {
            kind = "email",
            email = new { host = "smtp2.example.com", port = 465, security = "tls", username = "bot", from = "a@example.com", to = new[] { "c@example.com" } },
        }));
        Assert.That(replaced.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var fetched = await Admin.GetFromJsonAsync<JsonElement>("/api/channels/secret-mail");
        Assert.That(fetched.GetProperty("settings").GetProperty("host").GetString(), Is.EqualTo("smtp2.example.com"));
        Assert.That(fetched.GetProperty("settings").GetProperty("hasPassword").GetBoolean(), Is.True);
        Assert.That(await Admin.GetStringAsync("/api/channels"), Does.Not.Contain("pw-9c1e-secret"));
    }

    [TestCase("{\"name\": \"x\", \"kind\": \"pigeon\"}", "kind")]
    [TestCase("{\"name\": \"Bad Name\", \"kind\": \"webhook\", \"webhook\": {\"url\": \"https://example.com\"}}", "name")]
    [TestCase("{\"name\": \"x\", \"kind\": \"webhook\", \"webhook\": {\"url\": \"http://169.254.169.254/\"}}", "webhook.url")]
    [TestCase("{\"name\": \"x\", \"kind\": \"webhook\", \"webhook\": {\"url\": \"https://example.com\", \"format\": \"teams\"}}", "webhook.format")]
    [TestCase("{\"name\": \"x\", \"kind\": \"email\", \"email\": {\"host\": \"smtp.example.com\", \"from\": \"nope\", \"to\": [\"a@example.com\"]}}", "email.from")]
    [TestCase("{\"name\": \"x\", \"kind\": \"email\", \"email\": {\"host\": \"smtp.example.com\", \"from\": \"a@example.com\", \"to\": []}}", "email.to")]
    [TestCase("{\"name\": \"x\", \"kind\": \"email\", \"email\": {\"host\": \"smtp.example.com\", \"port\": 70000, \"from\": \"a@example.com\", \"to\": [\"b@example.com\"]}}", "email.port")]
    [TestCase("{\"name\": \"x\", \"kind\": \"email\", \"email\": {\"host\": \"localhost\", \"from\": \"a@example.com\", \"to\": [\"b@example.com\"]}}", "email.host")]
    [TestCase("{\"name\": \"x\", \"kind\": \"email\", \"email\": {\"host\": \"10.0.0.25\", \"from\": \"a@example.com\", \"to\": [\"b@example.com\"]}}", "email.host")]
    [TestCase("{\"name\": \"x\", \"kind\": \"email\", \"email\": {\"host\": \"169.254.169.254\", \"from\": \"a@example.com\", \"to\": [\"b@example.com\"]}}", "email.host")]
    public async Task Invalid_channels_are_422_naming_the_field(string body, string field)
    {
        var response = await Admin.PostAsync("/api/channels", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        var problem = await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity);
        Assert.That(problem.GetProperty("errors").TryGetProperty(field, out _), Is.True, problem.ToString());
    }

    [Test]
    public async Task An_email_channel_whose_host_resolves_to_a_refused_address_sends_nothing()
    {
        await using var smtp = await LoopbackSmtpServer.StartAsync();
        await Admin.PostForJsonAsync("/api/channels", new
        {
            name = "moved-mail",
            kind = "email",
            email = new { host = "127.0.0.1", port = smtp.Port, security = "none", from = "orchestrator@example.com", to = new[] { "ops@example.com" } },
        }, HttpStatusCode.Created);
        // A channel stored before email hosts were checked (or edited in the database): 'localhost' is not allowlisted here.
        await using (var connection = new Npgsql.NpgsqlConnection(Database))
        {
            await connection.OpenAsync();
            await using var update = new Npgsql.NpgsqlCommand("UPDATE notification_channels SET settings = replace(settings, '\"127.0.0.1\"', '\"localhost\"') WHERE name = 'moved-mail'", connection);
            Assert.That(await update.ExecuteNonQueryAsync(), Is.EqualTo(1));
        }

        await Admin.CreateScheduleAsync(Notify("moved-mail-report", "moved-mail", "s", "m"));
        var runs = await Poll.UntilAsync(() => Admin.RunsAsync("default.moved-mail-report"), r => r.Count == 1 && r[0].Status() is "failed" or "succeeded", TimeSpan.FromSeconds(20), "the run");
        Assert.That(runs[0].Status(), Is.EqualTo("failed"), runs[0].ToString());
        Assert.That(runs[0].GetProperty("error").GetString(), Does.Contain("'localhost' resolves to").And.Contain("loopback"), runs[0].ToString());
        Assert.That(smtp.Messages(), Is.Empty);
    }

    [Test]
    public async Task A_notification_to_an_unknown_channel_or_with_an_unknown_placeholder_is_refused()
    {
        var response = await Admin.PostAsync("/api/schedules", ApiClient.Json(Notify("bad-notify", "no-such-channel", "{{schedule.nmae}}", "x")));
        var problem = await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity);
        Assert.That(problem.GetProperty("errors").TryGetProperty("action.config.channel", out _), Is.True, problem.ToString());
        Assert.That(problem.GetProperty("errors").TryGetProperty("action.config.subject", out _), Is.True, problem.ToString());
    }
}
