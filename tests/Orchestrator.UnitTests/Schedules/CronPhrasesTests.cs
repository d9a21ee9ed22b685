using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Schedules;
using Quartz;

namespace Orchestrator.UnitTests.Schedules;

public sealed class CronPhrasesTests
{
    [TestCase("daily", "0 0 0 * * ?")]
    [TestCase("every day", "0 0 0 * * ?")]
    [TestCase("every single day at 7", "0 0 7 * * ?")]
    [TestCase("each day at noon", "0 0 12 * * ?")]
    [TestCase("once a day at 8", "0 0 8 * * ?")]
    [TestCase("once an hour", "0 0 * * * ?")]
    [TestCase("nightly", "0 0 0 * * ?")]
    [TestCase("nightly at 2am", "0 0 2 * * ?")]
    [TestCase("every night at midnight", "0 0 0 * * ?")]
    [TestCase("every night at 11pm", "0 0 23 * * ?")]
    [TestCase("every night at 11", "0 0 23 * * ?")]
    [TestCase("every morning at 8", "0 0 8 * * ?")]
    [TestCase("every evening at 6:30", "0 30 18 * * ?")]
    [TestCase("every afternoon at 3", "0 0 15 * * ?")]
    [TestCase("sunday night at 11", "0 0 23 ? * SUN")]
    [TestCase("weekday mornings at 7", "0 0 7 ? * MON-FRI")]
    [TestCase("on the first of the month at 6", "0 0 6 1 * ?")]
    [TestCase("every first day of the month", "0 0 0 1 * ?")]
    [TestCase("on the 1st and 15th at 9", "0 0 9 1,15 * ?")]
    [TestCase("weekly", "0 0 0 ? * MON")]
    [TestCase("every week", "0 0 0 ? * MON")]
    [TestCase("weekly on friday at 17:00", "0 0 17 ? * FRI")]
    [TestCase("once a week on sunday at 6", "0 0 6 ? * SUN")]
    [TestCase("every weekday", "0 0 0 ? * MON-FRI")]
    [TestCase("every weekend", "0 0 0 ? * SAT,SUN")]
    [TestCase("twice a day", "0 0 0,12 * * ?")]
    [TestCase("twice a day at 9 and 21", "0 0 9,21 * * ?")]
    [TestCase("twice daily at 8:30 and 20:30", "0 30 8,20 * * ?")]
    [TestCase("three times a day", "0 0 0,8,16 * * ?")]
    [TestCase("every 5 min", "0 0/5 * * * ?")]
    [TestCase("every 5 mins", "0 0/5 * * * ?")]
    [TestCase("every 10min", "0 0/10 * * * ?")]
    [TestCase("every 2 hrs", "0 0 0/2 * * ?")]
    [TestCase("every hr", "0 0 * * * ?")]
    [TestCase("every 30 sec", "0/30 * * * * ?")]
    [TestCase("every 15 secs", "0/15 * * * * ?")]
    [TestCase("every 120 minutes", "0 0 0/2 * * ?")]
    [TestCase("every 60 minutes", "0 0 * * * ?")]
    [TestCase("every 60 seconds", "0 * * * * ?")]
    [TestCase("every 5 min during business hours", "0 0/5 9-16 ? * MON-FRI")]
    [TestCase("every hour during business hours", "0 0 9-16 ? * MON-FRI")]
    [TestCase("hourly during business hours", "0 0 9-16 ? * MON-FRI")]
    [TestCase("every 2 hours during business hours", "0 0 9-16/2 ? * MON-FRI")]
    [TestCase("every 30 minutes during working hours", "0 0/30 9-16 ? * MON-FRI")]
    [TestCase("every 15 minutes in office hours", "0 0/15 9-16 ? * MON-FRI")]
    [TestCase("quarterly", "0 0 0 1 JAN,APR,JUL,OCT ?")]
    [TestCase("quarterly at 6am", "0 0 6 1 JAN,APR,JUL,OCT ?")]
    [TestCase("every 3 months", "0 0 0 1 JAN,APR,JUL,OCT ?")]
    [TestCase("every 3 months on the 15th at 9", "0 0 9 15 JAN,APR,JUL,OCT ?")]
    [TestCase("every 6 months", "0 0 0 1 JAN,JUL ?")]
    [TestCase("every other month", "0 0 0 1 JAN,MAR,MAY,JUL,SEP,NOV ?")]
    [TestCase("semiannually", "0 0 0 1 JAN,JUL ?")]
    [TestCase("annually", "0 0 0 1 JAN ?")]
    [TestCase("every day at 8:15 and 8:45", "0 15,45 8 * * ?")]
    [TestCase("at 8:00, 8:30, 9:00 and 9:30", "0 0,30 8,9 * * ?")]
    [TestCase("every day at 8:15 and 17:15", "0 15 8,17 * * ?")]
    [TestCase("every second", "* * * * * ?")]
    [TestCase("every 30 seconds", "0/30 * * * * ?")]
    [TestCase("every 10 seconds", "0/10 * * * * ?")]
    [TestCase("every minute", "0 * * * * ?")]
    [TestCase("every 5 minutes", "0 0/5 * * * ?")]
    [TestCase("Every 15 Minutes", "0 0/15 * * * ?")]
    [TestCase("every five minutes", "0 0/5 * * * ?")]
    [TestCase("each minute", "0 * * * * ?")]
    [TestCase("every hour", "0 0 * * * ?")]
    [TestCase("hourly", "0 0 * * * ?")]
    [TestCase("every 2 hours", "0 0 0/2 * * ?")]
    [TestCase("every other hour", "0 0 0/2 * * ?")]
    [TestCase("every hour at minute 15", "0 15 * * * ?")]
    [TestCase("every day at 9:30", "0 30 9 * * ?")]
    [TestCase("every day at 09:30", "0 30 9 * * ?")]
    [TestCase("daily at 9:30", "0 30 9 * * ?")]
    [TestCase("at 9:30 every day", "0 30 9 * * ?")]
    [TestCase("every day at 9am", "0 0 9 * * ?")]
    [TestCase("every day at 9 am", "0 0 9 * * ?")]
    [TestCase("every day at 6:15pm", "0 15 18 * * ?")]
    [TestCase("every day at 12am", "0 0 0 * * ?")]
    [TestCase("every day at 12pm", "0 0 12 * * ?")]
    [TestCase("every day at noon", "0 0 12 * * ?")]
    [TestCase("every day at midnight", "0 0 0 * * ?")]
    [TestCase("every day at 17", "0 0 17 * * ?")]
    [TestCase("every day at 9:00 and 17:00", "0 0 9,17 * * ?")]
    [TestCase("at 9 and 17 every day", "0 0 9,17 * * ?")]
    [TestCase("every weekday at 9:30", "0 30 9 ? * MON-FRI")]
    [TestCase("every weekday at 17:00", "0 0 17 ? * MON-FRI")]
    [TestCase("weekdays at 5pm", "0 0 17 ? * MON-FRI")]
    [TestCase("on weekdays at 8:45", "0 45 8 ? * MON-FRI")]
    [TestCase("every workday at 7am", "0 0 7 ? * MON-FRI")]
    [TestCase("from monday to friday at 9:00", "0 0 9 ? * MON-FRI")]
    [TestCase("between monday and friday at 9:00", "0 0 9 ? * MON-FRI")]
    [TestCase("every day from monday through wednesday at 6pm", "0 0 18 ? * MON-WED")]
    [TestCase("every weekend at 10am", "0 0 10 ? * SAT,SUN")]
    [TestCase("weekends at 11:30", "0 30 11 ? * SAT,SUN")]
    [TestCase("mondays and thursdays at 08:15", "0 15 8 ? * MON,THU")]
    [TestCase("every monday at 9", "0 0 9 ? * MON")]
    [TestCase("on monday, wednesday and friday at 7:00", "0 0 7 ? * MON,WED,FRI")]
    [TestCase("tuesday at noon", "0 0 12 ? * TUE")]
    [TestCase("every sunday at midnight", "0 0 0 ? * SUN")]
    [TestCase("sat at 6am", "0 0 6 ? * SAT")]
    [TestCase("thurs at 14:00", "0 0 14 ? * THU")]
    [TestCase("monday to friday at 7:45", "0 45 7 ? * MON-FRI")]
    [TestCase("monday through friday at 7:45", "0 45 7 ? * MON-FRI")]
    [TestCase("mon-fri at 8", "0 0 8 ? * MON-FRI")]
    [TestCase("on the 1st of every month at 6am", "0 0 6 1 * ?")]
    [TestCase("on the 15th of each month at 12:00", "0 0 12 15 * ?")]
    [TestCase("monthly on the 1st at 6am", "0 0 6 1 * ?")]
    [TestCase("every month on the 2nd at 3:30", "0 30 3 2 * ?")]
    [TestCase("monthly", "0 0 0 1 * ?")]
    [TestCase("at 23:59 on the last day of the month", "0 59 23 L * ?")]
    [TestCase("on the last day of every month at 23:59", "0 59 23 L * ?")]
    [TestCase("on the last weekday of the month at 18:00", "0 0 18 LW * ?")]
    [TestCase("on the first monday of the month at 9am", "0 0 9 ? * MON#1")]
    [TestCase("the second tuesday of every month at 10:00", "0 0 10 ? * TUE#2")]
    [TestCase("the last friday of the month at 17:00", "0 0 17 ? * 6L")]
    [TestCase("every hour between 9 and 17 on weekdays", "0 0 9-17 ? * MON-FRI")]
    [TestCase("every hour from 9 to 17", "0 0 9-17 * * ?")]
    [TestCase("every 15 minutes between 8:00 and 18:00", "0 0/15 8-17 * * ?")]
    [TestCase("every 30 minutes between 9 am and 5 pm on weekdays", "0 0/30 9-16 ? * MON-FRI")]
    [TestCase("every minute between 9 and 10", "0 * 9 * * ?")]
    [TestCase("every 2 hours starting at 8", "0 0 8/2 * * ?")]
    [TestCase("every 10 minutes at minute 5", "0 5/10 * * * ?")]
    [TestCase("every day at 12 midnight", "0 0 0 * * ?")]
    [TestCase("every day at 12 noon", "0 0 12 * * ?")]
    [TestCase("every 20 minutes", "0 0/20 * * * ?")]
    [TestCase("every 2 hours between 8 and 20", "0 0 8-20/2 * * ?")]
    [TestCase("every minute on sundays", "0 * * ? * SUN")]
    [TestCase("every 10 seconds on weekends", "0/10 * * ? * SAT,SUN")]
    [TestCase("every year on january 1st at midnight", "0 0 0 1 JAN ?")]
    [TestCase("yearly", "0 0 0 1 JAN ?")]
    [TestCase("every day in december at 8pm", "0 0 20 * DEC ?")]
    [TestCase("on the 25th of december at 7am", "0 0 7 25 DEC ?")]
    [TestCase("every monday in march and april at 9:15", "0 15 9 ? MAR,APR MON")]
    [TestCase("at 9:30", "0 30 9 * * ?")]
    [TestCase("on day 10 at 4:00", "0 0 4 10 * ?")]
    [TestCase("every 6 hours", "0 0 0/6 * * ?")]
    [TestCase("in december", "0 0 0 * DEC ?")]
    [TestCase("every day at 9 from january to march", "0 0 9 * JAN-MAR ?")]
    [TestCase("every day at 9 january through march", "0 0 9 * JAN-MAR ?")]
    [TestCase("every weekday at 8 between january and march", "0 0 8 ? JAN-MAR MON-FRI")]
    [TestCase("every day at 9 jan-mar", "0 0 9 * JAN-MAR ?")]
    [TestCase("every day at 9 from november to february", "0 0 9 * NOV-DEC,JAN-FEB ?")]
    [TestCase("every second tuesday of the month", "0 0 0 ? * TUE#2")]
    [TestCase("every second tuesday of the month at 10:00", "0 0 10 ? * TUE#2")]
    [TestCase("every first monday of every month at 9am", "0 0 9 ? * MON#1")]
    [TestCase("every 10 minutes starting at minute 5", "0 5/10 * * * ?")]
    public void Phrases_operators_type_become_quartz_cron(string phrase, string cron)
    {
        var result = Parse(phrase);
        Assert.That(result.Problem, Is.Null, string.Join(", ", result.Unplaced));
        Assert.That(result.Cron, Is.EqualTo(cron));
        Assert.That(Json(result.Answer!.Trigger), Is.EqualTo($$"""{"cron":"{{cron}}","timeZone":"UTC"}"""), "the trigger a schedule takes as it is");
        AssertQuartzFires(result.Answer.Trigger);
        Assert.That(TriggerDescription.DescribeCron(result.Cron!), Does.Not.StartWith("cron '"), "it reads back as words");
    }

