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
        Assert.That(TriggerDescription.Describe(new CalendarTriggerSpec(2, IntervalUnit.Week, TimeZoneInfo.Utc, null, null, null)), Is.EqualTo("every 2 weeks (UTC)"), "no start known yet");
        Assert.That(TriggerDescription.Describe(new OnceTriggerSpec(new DateTimeOffset(2027, 1, 2, 3, 4, 5, TimeSpan.Zero))), Is.EqualTo("once at 2027-01-02 03:04:05Z"));
    }

    // A calendar interval repeats its start: the start's weekday, day or date and wall-clock time, in the trigger's zone.
    [TestCase(2, "week", "Europe/Paris", "2026-12-07T10:00:00+01:00", "every 2 weeks on Monday at 10:00 (Europe/Paris)")]
    [TestCase(1, "week", "UTC", "2026-12-04T09:30:00+00:00", "every week on Friday at 09:30 (UTC)")]
    [TestCase(3, "month", "UTC", "2026-12-15T06:00:00+00:00", "every 3 months on day 15 at 06:00 (UTC)")]
    [TestCase(2, "day", "UTC", "2026-12-01T06:00:00+00:00", "every 2 days at 06:00 (UTC)")]
    [TestCase(1, "day", "America/New_York", "2026-12-01T06:00:00+00:00", "every day at 01:00 (America/New_York)")]
    [TestCase(2, "year", "UTC", "2027-03-01T09:00:00+00:00", "every 2 years on March 1st at 09:00 (UTC)")]
    [TestCase(2, "week", "Asia/Tokyo", "2026-12-06T23:30:00+00:00", "every 2 weeks on Monday at 08:30 (Asia/Tokyo)")]
    [TestCase(2, "day", "UTC", "2026-12-01T06:00:15+00:00", "every 2 days at 06:00:15 (UTC)")]
    [TestCase(3, "hour", "UTC", "2026-12-01T06:20:00+00:00", "every 3 hours at minute 20 (UTC)")]
    public void A_calendar_interval_reads_as_its_start_repeated(int every, string unit, string zone, string startAt, string words)
    {
        var trigger = new CalendarTriggerSpec(every, Enum.Parse<IntervalUnit>(unit, ignoreCase: true), TimeZoneInfo.FindSystemTimeZoneById(zone), DateTimeOffset.Parse(startAt, System.Globalization.CultureInfo.InvariantCulture), null, null);
        Assert.That(TriggerDescription.Describe(trigger), Is.EqualTo(words));
    }

    [Test]
    public void A_calendar_interval_without_a_start_reads_from_when_it_starts()
    {
        var trigger = new CalendarTriggerSpec(2, IntervalUnit.Week, TimeZoneInfo.FindSystemTimeZoneById("Europe/Paris"), null, null, 4);
        var saved = new DateTimeOffset(2026, 11, 30, 15, 40, 0, TimeSpan.Zero);
        Assert.That(TriggerDescription.Describe(trigger, saved), Is.EqualTo("every 2 weeks on Monday at 16:40 (Europe/Paris), at most 4 times"));
        var given = trigger with { StartAt = new DateTimeOffset(2026, 12, 3, 8, 0, 0, TimeSpan.Zero) };
        Assert.That(TriggerDescription.Describe(given, saved), Is.EqualTo("every 2 weeks on Thursday at 09:00 (Europe/Paris), at most 4 times"), "the trigger's own start wins");
    }

    [Test]
    public void The_phrase_every_other_monday_at_10_is_described_with_its_day_and_time()
    {
        var now = new DateTimeOffset(2026, 11, 30, 15, 40, 0, TimeSpan.Zero);
        var paris = TimeZoneInfo.FindSystemTimeZoneById("Europe/Paris");
        var t = CronPhrases.Parse("every other monday at 10", paris, now).Answer!.Trigger;
        var spec = new CalendarTriggerSpec(t.Every!.Value, IntervalUnit.Week, paris, DateTimeOffset.Parse(t.StartAt!, System.Globalization.CultureInfo.InvariantCulture), null, null);
        Assert.That(TriggerDescription.Describe(spec), Is.EqualTo("every 2 weeks on Monday at 10:00 (Europe/Paris)"));
    }
}
