using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Schedules;

/// <summary>
/// The edit form's preview (POST /api/schedules/preview with the schedule's id): an unchanged trigger previews the
/// times a save keeps — the stored trigger's, whose phase is its start — not a trigger started now; a changed one
/// previews as a new trigger would fire.
/// </summary>
[TestFixture]
public sealed class EditPreviewTests : ServerWithPeerFixture
{
    protected override string DatabaseName => "editpreview";

    [Test]
    public async Task An_unchanged_interval_previews_its_stored_fire_times_and_a_changed_one_previews_from_now()
    {
        await Admin.CreateScheduleAsync(new { name = "hourly-phase", action = new { type = "noop", config = new { } }, trigger = new { intervalSeconds = 3600 } });
        // Time passes between the save and the edit: a trigger started now would be this much off the stored phase.
        await Task.Delay(TimeSpan.FromSeconds(2.5));
        var next = (await Admin.GetFromJsonAsync<JsonElement>("/api/schedules/default.hourly-phase")).GetProperty("nextFireTime").GetDateTimeOffset();

        var withId = await Admin.PostForJsonAsync("/api/schedules/preview", new { trigger = new { intervalSeconds = 3600 }, count = 3, id = "default.hourly-phase" }, HttpStatusCode.OK);
        var spelledOtherwise = await Admin.PostForJsonAsync("/api/schedules/preview", new { trigger = new { interval = "PT1H" }, count = 3, id = "default.hourly-phase" }, HttpStatusCode.OK);
        var withoutId = await Admin.PostForJsonAsync("/api/schedules/preview", new { trigger = new { intervalSeconds = 3600 }, count = 3 }, HttpStatusCode.OK);
        var changed = await Admin.PostForJsonAsync("/api/schedules/preview", new { trigger = new { intervalSeconds = 1800 }, count = 3, id = "default.hourly-phase" }, HttpStatusCode.OK);

        static List<DateTimeOffset> Times(JsonElement preview) => [.. preview.GetProperty("nextFireTimes").EnumerateArray().Select(t => t.GetDateTimeOffset())];
        Assert.Multiple(() =>
        {
            Assert.That(Times(withId), Is.EqualTo(new[] { next, next.AddHours(1), next.AddHours(2) }), withId.ToString());
            Assert.That(Times(spelledOtherwise), Is.EqualTo(Times(withId)), "the same trigger written another way is unchanged");
            // An interval fires first at its start: started now, 2.5 s and more off the stored phase.
            Assert.That(Times(withoutId).Select(t => (next - t).Ticks % TimeSpan.FromHours(1).Ticks), Has.All.Not.EqualTo(0L), "without the id: a trigger started now");
            Assert.That(Times(changed)[0], Is.LessThan(next.AddHours(-0.5)), "a changed trigger previews as a new one, from now");
        });
    }

    [Test]
    public async Task An_unknown_or_foreign_id_previews_the_trigger_as_new()
    {
        var preview = await Admin.PostForJsonAsync("/api/schedules/preview", new { trigger = new { intervalSeconds = 60 }, count = 1, id = "default.no-such" }, HttpStatusCode.OK);
        Assert.That(preview.GetProperty("nextFireTimes").GetArrayLength(), Is.EqualTo(1));
        var system = await Admin.PostForJsonAsync("/api/schedules/preview", new { trigger = new { intervalSeconds = 60 }, count = 1, id = "_system.run-housekeeping" }, HttpStatusCode.OK);
        Assert.That(system.GetProperty("nextFireTimes").GetArrayLength(), Is.EqualTo(1));
    }
}