    // Interval triggers: a step no cron field can hold evenly.
    [TestCase("every 90 minutes", """{"intervalSeconds":5400}""")]
    [TestCase("every 45 minutes", """{"intervalSeconds":2700}""")]
    [TestCase("every 25 minutes", """{"intervalSeconds":1500}""")]
    [TestCase("every 100 min", """{"intervalSeconds":6000}""")]
    [TestCase("every 7 hours", """{"intervalSeconds":25200}""")]
    [TestCase("every 5 hrs", """{"intervalSeconds":18000}""")]
    [TestCase("every 9 hours", """{"intervalSeconds":32400}""")]
    [TestCase("every 24 hours", """{"intervalSeconds":86400}""")]
    [TestCase("every 36 hours", """{"intervalSeconds":129600}""")]
    [TestCase("every 90 seconds", """{"intervalSeconds":90}""")]
    [TestCase("every 40 secs", """{"intervalSeconds":40}""")]
    [TestCase("each 80 minutes", """{"intervalSeconds":4800}""")]
    // Calendar-interval triggers, anchored on the first time the phrase names (the clock: Monday 2026-11-30 15:40 UTC).
    [TestCase("every other week", """{"every":2,"unit":"week","startAt":"2026-12-07T00:00:00+00:00","timeZone":"UTC"}""")]
    [TestCase("every other monday at 10", """{"every":2,"unit":"week","startAt":"2026-12-07T10:00:00+00:00","timeZone":"UTC"}""")]
    [TestCase("every other monday at 16:00", """{"every":2,"unit":"week","startAt":"2026-11-30T16:00:00+00:00","timeZone":"UTC"}""")]
    [TestCase("every second monday", """{"every":2,"unit":"week","startAt":"2026-12-07T00:00:00+00:00","timeZone":"UTC"}""")]
    [TestCase("every 3rd friday at 9", """{"every":3,"unit":"week","startAt":"2026-12-04T09:00:00+00:00","timeZone":"UTC"}""")]
    [TestCase("every 2 weeks on friday at 9", """{"every":2,"unit":"week","startAt":"2026-12-04T09:00:00+00:00","timeZone":"UTC"}""")]
    [TestCase("every 3 weeks on wednesday at 8:30", """{"every":3,"unit":"week","startAt":"2026-12-02T08:30:00+00:00","timeZone":"UTC"}""")]
    [TestCase("every 4 weeks on thursday at noon", """{"every":4,"unit":"week","startAt":"2026-12-03T12:00:00+00:00","timeZone":"UTC"}""")]
    [TestCase("biweekly on tuesday", """{"every":2,"unit":"week","startAt":"2026-12-01T00:00:00+00:00","timeZone":"UTC"}""")]
    [TestCase("fortnightly", """{"every":2,"unit":"week","startAt":"2026-12-07T00:00:00+00:00","timeZone":"UTC"}""")]
    [TestCase("every fortnight on mondays", """{"every":2,"unit":"week","startAt":"2026-12-07T00:00:00+00:00","timeZone":"UTC"}""")]
    [TestCase("every 2 days", """{"every":2,"unit":"day","startAt":"2026-12-01T00:00:00+00:00","timeZone":"UTC"}""")]
    [TestCase("every other day at 9", """{"every":2,"unit":"day","startAt":"2026-12-01T09:00:00+00:00","timeZone":"UTC"}""")]
    [TestCase("every 3 days at 18:00", """{"every":3,"unit":"day","startAt":"2026-11-30T18:00:00+00:00","timeZone":"UTC"}""")]
    [TestCase("every 2nd day at 7am", """{"every":2,"unit":"day","startAt":"2026-12-01T07:00:00+00:00","timeZone":"UTC"}""")]
    [TestCase("every 10 days", """{"every":10,"unit":"day","startAt":"2026-12-01T00:00:00+00:00","timeZone":"UTC"}""")]
    [TestCase("every 5 months", """{"every":5,"unit":"month","startAt":"2026-12-01T00:00:00+00:00","timeZone":"UTC"}""")]
    [TestCase("every 5 months on the 15th at 9", """{"every":5,"unit":"month","startAt":"2026-12-15T09:00:00+00:00","timeZone":"UTC"}""")]
    [TestCase("every 2 years", """{"every":2,"unit":"year","startAt":"2027-01-01T00:00:00+00:00","timeZone":"UTC"}""")]
    [TestCase("every 2 years on march 1st at 9", """{"every":2,"unit":"year","startAt":"2027-03-01T09:00:00+00:00","timeZone":"UTC"}""")]
    [TestCase("every other monday at 10 Paris time", """{"every":2,"unit":"week","startAt":"2026-12-07T10:00:00+01:00","timeZone":"Europe/Paris"}""")]
    // One-time triggers.
    [TestCase("tomorrow at 9", """{"at":"2026-12-01T09:00:00+00:00"}""")]
    [TestCase("tomorrow at 9am", """{"at":"2026-12-01T09:00:00+00:00"}""")]
    [TestCase("at 9 tomorrow", """{"at":"2026-12-01T09:00:00+00:00"}""")]
    [TestCase("tomorrow", """{"at":"2026-12-01T00:00:00+00:00"}""")]
    [TestCase("today at 17:00", """{"at":"2026-11-30T17:00:00+00:00"}""")]
    [TestCase("today at 5pm", """{"at":"2026-11-30T17:00:00+00:00"}""")]
    [TestCase("next friday at 17:00", """{"at":"2026-12-04T17:00:00+00:00"}""")]
    [TestCase("next monday at 8", """{"at":"2026-12-07T08:00:00+00:00"}""")]
    [TestCase("this friday at noon", """{"at":"2026-12-04T12:00:00+00:00"}""")]
    [TestCase("in 2 hours", """{"at":"2026-11-30T17:40:00+00:00"}""")]
    [TestCase("in 2 hrs", """{"at":"2026-11-30T17:40:00+00:00"}""")]
    [TestCase("in 30 minutes", """{"at":"2026-11-30T16:10:00+00:00"}""")]
    [TestCase("in five minutes", """{"at":"2026-11-30T15:45:00+00:00"}""")]
    [TestCase("in 90 seconds", """{"at":"2026-11-30T15:41:30+00:00"}""")]
    [TestCase("in an hour", """{"at":"2026-11-30T16:40:00+00:00"}""")]
    [TestCase("in 3 days", """{"at":"2026-12-03T15:40:00+00:00"}""")]
    [TestCase("in 1 week", """{"at":"2026-12-07T15:40:00+00:00"}""")]
    [TestCase("on 2026-12-24 at 18:00", """{"at":"2026-12-24T18:00:00+00:00"}""")]
    [TestCase("2027-01-01 at midnight", """{"at":"2027-01-01T00:00:00+00:00"}""")]
    [TestCase("once at 8", """{"at":"2026-12-01T08:00:00+00:00"}""")]
    [TestCase("once at 16:00", """{"at":"2026-11-30T16:00:00+00:00"}""")]
    [TestCase("tomorrow at 9 Paris time", """{"at":"2026-12-01T09:00:00+01:00"}""")]
    [TestCase("tomorrow at 9 CET", """{"at":"2026-12-01T09:00:00+01:00"}""")]
    [TestCase("next friday at 17:00 in new york", """{"at":"2026-12-04T17:00:00-05:00"}""")]
    // A time zone in the phrase: the phrase's zone wins over the request's.
    [TestCase("every day at 9 Paris time", """{"cron":"0 0 9 * * ?","timeZone":"Europe/Paris"}""")]
    [TestCase("at 9 CET", """{"cron":"0 0 9 * * ?","timeZone":"Europe/Paris"}""")]
    [TestCase("every weekday at 9:30 new york time", """{"cron":"0 30 9 ? * MON-FRI","timeZone":"America/New_York"}""")]
    [TestCase("every day at 8 in tokyo", """{"cron":"0 0 8 * * ?","timeZone":"Asia/Tokyo"}""")]
    [TestCase("every day at 9 europe/london", """{"cron":"0 0 9 * * ?","timeZone":"Europe/London"}""")]
    [TestCase("every day at 17:00 EST", """{"cron":"0 0 17 * * ?","timeZone":"America/New_York"}""")]
    [TestCase("every day at 9 utc", """{"cron":"0 0 9 * * ?","timeZone":"UTC"}""")]
    [TestCase("every day at 6 local time", """{"cron":"0 0 6 * * ?","timeZone":"UTC"}""")]
    [TestCase("every monday at 9 PST", """{"cron":"0 0 9 ? * MON","timeZone":"America/Los_Angeles"}""")]
    public void Phrases_become_the_trigger_an_operator_means(string phrase, string trigger)
    {
        var result = Parse(phrase);
        Assert.That(result.Problem, Is.Null, string.Join(", ", result.Unplaced));
        Assert.That(JsonNode.DeepEquals(JsonNode.Parse(Json(result.Answer!.Trigger)), JsonNode.Parse(trigger)), Is.True, $"{Json(result.Answer.Trigger)} ({result.Answer.Reading})");
        AssertQuartzFires(result.Answer.Trigger);
        foreach (var alternative in result.Alternatives)
        {
            AssertQuartzFires(alternative.Trigger);
        }
    }

