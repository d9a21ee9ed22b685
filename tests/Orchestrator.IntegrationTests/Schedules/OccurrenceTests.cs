using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;
using Orchestrator.Schedules;

namespace Orchestrator.IntegrationTests.Schedules;

/// <summary><c>GET /api/schedules/{id}/occurrences</c> on a real server and PostgreSQL.</summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class OccurrenceTests : ServerWithPeerFixture
{
    protected override string DatabaseName => "occurrences";

    private static string Iso(DateTimeOffset t) => Uri.EscapeDataString(t.ToString("O", CultureInfo.InvariantCulture));

    [Test]
    public async Task Every_due_time_in_the_range_has_one_outcome_joined_with_the_ledger_and_future_ones_are_pending()
    {
        var created = TimeProvider.System.GetUtcNow();
        await Admin.CreateScheduleAsync(new { name = "every-second", action = new { type = "noop", config = new { } }, trigger = new { intervalSeconds = 1 } });
        await Poll.UntilAsync(() => Admin.RunsAsync("default.every-second", "succeeded"), r => r.Count >= 3, TimeSpan.FromSeconds(20), "three runs");
        await Admin.PostAsync("/api/schedules/default.every-second/pause", null);
        var runs = await Poll.UntilAsync(() => Admin.RunsAsync("default.every-second"), r => r.All(x => x.Status() == "succeeded"), TimeSpan.FromSeconds(10), "runs settled");
        var now = TimeProvider.System.GetUtcNow();

        var answer = await Admin.GetFromJsonAsync<JsonElement>($"/api/schedules/default.every-second/occurrences?from={Iso(created.AddSeconds(-5))}&to={Iso(now.AddSeconds(10))}");
        var items = answer.GetProperty("items").EnumerateArray().ToList();
        var due = items.Select(o => o.GetProperty("dueAt").GetDateTimeOffset()).ToList();
        Assert.That(due, Is.Ordered.And.Unique, "one outcome per due time, oldest first");
        Assert.That(due.Zip(due.Skip(1), (a, b) => b - a), Is.All.EqualTo(TimeSpan.FromSeconds(1)), "the trigger's own due times, every second");

        // Every run of the schedule is the outcome of its due time; no run is claimed twice.
        var ranIds = items.Where(o => o.GetProperty("outcome").GetString() == "ran").Select(o => o.GetProperty("runId").GetString()).ToList();
        Assert.That(ranIds, Is.EquivalentTo(runs.Select(r => r.GetProperty("id").GetString())), answer.ToString());
        foreach (var run in runs)
        {
            var occurrence = items.Single(o => o.GetProperty("runId").GetString() == run.GetProperty("id").GetString());
            Assert.That(occurrence.GetProperty("dueAt").GetDateTimeOffset(), Is.EqualTo(run.GetProperty("scheduledFireTime").GetDateTimeOffset()));
            Assert.That(occurrence.GetProperty("lateByMs").GetInt64(), Is.GreaterThanOrEqualTo(0));
        }

        // Paused now: the due times after the pause are skipped as paused, the future ones are still pending.
        var after = items.Where(o => o.GetProperty("dueAt").GetDateTimeOffset() > now).ToList();
        Assert.That(after.Select(o => o.GetProperty("outcome").GetString()), Is.All.EqualTo("pending"));
        Assert.That(items.Where(o => o.GetProperty("outcome").GetString() == "skipped").Select(o => o.GetProperty("reason").GetString()), Is.All.StartWith("paused by "));
        var counts = answer.GetProperty("counts");
        Assert.That(counts.GetProperty("ran").GetInt32() + counts.GetProperty("skipped").GetInt32() + counts.GetProperty("pending").GetInt32()
            + counts.GetProperty("missed").GetInt32() + counts.GetProperty("coalesced").GetInt32() + counts.GetProperty("retried").GetInt32(), Is.EqualTo(items.Count));
    }

    [Test]
    public async Task A_jittered_schedules_runs_are_the_outcomes_of_its_nominal_due_times()
    {
        // Fires its offset after each nominal due time; the ledger keys each run on the nominal time. An offset of 2 s on
        // a 3 s interval: the trigger's own fire times are none of the nominal due times.
        const int Jitter = 3;
        var name = Enumerable.Range(0, 1000).Select(i => $"jittered-{i}").First(n => ScheduleJitter.OffsetFor($"default.{n}", Jitter) >= TimeSpan.FromSeconds(2));
        var offset = ScheduleJitter.OffsetFor($"default.{name}", Jitter);
        var created = TimeProvider.System.GetUtcNow();
        await Admin.CreateScheduleAsync(new { name, action = new { type = "noop", config = new { } }, trigger = new { intervalSeconds = 3 }, jitterSeconds = Jitter });
        await Poll.UntilAsync(() => Admin.RunsAsync($"default.{name}", "succeeded"), r => r.Count >= 3, TimeSpan.FromSeconds(30), "three runs");
        await Admin.PostAsync($"/api/schedules/default.{name}/pause", null);
        var runs = await Poll.UntilAsync(() => Admin.RunsAsync($"default.{name}"), r => r.All(x => x.Status() == "succeeded"), TimeSpan.FromSeconds(10), "runs settled");

        var answer = await Admin.GetFromJsonAsync<JsonElement>(
            $"/api/schedules/default.{name}/occurrences?from={Iso(created.AddSeconds(-10))}&to={Iso(TimeProvider.System.GetUtcNow().AddSeconds(10))}");
        var items = answer.GetProperty("items").EnumerateArray().ToList();
        var due = items.Select(o => o.GetProperty("dueAt").GetDateTimeOffset()).ToList();
        Assert.That(due.Zip(due.Skip(1), (a, b) => b - a), Is.All.EqualTo(TimeSpan.FromSeconds(3)), answer.ToString());

        // Every run is the outcome of its own (nominal) due time, ran and on time measured from when the trigger fired it.
        foreach (var run in runs)
        {
            var occurrence = items.SingleOrDefault(o => o.TryGetProperty("runId", out var id) && id.GetString() == run.GetProperty("id").GetString());
            Assert.That(occurrence.ValueKind, Is.EqualTo(JsonValueKind.Object), $"run {run} has no occurrence:\n{answer}");
            Assert.Multiple(() =>
            {
                Assert.That(occurrence.GetProperty("dueAt").GetDateTimeOffset(), Is.EqualTo(run.GetProperty("scheduledFireTime").GetDateTimeOffset()));
                Assert.That(occurrence.GetProperty("outcome").GetString(), Is.EqualTo("ran"), occurrence.ToString());
                Assert.That(occurrence.GetProperty("lateByMs").GetInt64(), Is.LessThan((long)offset.TotalMilliseconds), "lateness excludes the offset");
            });
        }

        Assert.That(items.Select(o => o.GetProperty("outcome").GetString()), Has.None.EqualTo("missed").And.None.EqualTo("coalesced"), answer.ToString());
    }

    [Test]
    public async Task A_range_with_an_end_left_out_is_cut_to_the_limit_nearest_the_end_given_not_refused()
    {
        // Every 5 s: a day holds 17,280 due times, more than one answer's 10,000.
        await Admin.CreateScheduleAsync(new { name = "fast", action = new { type = "noop", config = new { } }, trigger = new { intervalSeconds = 5 } });
        var now = TimeProvider.System.GetUtcNow();

        var fromOnly = await Admin.GetFromJsonAsync<JsonElement>($"/api/schedules/default.fast/occurrences?from={Iso(now)}");
        var items = fromOnly.GetProperty("items");
        Assert.That(items.GetArrayLength(), Is.EqualTo(10_000), "the first 10,000 due times from 'from'");
        var last = items[items.GetArrayLength() - 1].GetProperty("dueAt").GetDateTimeOffset();
        Assert.That(fromOnly.GetProperty("to").GetDateTimeOffset(), Is.GreaterThan(last).And.LessThanOrEqualTo(last.AddSeconds(5)), "'to' says where the answer stops");

        var toOnly = await Admin.GetFromJsonAsync<JsonElement>($"/api/schedules/default.fast/occurrences?to={Iso(now.AddDays(1))}");
        var newest = toOnly.GetProperty("items");
        Assert.That(newest.GetArrayLength(), Is.EqualTo(10_000), "the 10,000 due times nearest 'to'");
        Assert.That(toOnly.GetProperty("from").GetDateTimeOffset(), Is.EqualTo(newest[0].GetProperty("dueAt").GetDateTimeOffset()), "'from' says where the answer starts");
        Assert.That(newest[newest.GetArrayLength() - 1].GetProperty("dueAt").GetDateTimeOffset(), Is.LessThan(now.AddDays(1)).And.GreaterThan(now.AddDays(1).AddSeconds(-10)));
    }

    [Test]
    public async Task A_range_is_bounded_checked_and_the_default_is_the_last_24_hours()
    {
        await Admin.CreateScheduleAsync(new { name = "hourly", action = new { type = "noop", config = new { } }, trigger = new { cron = "0 0 * * * ?" } });
        var now = TimeProvider.System.GetUtcNow();

        var byDefault = await Admin.GetFromJsonAsync<JsonElement>("/api/schedules/default.hourly/occurrences");
        var from = byDefault.GetProperty("from").GetDateTimeOffset();
        var to = byDefault.GetProperty("to").GetDateTimeOffset();
        Assert.That(to - from, Is.EqualTo(TimeSpan.FromHours(24)));
        Assert.That(to, Is.EqualTo(now).Within(TimeSpan.FromSeconds(30)));

        async Task<JsonElement> Refused(string query, HttpStatusCode status) =>
            await ApiAssertions.AssertProblemAsync(await Admin.GetAsync($"/api/schedules/default.hourly/occurrences?{query}"), status);

        var backwards = await Refused($"from={Iso(now)}&to={Iso(now.AddHours(-1))}", HttpStatusCode.UnprocessableEntity);
        Assert.That(backwards.GetProperty("errors").GetProperty("to")[0].GetString(), Does.Contain("after from"));
        var tooMany = await Refused($"from={Iso(now)}&to={Iso(now.AddYears(2))}", HttpStatusCode.UnprocessableEntity);
        Assert.That(tooMany.GetProperty("errors").GetProperty("to")[0].GetString(), Does.Contain("more than 10000 due times"));
        var unreadable = await Refused("from=yesterday", HttpStatusCode.UnprocessableEntity);
        Assert.That(unreadable.GetProperty("errors").TryGetProperty("from", out _), Is.True, unreadable.ToString());
        await ApiAssertions.AssertProblemAsync(await Admin.GetAsync("/api/schedules/default.nope/occurrences"), HttpStatusCode.NotFound);
    }
}
