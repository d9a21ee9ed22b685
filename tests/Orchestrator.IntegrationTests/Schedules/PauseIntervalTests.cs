using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Schedules;

/// <summary>
/// Stored pause intervals on a real server and PostgreSQL: a due time that passed during a pause that has since ended
/// is still skipped as paused (who, why), on every pause surface; the catch-up at the resume keeps its own outcome.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class PauseIntervalTests : ServerWithPeerFixture
{
    protected override string DatabaseName => "pauseintervals";

    [Test]
    public async Task Due_times_of_an_ended_pause_stay_skipped_as_paused_by_whom_and_why_and_the_catch_up_shows_as_what_it_is()
    {
        const string Id = "default.paused-every-second";
        var created = TimeProvider.System.GetUtcNow();
        await Admin.CreateScheduleAsync(PauseIntervals.EverySecond("paused-every-second"));
        await Poll.UntilAsync(() => Admin.RunsAsync(Id, "succeeded"), r => r.Count >= 2, TimeSpan.FromSeconds(30), "two runs before the pause");

        // Paused twice: the second pause changes nothing, the pause keeps the interval (and the reason) it has.
        var (pausedAfter, resumedBefore, by) = await PauseIntervals.PauseWaitResumeAsync(Admin, Id, "maintenance window", pauseAgainWith: "second");
        var answer = await PauseIntervals.OccurrencesAfterResumeAsync(Admin, Id, created, resumedBefore);
        var items = answer.GetProperty("items").EnumerateArray().ToList();

        var inPause = await PauseIntervals.AssertPausedAsync(Admin, Id, answer, pausedAfter, resumedBefore, $"paused by {by}: maintenance window");
        Assert.That(answer.GetProperty("counts").GetProperty("skipped").GetInt32(), Is.GreaterThanOrEqualTo(inPause));

        // Deleted with the schedule: the same id created again has no pause in its past.
        Assert.That((await Admin.DeleteAsync($"/api/schedules/{Id}")).StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        await Admin.CreateScheduleAsync(PauseIntervals.EverySecond("paused-every-second"));
        var again = await Admin.GetFromJsonAsync<JsonElement>(
            $"/api/schedules/{Id}/occurrences?from={PauseIntervals.Iso(created)}&to={PauseIntervals.Iso(TimeProvider.System.GetUtcNow())}");
        Assert.That(again.GetProperty("items").EnumerateArray().Select(o => o.GetProperty("reason").GetString() ?? ""), Has.None.StartWith("paused"), again.ToString());
    }

    [Test]
    public async Task A_bulk_pause_and_a_replace_with_enabled_false_store_their_pause_intervals_too()
    {
        var created = TimeProvider.System.GetUtcNow();
        await Admin.CreateScheduleAsync(PauseIntervals.EverySecond("bulk-paused"));
        await Admin.CreateScheduleAsync(PauseIntervals.EverySecond("disabled-by-edit"));
        await Poll.UntilAsync(() => Admin.RunsAsync("default.disabled-by-edit", "succeeded"), r => r.Count >= 1, TimeSpan.FromSeconds(30), "a run before the pause");
        await Poll.UntilAsync(() => Admin.RunsAsync("default.bulk-paused", "succeeded"), r => r.Count >= 1, TimeSpan.FromSeconds(30), "a run before the pause");

        var bulk = await Admin.PostForJsonAsync("/api/schedules/pause", new { ids = new[] { "default.bulk-paused" }, reason = "bulk freeze" }, HttpStatusCode.OK);
        Assert.That(bulk.ToString(), Does.Contain("default.bulk-paused"));
        var disabled = await Admin.PutAsync("/api/schedules/default.disabled-by-edit", ApiClient.Json(PauseIntervals.EverySecond("disabled-by-edit", enabled: false)));
        Assert.That(disabled.StatusCode, Is.EqualTo(HttpStatusCode.OK), await disabled.Content.ReadAsStringAsync());
        var pausedBy = (await Admin.GetFromJsonAsync<JsonElement>("/api/schedules/default.bulk-paused")).GetProperty("pausedBy").GetString();
        var settled = TimeProvider.System.GetUtcNow();
        await PauseIntervals.UntilPassedAsync(settled.AddSeconds(6));

        var resumedBefore = TimeProvider.System.GetUtcNow();
        await Admin.PostForJsonAsync("/api/schedules/resume", new { ids = new[] { "default.bulk-paused" } }, HttpStatusCode.OK);
        var enabled = await Admin.PutAsync("/api/schedules/default.disabled-by-edit", ApiClient.Json(PauseIntervals.EverySecond("disabled-by-edit", enabled: true)));
        Assert.That(enabled.StatusCode, Is.EqualTo(HttpStatusCode.OK), await enabled.Content.ReadAsStringAsync());

        var bulkAnswer = await PauseIntervals.OccurrencesAfterResumeAsync(Admin, "default.bulk-paused", created, resumedBefore);
        await PauseIntervals.AssertPausedAsync(Admin, "default.bulk-paused", bulkAnswer, settled, resumedBefore, $"paused by {pausedBy}: bulk freeze");
        var editAnswer = await PauseIntervals.OccurrencesAfterResumeAsync(Admin, "default.disabled-by-edit", created, resumedBefore);
        await PauseIntervals.AssertPausedAsync(Admin, "default.disabled-by-edit", editAnswer, settled, resumedBefore, $"paused by {pausedBy}");
    }
}

/// <summary>The same on the embedded SQLite default.</summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class PauseIntervalOnSqliteTests
{
    [Test]
    public async Task Due_times_of_an_ended_pause_stay_skipped_as_paused_on_the_embedded_database()
    {
        await using var server = InProcessServer.Start();
        await server.WaitUntilReadyAsync();
        using var admin = server.CreateClient(server.PrintedAdminKey);
        const string Id = "default.lite-paused";
        var created = TimeProvider.System.GetUtcNow();
        await admin.CreateScheduleAsync(PauseIntervals.EverySecond("lite-paused"));
        await Poll.UntilAsync(() => admin.RunsAsync(Id, "succeeded"), r => r.Count >= 2, TimeSpan.FromSeconds(30), "two runs before the pause");

        var (pausedAfter, resumedBefore, by) = await PauseIntervals.PauseWaitResumeAsync(admin, Id, "sqlite pause");
        var answer = await PauseIntervals.OccurrencesAfterResumeAsync(admin, Id, created, resumedBefore);
        await PauseIntervals.AssertPausedAsync(admin, Id, answer, pausedAfter, resumedBefore, $"paused by {by}: sqlite pause");
    }
}

/// <summary>What the pause interval tests share.</summary>
internal static class PauseIntervals
{
    public static string Iso(DateTimeOffset t) => Uri.EscapeDataString(t.ToString("O", CultureInfo.InvariantCulture));

    public static object EverySecond(string name, bool enabled = true) => new
    {
        name, enabled, action = new { type = "noop", config = new { } }, trigger = new { intervalSeconds = 1 },
        misfire = new { policy = "fire_once", thresholdSeconds = 1 },
    };

    /// <summary>Waits until the clock has passed <paramref name="instant"/> (due times pass with the clock, not with load).</summary>
    public static Task UntilPassedAsync(DateTimeOffset instant) =>
        Poll.UntilAsync(() => Task.FromResult(TimeProvider.System.GetUtcNow()), now => now > instant, TimeSpan.FromMinutes(1), $"the clock past {instant:O}");

    /// <summary>
    /// Pauses (with a reason), lets four due times pass, resumes. Returns an instant after the pause was in force (a
    /// second after its answer, once any firing acquired before it is done) and one before the resume was asked for.
    /// </summary>
    public static async Task<(DateTimeOffset PausedAfter, DateTimeOffset ResumedBefore, string By)> PauseWaitResumeAsync(
        HttpClient admin, string id, string reason, string? pauseAgainWith = null)
    {
        var paused = await admin.PostForJsonAsync($"/api/schedules/{id}/pause", new { reason }, HttpStatusCode.OK);
        Assert.That(paused.GetProperty("state").GetString(), Is.EqualTo("paused"));
        var pausedAfter = TimeProvider.System.GetUtcNow().AddSeconds(1);
        if (pauseAgainWith is not null)
        {
            var again = await admin.PostForJsonAsync($"/api/schedules/{id}/pause", new { reason = pauseAgainWith }, HttpStatusCode.OK);
            Assert.That(again.GetProperty("pausedReason").GetString(), Is.EqualTo(reason), "a paused schedule keeps its pause");
        }

        await UntilPassedAsync(pausedAfter.AddSeconds(5));
        var resumedBefore = TimeProvider.System.GetUtcNow();
        var resumed = await admin.PostForJsonAsync($"/api/schedules/{id}/resume", null, HttpStatusCode.OK);
        Assert.That(resumed.GetProperty("state").GetString(), Is.Not.EqualTo("paused"));
        return (pausedAfter, resumedBefore, paused.GetProperty("pausedBy").GetString()!);
    }

    /// <summary>The occurrences from <paramref name="from"/> to now, once a run started after the resume has succeeded.</summary>
    public static async Task<JsonElement> OccurrencesAfterResumeAsync(HttpClient admin, string id, DateTimeOffset from, DateTimeOffset resumedBefore)
    {
        await Poll.UntilAsync(() => admin.RunsAsync(id, "succeeded"),
            r => r.Any(x => x.GetProperty("startedAt").GetDateTimeOffset() >= resumedBefore), TimeSpan.FromSeconds(30), "a run after the resume");
        return await admin.GetFromJsonAsync<JsonElement>($"/api/schedules/{id}/occurrences?from={Iso(from.AddSeconds(-5))}&to={Iso(TimeProvider.System.GetUtcNow())}");
    }

    /// <summary>
    /// Asserts what became of the due times strictly inside the pause: at least three are skipped with
    /// <paramref name="reason"/>, and the only one with a run is the catch-up fire_once made at the resume (keyed on the
    /// first time the pause missed, so it may fall inside: a run outranks the pause), which shows as that run. The value
    /// is how many were skipped.
    /// </summary>
    public static async Task<int> AssertPausedAsync(HttpClient admin, string id, JsonElement answer, DateTimeOffset pausedAfter, DateTimeOffset resumedBefore, string reason)
    {
        var items = answer.GetProperty("items").EnumerateArray().ToList();
        static bool HasRun(JsonElement o) => o.GetProperty("runId").ValueKind == JsonValueKind.String;
        var catchUp = (await admin.RunsAsync(id, "succeeded"))
            .Where(r => r.GetProperty("startedAt").GetDateTimeOffset() >= resumedBefore)
            .MinBy(r => r.GetProperty("startedAt").GetDateTimeOffset());
        Assert.That(catchUp.ValueKind, Is.EqualTo(JsonValueKind.Object), "a run after the resume");
        var shown = items.Where(o => HasRun(o) && o.GetProperty("runId").GetString() == catchUp.GetProperty("id").GetString()).ToList();
        Assert.That(shown.Select(o => o.GetProperty("outcome").GetString()), Is.Not.Empty.And.All.AnyOf("ran", "coalesced"),
            $"the catch-up {catchUp} shows as a run:\n{answer}");

        var inPause = Within(items, pausedAfter, resumedBefore);
        var ran = inPause.Where(HasRun).ToList();
        Assert.That(ran.Select(o => o.GetProperty("runId").GetString()), Is.Empty.Or.EqualTo(new[] { catchUp.GetProperty("id").GetString() }),
            $"no run inside the pause but the catch-up:\n{answer}");
        var skipped = inPause.Where(o => !HasRun(o)).ToList();
        Assert.That(skipped, Has.Count.GreaterThanOrEqualTo(3), answer.ToString());
        Assert.That(skipped.Select(o => (o.GetProperty("outcome").GetString(), o.GetProperty("reason").GetString())), Is.All.EqualTo(("skipped", reason)), answer.ToString());
        return skipped.Count;
    }

    /// <summary>
    /// The occurrences due strictly inside (<paramref name="after"/>, <paramref name="before"/> - 1 s): due times are
    /// whole seconds, so the catch-up a resume after <paramref name="before"/> fires may be keyed up to a second earlier.
    /// </summary>
    public static List<JsonElement> Within(IReadOnlyList<JsonElement> items, DateTimeOffset after, DateTimeOffset before) =>
        [.. items.Where(o => o.GetProperty("dueAt").GetDateTimeOffset() > after && o.GetProperty("dueAt").GetDateTimeOffset() < before.AddSeconds(-1))];
}