    [Test]
    public void The_ten_phrases_a_new_user_tried_give_the_trigger_meant()
    {
        // Issue 16: refused before, though an operator expects each to work.
        Assert.That(Parse("daily").Cron, Is.EqualTo("0 0 0 * * ?"));
        Assert.That(Parse("weekly").Cron, Is.EqualTo("0 0 0 ? * MON"));
        Assert.That(Parse("every night at midnight").Cron, Is.EqualTo("0 0 0 * * ?"));
        Assert.That(Parse("twice a day").Cron, Is.EqualTo("0 0 0,12 * * ?"));
        Assert.That(Parse("every 5 min").Cron, Is.EqualTo("0 0/5 * * * ?"));
        Assert.That(Parse("every 5 min during business hours").Cron, Is.EqualTo("0 0/5 9-16 ? * MON-FRI"));
        Assert.That(Parse("quarterly").Cron, Is.EqualTo("0 0 0 1 JAN,APR,JUL,OCT ?"));
        Assert.That(Parse("every 3 months").Cron, Is.EqualTo("0 0 0 1 JAN,APR,JUL,OCT ?"));
        var otherMonday = Parse("every other monday at 10").Answer!.Trigger;
        Assert.That((otherMonday.Every, otherMonday.Unit, otherMonday.StartAt), Is.EqualTo((2, "week", "2026-12-07T10:00:00+00:00")));
        var otherWeek = Parse("every other week").Answer!.Trigger;
        Assert.That((otherWeek.Every, otherWeek.Unit), Is.EqualTo((2, "week")));
    }

