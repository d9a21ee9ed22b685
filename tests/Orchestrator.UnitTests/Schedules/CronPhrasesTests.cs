using Orchestrator.Schedules;
using Quartz;

namespace Orchestrator.UnitTests.Schedules;

public sealed class CronPhrasesTests
{
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
        var result = CronPhrases.Parse(phrase);
        Assert.That(result.Problem, Is.Null, string.Join(", ", result.Unplaced));
        Assert.That(result.Cron, Is.EqualTo(cron));
        Assert.That(new CronExpression(result.Cron!).GetNextValidTimeAfter(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero)), Is.Not.Null, "Quartz accepts it and it fires");
        Assert.That(TriggerDescription.DescribeCron(result.Cron!), Does.Not.StartWith("cron '"), "it reads back as words");
    }

    [TestCase("every blue moon", "blue")]
    [TestCase("twice a day", "twice")]
    [TestCase("every day at 9:30 maybe", "maybe")]
    [TestCase("every fortnight on mondays", "fortnight")]
    public void Words_no_rule_can_place_are_named_and_supported_forms_suggested(string phrase, string word)
    {
        var result = CronPhrases.Parse(phrase);
        Assert.That(result.Cron, Is.Null);
        Assert.That(result.Unplaced, Does.Contain(word));
        Assert.That(result.Suggestions, Is.Not.Empty);
        Assert.That(result.Suggestions, Is.SubsetOf(CronPhrases.Examples));
    }

    [TestCase("every day at 25:00", "not a time")]
    [TestCase("every day at 13 pm", "not a time")]
    [TestCase("every 90 minutes", "interval trigger")]
    [TestCase("every day at 9:15 and 10:30", "different minutes")]
    [TestCase("on the 32nd at 9", "does not exist")]
    [TestCase("every hour between 17 and 9", "ends before it starts")]
    [TestCase("every 5 minutes at 9:00", "both a step of minutes and a time")]
    [TestCase("on the 1st on mondays at 9", "not both")]
    [TestCase("", "empty")]
    [TestCase("every second monday", "every other week")]
    [TestCase("every monday at 9 and friday at 5pm", "one schedule per day and time")]
    [TestCase("between 9 and 17 on weekdays", "needs a step")]
    [TestCase("every hour at 9:30", "takes a minute")]
    [TestCase("every 2nd day", "calendar trigger")]
    [TestCase("every 45 minutes", "does not divide")]
    [TestCase("every 7 hours", "does not divide")]
    [TestCase("every year on monday", "needs a date")]
    [TestCase("at", "neither how often nor at what time")]
    public void Phrases_that_cannot_be_one_cron_expression_say_why(string phrase, string reason)
    {
        var result = CronPhrases.Parse(phrase);
        Assert.That(result.Cron, Is.Null);
        Assert.That(result.Problem, Does.Contain(reason));
        Assert.That(result.Unplaced, Is.Empty, "every word was understood; the reason is the problem, not the words");
    }

    [TestCase("every day at 9 until march", new[] { "until", "march" }, "'until march'")]
    [TestCase("every day at 9 starting next week", new[] { "starting", "next", "week" }, "'starting next week'")]
    [TestCase("every weekday at 8 till june", new[] { "till", "june" }, "'till june'")]
    [TestCase("every day at 9 before april", new[] { "before", "april" }, "'before april'")]
    public void Start_and_end_dates_are_refused_rather_than_read_as_months(string phrase, string[] unplaced, string quoted)
    {
        var result = CronPhrases.Parse(phrase);
        Assert.That(result.Cron, Is.Null, "a cron would fire only in that month, or from today");
        Assert.That(result.Unplaced, Is.EqualTo(unplaced));
        Assert.That(result.Problem, Does.Contain(quoted).And.Contain("start or end"));
    }

    [Test]
    public void A_refused_phrase_names_only_the_words_no_rule_understood()
    {
        var divides = CronPhrases.Parse("every 45 minutes");
        Assert.That(divides.Unplaced, Is.Empty);
        Assert.That(divides.Problem, Does.Contain("does not divide"));

        var both = CronPhrases.Parse("every 45 minutes on mondays at minute 5 maybe");
        Assert.That(both.Unplaced, Is.EqualTo(new[] { "maybe" }));
        Assert.That(both.Problem, Does.Contain("does not divide").And.Contain("'maybe'"));
    }

    [Test]
    public void Every_example_offered_as_a_suggestion_parses()
    {
        foreach (var example in CronPhrases.Examples)
        {
            var result = CronPhrases.Parse(example);
            Assert.That(result.Cron, Is.Not.Null, $"{example}: {result.Problem}");
            Assert.That(new CronExpression(result.Cron!).GetNextValidTimeAfter(new DateTimeOffset(2026, 1, 1, 0, 0, 0, TimeSpan.Zero)), Is.Not.Null, example);
        }
    }
}
