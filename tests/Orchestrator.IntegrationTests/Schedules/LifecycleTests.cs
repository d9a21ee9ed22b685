using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Schedules;

/// <summary>
/// The lifecycle rules on a real server and PostgreSQL: an edit never re-runs past fire times, resuming after a long
/// pause never floods, and backfill is the only way to run past times on purpose.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class LifecycleTests : ServerWithPeerFixture
{
    protected override string DatabaseName => "lifecycle";

    private static string Iso(DateTimeOffset t) => t.ToString("O", CultureInfo.InvariantCulture);

    private static object Noop(string name, object trigger, string misfire, string? description = null) => new
    {
        name, description, action = new { type = "noop", config = new { } }, trigger, misfire = new { policy = misfire, thresholdSeconds = 1 },
    };

    private async Task<List<DateTimeOffset>> FireTimesAsync(string id) =>
        [.. (await Admin.RunsAsync(id)).Select(r => r.GetProperty("scheduledFireTime").GetDateTimeOffset())];

    [Test]
    public async Task An_edit_never_reruns_past_fire_times_even_with_a_past_start_under_catch_up()
    {
        await Admin.CreateScheduleAsync(Noop("edited", new { intervalSeconds = 1 }, "catch_up"));
        await Poll.UntilAsync(() => FireTimesAsync("default.edited"), t => t.Count >= 2, TimeSpan.FromSeconds(15), "two runs");

        // An edit that keeps the trigger, then one that starts it an hour ago: Quartz would see 3,600 misfired times.
        var response = await Admin.PutAsync("/api/schedules/default.edited", ApiClient.Json(Noop("edited", new { intervalSeconds = 1 }, "catch_up", "kept")));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
        var editedAt = TimeProvider.System.GetUtcNow();
        var before = await FireTimesAsync("default.edited");
        var pastStart = Noop("edited", new { intervalSeconds = 1, startAt = Iso(editedAt.AddHours(-1)) }, "catch_up", "restarted");
        response = await Admin.PutAsync("/api/schedules/default.edited", ApiClient.Json(pastStart));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
        var restartedAt = TimeProvider.System.GetUtcNow();

        var after = await Poll.UntilAsync(() => FireTimesAsync("default.edited"), t => t.Count(x => x > restartedAt) >= 2, TimeSpan.FromSeconds(15), "runs after the edit");
        await Admin.PostAsync("/api/schedules/default.edited/pause", null);
        var rerun = after.Except(before).Where(t => t < restartedAt.AddSeconds(-1)).ToList();
        Assert.That(rerun, Is.Empty, "no fire time before the edit ran because of it");
        Assert.That(after, Is.Unique, "one run per fire time");
        Assert.That(after.Count(t => t > editedAt.AddHours(-2) && t < editedAt.AddMinutes(-1)), Is.Zero, "the hour before the edit was not caught up");
    }

    [Test]
    public async Task Resuming_after_a_long_pause_runs_at_most_one_catch_up_under_fire_once_and_none_under_skip()
    {
        await Admin.CreateScheduleAsync(Noop("resume-once", new { intervalSeconds = 1 }, "fire_once"));
        await Admin.CreateScheduleAsync(Noop("resume-skip", new { intervalSeconds = 1 }, "skip"));
        await Poll.UntilAsync(() => FireTimesAsync("default.resume-skip"), t => t.Count >= 2, TimeSpan.FromSeconds(15), "runs before the pause");
        await Admin.PostAsync("/api/schedules/default.resume-once/pause", null);
        await Admin.PostAsync("/api/schedules/default.resume-skip/pause", null);
        var pausedAt = TimeProvider.System.GetUtcNow();
        await Task.Delay(TimeSpan.FromSeconds(2)); // firings under way at the pause finish
        var beforeOnce = await FireTimesAsync("default.resume-once");
        var beforeSkip = await FireTimesAsync("default.resume-skip");
        await Task.Delay(TimeSpan.FromSeconds(6)); // eight fire times pass, far beyond the 1 s misfire threshold

        var resumedAt = TimeProvider.System.GetUtcNow();
        await Admin.PostAsync("/api/schedules/default.resume-once/resume", null);
        await Admin.PostAsync("/api/schedules/default.resume-skip/resume", null);
        await Task.Delay(TimeSpan.FromSeconds(3));
        await Admin.PostAsync("/api/schedules/default.resume-once/pause", null);
        await Admin.PostAsync("/api/schedules/default.resume-skip/pause", null);
        await Task.Delay(TimeSpan.FromSeconds(1.5));

        bool InPause(DateTimeOffset t) => t > pausedAt.AddSeconds(2) && t < resumedAt.AddSeconds(-1);
        var once = (await FireTimesAsync("default.resume-once")).Except(beforeOnce).ToList();
        var skip = (await FireTimesAsync("default.resume-skip")).Except(beforeSkip).ToList();
        Assert.That(once.Count(InPause), Is.LessThanOrEqualTo(1), "fire_once: at most one catch-up for the whole pause: " + string.Join(", ", once));
        Assert.That(skip.Count(InPause), Is.Zero, "skip: nothing for the pause: " + string.Join(", ", skip));
        Assert.That(once.Count(t => t >= resumedAt), Is.GreaterThanOrEqualTo(1), "fire_once resumed");
        Assert.That(skip.Count(t => t >= resumedAt), Is.GreaterThanOrEqualTo(1), "skip resumed");

        // The occurrences say what became of the paused times: none of them ran on its own.
        var from = Uri.EscapeDataString(Iso(pausedAt.AddSeconds(3)));
        var to = Uri.EscapeDataString(Iso(resumedAt.AddSeconds(-1)));
        var occurrences = await Admin.GetFromJsonAsync<JsonElement>($"/api/schedules/default.resume-skip/occurrences?from={from}&to={to}");
        Assert.That(occurrences.GetProperty("items").EnumerateArray().Select(o => o.GetProperty("outcome").GetString()), Has.None.EqualTo("ran"), occurrences.ToString());
    }

    [Test]
    public async Task Backfill_is_the_only_way_to_run_past_times_and_the_backfilled_times_show_as_ran()
    {
        var now = TimeProvider.System.GetUtcNow();
        var minute = new DateTimeOffset(now.Year, now.Month, now.Day, now.Hour, now.Minute, 0, TimeSpan.Zero);
        await Admin.CreateScheduleAsync(new
        {
            name = "past-minutes", action = new { type = "noop", config = new { } },
            trigger = new { cron = "0 * * * * ?", startAt = Iso(minute.AddMinutes(-30)) }, misfire = new { policy = "skip" },
        });
        await Admin.PostAsync("/api/schedules/default.past-minutes/pause", null);
        await Poll.NothingHappensFor(TimeSpan.FromSeconds(2), async () => (await FireTimesAsync("default.past-minutes")).Count > 0, "a past minute run without a backfill");

        var from = minute.AddMinutes(-10);
        var result = await Admin.PostForJsonAsync("/api/schedules/default.past-minutes/backfill", new { from = Iso(from), to = Iso(from.AddMinutes(3)) }, HttpStatusCode.OK);
        Assert.That(result.GetProperty("scheduled").GetInt32(), Is.EqualTo(3), result.ToString());
        var runs = await Poll.UntilAsync(() => Admin.RunsAsync("default.past-minutes", "succeeded"), r => r.Count == 3, TimeSpan.FromSeconds(20), "three backfilled runs");
        Assert.That(runs.Select(r => r.GetProperty("triggeredBy").GetString()), Is.All.EqualTo("backfill"));

        var occurrences = await Admin.GetFromJsonAsync<JsonElement>(
            $"/api/schedules/default.past-minutes/occurrences?from={Uri.EscapeDataString(Iso(from))}&to={Uri.EscapeDataString(Iso(from.AddMinutes(5)))}");
        var items = occurrences.GetProperty("items").EnumerateArray().ToList();
        Assert.That(items.Take(3).Select(o => (o.GetProperty("outcome").GetString(), o.GetProperty("reason").GetString()!.Split(',')[0])),
            Is.All.EqualTo(("ran", "backfilled")), occurrences.ToString());
        Assert.That(items.Skip(3).Select(o => o.GetProperty("outcome").GetString()), Has.None.EqualTo("ran"), "the times not backfilled did not run");
    }
}
