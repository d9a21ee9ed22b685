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
    [TestCase("0 0 9-17 ? * MON-FRI", "every hour at minute 0 between 9:00 and 17:00 on weekdays")]
    [TestCase("0 0 12 ? JAN MON", "cron '0 0 12 ? JAN MON'")]
    public void Common_cron_shapes_read_as_words(string cron, string words) =>
        Assert.That(TriggerDescription.DescribeCron(cron), Is.EqualTo(words));

    [Test]
    public void Other_triggers_read_as_words_with_their_zone_and_limits()
    {
        Assert.That(TriggerDescription.Describe(new IntervalTriggerSpec(TimeSpan.FromMinutes(5), null, null, 3)), Is.EqualTo("every 5 minutes, at most 3 times"));
        Assert.That(TriggerDescription.Describe(new CalendarTriggerSpec(2, IntervalUnit.Week, TimeZoneInfo.Utc, null, null, null)), Is.EqualTo("every 2 weeks (UTC)"));
        Assert.That(TriggerDescription.Describe(new OnceTriggerSpec(new DateTimeOffset(2027, 1, 2, 3, 4, 5, TimeSpan.Zero))), Is.EqualTo("once at 2027-01-02 03:04:05Z"));
    }
}
