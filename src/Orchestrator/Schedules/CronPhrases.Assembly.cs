using System.Globalization;
using Quartz;

namespace Orchestrator.Schedules;

/// <summary>
/// Assembling the claimed parts into the trigger (an interval, a calendar interval anchored on its first fire time, or a
/// cron), the reading in words, and the other readings the phrase allows.
/// </summary>
public static partial class CronPhrases
{
    /// <summary>The trigger the parts make: an interval, a calendar interval anchored on its first fire time, or a cron.</summary>
    private static PhraseResult Assemble(Parts p, List<string> words, DateTimeOffset now)
    {
        PhraseResult Refuse(string why) => Refused(why, [], words);
        if (p.Interval is { } interval)
        {
            if (p.Times.Count > 0 || p.HourRange is not null || p.DayOfWeek is not null || p.DayOfMonth is not null || p.Month is not null || p.MinuteOfHour is not null
                || p.Calendar is not null || p.MonthStep is not null || p.Weekly || p.TimesPerDay is not null)
            {
                return Refuse($"'every {Span(interval)}' does not divide the hour or the day evenly, so it is an interval trigger, and an interval cannot be limited to times, hours or days; use a step that divides the hour or the day (e.g. every 30 minutes between 9 and 17), or drop the limit.");
            }

            var seconds = (long)interval.TotalSeconds;
            return Answer(new PhraseReading($"every {Span(interval)}, counted from when the schedule is saved", new TriggerRequest(null, null, seconds, null, null, null, null, null, null, null)), []);
        }

        if (p.Calendar is { } calendar)
        {
            return Calendar(p, calendar, words, now);
        }

        var alternatives = new List<PhraseReading>();
        string? note = null;
        if (p.MonthStep is { } monthStep)
        {
            var months = string.Join(",", Enumerable.Range(0, 12 / monthStep).Select(k => MonthCodes[k * monthStep]));
            if (p.Month is not null && p.Month != months)
            {
                return Refuse($"the phrase names the months twice ({p.Month} and {months}).");
            }

            p.Month = months;
            if (p.DayOfWeek is null)
            {
                p.DayOfMonth ??= "1";
            }
        }

        if (p.Weekly && p.DayOfWeek is null && p.DayOfMonth is null)
        {
            // A week starts on Monday (ISO 8601); cron's @weekly is Sunday, offered as the other reading.
            p.DayOfWeek = "SUN";
            if (Cron(p).Cron is { } sunday)
            {
                alternatives.Add(new PhraseReading($"{TriggerDescription.DescribeCron(sunday)} ({p.Zone.Id}), the week starting on Sunday as cron's @weekly does", CronTrigger(sunday, p.Zone)));
            }

            p.DayOfWeek = "MON";
            note = "'weekly' read as Monday (the week starts on Monday)";
        }

        var (cron, why) = Cron(p);
        if (cron is null)
        {
            return Refuse(why!);
        }

        if (p.MonthStep is { } step && !p.Quarterly && p.DayOfMonth is { } dom && int.TryParse(dom, NumberStyles.None, CultureInfo.InvariantCulture, out _)
            && Cron(WithMonth(p, null)).Cron is { } anyMonth && NextFire(anyMonth, p.Zone, now) is { } first)
        {
            // "every 3 months" could also count from the next occurrence (December, March, June…) instead of January.
            alternatives.Add(CalendarReading(step, IntervalUnit.Month, first, p.Zone, "counted from the next one instead of from January"));
        }

        if (p.TimesPerDay is { } perDay && p.Times.Count == 0)
        {
            var every = TimeSpan.FromHours(24.0 / perDay);
            alternatives.Add(new PhraseReading($"every {Span(every)}, counted from when the schedule is saved", new TriggerRequest(null, null, (long)every.TotalSeconds, null, null, null, null, null, null, null)));
            note = $"{perDay} times a day read as {string.Join(" and ", Enumerable.Range(0, perDay).Select(k => $"{k * 24 / perDay:00}:00"))}";
        }

        if (p.BusinessHours)
        {
            note ??= "business hours are 09:00 up to but not including 17:00";
            var untilFive = p.Copy();
            untilFive.BusinessHours = false;
            if ((p.EveryHour || p.HourStep is not null) && Cron(untilFive).Cron is { } withFive && withFive != cron)
            {
                alternatives.Add(new PhraseReading($"{TriggerDescription.DescribeCron(withFive)} ({p.Zone.Id}), firing at 17:00 as well", CronTrigger(withFive, p.Zone)));
            }
        }

        var reading = $"{TriggerDescription.DescribeCron(cron)} ({p.Zone.Id})";
        return Answer(new PhraseReading(note is null ? reading : $"{reading}; {note}", CronTrigger(cron, p.Zone)), alternatives);
    }

