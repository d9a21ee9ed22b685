using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Schedules;

namespace Orchestrator.UnitTests.Schedules;

/// <summary>
/// The schedule document is stored in the Quartz job and answered to clients; as a record it must write the JSON the
/// untyped document wrote (every field, nulls included, the trigger only in the form it was given) and read it back.
/// </summary>
public sealed class ScheduleDocumentTests
{
    private static readonly DateTimeOffset Now = new(2030, 1, 1, 0, 0, 0, TimeSpan.Zero);

    private static readonly TriggerRequest Cron = new("0 0 9 ? * MON-FRI", "Europe/Paris", null, null, null, null, null, null, null, null);

    private static ScheduleRequest Request(TriggerRequest trigger) => new("s", "default", null, null, trigger, null, null, null, null, null, null);

    [Test]
    public void A_minimal_schedule_writes_every_field_with_nulls_and_leaves_the_unused_trigger_fields_out()
    {
        var spec = new ScheduleSpec("default", "s", null, "noop", JsonDocument.Parse("{}").RootElement,
            new CronTriggerSpec("0 0 9 ? * MON-FRI", TimeZoneInfo.FindSystemTimeZoneById("Europe/Paris"), null, null, null),
            MisfirePolicy.FireOnce, null, ScheduleOverlap.Allow, null, null, null, true);

        var json = JsonNode.Parse(ScheduleMapping.Document(spec, Request(Cron), Now).ToJson())!;

        var expected = JsonNode.Parse("""
            {
              "id": "default.s", "name": "s", "project": "default", "description": null,
              "action": { "type": "noop", "config": {} },
              "trigger": { "cron": "0 0 9 ? * MON-FRI", "timeZone": "Europe/Paris" },
              "triggerDescription": "DESCRIPTION",
              "misfire": { "policy": "fire_once", "thresholdSeconds": null },
              "concurrency": "allow", "retry": null, "timeoutSeconds": null, "executionGroup": null, "jitterSeconds": 0
            }
            """)!;
        expected["triggerDescription"] = json["triggerDescription"]!.GetValue<string>();
        Assert.That(JsonNode.DeepEquals(json, expected), Is.True, json.ToJsonString());
    }

    [Test]
    public void A_full_schedule_writes_its_retry_misfire_and_limits_and_reads_back_the_same()
    {
        var interval = new TriggerRequest(null, null, 300, null, null, null, null, "2030-01-02T00:00:00Z", null, 7);
        var spec = new ScheduleSpec("default", "s", "nightly", "call_api", JsonDocument.Parse("""{"url":"https://x.example"}""").RootElement,
            new IntervalTriggerSpec(TimeSpan.FromMinutes(5), Now.AddDays(1), null, 7),
            MisfirePolicy.Skip, TimeSpan.FromSeconds(30), ScheduleOverlap.Forbid, new RetrySpec(3, true, TimeSpan.FromSeconds(10), null), TimeSpan.FromMinutes(2), "slow", true);

        var document = ScheduleMapping.Document(spec, Request(interval), Now);
        var json = JsonNode.Parse(document.ToJson())!;

        Assert.That(JsonNode.DeepEquals(json["trigger"], JsonNode.Parse("""{ "intervalSeconds": 300, "startAt": "2030-01-02T00:00:00Z", "maxRuns": 7 }""")), Is.True, json.ToJsonString());
        Assert.That(JsonNode.DeepEquals(json["misfire"], JsonNode.Parse("""{ "policy": "skip", "thresholdSeconds": 30 }""")), Is.True);
        Assert.That(JsonNode.DeepEquals(json["retry"], JsonNode.Parse("""{ "maxAttempts": 3, "backoff": "exponential", "initialDelaySeconds": 10, "maxDelaySeconds": null }""")), Is.True);
        Assert.That(json["concurrency"]!.GetValue<string>(), Is.EqualTo("forbid"));
        Assert.That(json["timeoutSeconds"]!.GetValue<int>(), Is.EqualTo(120));
        Assert.That(json["executionGroup"]!.GetValue<string>(), Is.EqualTo("slow"));
        Assert.That(json["description"]!.GetValue<string>(), Is.EqualTo("nightly"));
        Assert.That(json["action"]!["config"]!["url"]!.GetValue<string>(), Is.EqualTo("https://x.example"));

        var read = ScheduleDocument.Parse(document.ToJson())!;
        Assert.That(read.ToJson(), Is.EqualTo(document.ToJson()), "what is stored reads back as it was written");
    }

    [Test]
    public void A_schedule_answer_adds_the_live_fields_with_nulls_written()
    {
        var spec = new ScheduleSpec("default", "s", null, "noop", JsonDocument.Parse("{}").RootElement,
            new CronTriggerSpec("0 0 9 ? * MON-FRI", TimeZoneInfo.Utc, null, null, null), MisfirePolicy.FireOnce, null, ScheduleOverlap.Allow, null, null, null, true);
        var response = ScheduleResponse.From(ScheduleMapping.Document(spec, Request(Cron), Now), enabled: true, state: "complete", null, null, null);

        var json = JsonNode.Parse(JsonSerializer.Serialize(response, JsonSerializerOptions.Web))!.AsObject();

        Assert.That(json.Select(p => p.Key), Is.EquivalentTo(new[]
        {
            "id", "name", "project", "description", "action", "trigger", "triggerDescription", "misfire", "concurrency", "retry",
            "timeoutSeconds", "executionGroup", "enabled", "state", "nextFireTime", "previousFireTime", "lastRun", "managed",
            "jitterSeconds", "jitterOffsetSeconds",
            "pausedReason", "pausedBy", "pausedAt",
            "deadline", "expectSuccessEvery", "deadlineStatus",
        }));
        Assert.That(json["deadlineStatus"], Is.Null, "no deadline and no breach: no deadline status");
        Assert.That(json["managed"]!.GetValue<bool>(), Is.False, "a schedule is managed only when apply marked it");
        Assert.That(json["nextFireTime"], Is.Null);
        Assert.That(json["pausedReason"], Is.Null, "not paused: no reason");
        Assert.That(json["lastRun"], Is.Null);
        Assert.That(json["state"]!.GetValue<string>(), Is.EqualTo("complete"));
    }
}
