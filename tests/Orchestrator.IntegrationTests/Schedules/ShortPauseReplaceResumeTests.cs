using System.Globalization;
using System.Net;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Schedules;

/// <summary>
/// A replace with <c>enabled: true</c> and the same trigger (PUT, apply, a dashboard edit) resumes a short pause as POST
/// …/resume does — skip runs none of the pause's due times, fire_once exactly one, catch_up every one in order — without
/// a flood: the pause's end is stored before Quartz resumes, so the paused-firing veto holds the due times that Quartz,
/// the pause being shorter than the misfire threshold, fires back to back at the resume.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class ShortPauseReplaceResumeTests : ServerWithPeerFixture
{
    private static readonly TimeSpan Grid = TimeSpan.FromSeconds(4);

    protected override string DatabaseName => "replaceresume";

    private static object Request(string name, string policy, bool? enabled = null) => enabled is { } on
        ? new { name, action = new { type = "noop", config = new { } }, trigger = new { cron = "0/4 * * * * ?" }, misfire = new { policy, thresholdSeconds = 300 }, enabled = on }
        : new { name, action = new { type = "noop", config = new { } }, trigger = new { cron = "0/4 * * * * ?" }, misfire = new { policy, thresholdSeconds = 300 } };

    [Test]
    public async Task A_replace_with_enabled_true_after_a_short_pause_runs_what_the_misfire_policy_says_and_no_flood()
    {
        var policies = new Dictionary<string, string> { ["put-skip"] = "skip", ["put-once"] = "fire_once", ["put-catchup"] = "catch_up" };
        foreach (var (name, policy) in policies)
        {
            await Admin.CreateScheduleAsync(Request(name, policy));
        }

        foreach (var name in policies.Keys)
        {
            await Poll.UntilAsync(() => Admin.RunsAsync($"default.{name}", "succeeded"), r => r.Count >= 1, TimeSpan.FromSeconds(60), $"{name} ran before the pause");
        }

        // Paused 1 s after a due time and resumed 2 s after one, several due times later: no due time is near either call.
        await WaitForPhaseAsync(TimeSpan.FromSeconds(1));
        foreach (var name in policies.Keys)
        {
            await Admin.PostForJsonAsync($"/api/schedules/default.{name}/pause", new { reason = "short" }, HttpStatusCode.OK);
        }

        var pausedBy = TimeProvider.System.GetUtcNow();
        await Task.Delay(TimeSpan.FromSeconds(13));
        await WaitForPhaseAsync(TimeSpan.FromSeconds(2));
        var resumeFrom = TimeProvider.System.GetUtcNow();
        foreach (var (name, policy) in policies)
        {
            using var response = await Admin.PutAsync($"/api/schedules/default.{name}", ApiClient.Json(Request(name, policy, enabled: true)));
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
        }

        var resumedBy = TimeProvider.System.GetUtcNow();
        foreach (var name in policies.Keys)
        {
            await Poll.UntilAsync(() => Admin.RunsAsync($"default.{name}"), r => r.Any(x => Scheduled(x) > resumedBy), TimeSpan.FromSeconds(60), $"{name} ran after the resume");
        }

        // The grid's due times that came while paused, before the first PUT began.
        var pausedDue = new List<DateTimeOffset>();
        for (var due = NextOnGrid(pausedBy); due < resumeFrom; due += Grid)
        {
            pausedDue.Add(due);
        }

        Assert.That(pausedDue, Has.Count.GreaterThanOrEqualTo(3));
        // What ran for the pause: every run due after it began and before the first due time after the resume (a
        // fire_once catch-up is the pause's last due time, or the resume's instant when Quartz moved the trigger there).
        var goesOn = NextOnGrid(resumedBy);
        var skip = (await Admin.RunsAsync("default.put-skip")).Select(Scheduled).Where(s => s > pausedBy && s < goesOn).ToList();
        var once = (await Admin.RunsAsync("default.put-once")).Select(Scheduled).Where(s => s > pausedBy && s < goesOn).ToList();
        var catchUpRuns = (await Admin.RunsAsync("default.put-catchup")).Where(r => Scheduled(r) > pausedBy && Scheduled(r) < goesOn).ToList();
        var catchUp = catchUpRuns.Select(Scheduled).Order().ToList();
        var catchUpStarts = catchUpRuns.OrderBy(Scheduled).Select(r => r.GetProperty("startedAt").GetDateTimeOffset()).ToList();
        await TestContext.Out.WriteLineAsync($"paused {Hms(pausedBy)}, resumed {Hms(resumeFrom)}-{Hms(resumedBy)}; fire_once runs: "
            + string.Join(", ", (await Admin.RunsAsync("default.put-once")).Select(r => $"{Hms(Scheduled(r))} started {Hms(r.GetProperty("startedAt").GetDateTimeOffset())}")));
        string Text(IEnumerable<DateTimeOffset> runs) =>
            $"paused due times {string.Join(", ", pausedDue.Select(Hms))}; runs in the pause {string.Join(", ", runs.Select(Hms))}";
        Assert.Multiple(() =>
        {
            Assert.That(skip, Is.Empty, "skip: none of the pause's due times runs\n" + Text(skip));
            // As POST …/resume: exactly one catch-up, however Quartz keys it (the pause's last due time, or the resume's
            // instant when the trigger was moved there).
            Assert.That(once, Has.Count.EqualTo(1), "fire_once: exactly one catch-up\n" + Text(once));
            // catch_up: every due time of the pause, each once, started in due order, and nothing made up besides.
            Assert.That(catchUp, Is.EqualTo(pausedDue), "catch_up: every due time of the pause, once\n" + Text(catchUp));
            Assert.That(catchUpStarts, Is.Ordered, "catch_up: run in due order\n" + Text(catchUp));
        });
    }

    private static string Hms(DateTimeOffset at) => at.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture);

    private static DateTimeOffset Scheduled(JsonElement run) => run.GetProperty("scheduledFireTime").GetDateTimeOffset();

    /// <summary>The first instant on the 4 s grid (UTC seconds divisible by 4) at or after <paramref name="at"/>.</summary>
    private static DateTimeOffset NextOnGrid(DateTimeOffset at)
    {
        var ticks = at.UtcTicks + Grid.Ticks - 1;
        return new DateTimeOffset(ticks - (ticks % Grid.Ticks), TimeSpan.Zero);
    }

    /// <summary>Waits until the clock is <paramref name="phase"/> past a due time of the grid.</summary>
    private static async Task WaitForPhaseAsync(TimeSpan phase)
    {
        var now = TimeProvider.System.GetUtcNow();
        var target = NextOnGrid(now.Add(-phase)).Add(phase);
        if (target <= now)
        {
            target = target.Add(Grid);
        }

        await Task.Delay(target - now);
    }
}