    [TestCase("every second monday", """{"cron":"0 0 0 ? * MON#2","timeZone":"UTC"}""")]
    [TestCase("every second monday", """{"every":2,"unit":"week","startAt":"2026-12-14T00:00:00+00:00","timeZone":"UTC"}""")]
    [TestCase("every other monday at 10", """{"every":2,"unit":"week","startAt":"2026-12-14T10:00:00+00:00","timeZone":"UTC"}""")]
    [TestCase("next friday at 17:00", """{"at":"2026-12-11T17:00:00+00:00"}""")]
    [TestCase("weekly", """{"cron":"0 0 0 ? * SUN","timeZone":"UTC"}""")]
    [TestCase("every 3 months", """{"every":3,"unit":"month","startAt":"2026-12-01T00:00:00+00:00","timeZone":"UTC"}""")]
    [TestCase("twice a day", """{"intervalSeconds":43200}""")]
    [TestCase("biweekly", """{"cron":"0 0 0 ? * MON,THU","timeZone":"UTC"}""")]
    [TestCase("at 9 CST", """{"cron":"0 0 9 * * ?","timeZone":"Asia/Shanghai"}""")]
    // A bare time is every day at that time, or the next one only (it is 16:40 in Paris, 15:40 in UTC).
    [TestCase("at 9 Paris time", """{"at":"2026-12-01T09:00:00+01:00"}""")]
    [TestCase("at 9", """{"at":"2026-12-01T09:00:00+00:00"}""")]
    [TestCase("at 16:00", """{"at":"2026-11-30T16:00:00+00:00"}""")]
    [TestCase("9:30pm", """{"at":"2026-11-30T21:30:00+00:00"}""")]
    [TestCase("every hour during business hours", """{"cron":"0 0 9-17 ? * MON-FRI","timeZone":"UTC"}""")]
    [TestCase("every day at 9 gmt", """{"cron":"0 0 9 * * ?","timeZone":"Europe/London"}""")]
    public void An_ambiguous_phrase_answers_one_reading_and_offers_the_others(string phrase, string alternative)
    {
        var result = Parse(phrase);
        Assert.That(result.Answer, Is.Not.Null, result.Problem);
        var offered = result.Alternatives.Select(a => Json(a.Trigger)).ToList();
        Assert.That(offered.Any(o => JsonNode.DeepEquals(JsonNode.Parse(o), JsonNode.Parse(alternative))), Is.True, string.Join("\n", offered));
        Assert.That(offered, Does.Not.Contain(Json(result.Answer!.Trigger)), "the chosen reading is not offered again");
        Assert.That(result.Alternatives.Select(a => a.Reading), Has.All.Not.Empty);
    }

