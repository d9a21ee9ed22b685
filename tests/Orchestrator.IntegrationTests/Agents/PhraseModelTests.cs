using System.Net;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Agents;

/// <summary>
/// <c>POST /api/cron/parse</c> with <c>"useModel": true</c> against the scripted OpenAI-compatible server: a phrase the
/// parser refuses goes to the model, whose answer Quartz still validates; a phrase the parser places never does.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class PhraseModelTests
{
    private const string Key = "sk-phrase-model-51e0";

    // The parser has no reading for this; a model may.
    private const string Unplaceable = "on paydays, which are the last weekday of each month, at noon";

    private ScriptedChatServer model = null!;
    private InProcessServer server = null!;
    private HttpClient admin = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        model = await ScriptedChatServer.StartAsync();
        server = InProcessServer.Start(new Dictionary<string, string?>
        {
            ["Orchestrator__Outbound__AllowedHosts__0"] = "127.0.0.1",
            ["Orchestrator__Secrets__model-key"] = Key,
            ["Orchestrator__Agents__Models__default__Endpoint"] = model.Endpoint,
            ["Orchestrator__Agents__Models__default__Model"] = "scripted-1",
            ["Orchestrator__Agents__Models__default__ApiKeySecret"] = "model-key",
        });
        await server.WaitUntilReadyAsync();
        admin = server.CreateClient(server.PrintedAdminKey!);
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        admin?.Dispose();
        if (server is not null)
        {
            await server.DisposeAsync();
        }

        if (model is not null)
        {
            await model.DisposeAsync();
        }
    }

    private static string Answer(string cron, string? zone = null, string reading = "at noon on the last weekday of the month") =>
        JsonSerializer.Serialize(new { cron, timeZone = zone, reading });

    [Test]
    public async Task A_phrase_the_parser_refuses_is_read_by_the_model_and_checked_by_quartz()
    {
        // The deterministic parser refuses it on its own: the fallback is what answers below.
        var refused = await admin.PostAsync("/api/cron/parse", ApiClient.Json(new { text = Unplaceable }));
        Assert.That(refused.StatusCode, Is.EqualTo(HttpStatusCode.UnprocessableEntity));

        var before = model.Requests.Count;
        model.Enqueue(ScriptedChatServer.Reply.Answer(Answer("0 0 12 LW * ?", "Europe/Paris"), promptTokens: 90, completionTokens: 20));
        var result = await admin.PostForJsonAsync("/api/cron/parse", new { text = Unplaceable, useModel = true, count = 3 }, HttpStatusCode.OK);

        Assert.That(result.GetProperty("expression").GetString(), Is.EqualTo("0 0 12 LW * ?"));
        Assert.That(result.GetProperty("model").GetString(), Is.EqualTo("default"));
        Assert.That(result.GetProperty("timeZone").GetString(), Is.EqualTo("Europe/Paris"), "the zone the phrase named, as the model read it");
        Assert.That(result.GetProperty("reading").GetString(), Is.EqualTo("at noon on the last weekday of the month"));
        var paris = TimeZoneInfo.FindSystemTimeZoneById("Europe/Paris");
        var times = result.GetProperty("nextFireTimes").EnumerateArray().Select(t => TimeZoneInfo.ConvertTime(t.GetDateTimeOffset(), paris)).ToList();
        Assert.That(times, Has.Count.EqualTo(3));
        Assert.That(times.Select(t => t.Hour), Is.All.EqualTo(12), "Quartz computed the fire times of the model's expression");
        Assert.That(times.Select(t => t.DayOfWeek), Has.None.EqualTo(DayOfWeek.Saturday).And.None.EqualTo(DayOfWeek.Sunday));

        var sent = model.Requests.Skip(before).ToList();
        Assert.That(sent, Has.Count.EqualTo(1), "one model call");
        Assert.That(sent[0].Authorization, Is.EqualTo($"Bearer {Key}"));
        Assert.That(sent[0].Body, Does.Contain(Unplaceable), "the phrase is what the model reads");
        Assert.That(sent[0].Json?["model"]?.GetValue<string>(), Is.EqualTo("scripted-1"));
    }

    [Test]
    public async Task A_phrase_the_parser_places_never_reaches_the_model()
    {
        var before = model.Requests.Count;
        var result = await admin.PostForJsonAsync("/api/cron/parse", new { text = "every weekday at 9:30", useModel = true }, HttpStatusCode.OK);

        Assert.That(result.GetProperty("expression").GetString(), Is.EqualTo("0 30 9 ? * MON-FRI"));
        Assert.That(result.TryGetProperty("model", out _), Is.False, "the parser answered, not a model");
        Assert.That(model.Requests.Count, Is.EqualTo(before));
    }

    [TestCase("0 0 25 * * ?", TestName = "An hour Quartz refuses")]
    [TestCase("0 0 12 30 FEB ?", TestName = "An expression that never fires")]
    public async Task An_answer_quartz_refuses_is_a_422_naming_the_model_and_its_answer(string cron)
    {
        model.Enqueue(ScriptedChatServer.Reply.Answer(Answer(cron)));
        var problem = await ApiAssertions.AssertProblemAsync(
            await admin.PostAsync("/api/cron/parse", ApiClient.Json(new { text = Unplaceable, useModel = true })), HttpStatusCode.UnprocessableEntity);

        var message = string.Join(" ", problem.GetProperty("errors").GetProperty("text").EnumerateArray().Select(e => e.GetString()));
        Assert.That(message, Does.Contain("model 'default'").And.Contain(cron));
    }

    [Test]
    public async Task A_zone_the_server_does_not_know_is_a_422()
    {
        model.Enqueue(ScriptedChatServer.Reply.Answer(Answer("0 0 12 LW * ?", "Mars/Olympus_Mons")));
        var problem = await ApiAssertions.AssertProblemAsync(
            await admin.PostAsync("/api/cron/parse", ApiClient.Json(new { text = Unplaceable, useModel = true })), HttpStatusCode.UnprocessableEntity);
        Assert.That(problem.GetProperty("errors").GetProperty("text")[0].GetString(), Does.Contain("Mars/Olympus_Mons"));
    }

    [Test]
    public async Task An_answer_that_is_not_json_or_names_no_expression_is_a_502_without_the_key()
    {
        model.Enqueue(ScriptedChatServer.Reply.Answer("Sure! Every payday at noon."));
        var notJson = await ApiAssertions.AssertProblemAsync(
            await admin.PostAsync("/api/cron/parse", ApiClient.Json(new { text = Unplaceable, useModel = true })), HttpStatusCode.BadGateway);
        Assert.That(notJson.GetProperty("detail").GetString(), Does.Contain("JSON"));

        model.Enqueue(ScriptedChatServer.Reply.Answer("""{"cron": null, "reason": "paydays vary by employer"}"""));
        var none = await ApiAssertions.AssertProblemAsync(
            await admin.PostAsync("/api/cron/parse", ApiClient.Json(new { text = Unplaceable, useModel = true })), HttpStatusCode.BadGateway);
        Assert.That(none.GetProperty("detail").GetString(), Does.Contain("paydays vary by employer"));
        Assert.That(none.GetRawText() + notJson.GetRawText(), Does.Not.Contain(Key));
    }

    [Test]
    public async Task An_endpoint_that_refuses_the_call_is_a_502_naming_the_model_not_the_key()
    {
        // A 4xx other than 429 is not retried (the retry policy's own tests cover 429/5xx).
        model.Enqueue(ScriptedChatServer.Reply.Error(400));
        var problem = await ApiAssertions.AssertProblemAsync(
            await admin.PostAsync("/api/cron/parse", ApiClient.Json(new { text = Unplaceable, useModel = true })), HttpStatusCode.BadGateway);
        Assert.That(problem.GetProperty("detail").GetString(), Does.Contain("'default'").And.Contain("400").And.Not.Contain(Key));
    }

    [Test]
    public async Task An_unknown_model_or_a_model_without_useModel_is_a_422_on_model()
    {
        var unknown = await ApiAssertions.AssertProblemAsync(
            await admin.PostAsync("/api/cron/parse", ApiClient.Json(new { text = Unplaceable, useModel = true, model = "nope" })), HttpStatusCode.UnprocessableEntity);
        Assert.That(unknown.GetProperty("errors").GetProperty("model")[0].GetString(), Does.Contain("'nope' is not a configured model"));

        var without = await ApiAssertions.AssertProblemAsync(
            await admin.PostAsync("/api/cron/parse", ApiClient.Json(new { text = Unplaceable, model = "default" })), HttpStatusCode.UnprocessableEntity);
        Assert.That(without.GetProperty("errors").TryGetProperty("model", out _), Is.True);
    }
}
