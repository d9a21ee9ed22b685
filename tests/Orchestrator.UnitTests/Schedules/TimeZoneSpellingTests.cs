using Orchestrator.Api;
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

    // These got only the generic examples though the id to use is plain from the spelling.
    [TestCase("Europe//London", "Europe/London")]
    [TestCase("posix/Europe/Paris", "Europe/Paris")]
    [TestCase("right/Europe/Paris", "Europe/Paris")]
    [TestCase("POSIX/europe//paris", "Europe/Paris")]
    [TestCase("/Europe/Paris", "Europe/Paris")]
    [TestCase("posix/US/Eastern", "US/Eastern")]
    [TestCase("america/new_york", "America/New_York")]
    public void A_misspelled_zone_is_told_the_canonical_id_whenever_one_can_be_derived(string id, string canonical)
    {
        var errors = new FieldErrors();
        Assert.That(ScheduleValidator.ParseZone(id, "timeZone", errors), Is.Null);
        Assert.That(errors.Summary, Does.Contain($"use '{canonical}'"));
        Assert.That(errors.Summary, Does.Not.Contain("e.g."));
    }

    [TestCase("Europe/Atlantis")]
    [TestCase("localtime")]
    [TestCase("posix/nowhere")]
    public void A_zone_with_no_id_to_derive_gets_the_generic_examples(string id)
    {
        var errors = new FieldErrors();
        Assert.That(ScheduleValidator.ParseZone(id, "timeZone", errors), Is.Null);
        Assert.That(errors.Summary, Does.Contain("e.g. 'Europe/Paris'"));
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