    [Test]
    public void A_bare_time_reads_as_every_day_and_offers_the_next_one_only()
    {
        var result = CronPhrases.Parse("at 9 Paris time", TimeZoneInfo.Utc, Now);
        Assert.That(Json(result.Answer!.Trigger), Is.EqualTo("""{"cron":"0 0 9 * * ?","timeZone":"Europe/Paris"}"""));
        Assert.That(result.Answer.Reading, Does.Contain("every day"));
        var once = result.Alternatives.Single();
        Assert.That(once.Trigger.At, Is.EqualTo("2026-12-01T09:00:00+01:00"));
        Assert.That(once.Reading, Does.StartWith("once at Tuesday 2026-12-01 09:00 (Europe/Paris)").And.Contain("one time only"));
    }

    [TestCase("every 10 seconds during business hours")]
    [TestCase("every 5 min during business hours")]
    [TestCase("every 30 minutes during working hours")]
    [TestCase("every hour during business hours")]
    [TestCase("hourly in office hours")]
    [TestCase("every 2 hours during business hours")]
    public void Business_hours_fire_from_09_00_up_to_but_not_including_17_00_whatever_the_step(string phrase)
    {
        var result = Parse(phrase);
        var monday = new DateTimeOffset(2026, 12, 7, 0, 0, 0, TimeSpan.Zero);
        var expression = new CronExpression(result.Cron!, TimeZoneInfo.Utc);
        var firings = new List<DateTimeOffset>();
        for (var t = expression.GetNextValidTimeAfter(monday); t is { } at && at < monday.AddDays(1); t = expression.GetNextValidTimeAfter(at))
        {
            firings.Add(at);
        }

        Assert.That(firings[0], Is.EqualTo(monday.AddHours(9)), result.Cron);
        Assert.That(firings[^1], Is.LessThan(monday.AddHours(17)).And.GreaterThanOrEqualTo(monday.AddHours(15)), result.Cron);
        Assert.That(result.Answer!.Reading, Does.Contain("up to but not including 17:00"));
    }

