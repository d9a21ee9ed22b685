using Quartz;

namespace Orchestrator.Schedules;

/// <summary>One reading of a phrase: the trigger exactly as a schedule takes it (SPEC §4), and that reading in words.</summary>
public sealed record PhraseReading(string Reading, TriggerRequest Trigger);

/// <summary>
/// The outcome of reading a phrase: the trigger chosen and, when the phrase could mean something else, the other readings;
/// or the words that could not be placed, why, and the closest supported forms.
/// </summary>
public sealed record PhraseResult(PhraseReading? Answer, IReadOnlyList<PhraseReading> Alternatives, IReadOnlyList<string> Unplaced, string? Problem, IReadOnlyList<string> Suggestions)
{
    /// <summary>The Quartz cron expression when the answer is a cron trigger.</summary>
    public string? Cron => Answer?.Trigger.Cron;
}

/// <summary>
/// Turns the phrases operators type ("every weekday at 9:30", "every 90 minutes", "every other monday at 10", "tomorrow
/// at 9") into a schedule trigger: cron, interval, calendar interval or one-time. Deterministic: the phrase is cut into
/// words, each word is claimed by one rule (a time, a day, a step, a range, a zone…), and the claims are assembled into
/// the trigger. A word no rule claims is reported, with the supported forms closest to what was typed. The clock and
/// the time zone are inputs, because "tomorrow at 9" and "every other monday" depend on both.
/// </summary>
/// <remarks>
/// This file reads a phrase from end to end. The steps live beside it: the words (<c>CronPhrases.Tokens.cs</c>), the rules
/// that claim them (<c>.Rules.cs</c> how often, <c>.Rules.Times.cs</c>, <c>.Rules.Days.cs</c>, <c>.Zones.cs</c>,
/// <c>.OneTime.cs</c>) and the trigger they make (<c>.Assembly.cs</c>, <c>.Cron.cs</c>).
/// </remarks>
public static partial class CronPhrases
{
    /// <summary>The forms the parser understands, one example each; also the suggestions offered for a phrase it cannot read.</summary>
    public static readonly IReadOnlyList<string> Examples =
    [
        "every 30 seconds", "every minute", "every 5 minutes", "every 5 min during business hours", "every hour", "every 2 hours",
        "every 90 minutes", "every day at 9:30", "daily", "every night at midnight", "twice a day", "every weekday at 17:00",
        "every weekend at 10am", "mondays and thursdays at 08:15", "monday to friday at 7:45", "weekly", "every other week",
        "every other monday at 10", "every 3 days at 6:00", "on the 1st of every month at 6am", "every 3 months", "quarterly",
        "at 23:59 on the last day of the month", "on the last weekday of the month at 18:00", "on the first monday of the month at 9am",
        "every hour between 9 and 17 on weekdays", "every 15 minutes between 8:00 and 18:00", "every day at noon",
        "every day at 9:00 and 17:00", "every year on january 1st at midnight", "every day in december at 8pm",
        "every hour at minute 15", "every minute on sundays", "every day at 9:00 from january to march",
        "every second tuesday of the month at 10:00", "every day at 9 Paris time", "tomorrow at 9", "next friday at 17:00",
        "in 2 hours",
    ];

    /// <summary>Reads <paramref name="text"/> in <paramref name="zone"/> (unless the phrase names one) at <paramref name="now"/>.</summary>
    public static PhraseResult Parse(string text, TimeZoneInfo zone, DateTimeOffset now)
    {
        var result = Read(text, zone, now, zoneOverride: null);
        if (result.Result.Answer is null || result.ZoneOthers.Count == 0)
        {
            return result.Result;
        }

        // "at 9 CST": Chicago is chosen, Shanghai is offered, each as the trigger it would be.
        var alternatives = result.Result.Alternatives.ToList();
        foreach (var other in result.ZoneOthers)
        {
            if (TryFindZone(other) is { } otherZone && Read(text, otherZone, now, otherZone).Result.Answer is { } reading)
            {
                alternatives.Add(reading with { Reading = $"{reading.Reading}, reading '{result.ZoneWord}' as {otherZone.Id}" });
            }
        }

        return result.Result with { Alternatives = alternatives };
    }

