using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Schedules;

/// <summary>
/// <c>{"trigger":{"at":"2020-01-01T00:00:00Z"}}</c> was a 201 and ran at once as a misfire. Now a create, or a replace
/// that changes the trigger, with an instant more than 60 s back is a 422 naming <c>trigger.at</c>; a replace that keeps
/// the trigger of a one-time schedule that already ran is still accepted, and does not run it again.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class PastOneTimeTriggerTests
{
    private InProcessServer server = null!;
    private HttpClient admin = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        var database = await TestPostgres.CreateDatabaseAsync("pastonce");
        server = InProcessServer.Start(PostgresNode.Environment(database));
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

    private static object Once(string name, string at) => new { name, action = new { type = "noop", config = new { } }, trigger = new { at } };

    private static async Task AssertPastAtAsync(HttpResponseMessage response)
    {
        var problem = await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity);
        var messages = problem.GetProperty("errors").GetProperty("trigger.at").EnumerateArray().Select(m => m.GetString()).ToList();
        Assert.That(messages, Has.Some.StartsWith("is in the past (").And.Some.Contains("use run now or backfill for past times"), problem.ToString());
    }

    [Test]
    public async Task A_one_time_trigger_in_the_past_is_refused_on_create_and_nothing_is_stored()
    {
        await AssertPastAtAsync(await admin.PostAsync("/api/schedules", ApiClient.Json(Once("long-ago", "2020-01-01T00:00:00Z"))));
        Assert.That((await admin.GetAsync("/api/schedules/default.long-ago")).StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task Replacing_a_future_one_time_trigger_with_a_past_one_is_refused_and_the_schedule_is_unchanged()
    {
        var future = Iso(TimeProvider.System.GetUtcNow().AddDays(1));
        await admin.CreateScheduleAsync(Once("moved-back", future));
        await AssertPastAtAsync(await admin.PutAsync("/api/schedules/default.moved-back", ApiClient.Json(Once("moved-back", "2020-01-01T00:00:00Z"))));
        var stored = await admin.GetFromJsonAsync<JsonElement>("/api/schedules/default.moved-back");
        Assert.That(stored.GetProperty("trigger").GetProperty("at").GetDateTimeOffset(), Is.EqualTo(DateTimeOffset.Parse(future, CultureInfo.InvariantCulture)));
    }

    [Test]
    public async Task A_one_time_schedule_that_ran_is_still_replaceable_with_its_own_trigger_and_does_not_run_again()
    {
        // Inside the grace: accepted, and it fires at once.
        var at = TimeProvider.System.GetUtcNow().AddSeconds(-45);
        await admin.CreateScheduleAsync(Once("ran-once", Iso(at)));
        await Poll.UntilAsync(() => admin.RunsAsync("default.ran-once"), r => r.Count == 1 && r[0].Status() == "succeeded", TimeSpan.FromSeconds(30), "the one run");
        await Poll.UntilAsync(() => Task.FromResult(TimeProvider.System.GetUtcNow()), now => now > at.AddSeconds(62), TimeSpan.FromSeconds(30), "the instant to be past the grace");

        var same = await admin.PutAsync("/api/schedules/default.ran-once", ApiClient.Json(new
        {
            name = "ran-once",
            description = "edited after it ran",
            action = new { type = "noop", config = new { } },
            trigger = new { at = Iso(at) },
        }));
        Assert.That(same.StatusCode, Is.EqualTo(HttpStatusCode.OK), await same.Content.ReadAsStringAsync());
        await Poll.NothingHappensFor(TimeSpan.FromSeconds(3), async () => (await admin.RunsAsync("default.ran-once")).Count > 1, "a second run after the replace");

        await AssertPastAtAsync(await admin.PutAsync("/api/schedules/default.ran-once", ApiClient.Json(Once("ran-once", Iso(at.AddSeconds(-1))))));
    }
}