    [Test]
    public void A_range_of_hours_outside_business_hours_still_fires_at_its_last_hour()
    {
        Assert.That(Parse("every hour between 9 and 17").Cron, Is.EqualTo("0 0 9-17 * * ?"));
        Assert.That(Parse("every 30 minutes between 9 and 17").Cron, Is.EqualTo("0 0/30 9-16 * * ?"));
    }

    [Test]
    public void A_phrase_zone_ambiguity_chooses_one_zone_and_says_which()
    {
        var result = Parse("at 9 CST");
        Assert.That(result.Answer!.Trigger.TimeZone, Is.EqualTo("America/Chicago"));
        Assert.That(result.Alternatives.Single(a => a.Trigger.TimeZone == "Asia/Shanghai").Reading, Does.Contain("'cst' as Asia/Shanghai"));
    }

    [Test]
    public void An_unambiguous_phrase_offers_no_alternatives()
    {
        Assert.That(Parse("every weekday at 9:30").Alternatives, Is.Empty);
        Assert.That(Parse("every 90 minutes").Alternatives, Is.Empty);
        Assert.That(Parse("tomorrow at 9").Alternatives, Is.Empty);
        // A day or "every" makes a time recurring, with no one-time reading.
        Assert.That(Parse("every day at 9 Paris time").Alternatives, Is.Empty);
        Assert.That(Parse("daily at 9").Alternatives, Is.Empty);
        Assert.That(Parse("at 9 every day").Alternatives, Is.Empty);
        Assert.That(Parse("every monday at 9").Alternatives, Is.Empty);
        Assert.That(Parse("every 5 min during business hours").Alternatives, Is.Empty);
    }

    [Test]
    public void One_time_phrases_read_the_wall_clock_of_the_zone_given()
    {
        var paris = TimeZoneInfo.FindSystemTimeZoneById("Europe/Paris");
        // 23:30 UTC on Monday is already Tuesday 00:30 in Paris: "tomorrow" is Wednesday there.
        var late = CronPhrases.Parse("tomorrow at 9", paris, new DateTimeOffset(2026, 11, 30, 23, 30, 0, TimeSpan.Zero));
        Assert.That(late.Answer!.Trigger.At, Is.EqualTo("2026-12-02T09:00:00+01:00"));
        var summer = CronPhrases.Parse("tomorrow at 9", paris, new DateTimeOffset(2026, 7, 1, 12, 0, 0, TimeSpan.Zero));
        Assert.That(summer.Answer!.Trigger.At, Is.EqualTo("2026-07-02T09:00:00+02:00"));
    }

