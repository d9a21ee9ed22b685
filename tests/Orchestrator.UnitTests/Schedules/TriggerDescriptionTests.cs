using Orchestrator.Schedules;
using Quartz;

namespace Orchestrator.UnitTests.Schedules;

public sealed class TriggerDescriptionTests
{
    [TestCase("* * * * * ?", "every second")]
    [TestCase("0/30 * * * * ?", "every 30 seconds")]
    [TestCase("0 * * * * ?", "every minute")]
    [TestCase("0 */5 * * * ?", "every 5 minutes")]
    [TestCase("0 15 * * * ?", "every hour at minute 15")]
    [TestCase("0 30 9 ? * MON-FRI", "at 09:30 on weekdays")]
    [TestCase("0 0 6 1 * ?", "at 06:00 on day 1 of the month")]
    [TestCase("0 59 23 L * ?", "at 23:59 on the last day of the month")]
    [TestCase("0 15 8 ? * MON,THU", "at 08:15 on Mondays and Thursdays")]
    [TestCase("0 0 9-17 ? * MON-FRI", "every hour from 09:00 to 17:00 on weekdays")]
    [TestCase("0 0 12 ? JAN MON", "at 12:00 on Mondays in January")]
    public void Common_cron_shapes_read_as_words(string cron, string words) =>
        Assert.That(TriggerDescription.DescribeCron(cron), Is.EqualTo(words));

    [TestCase("0 0 20 * DEC ?", "at 20:00 every day in December")]
    [TestCase("0 0 0 1 JAN ?", "at 00:00 every year on January 1st")]
    [TestCase("0 0 7 25 DEC ?", "at 07:00 every year on December 25th")]
    [TestCase("0 15 9 ? MAR,APR MON", "at 09:15 on Mondays in March and April")]
    [TestCase("0 0 9 * JAN-MAR ?", "at 09:00 every day from January to March")]
    [TestCase("0 0 9 * 1-3 ?", "at 09:00 every day from January to March")]
    [TestCase("0 0/15 8-17 * * ?", "every 15 minutes between 08:00 and 18:00")]
    [TestCase("0 0/30 9-16 ? * MON-FRI", "every 30 minutes between 09:00 and 17:00 on weekdays")]
    [TestCase("0 * 9 * * ?", "every minute between 09:00 and 10:00")]
    [TestCase("0 5/10 * * * ?", "every 10 minutes from minute 5")]
    [TestCase("0 0 9,17 * * ?", "at 09:00 and 17:00 every day")]
    [TestCase("0 30 6,12,18 ? * SAT,SUN", "at 06:30, 12:30 and 18:30 on weekends")]
    [TestCase("0 0 8/2 * * ?", "every 2 hours from 08:00 to 22:00")]
    [TestCase("0 0 8-20/2 * * ?", "every 2 hours from 08:00 to 20:00")]
    [TestCase("0 0 0/6 * * ?", "every 6 hours at minute 0")]
    [TestCase("0 0 18 LW * ?", "at 18:00 on the last weekday of the month")]
    [TestCase("0 0 9 ? * MON#1", "at 09:00 on the first Monday of the month")]
    [TestCase("0 0 10 ? * TUE#2", "at 10:00 on the second Tuesday of the month")]
    [TestCase("0 0 17 ? * 6L", "at 17:00 on the last Friday of the month")]
    [TestCase("0 * * ? * SUN", "every minute on Sundays")]
    [TestCase("0/10 * * ? * SAT,SUN", "every 10 seconds on weekends")]
    [TestCase("30 0 9 * * ?", "at 09:00:30 every day")]
    [TestCase("0 0 9 1,15 * ?", "at 09:00 on days 1 and 15 of the month")]
    [TestCase("0 0 9 15W * ?", "at 09:00 on the weekday nearest day 15 of the month")]
    [TestCase("0 0 9 ? * TUE-THU", "at 09:00 on Tuesday to Thursday")]
    [TestCase("0 0 9 ? * mon-fri", "at 09:00 on weekdays")]
    [TestCase("0 0,30 9 * * ?", "at 09:00 and 09:30 every day")]
    [TestCase("0 15,45 8,17 ? * MON-FRI", "at 08:15, 08:45, 17:15 and 17:45 on weekdays")]
    [TestCase("0 0 0 1 JAN,APR,JUL,OCT ?", "at 00:00 on day 1 of the month in January, April, July and October")]
    public void Month_step_hour_list_and_nth_day_shapes_read_as_words(string cron, string words) =>
        Assert.That(TriggerDescription.DescribeCron(cron), Is.EqualTo(words));

    [TestCase("0 0 12 1 * MON")]
    [TestCase("0 0 12 * * ? 2030")]
    [TestCase("0 0,30 * * * ?")]
    [TestCase("not a cron")]
    public void Shapes_without_words_are_quoted(string cron) =>
        Assert.That(TriggerDescription.DescribeCron(cron), Is.EqualTo($"cron '{cron}'"));

    [Test]
    public void Every_form_the_phrase_parser_suggests_reads_as_words()
    {
        var now = new DateTimeOffset(2026, 11, 30, 15, 40, 0, TimeSpan.Zero);
        foreach (var example in CronPhrases.Examples)
        {
            if (CronPhrases.Parse(example, TimeZoneInfo.Utc, now).Cron is { } cron)
            {
                Assert.That(TriggerDescription.DescribeCron(cron), Does.Not.StartWith("cron '"), $"{example} → {cron}");
            }
        }
    }

    [Test]
    public void Other_triggers_read_as_words_with_their_zone_and_limits()
    {
        Assert.That(TriggerDescription.Describe(new IntervalTriggerSpec(TimeSpan.FromMinutes(5), null, null, 3)), Is.EqualTo("every 5 minutes, at most 3 times"));
        Assert.That(TriggerDescription.Describe(new CalendarTriggerSpec(2, IntervalUnit.Week, TimeZoneInfo.Utc, null, null, null)), Is.EqualTo("every 2 weeks (UTC)"));
        Assert.That(TriggerDescription.Describe(new OnceTriggerSpec(new DateTimeOffset(2027, 1, 2, 3, 4, 5, TimeSpan.Zero))), Is.EqualTo("once at 2027-01-02 03:04:05Z"));
    }
}
