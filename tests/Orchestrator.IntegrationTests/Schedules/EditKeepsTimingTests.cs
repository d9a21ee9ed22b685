using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Schedules;

/// <summary>
/// An edit never changes an unchanged trigger's timing: a paused schedule whose fire time has passed, saved back as GET
/// returned it (with <c>enabled</c> left out, or with the same trigger written differently), keeps its next and previous
/// fire times to the instant and its state, and nothing runs because of the edit; resuming afterwards is the misfire
/// policy's, as before. On PostgreSQL and on the embedded SQLite default.
/// </summary>
[TestFixture("postgres")]
[TestFixture("sqlite")]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class EditKeepsTimingTests(string provider)
{
    // The fields of a schedule response that are its definition: what a client PUTs back.
    private static readonly string[] DefinitionFields =
        ["name", "project", "description", "action", "trigger", "misfire", "concurrency", "retry", "timeoutSeconds", "executionGroup", "enabled", "jitterSeconds"];

    private InProcessServer server = null!;
    private HttpClient admin = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        server = provider == "postgres"
            ? InProcessServer.Start(PostgresNode.Environment(await TestPostgres.CreateDatabaseAsync("editkeepstiming"), new Dictionary<string, string?>()))
            : InProcessServer.Start();
        await server.WaitUntilReadyAsync();
        admin = server.CreateClient(server.PrintedAdminKey);
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        admin?.Dispose();
        if (server is not null)
        {
            await server.DisposeAsync();
        }
    }

    private static string Iso(DateTimeOffset t) => t.ToString("O", CultureInfo.InvariantCulture);

    /// <summary>The trigger forms, each with the same trigger written another way.</summary>
    private static IEnumerable<TestCaseData> Triggers()
    {
        yield return new TestCaseData("interval", (Func<DateTimeOffset, object>)(_ => new { intervalSeconds = 30 }), (Func<DateTimeOffset, object>)(_ => new { interval = "PT30S" }))
            .SetArgDisplayNames("interval");
        yield return new TestCaseData("interval-start", (Func<DateTimeOffset, object>)(now => new { interval = "PT2S", startAt = Iso(now.AddSeconds(1.5)) }),
                (Func<DateTimeOffset, object>)(now => new { intervalSeconds = 2, startAt = Iso(now.AddSeconds(1.5).ToOffset(TimeSpan.FromHours(5.5))) }))
            .SetArgDisplayNames("interval-with-start");
        yield return new TestCaseData("cron", (Func<DateTimeOffset, object>)(_ => new { cron = "0/2 * * * * ?", timeZone = "Europe/Berlin" }),
                (Func<DateTimeOffset, object>)(_ => new { cron = "0/2  *   * * *  ?", timeZone = "Europe/Berlin" }))
            .SetArgDisplayNames("cron");
        yield return new TestCaseData("calendar", (Func<DateTimeOffset, object>)(_ => new { every = 2, unit = "seconds" }),
                (Func<DateTimeOffset, object>)(_ => new { every = 2, unit = "second" }))
            .SetArgDisplayNames("calendar");
        yield return new TestCaseData("once", (Func<DateTimeOffset, object>)(now => new { at = Iso(now.AddSeconds(2)) }),
                (Func<DateTimeOffset, object>)(now => new { at = Iso(now.AddSeconds(2).ToOffset(TimeSpan.FromHours(-7))) }))
            .SetArgDisplayNames("one-time");
    }

    [TestCaseSource(nameof(Triggers))]
    public async Task Saving_a_paused_schedule_unchanged_keeps_its_fire_times_state_and_runs(string name, Func<DateTimeOffset, object> trigger, Func<DateTimeOffset, object> rewritten)
    {
        var id = $"default.{name}";
        var now = TimeProvider.System.GetUtcNow();
        await admin.CreateScheduleAsync(new
        {
            name, action = new { type = "noop", config = new { } }, trigger = trigger(now), misfire = new { policy = "fire_once", thresholdSeconds = 1 }, enabled = false,
        });
        // Past the first fire time (and, but for the one-time schedule, the next ones): the paused trigger has misfired.
        await Task.Delay(TimeSpan.FromSeconds(4.5));
        var original = await GetAsync(id);
        Assert.That(original.GetProperty("state").GetString(), Is.EqualTo("paused"));

        var asReturned = Definition(original);
        await PutAsync(id, asReturned);
        await AssertTimingKeptAsync(id, original, "saved as GET returned it");

        var withoutEnabled = Definition(original);
        withoutEnabled.Remove("enabled");
        await PutAsync(id, withoutEnabled);
        await AssertTimingKeptAsync(id, original, "saved with 'enabled' left out");

        var otherWriting = Definition(original);
        otherWriting["trigger"] = JsonSerializer.SerializeToNode(rewritten(now));
        await PutAsync(id, otherWriting);
        await AssertTimingKeptAsync(id, original, "saved with the same trigger written differently");

        // And once more as first returned, after the other writing: still the same instants.
        await PutAsync(id, Definition(original));
        await AssertTimingKeptAsync(id, original, "saved back in the first writing");
        Assert.That(await admin.RunsAsync(id), Is.Empty, "nothing ran because of the edits");

        // Resuming is the misfire policy's, as without the edits: fire_once runs one catch-up for the missed times.
        var resumedAt = TimeProvider.System.GetUtcNow();
        await admin.PostForJsonAsync($"/api/schedules/{id}/resume", null, HttpStatusCode.OK);
        var runs = await Poll.UntilAsync(() => admin.RunsAsync(id), r => r.Count >= 1, TimeSpan.FromSeconds(15), "the catch-up after resuming");
        await admin.PostForJsonAsync($"/api/schedules/{id}/pause", null, HttpStatusCode.OK);
        // Due times missed while paused are before the resume was asked for; a regular firing after the resume is not a
        // catch-up, even when a slow resume request lets one come due before it answers.
        var caughtUp = runs.Select(r => r.GetProperty("scheduledFireTime").GetDateTimeOffset()).Where(t => t < resumedAt).ToList();
        Assert.That(caughtUp, Has.Count.LessThanOrEqualTo(1), "fire_once: at most one catch-up for the paused time: " + string.Join(", ", caughtUp));
    }

    private async Task<JsonElement> GetAsync(string id) => await admin.GetFromJsonAsync<JsonElement>($"/api/schedules/{id}");

    private static JsonObject Definition(JsonElement schedule)
    {
        var body = new JsonObject();
        foreach (var field in DefinitionFields)
        {
            if (schedule.TryGetProperty(field, out var value))
            {
                body[field] = JsonNode.Parse(value.GetRawText());
            }
        }

        return body;
    }

    private async Task PutAsync(string id, JsonObject body)
    {
        var response = await admin.PutAsync($"/api/schedules/{id}", new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json"));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
    }

    private async Task AssertTimingKeptAsync(string id, JsonElement original, string how)
    {
        var after = await GetAsync(id);
        Assert.Multiple(() =>
        {
            Assert.That(Instant(after, "nextFireTime"), Is.EqualTo(Instant(original, "nextFireTime")), $"next fire time, {how}");
            Assert.That(Instant(after, "previousFireTime"), Is.EqualTo(Instant(original, "previousFireTime")), $"previous fire time, {how}");
            Assert.That(after.GetProperty("state").GetString(), Is.EqualTo(original.GetProperty("state").GetString()), $"state, {how}");
        });
    }

    private static DateTimeOffset? Instant(JsonElement schedule, string field) =>
        schedule.GetProperty(field) is { ValueKind: JsonValueKind.String } value ? value.GetDateTimeOffset() : null;
}