    [TestCase("every blue moon", "blue")]
    [TestCase("twice a week", "twice")]
    [TestCase("every day at 9:30 maybe", "maybe")]
    [TestCase("every fortnight on mondays sometimes", "sometimes")]
    [TestCase("every ٥ minutes", "٥")]
    [TestCase("at ٩:٣٠", "٩:٣٠")]
    [TestCase("in ٥ hours", "٥")]
    [TestCase("every 5 minutes on the ٣rd", "٣rd")]
    [TestCase("in 1000000 weeks", "1000000")]
    public void Words_no_rule_can_place_are_named_and_supported_forms_suggested(string phrase, string word)
    {
        var result = Parse(phrase);
        Assert.That(result.Answer, Is.Null);
        Assert.That(result.Unplaced, Does.Contain(word));
        Assert.That(result.Problem, Does.Contain($"'{word}'"));
        Assert.That(result.Suggestions, Is.Not.Empty);
        Assert.That(result.Suggestions, Is.SubsetOf(CronPhrases.Examples));
    }

    [TestCase("every day at 25:00", "not a time")]
    [TestCase("every day at 13 pm", "not a time")]
    [TestCase("every day at 9:15 and 10:30", "different minutes")]
    [TestCase("every day at 8:15 and 17:45", "also fire at 08:45, 17:15")]
    [TestCase("on the 32nd at 9", "does not exist")]
    [TestCase("every hour between 17 and 9", "ends before it starts")]
    [TestCase("every 5 minutes at 9:00", "both a step of minutes and a time")]
    [TestCase("on the 1st on mondays at 9", "not both")]
    [TestCase("", "empty")]
    [TestCase("every monday at 9 and friday at 5pm", "one schedule per day and time")]
    [TestCase("between 9 and 17 on weekdays", "needs a step")]
    [TestCase("every hour at 9:30", "takes a minute")]
    [TestCase("every year on monday", "needs a date")]
    [TestCase("at", "neither how often nor at what time")]
    [TestCase("every 90 minutes on weekdays", "interval cannot be limited")]
    [TestCase("every 45 minutes between 9 and 17", "interval cannot be limited")]
    [TestCase("every other week on monday and thursday", "one day of the week")]
    [TestCase("every 3 days on mondays", "cannot also name days")]
    [TestCase("every 5 months on the last day", "one date of the month")]
    [TestCase("every 2 weeks every 5 minutes", "calendar trigger")]
    [TestCase("twice a day at 9", "names 1 time")]
    [TestCase("every 100000 hours", "longer than a year")]
    [TestCase("every 0 minutes", "positive number")]
    [TestCase("at 9 cet pst", "two time zones")]
    [TestCase("today at 9", "already passed")]
    [TestCase("on 2027-03-28 at 2:30 Paris time", "does not exist in Europe/Paris")]
    [TestCase("every business hours on saturday", "day of the week twice")]
    [TestCase("on 9999-12-31 at 23:59 new york time", "outside the calendar")]
    [TestCase("every 3 months in december", "months twice")]
    [TestCase("every morning", "needs a time")]
    [TestCase("sunday night", "needs a time")]
    [TestCase("on the 1st and the last day at 9", "day of the month twice")]
    public void Phrases_no_trigger_can_hold_say_why(string phrase, string reason)
    {
        var result = Parse(phrase);
        Assert.That(result.Answer, Is.Null);
        Assert.That(result.Problem, Does.Contain(reason));
        Assert.That(result.Unplaced, Is.Empty, "every word was understood; the reason is the problem, not the words");
    }

    [TestCase("every day at 9 until march", new[] { "until", "march" }, "'until march'")]
    [TestCase("every day at 9 starting next week", new[] { "starting", "next", "week" }, "'starting next week'")]
    [TestCase("every weekday at 8 till june", new[] { "till", "june" }, "'till june'")]
    [TestCase("every day at 9 before april", new[] { "before", "april" }, "'before april'")]
    public void Start_and_end_dates_are_refused_rather_than_read_as_months(string phrase, string[] unplaced, string quoted)
    {
        var result = Parse(phrase);
        Assert.That(result.Answer, Is.Null, "a cron would fire only in that month, or from today");
        Assert.That(result.Unplaced, Is.EqualTo(unplaced));
        Assert.That(result.Problem, Does.Contain(quoted).And.Contain("start or end"));
    }

    [Test]
    public void Digits_of_other_scripts_are_named_alone_and_the_digits_to_use_are_said()
    {
        // Issue 10, item 5: "every ٥ minutes" was a 500.
        var result = Parse("every ٥ minutes");
        Assert.That(result.Unplaced, Is.EqualTo(new[] { "٥" }));
        Assert.That(result.Problem, Does.Contain("digits 0–9"));
    }

    [Test]
    public void A_refused_phrase_names_only_the_words_no_rule_understood()
    {
        var impossible = Parse("every day at 25:00");
        Assert.That(impossible.Unplaced, Is.Empty);
        Assert.That(impossible.Problem, Does.Contain("not a time"));

        var both = Parse("every day at 25:00 on mondays maybe");
        Assert.That(both.Unplaced, Is.EqualTo(new[] { "maybe" }));
        Assert.That(both.Problem, Does.Contain("not a time").And.Contain("'maybe'"));
    }