    /// <summary>One reading of the phrase, with the zones its zone word could also mean; <paramref name="zoneOverride"/> reads it in one of those.</summary>
    private static (PhraseResult Result, IReadOnlyList<string> ZoneOthers, string? ZoneWord) Read(string text, TimeZoneInfo zone, DateTimeOffset now, TimeZoneInfo? zoneOverride)
    {
        var words = Tokenize(text);
        if (words.Count == 0)
        {
            return (Refused("the phrase is empty.", [], words), [], null);
        }

        var claimed = new bool[words.Count];
        var parts = new Parts { Zone = zone };
        string? problem = null;

        void Run(Action<List<string>, bool[], Parts> rule)
        {
            try
            {
                rule(words, claimed, parts);
            }
            catch (PhraseException ex)
            {
                // The words were understood but mean something no trigger can do: they are not "unplaced". Later rules still
                // run, so a word no rule knows is named as well.
                problem ??= ex.Message;
                foreach (var i in ex.Words)
                {
                    claimed[i] = true;
                }
            }
        }

        Run(ClaimZone);
        if (zoneOverride is not null)
        {
            parts.Zone = zoneOverride;
        }

        var claimedByZone = (bool[])claimed.Clone();

        if (problem is null && Once(words, claimed, parts.Zone, now) is { } once)
        {
            return (once, parts.ZoneOthers, parts.ZoneWord);
        }

        Action<List<string>, bool[], Parts>[] rules = [ClaimPeriodWords, ClaimSteps, ClaimMinuteOfHour, ClaimRanges, ClaimMonthDays, ClaimWeekdays, ClaimMonths, ClaimTimes, ClaimPeriods];
        foreach (var rule in rules)
        {
            Run(rule);
        }

        var unplacedAt = Enumerable.Range(0, words.Count).Where(i => !claimed[i] && !Filler.Contains(words[i])).ToList();
        var unplaced = unplacedAt.Select(i => words[i]).Distinct().ToList();
        if (unplaced.Count > 0)
        {
            var notPlaced = $"could not place {string.Join(", ", unplaced.Select(u => $"'{u}'"))}";
            var bound = unplacedAt.FirstOrDefault(i => Bounds.Contains(words[i]), -1);
            if (bound >= 0)
            {
                var said = string.Join(" ", words.Skip(bound).TakeWhile((_, k) => unplacedAt.Contains(bound + k)));
                notPlaced += $": '{said}' reads as a start or end date, which the phrase does not set; give the schedule a start or end time (trigger startAt/endAt) instead";
            }

            if (unplaced.Any(ForeignDigits))
            {
                notPlaced += " (write numbers with the digits 0–9)";
            }

            var refused = new PhraseResult(null, [], unplaced, problem is null ? notPlaced + "." : $"{problem} Also {notPlaced}.", Suggest(words));
            return (refused, [], null);
        }

        var result = problem is null ? Assemble(parts, words, now) : Refused(problem, [], words);
        if (result.Answer is not null && IsBareTime(parts, words)
            && Once(["once", .. words], [false, .. claimedByZone], parts.Zone, now)?.Answer is { } oneTime)
        {
            // "at 9" alone reads as every day at 09:00 (as cron's bare time does); it could also mean the next 09:00 only.
            result = result with { Alternatives = [.. result.Alternatives, oneTime with { Reading = $"{oneTime.Reading}, reading the bare time as one time only" }] };
        }

        return (result, parts.ZoneOthers, parts.ZoneWord);
    }

    /// <summary>One time of day and nothing else: no "every", no day, no step, no range ("at 9", "9:30 Paris time").</summary>
    private static bool IsBareTime(Parts p, List<string> words) =>
        p.Times.Distinct().Count() == 1 && !words.Any(w => w is "every" or "each" or "daily" or "nightly" or "day" or "days")
        && p is { EveryDay: false, DayOfWeek: null, DayOfMonth: null, Month: null, HourRange: null, TimesPerDay: null, PartOfDay: null, Calendar: null, Interval: null, MonthStep: null, Weekly: false, Yearly: false }
        && p is { EverySecond: false, SecondStep: null, EveryMinute: false, MinuteStep: null, EveryHour: false, HourStep: null, MinuteOfHour: null };

    private static PhraseResult Refused(string why, IReadOnlyList<string> unplaced, List<string> words) => new(null, [], unplaced, why, Suggest(words));

    /// <summary>The supported forms sharing the most words with the phrase.</summary>
    private static List<string> Suggest(List<string> words) =>
        [.. Examples.Select(e => (Example: e, Score: Tokenize(e).Intersect(words).Count(w => !Filler.Contains(w))))
            .OrderByDescending(x => x.Score).ThenBy(x => x.Example.Length).Take(3).Select(x => x.Example)];

    /// <summary>What the rules claimed, field by field; the assembly turns it into a trigger.</summary>
    private sealed class Parts
    {
        public int? SecondStep;
        public bool EverySecond;
        public int? MinuteStep;
        public bool EveryMinute;
        public int? HourStep;
        public bool EveryHour;
        public int? MinuteOfHour;
        public List<(int Hour, int Minute)> Times = [];
        public (int From, int To)? HourRange;
        public string? DayOfWeek;
        public string? DayOfMonth;
        public string? Month;
        public bool Yearly;
        public List<int> DayPositions = [];
        public List<int> TimePositions = [];
        public TimeZoneInfo Zone = TimeZoneInfo.Utc;
        public string? ZoneWord;
        public List<string> ZoneOthers = [];
        /// <summary>A step no cron field can hold evenly ("every 90 minutes"): an interval trigger.</summary>
        public TimeSpan? Interval;
        /// <summary>Every N days, weeks, months or years counted from a start: a calendar-interval trigger.</summary>
        public (int Every, IntervalUnit Unit)? Calendar;
        /// <summary>"every second monday": also the second Monday of each month, offered as the other reading.</summary>
        public int? NthOfMonthToo;
        public bool EveryDay;
        public bool Weekly;
        public bool Biweekly;
        /// <summary>Every N months where N divides the year: one cron on the 1st of those months ("quarterly" is 3).</summary>
        public int? MonthStep;
        public bool Quarterly;
        public int? TimesPerDay;
        /// <summary>"morning", "afternoon", "evening" or "night": a time without am/pm is read in that part of the day.</summary>
        public string? PartOfDay;
        /// <summary>"during business hours": 09:00 up to but not including 17:00, whatever the step, so the last hour that fires is 16.</summary>
        public bool BusinessHours;

        public Parts Copy() => (Parts)MemberwiseClone();
    }

    /// <summary>A rule understood <paramref name="Words"/> (their positions) but cron cannot do what they say.</summary>
    private sealed class PhraseException(string message, params int[] words) : Exception(message)
    {
        public IReadOnlyList<int> Words { get; } = words;
    }
}
