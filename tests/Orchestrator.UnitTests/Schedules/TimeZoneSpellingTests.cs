using Orchestrator.Hosting;
using Orchestrator.Schedules;

namespace Orchestrator.UnitTests.Schedules;

public sealed class TimeZoneSpellingTests
{
    // Each of these was found by the zone lookup (a file under zoneinfo, a case-insensitive match, a Windows id) and
    // stored as given, so the schedule showed a name that is not the zone's.
    [TestCase("Europe//Paris")]
    [TestCase("europe/paris")]
    [TestCase("EUROPE/PARIS")]
    [TestCase("posix/Europe/Paris")]
    [TestCase("localtime")]
    [TestCase("Romance Standard Time")]
    public void A_spelling_that_is_not_the_IANA_id_is_refused_naming_the_field(string id)
    {
        var errors = new FieldErrors();
        Assert.That(ScheduleValidator.ParseZone(id, "trigger.timeZone", errors), Is.Null);
        Assert.That(errors.Entries.Keys, Is.EquivalentTo(new[] { "trigger.timeZone" }));
    }

    [Test]
    public void A_case_different_spelling_is_told_the_canonical_id()
    {
        var errors = new FieldErrors();
        ScheduleValidator.ParseZone("europe/paris", "timeZone", errors);
        Assert.That(errors.Summary, Does.Contain("'Europe/Paris'"));
    }

    [TestCase("Europe/Paris")]
    [TestCase("UTC")]
    [TestCase("Etc/UTC")]
    [TestCase("US/Eastern")]
    [TestCase("America/Argentina/Buenos_Aires")]
    [TestCase("Etc/GMT+5")]
    public void IANA_ids_and_links_are_accepted_as_they_are(string id)
    {
        var errors = new FieldErrors();
        Assert.That(ScheduleValidator.ParseZone(id, "timeZone", errors)?.Id, Is.EqualTo(id), errors.Summary);
    }
}