    [Test]
    public void Every_example_offered_as_a_suggestion_parses()
    {
        foreach (var example in CronPhrases.Examples)
        {
            var result = Parse(example);
            Assert.That(result.Answer, Is.Not.Null, $"{example}: {result.Problem}");
            AssertQuartzFires(result.Answer!.Trigger);
        }
    }

    [Test]
    public void Any_mix_of_the_words_it_knows_answers_a_trigger_quartz_takes_or_refuses_never_throws()
    {
        // A server error on a phrase is a bug: every combination is an answer or a refusal with a reason.
        string[] vocabulary =
        [
            "every", "each", "other", "second", "2nd", "3", "90", "0", "100000", "٥", "minutes", "min", "hours", "hrs", "days", "weeks", "months",
            "years", "fortnight", "at", "9", "9:30", "17:45", "25:00", "noon", "midnight", "pm", "am", "and", "on", "monday", "fridays",
            "weekdays", "weekend", "the", "1st", "31st", "last", "day", "of", "month", "between", "to", "from", "january", "march", "in",
            "tomorrow", "today", "next", "this", "once", "twice", "a", "daily", "nightly", "weekly", "biweekly", "quarterly", "hourly",
            "business", "during", "paris", "time", "cet", "cst", "europe/london", "local", "until", "starting", "2026-12-24",
            "9999-12-31", "0001-01-01", "minute", "15", "times", "night", "morning", "evening", "first", "single", ",", "-", "mon-fri", "jan-mar",
        ];
        var random = new Random(16);
        for (var n = 0; n < 20_000; n++)
        {
            var phrase = string.Join(" ", Enumerable.Range(0, random.Next(1, 8)).Select(_ => vocabulary[random.Next(vocabulary.Length)]));
            PhraseResult result;
            try
            {
                result = Parse(phrase);
            }
            catch (Exception ex)
            {
                Assert.Fail($"'{phrase}' threw {ex}");
                return;
            }

            if (result.Answer is null)
            {
                Assert.That(result.Problem, Is.Not.Empty, phrase);
                continue;
            }

            foreach (var trigger in result.Alternatives.Select(a => a.Trigger).Prepend(result.Answer.Trigger))
            {
                try
                {
                    AssertQuartzFires(trigger);
                }
                catch (Exception ex) when (ex is not NUnit.Framework.AssertionException)
                {
                    Assert.Fail($"'{phrase}' → {Json(trigger)}: Quartz refused it: {ex.Message}");
                }
            }
        }
    }

    /// <summary>The clock every case reads: Monday 2026-11-30 15:40 UTC.</summary>
    private static readonly DateTimeOffset Now = new(2026, 11, 30, 15, 40, 0, TimeSpan.Zero);

    private static PhraseResult Parse(string phrase) => CronPhrases.Parse(phrase, TimeZoneInfo.Utc, Now);

    private static string Json(TriggerRequest trigger) => JsonSerializer.Serialize(trigger, ScheduleJson.Options);

    /// <summary>Quartz builds the trigger from the answer as given, and it fires after the clock.</summary>
    private static void AssertQuartzFires(TriggerRequest t)
    {
        var builder = TriggerBuilder.Create().WithIdentity("phrase");
        if (t.Cron is not null)
        {
            builder.WithCronSchedule(t.Cron, x => x.InTimeZone(TimeZoneInfo.FindSystemTimeZoneById(t.TimeZone!))).StartAt(Now);
        }
        else if (t.IntervalSeconds is { } seconds)
        {
            Assert.That(t.TimeZone, Is.Null, "an interval takes no time zone");
            builder.WithSimpleSchedule(x => x.WithInterval(TimeSpan.FromSeconds(seconds)).RepeatForever()).StartAt(Now);
        }
        else if (t.At is not null)
        {
            Assert.That((t.TimeZone, t.StartAt), Is.EqualTo(((string?)null, (string?)null)), "a one-time trigger takes neither");
            var at = DateTimeOffset.Parse(t.At, CultureInfo.InvariantCulture);
            Assert.That(at, Is.GreaterThan(Now));
            builder.WithSimpleSchedule(x => x.WithRepeatCount(0)).StartAt(at);
        }
        else
        {
            Assert.That(Enum.TryParse<IntervalUnit>(t.Unit, ignoreCase: true, out var unit), Is.True, t.Unit);
            var start = DateTimeOffset.Parse(t.StartAt!, CultureInfo.InvariantCulture);
            Assert.That(start, Is.GreaterThan(Now));
            builder.WithCalendarIntervalSchedule(x => x.WithInterval(t.Every!.Value, unit).InTimeZone(TimeZoneInfo.FindSystemTimeZoneById(t.TimeZone!))).StartAt(start);
        }

        var trigger = builder.Build();
        Assert.That(trigger.GetFireTimeAfter(Now.AddSeconds(-1)), Is.Not.Null, "Quartz accepts it and it fires");
    }
}
