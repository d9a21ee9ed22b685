using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Actions;

/// <summary>send_notification through real peers: aiosmtpd for email, a Kestrel server for webhooks.</summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
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
    public async Task A_notification_to_a_channel_that_does_not_exist_is_refused_when_saved()
    {
        var problem = await ApiAssertions.AssertProblemAsync(
            await Admin.PostAsync("/api/schedules", ApiClient.Json(Notify("to-nowhere", "no-such-channel", "s", "m"))), HttpStatusCode.UnprocessableEntity);
        Assert.That(problem.GetProperty("errors").GetProperty("action.config.channel")[0].GetString(),
            Is.EqualTo("no notification channel named 'no-such-channel' (see /api/channels)."), problem.ToString());
    }

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
    [TestCase("{\"name\": \"x\", \"kind\": \"webhook\", \"webhook\": {\"url\": \"https://example.com\"}, \"email\": {\"host\": \"smtp.example.com\", \"from\": \"a@example.com\", \"to\": [\"b@example.com\"]}}", "email")]
    [TestCase("{\"name\": \"x\", \"kind\": \"email\", \"email\": {\"host\": \"smtp.example.com\", \"from\": \"a@example.com\", \"to\": [\"b@example.com\"]}, \"webhook\": {\"url\": \"https://example.com\"}}", "webhook")]
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

    [Test]
    public async Task Webhooks_are_sent_with_a_content_length_so_a_simple_receiver_reads_the_body()
    {
        await using var receiver = await PythonHttpReceiver.StartAsync();
        await Admin.PostForJsonAsync("/api/channels", new { name = "py-hook", kind = "webhook", webhook = new { url = receiver.BaseUrl + "/py" } }, HttpStatusCode.Created);
        await Admin.CreateScheduleAsync(Notify("py-hook-send", "py-hook", "to python", "read me"));

        var requests = await Poll.UntilAsync(() => Task.FromResult(receiver.Requests), r => r.Count == 1, TimeSpan.FromSeconds(20), "the webhook at http.server");
        var runs = await Poll.UntilAsync(() => Admin.RunsAsync("default.py-hook-send"), r => r.Count == 1 && r[0].Status() is "failed" or "succeeded", TimeSpan.FromSeconds(10), "the run");

        var request = requests[0];
        Assert.That(request.TransferEncoding, Is.Null, "not chunked");
        Assert.That(request.ContentLength, Is.Not.Null, "a Content-Length header");
        Assert.That(int.Parse(request.ContentLength!, System.Globalization.CultureInfo.InvariantCulture), Is.EqualTo(System.Text.Encoding.UTF8.GetByteCount(request.Body)));
        Assert.That(JsonDocument.Parse(request.Body).RootElement.GetProperty("message").GetString(), Is.EqualTo("read me"));
        Assert.That(runs[0].Status(), Is.EqualTo("succeeded"), runs[0].ToString());
    }

    [Test]
    public async Task A_username_against_an_smtp_server_without_auth_fails_saying_the_server_offers_no_authentication()
    {
        await using var smtp = await LoopbackSmtpServer.StartAsync();
        await Admin.PostForJsonAsync("/api/channels", new
        {
            name = "noauth-mail",
            kind = "email",
            email = new { host = "127.0.0.1", port = smtp.Port, security = "none", username = "bot", password = "pw-5e1d-noauth", from = "orchestrator@example.com", to = new[] { "ops@example.com" } },
        }, HttpStatusCode.Created);
        await Admin.CreateScheduleAsync(Notify("noauth-report", "noauth-mail", "s", "m"));

        var runs = await Poll.UntilAsync(() => Admin.RunsAsync("default.noauth-report"), r => r.Count == 1 && r[0].Status() is "failed" or "succeeded", TimeSpan.FromSeconds(20), "the run");

        Assert.That(runs[0].Status(), Is.EqualTo("failed"), runs[0].ToString());
        var error = runs[0].GetProperty("error").GetString();
        Assert.That(error, Does.Contain($"the SMTP server at 127.0.0.1:{smtp.Port} does not offer authentication (AUTH)").And.Contain("remove the username"), error);
        Assert.That(error, Does.Not.Contain("unexpected").And.Not.Contain("NotSupportedException"), error);
        Assert.That(smtp.Messages(), Is.Empty);
    }

    private static IEnumerable<TestCaseData> BadChannelInput()
    {
        TestCaseData Case(string name, object channel, string field) => new TestCaseData(channel, field).SetName("A channel is refused naming the field: " + name);
        object Hook(Dictionary<string, string> headers) => new { name = "bad-hook", kind = "webhook", webhook = new { url = "https://hooks.example.com/x", headers } };
        object Mail(string? username = "bot", string from = "a@example.com", string? password = null) =>
            new { name = "bad-mail", kind = "email", email = new { host = "smtp.example.com", username, password, from, to = new[] { "b@example.com" } } };
        yield return Case("webhook Host header", Hook(new() { ["Host"] = "evil.example.com" }), "webhook.headers.Host");
        yield return Case("webhook Content-Length header", Hook(new() { ["Content-Length"] = "0" }), "webhook.headers.Content-Length");
        yield return Case("webhook Transfer-Encoding header", Hook(new() { ["Transfer-Encoding"] = "chunked" }), "webhook.headers.Transfer-Encoding");
        yield return Case("webhook Idempotency-Key header", Hook(new() { ["Idempotency-Key"] = "x" }), "webhook.headers.Idempotency-Key");
        yield return Case("1000 webhook headers", Hook(Enumerable.Range(0, 1000).ToDictionary(i => $"X-H{i}", i => "v")), "webhook.headers");
        yield return Case("webhook header value too long", Hook(new() { ["X-Big"] = new string('v', 5000) }), "webhook.headers.X-Big");
        yield return Case("webhook header with a secret reference", Hook(new() { ["X-Token"] = "{{secret:API_TOKEN}}" }), "webhook.headers.X-Token");
        yield return Case("webhook url with a line break", new { name = "bad-hook", kind = "webhook", webhook = new { url = "https://hooks.example.com/x\r\nX-Injected: 1" } }, "webhook.url");
        yield return Case("email username with CR LF", Mail("bot\r\nRCPT TO:<x@evil.example>"), "email.username");
        yield return Case("email username with NUL", Mail("bot\0admin"), "email.username");
        yield return Case("email password with NUL", Mail(password: "pw\0x"), "email.password");
        yield return Case("email password as a secret reference", Mail(password: "{{secret:SMTP}}"), "email.password");
        yield return Case("email from with LF", Mail(from: "a@example.com\nBcc: x@evil.example"), "email.from");
    }

    [TestCaseSource(nameof(BadChannelInput))]
    public async Task A_channel_with_bad_input_is_refused_naming_the_field_and_nothing_is_stored(object channel, string field)
    {
        var before = await Admin.GetStringAsync("/api/channels");
        var response = await Admin.PostAsync("/api/channels", ApiClient.Json(channel));
        var problem = await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity);
        Assert.That(problem.GetProperty("errors").TryGetProperty(field, out _), Is.True, problem.ToString());
        Assert.That(await Admin.GetStringAsync("/api/channels"), Is.EqualTo(before));
    }

    [TestCase("line\r\nBcc: x@evil.example", "subject")]
    [TestCase("line\nbreak", "subject")]
    [TestCase("nul\0byte", "subject")]
    [TestCase("nul\0byte", "message")]
    public async Task A_notification_subject_with_a_line_break_or_nul_is_refused(string text, string field)
    {
        await Admin.PostAsync("/api/channels", ApiClient.Json(new { name = "crlf-hook", kind = "webhook", webhook = new { url = Peer.BaseUrl + "/crlf" } }));
        var response = await Admin.PostAsync("/api/schedules", ApiClient.Json(Notify("crlf-notify", "crlf-hook", field == "subject" ? text : "s", field == "message" ? text : "m")));
        var problem = await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity);
        Assert.That(problem.GetProperty("errors").TryGetProperty("action.config." + field, out _), Is.True, problem.ToString());
    }
}