    /// <summary>Every N days, weeks, months or years from the first time the phrase names ("every other monday at 10": the next Monday at 10:00).</summary>
    private static PhraseResult Calendar(Parts p, (int Every, IntervalUnit Unit) calendar, List<string> words, DateTimeOffset now)
    {
        PhraseResult Refuse(string why) => Refused(why, [], words);
        var unit = calendar.Unit.ToString().ToLowerInvariant();
        var said = $"every {calendar.Every} {unit}s";
        if (p.EverySecond || p.SecondStep is not null || p.EveryMinute || p.MinuteStep is not null || p.EveryHour || p.HourStep is not null || p.HourRange is not null
            || p.MinuteOfHour is not null || p.Times.Distinct().Count() > 1 || p.TimesPerDay is not null || p.MonthStep is not null)
        {
            return Refuse($"'{said}' is a calendar trigger, which fires once per period at one time of day; it cannot also step through the day or fire at several times. Make one schedule per time.");
        }

        var alternatives = new List<PhraseReading>();
        string? note = null;
        switch (calendar.Unit)
        {
            case IntervalUnit.Day:
                if (p.DayOfWeek is not null || p.DayOfMonth is not null || p.Month is not null)
                {
                    return Refuse($"'{said}' counts days from its start, so it cannot also name days of the week or month.");
                }

                p.EveryDay = true;
                break;
            case IntervalUnit.Week:
                if (p.DayOfMonth is not null || p.Month is not null || (p.DayOfWeek is not null && Array.IndexOf(DayCodes, p.DayOfWeek) < 0))
                {
                    return Refuse($"'{said}' fires on one day of the week; for several days make one schedule per day.");
                }

                if (p.DayOfWeek is null)
                {
                    p.DayOfWeek = "MON";
                    note = "Monday, as no day was given (the week starts on Monday)";
                }

                break;
            case IntervalUnit.Month:
                if (p.DayOfWeek is not null || p.Month is not null || (p.DayOfMonth is not null && !int.TryParse(p.DayOfMonth, NumberStyles.None, CultureInfo.InvariantCulture, out _)))
                {
                    return Refuse($"'{said}' fires on one date of the month (e.g. on the 1st); it cannot name a weekday or the last day.");
                }

                p.DayOfMonth ??= "1";
                break;
            default:
                if (p.DayOfWeek is not null || (p.Month is not null && Array.IndexOf(MonthCodes, p.Month) < 0) || (p.DayOfMonth is not null && !int.TryParse(p.DayOfMonth, NumberStyles.None, CultureInfo.InvariantCulture, out _)))
                {
                    return Refuse($"'{said}' fires on one date of the year (e.g. on january 1st).");
                }

                p.Month ??= "JAN";
                p.DayOfMonth ??= "1";
                break;
        }

        var (cron, why) = Cron(p);
        if (cron is null)
        {
            return Refuse(why!);
        }

        if (NextFire(cron, p.Zone, now) is not { } first)
        {
            return Refuse($"'{said}' never reaches its first day.");
        }

        if (calendar.Unit == IntervalUnit.Week && NextFire(cron, p.Zone, first) is { } following)
        {
            // "every other monday": this coming Monday or the one after; both are every two weeks.
            alternatives.Add(CalendarReading(calendar.Every, calendar.Unit, following, p.Zone, "starting a week later"));
        }

        if (p.NthOfMonthToo is { } nth && p.DayOfWeek is { } day)
        {
            var nthCron = Cron(WithDay(p, $"{day}#{nth}")).Cron;
            if (nthCron is not null)
            {
                alternatives.Add(new PhraseReading($"{TriggerDescription.DescribeCron(nthCron)} ({p.Zone.Id})", CronTrigger(nthCron, p.Zone)));
            }
        }

        if (p.Biweekly && Cron(WithDay(p, "MON,THU")).Cron is { } twiceAWeek)
        {
            // "biweekly" also means twice a week.
            alternatives.Add(new PhraseReading($"{TriggerDescription.DescribeCron(twiceAWeek)} ({p.Zone.Id}), reading 'biweekly' as twice a week", CronTrigger(twiceAWeek, p.Zone)));
        }

        return Answer(CalendarReading(calendar.Every, calendar.Unit, first, p.Zone, note), alternatives);
    }

    private static PhraseReading CalendarReading(int every, IntervalUnit unit, DateTimeOffset first, TimeZoneInfo zone, string? note)
    {
        var name = unit.ToString().ToLowerInvariant();
        var reading = $"every {(every == 1 ? name : $"{every} {name}s")} from {Local(first, zone)}{(note is null ? "" : $", {note}")}";
        return new PhraseReading(reading, new TriggerRequest(null, zone.Id, null, null, null, every, name, Iso(first, zone), null, null));
    }

    private static TriggerRequest CronTrigger(string cron, TimeZoneInfo zone) => new(cron, zone.Id, null, null, null, null, null, null, null, null);

    private static PhraseResult Answer(PhraseReading answer, IReadOnlyList<PhraseReading> alternatives) => new(answer, alternatives, [], null, []);

    private static DateTimeOffset? NextFire(string cron, TimeZoneInfo zone, DateTimeOffset after) =>
        new CronExpression(cron, zone).GetNextValidTimeAfter(after);

    private static Parts WithMonth(Parts p, string? month)
    {
        var copy = p.Copy();
        copy.Month = month;
        return copy;
    }

    private static Parts WithDay(Parts p, string dayOfWeek)
    {
        var copy = p.Copy();
        copy.DayOfWeek = dayOfWeek;
        return copy;
    }

    private static string Span(TimeSpan span) =>
        span.TotalHours >= 1 && span.TotalHours % 1 == 0 ? Plural((int)span.TotalHours, "hour")
        : span.TotalMinutes >= 1 && span.TotalMinutes % 1 == 0 ? Plural((int)span.TotalMinutes, "minute")
        : Plural((int)span.TotalSeconds, "second");

    private static string Plural(int n, string unit) => n == 1 ? unit : $"{n} {unit}s";

    /// <summary>An instant as the zone's wall clock with its offset, the form a schedule's "at" and "startAt" take.</summary>
    private static string Iso(DateTimeOffset instant, TimeZoneInfo zone) =>
        TimeZoneInfo.ConvertTime(instant, zone).ToString("yyyy-MM-dd'T'HH:mm:sszzz", CultureInfo.InvariantCulture);

    private static string Local(DateTimeOffset instant, TimeZoneInfo zone) =>
        TimeZoneInfo.ConvertTime(instant, zone).ToString("dddd yyyy-MM-dd HH:mm", CultureInfo.InvariantCulture) + $" ({zone.Id})";
}
