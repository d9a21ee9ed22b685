using System.Globalization;
using System.Net;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;
using Orchestrator.Runs;
using Orchestrator.Schedules;

namespace Orchestrator.IntegrationTests.Schedules;

/// <summary>
/// <c>jitterSeconds</c> on a real server and PostgreSQL: the trigger fires the schedule's stable offset after each
/// nominal fire time, the run keeps the nominal fire time (and the idempotency key made from it), and bad values are
/// refused naming the field, with nothing stored.
/// </summary>
[TestFixture]
public sealed class JitterTests : ServerWithPeerFixture
{
    private const int Jitter = 6;

    protected override string DatabaseName => "jitter";

    /// <summary>A schedule name (in the default project) whose offset for <see cref="Jitter"/> is at least two seconds.</summary>
    private static (string Name, TimeSpan Offset) NameWithOffset(string prefix)
    {
        var name = Enumerable.Range(0, 1000).Select(i => $"{prefix}-{i}").First(n => ScheduleJitter.OffsetFor($"default.{n}", Jitter) >= TimeSpan.FromSeconds(2));
        return (name, ScheduleJitter.OffsetFor($"default.{name}", Jitter));
    }

    private static DateTimeOffset WholeSecondAhead(int seconds)
    {
        var t = TimeProvider.System.GetUtcNow().AddSeconds(seconds);
        return new DateTimeOffset(t.Ticks - (t.Ticks % TimeSpan.TicksPerSecond), TimeSpan.Zero);
    }

    private static string Iso(DateTimeOffset t) => t.ToString("yyyy-MM-ddTHH:mm:ssZ", CultureInfo.InvariantCulture);

    [Test]
    public async Task A_jittered_schedule_fires_its_offset_late_and_its_run_keeps_the_nominal_fire_time_and_key()
    {
        var (name, offset) = NameWithOffset("once");
        var at = WholeSecondAhead(4);

        var created = await Admin.CreateScheduleAsync(new
        {
            name,
            action = new { type = "noop", config = new { } },
            trigger = new { at = Iso(at) },
            jitterSeconds = Jitter,
        });

        Assert.Multiple(() =>
        {
            Assert.That(created.GetProperty("jitterSeconds").GetInt32(), Is.EqualTo(Jitter));
            Assert.That(created.GetProperty("jitterOffsetSeconds").GetInt32(), Is.EqualTo((int)offset.TotalSeconds));
            Assert.That(created.GetProperty("nextFireTime").GetDateTimeOffset(), Is.EqualTo(at + offset), "Quartz fires at nominal + offset");
        });

        var runs = await Poll.UntilAsync(() => Admin.RunsAsync($"default.{name}", "succeeded"), r => r.Count >= 1, TimeSpan.FromSeconds(40), "the run");
        var run = runs.Single();
        Assert.Multiple(() =>
        {
            Assert.That(run.GetProperty("scheduledFireTime").GetDateTimeOffset(), Is.EqualTo(at), "the occurrence is the nominal fire time");
            Assert.That(run.GetProperty("idempotencyKey").GetString(), Is.EqualTo(RunLedger.IdempotencyKeyFor($"default.{name}", at)));
            Assert.That(run.GetProperty("startedAt").GetDateTimeOffset(), Is.GreaterThanOrEqualTo(at + offset), "not before its offset");
            Assert.That(run.GetProperty("triggeredBy").GetString(), Is.EqualTo("schedule"));
        });
    }

    [Test]
    public async Task Every_occurrence_of_a_jittered_interval_is_keyed_by_its_nominal_time()
    {
        var (name, offset) = NameWithOffset("every");
        var start = WholeSecondAhead(3);

        var created = await Admin.CreateScheduleAsync(new
        {
            name,
            action = new { type = "noop", config = new { } },
            trigger = new { intervalSeconds = 2, maxRuns = 3, startAt = Iso(start) },
            jitterSeconds = Jitter,
        });
        Assert.That(created.GetProperty("nextFireTime").GetDateTimeOffset(), Is.EqualTo(start + offset));

        var runs = await Poll.UntilAsync(() => Admin.RunsAsync($"default.{name}", "succeeded"), r => r.Count >= 3, TimeSpan.FromSeconds(40), "three runs");
        Assert.That(runs.Select(r => r.GetProperty("scheduledFireTime").GetDateTimeOffset()).Order(),
            Is.EqualTo(new[] { start, start.AddSeconds(2), start.AddSeconds(4) }));
    }

    [Test]
    public async Task The_preview_with_jitter_and_an_id_shows_the_fire_times_moved_by_that_schedules_offset()
    {
        var (name, offset) = NameWithOffset("preview");
        var trigger = new { cron = "0 0 3 * * ?", timeZone = "UTC" };

        var nominal = await Admin.PostForJsonAsync("/api/schedules/preview", new { trigger, count = 3 }, HttpStatusCode.OK);
        var moved = await Admin.PostForJsonAsync("/api/schedules/preview", new { trigger, count = 3, jitterSeconds = Jitter, id = $"default.{name}" }, HttpStatusCode.OK);
        var withoutId = await Admin.PostAsync("/api/schedules/preview", ApiClient.Json(new { trigger, jitterSeconds = Jitter }));

        var withoutIdBody = await withoutId.Content.ReadAsStringAsync();
        var times = nominal.GetProperty("nextFireTimes").EnumerateArray().Select(t => t.GetDateTimeOffset()).ToList();
        Assert.Multiple(() =>
        {
            Assert.That(nominal.TryGetProperty("jitterOffsetSeconds", out _), Is.False, "no jitter asked, none shown");
            Assert.That(moved.GetProperty("jitterOffsetSeconds").GetInt32(), Is.EqualTo((int)offset.TotalSeconds));
            Assert.That(moved.GetProperty("nextFireTimes").EnumerateArray().Select(t => t.GetDateTimeOffset()), Is.EqualTo(times.Select(t => t + offset)));
            Assert.That((int)withoutId.StatusCode, Is.InRange(400, 422));
            Assert.That(withoutIdBody, Does.Contain("\"id\""), "the refusal names the missing id");
        });
    }

    [TestCase(-1, "0 0 3 * * ?", "must be between 0 and 3600.")]
    [TestCase(3601, "0 0 3 * * ?", "must be between 0 and 3600.")]
    [TestCase(61, "0 0 3 * * ?", "must be at most 60 for this cron expression")]
    [TestCase(10, "0/30 * * * * ?", "needs a cron expression with a single second")]
    public async Task A_bad_jitter_is_refused_naming_the_field_and_nothing_is_stored(int jitterSeconds, string cron, string reason)
    {
        var name = $"bad-jitter-{jitterSeconds}";
        var response = await Admin.PostAsync("/api/schedules", ApiClient.Json(new
        {
            name,
            action = new { type = "noop", config = new { } },
            trigger = new { cron },
            jitterSeconds,
        }));
        var body = await response.Content.ReadAsStringAsync();

        Assert.That((int)response.StatusCode, Is.InRange(400, 422), body);
        var errors = JsonDocument.Parse(body).RootElement.GetProperty("errors");
        Assert.That(errors.GetProperty("jitterSeconds")[0].GetString(), Does.StartWith(reason), body);
        Assert.That((await Admin.GetAsync($"/api/schedules/default.{name}")).StatusCode, Is.EqualTo(HttpStatusCode.NotFound), "nothing stored");
    }
}
