using System.Globalization;
using System.Text.RegularExpressions;
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

    private static readonly string[] DayNames = ["sunday", "monday", "tuesday", "wednesday", "thursday", "friday", "saturday"];
    private static readonly string[] DayCodes = ["SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"];
    private static readonly string[] MonthNames = ["january", "february", "march", "april", "may", "june", "july", "august", "september", "october", "november", "december"];
    private static readonly string[] MonthCodes = ["JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"];
    private static readonly string[] Ordinals = ["first", "second", "third", "fourth", "fifth"];

    /// <summary>Words that carry no meaning of their own here ("at", "the", "of"…): they may be left unclaimed.</summary>
    private static readonly HashSet<string> Filler =
    [
        "at", "on", "the", "of", "every", "each", "in", "and", ",", "a", "an", "day", "days", "month", "months", "o'clock", "oclock", "run", "runs",
        "please", "time", "times", "per", "s",
    ];

    /// <summary>
    /// Words that bound a schedule in time ("until march", "starting next week"). Left unclaimed they mean a start or end
    /// date, which the phrase box does not set; they are claimed only as part of a range ("from 9 to 17", "january
    /// through march"), a first firing ("every 2 hours starting at 8") or a one-time phrase ("tomorrow at 9").
    /// </summary>
    private static readonly HashSet<string> Bounds = ["from", "to", "through", "thru", "till", "until", "between", "starting", "since", "before", "after", "next", "tomorrow", "today"];

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

    /// <summary>The supported forms sharing the most words with the phrase.</summary>
    private static List<string> Suggest(List<string> words) =>
        [.. Examples.Select(e => (Example: e, Score: Tokenize(e).Intersect(words).Count(w => !Filler.Contains(w))))
            .OrderByDescending(x => x.Score).ThenBy(x => x.Example.Length).Take(3).Select(x => x.Example)];

    private static List<string> Tokenize(string text)
    {
        var normalized = text.ToLowerInvariant().Replace(",", " , ", StringComparison.Ordinal).Replace(".", " ", StringComparison.Ordinal);
        // "9am" → "9 am", "6:15pm" → "6:15 pm"; "1st" stays whole; "5min" → "5 min".
        normalized = AmPm().Replace(normalized, "$1 $2");
        normalized = NumberUnit().Replace(normalized, "$1 $2");
        // "once a day" is "every day"; "every single day" is "every day".
        normalized = OncePer().Replace(normalized, "every");
        var words = new List<string>();
        foreach (var word in normalized.Split([' ', '\t', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries))
        {
            if (word == "single" && words.Count > 0 && words[^1] is "every" or "each")
            {
                continue;
            }

            words.Add(word switch
            {
                "min" or "mins" => "minutes",
                "hr" or "hrs" => "hours",
                "sec" or "secs" => "seconds",
                "wk" or "wks" => "weeks",
                "fortnightly" => "biweekly",
                "annually" => "yearly",
                _ => word,
            });
        }

        return words;
    }

    /// <summary>Words that name how often without a step: daily, nightly, weekly, biweekly, quarterly, twice a day, business hours.</summary>
    private static void ClaimPeriodWords(List<string> w, bool[] c, Parts p)
    {
        for (var i = 0; i < w.Count; i++)
        {
            if (c[i])
            {
                continue;
            }

            switch (w[i])
            {
                case "daily" or "nightly":
                    p.EveryDay = c[i] = true;
                    p.PartOfDay = w[i] == "nightly" ? "night" : p.PartOfDay;
                    break;
                case "morning" or "mornings" or "afternoon" or "afternoons" or "evening" or "evenings" or "night" or "nights"
                    when i > 0 && (DayIndex(w[i - 1]) is not null || w[i - 1] is "weekday" or "weekdays" or "weekend" or "weekends"):
                    // "sunday night at 11", "weekday mornings at 7": the part of the day the time is in.
                    p.PartOfDay = w[i].TrimEnd('s');
                    c[i] = true;
                    break;
                case "weekly":
                    p.Weekly = c[i] = true;
                    break;
                case "biweekly":
                    p.Calendar = (2, IntervalUnit.Week);
                    p.Biweekly = c[i] = true;
                    break;
                case "quarterly":
                    p.MonthStep = 3;
                    p.Quarterly = c[i] = true;
                    break;
                case "semiannually" or "biannually":
                    p.MonthStep = 6;
                    c[i] = true;
                    break;
                case "twice" or "thrice" or "two" or "three" or "four" or "2" or "3" or "4" when Times(w, i) is { } perDay:
                    p.TimesPerDay = perDay.Count;
                    for (var k = i; k <= perDay.Last; k++)
                    {
                        c[k] = true;
                    }

                    break;
                case "business" or "working" or "office" or "work" when i + 1 < w.Count && w[i + 1] is "hours" or "hour":
                    // Business hours: 09:00–17:00, Monday to Friday.
                    if (p.HourRange is { } range && range != (9, 17))
                    {
                        throw new PhraseException("the phrase names the hours twice.", i, i + 1);
                    }

                    p.HourRange = (9, 17);
                    p.BusinessHours = true;
                    Set(ref p.DayOfWeek, "MON-FRI", "day of the week", i, i + 1);
                    c[i] = c[i + 1] = true;
                    if (i > 0 && w[i - 1] is "during" or "in" or "within" or "over")
                    {
                        c[i - 1] = true;
                    }

                    break;
            }
        }

        // "twice a day": "twice", "a"/"per", "day"/"daily"; "3 times a day".
        static (int Count, int Last)? Times(List<string> w, int i)
        {
            var count = w[i] switch { "twice" or "two" or "2" => 2, "thrice" or "three" or "3" => 3, _ => 4 };
            var at = i + 1;
            if (w[i] is not ("twice" or "thrice"))
            {
                if (at >= w.Count || w[at] != "times")
                {
                    return null;
                }

                at++;
            }

            if (at < w.Count && w[at] == "daily")
            {
                return (count, at);
            }

            return at + 1 < w.Count && w[at] is "a" or "per" or "every" or "each" && w[at + 1] == "day" ? (count, at + 1) : null;
        }
    }

    private static void ClaimSteps(List<string> w, bool[] c, Parts p)
    {
        for (var i = 0; i < w.Count; i++)
        {
            if (w[i] is not ("every" or "each"))
            {
                continue;
            }

            var next = i + 1 < w.Count ? w[i + 1] : "";
            // "every other monday", "every second monday", "every 3rd friday": every N weeks on that day, unless "of the month" follows.
            if (NthWord(next) is { } nth && i + 2 < w.Count && DayIndex(w[i + 2]) is not null && !OfEachMonth(w, i + 3))
            {
                p.Calendar = (nth, IntervalUnit.Week);
                p.NthOfMonthToo = next == "other" || nth > 5 ? null : nth;
                c[i] = c[i + 1] = true;
                continue;
            }

            if (ForeignDigits(next) && i + 2 < w.Count && UnitSeconds(w[i + 2]) is not null)
            {
                // "every ٥ minutes": the unit is understood, the number is not; only the number is named.
                c[i + 2] = true;
                continue;
            }

            var hasNumber = int.TryParse(next, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || Words(next) is { } nw && (n = nw) > 0
                || (OrdinalNumber().Match(next) is { Success: true } o && int.TryParse(o.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out n));
            var unitAt = hasNumber ? i + 2 : i + 1;
            if (unitAt >= w.Count)
            {
                continue;
            }

            var unit = w[unitAt].TrimEnd('s') switch { "night" or "morning" or "afternoon" or "evening" => "day", "fortnight" => "week", var u => u };
            if (w[unitAt].TrimEnd('s') is "night" or "morning" or "afternoon" or "evening")
            {
                p.PartOfDay = w[unitAt].TrimEnd('s');
            }

            if (w[unitAt].TrimEnd('s') == "fortnight")
            {
                n = (hasNumber ? n : 1) * 2;
                hasNumber = true;
            }

            if (unit is not ("second" or "minute" or "hour" or "day" or "week" or "month" or "year"))
            {
                continue;
            }

            if (unit == "second" && !hasNumber && unitAt + 1 < w.Count && DayIndex(w[unitAt + 1]) is not null)
            {
                // "every second tuesday of the month" is the ordinal: the second Tuesday of every month (TUE#2).
                continue;
            }

            int[] said = hasNumber ? [i, i + 1, unitAt] : [i, unitAt];
            if (hasNumber && n <= 0)
            {
                throw new PhraseException($"'every {next} {w[unitAt]}' needs a positive number.", said);
            }

            var count = hasNumber ? n : 1;
            if (unit is "month" or "year" && count == 1)
            {
                // "every month", "every year": the month and year rules read them with the day they need.
                continue;
            }

            foreach (var k in said)
            {
                c[k] = true;
            }

            switch (unit)
            {
                case "day":
                    if (count == 1)
                    {
                        p.EveryDay = true;
                    }
                    else
                    {
                        p.Calendar = (count, IntervalUnit.Day);
                    }

                    break;
                case "week":
                    if (count == 1)
                    {
                        p.Weekly = true;
                    }
                    else
                    {
                        p.Calendar = (count, IntervalUnit.Week);
                    }

                    break;
                case "month":
                    // Every 2, 3, 4 or 6 months fits the year: the 1st of those months, one cron. Any other N counts from a start.
                    if (12 % count == 0)
                    {
                        p.MonthStep = count;
                    }
                    else
                    {
                        p.Calendar = (count, IntervalUnit.Month);
                    }

                    break;
                case "year":
                    p.Calendar = (count, IntervalUnit.Year);
                    break;
                default:
                    var seconds = (long)count * (unit switch { "second" => 1, "minute" => 60, _ => 3600 });
                    if (seconds > 31_536_000)
                    {
                        throw new PhraseException($"'every {count} {unit}s' is longer than a year, the longest interval a schedule takes.", said);
                    }

                    Step(p, seconds);
                    break;
            }
        }
    }

    /// <summary>
    /// A step of seconds, minutes or hours: a cron step when it divides the minute, hour or day evenly (every 20 minutes,
    /// every 120 minutes = every 2 hours), otherwise an interval trigger (every 90 minutes, every 45 minutes, every 7 hours).
    /// </summary>
    private static void Step(Parts p, long seconds)
    {
        if (seconds % 3600 == 0 && seconds / 3600 <= 23 && 24 % (seconds / 3600) == 0)
        {
            var hours = (int)(seconds / 3600);
            p.HourStep = hours > 1 ? hours : null;
            p.EveryHour = hours == 1;
        }
        else if (seconds % 60 == 0 && seconds / 60 <= 59 && 60 % (seconds / 60) == 0)
        {
            var minutes = (int)(seconds / 60);
            p.MinuteStep = minutes > 1 ? minutes : null;
            p.EveryMinute = minutes == 1;
        }
        else if (seconds <= 59 && 60 % seconds == 0)
        {
            p.SecondStep = seconds > 1 ? (int)seconds : null;
            p.EverySecond = seconds == 1;
        }
        else
        {
            p.Interval = TimeSpan.FromSeconds(seconds);
        }
    }

    /// <summary>"other" (2), "second", "third"…, "2nd", "3rd": how many weeks apart in "every other monday".</summary>
    private static int? NthWord(string word) =>
        word == "other" ? 2
        : Array.IndexOf(Ordinals, word) is var o and > 0 ? o + 1
        : OrdinalNumber().Match(word) is { Success: true } m && int.TryParse(m.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 1 ? n
        : null;

    private static void ClaimMinuteOfHour(List<string> w, bool[] c, Parts p)
    {
        for (var i = 0; i < w.Count; i++)
        {
            if (w[i] == "hourly")
            {
                c[i] = true;
                p.EveryHour = true;
            }

            // "every hour at minute 15" / "at minute 15"
            if (w[i] == "minute" && i + 1 < w.Count && int.TryParse(w[i + 1], out var m) && !c[i])
            {
                if (m is < 0 or > 59)
                {
                    throw new PhraseException($"minute {m} does not exist (0–59).", i, i + 1);
                }

                p.MinuteOfHour = m;
                c[i] = c[i + 1] = true;
                ClaimStarting(w, c, i);
            }
        }
    }

    private static void ClaimRanges(List<string> w, bool[] c, Parts p)
    {
        for (var i = 0; i + 3 < w.Count; i++)
        {
            // "between 9 and 17", "from 8:00 to 18:00", "between 9 am and 5 pm"
            if (w[i] is not ("between" or "from"))
            {
                continue;
            }

            var at = i + 1;
            if (!TryTime(w, ref at, out var from, out var fromLength) || at >= w.Count || w[at] is not ("and" or "to" or "till" or "until" or "through"))
            {
                continue;
            }

            var toAt = at + 1;
            if (!TryTime(w, ref toAt, out var to, out var toLength))
            {
                continue;
            }

            var said = Enumerable.Range(i, 1 + fromLength + 1 + toLength).ToArray();
            if (from.Minute != 0 || to.Minute != 0)
            {
                throw new PhraseException("a range of hours must start and end on the hour (e.g. between 9 and 17).", said);
            }

            if (to.Hour < from.Hour)
            {
                throw new PhraseException($"the range {from.Hour}–{to.Hour} ends before it starts.", said);
            }

            if (p.HourRange is { } named && named != (from.Hour, to.Hour))
            {
                throw new PhraseException("the phrase names the hours twice.", said);
            }

            p.HourRange = (from.Hour, to.Hour);
            for (var k = i; k < i + 1 + fromLength + 1 + toLength; k++)
            {
                c[k] = true;
            }
        }
    }

    private static void ClaimMonthDays(List<string> w, bool[] c, Parts p)
    {
        for (var i = 0; i < w.Count; i++)
        {
            if (c[i])
            {
                continue;
            }

            // "last day of the month", "last weekday of the month"
            if (w[i] == "last" && i + 1 < w.Count && w[i + 1] is "day" or "weekday")
            {
                Set(ref p.DayOfMonth, w[i + 1] == "day" ? "L" : "LW", "day of the month", i, i + 1);
                c[i] = c[i + 1] = true;
                continue;
            }

            // "first monday of the month", "last friday"
            if ((Array.IndexOf(Ordinals, w[i]) >= 0 || w[i] == "last" || OrdinalNumber().IsMatch(w[i])) && i + 1 < w.Count && DayIndex(w[i + 1]) is { } day)
            {
                var nth = w[i] == "last" ? "L" : "#" + (Array.IndexOf(Ordinals, w[i]) is var o and >= 0 ? o + 1 : int.Parse(OrdinalNumber().Match(w[i]).Groups[1].Value, CultureInfo.InvariantCulture));
                if (nth.StartsWith('#') && int.Parse(nth[1..], CultureInfo.InvariantCulture) > 5)
                {
                    throw new PhraseException($"there is no {w[i]} {w[i + 1]} in a month.", i, i + 1);
                }

                Set(ref p.DayOfWeek, nth == "L" ? $"{day + 1}L" : $"{DayCodes[day]}{nth}", "day of the week", i, i + 1);
                c[i] = c[i + 1] = true;
                continue;
            }

            // "the first of the month", "the second day of every month"
            if (Array.IndexOf(Ordinals, w[i]) is var which and >= 0 && i + 1 < w.Count && (w[i + 1] == "day" || OfEachMonth(w, i + 1)))
            {
                AddDayOfMonth(p, which + 1, i);
                c[i] = true;
                continue;
            }

            // "the 1st", "the 15th", "on day 3"
            var ordinal = OrdinalNumber().Match(w[i]);
            if (ordinal.Success && i + 1 < w.Count && w[i + 1] is "day" or "days" && i > 0 && w[i - 1] is "every" or "each")
            {
                throw new PhraseException($"'every {w[i]} day' restarts every month in cron, so the gaps would be uneven; use a calendar trigger (every N days) instead.", i - 1, i, i + 1);
            }

            if (ordinal.Success || (w[i] == "day" && i + 1 < w.Count && int.TryParse(w[i + 1], out _)))
            {
                var number = ordinal.Success ? int.Parse(ordinal.Groups[1].Value, CultureInfo.InvariantCulture) : int.Parse(w[i + 1], CultureInfo.InvariantCulture);
                int[] said = ordinal.Success ? [i] : [i, i + 1];
                if (number is < 1 or > 31)
                {
                    throw new PhraseException($"day {number} of a month does not exist (1–31).", said);
                }

                AddDayOfMonth(p, number, said);
                c[i] = true;
                if (!ordinal.Success)
                {
                    c[i + 1] = true;
                }
            }
        }
    }

    /// <summary>"the 1st and 15th": days of the month add up to a list; a day next to "last day" is named twice.</summary>
    private static void AddDayOfMonth(Parts p, int day, params int[] said)
    {
        var days = p.DayOfMonth is null ? [] : p.DayOfMonth.Split(',').Select(d => int.TryParse(d, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n : -1).ToList();
        if (days.Contains(-1))
        {
            throw new PhraseException($"the phrase names the day of the month twice ({p.DayOfMonth} and {day}).", said);
        }

        p.DayOfMonth = string.Join(",", days.Append(day).Distinct().Order());
    }

    private static void ClaimWeekdays(List<string> w, bool[] c, Parts p)
    {
        var days = new List<string>();
        for (var i = 0; i < w.Count; i++)
        {
            if (c[i])
            {
                continue;
            }

            if (w[i] is "weekday" or "weekdays" or "workday" or "workdays")
            {
                days.Add("MON-FRI");
                c[i] = true;
                p.DayPositions.Add(i);
            }
            else if (w[i] is "weekend" or "weekends")
            {
                days.Add("SAT,SUN");
                c[i] = true;
                p.DayPositions.Add(i);
            }
            else if (DayIndex(w[i]) is { } from)
            {
                c[i] = true;
                p.DayPositions.Add(i);
                // "monday to friday", "monday through friday", "monday-friday", "from monday to friday",
                // "between monday and friday": the opening word belongs to the range, not to a start or end date.
                var opener = i > 0 && !c[i - 1] && w[i - 1] is "from" or "between" ? i - 1 : -1;
                var joins = i + 2 < w.Count && (w[i + 1] is "to" or "through" or "thru" or "-" || (opener >= 0 && w[opener] == "between" && w[i + 1] == "and"));
                if (joins && DayIndex(w[i + 2]) is { } to)
                {
                    days.Add($"{DayCodes[from]}-{DayCodes[to]}");
                    c[i + 1] = c[i + 2] = true;
                    if (opener >= 0)
                    {
                        c[opener] = true;
                    }

                    i += 2;
                }
                else
                {
                    days.Add(DayCodes[from]);
                }
            }
            else if (DayRange().Match(w[i]) is { Success: true } range && DayIndex(range.Groups[1].Value) is { } a && DayIndex(range.Groups[2].Value) is { } b)
            {
                days.Add($"{DayCodes[a]}-{DayCodes[b]}");
                c[i] = true;
            }
        }

        if (days.Count > 0)
        {
            Set(ref p.DayOfWeek, string.Join(",", days.Distinct()), "day of the week", [.. p.DayPositions]);
        }
    }

    private static void ClaimMonths(List<string> w, bool[] c, Parts p)
    {
        var months = new List<string>();
        for (var i = 0; i < w.Count; i++)
        {
            if (c[i])
            {
                continue;
            }

            // "from january to march", "january through march", "between january and march", "jan-mar"
            if (MonthIndex(w[i]) is { } from && i + 2 < w.Count
                && (w[i + 1] is "to" or "through" or "thru" or "till" or "until" || (w[i + 1] == "and" && i > 0 && w[i - 1] == "between"))
                && MonthIndex(w[i + 2]) is { } to)
            {
                months.Add(MonthRange(from, to));
                c[i] = c[i + 1] = c[i + 2] = true;
                if (i > 0 && w[i - 1] is "from" or "between")
                {
                    c[i - 1] = true;
                }

                i += 2;
            }
            else if (DayRange().Match(w[i]) is { Success: true } range && MonthIndex(range.Groups[1].Value) is { } a && MonthIndex(range.Groups[2].Value) is { } b)
            {
                months.Add(MonthRange(a, b));
                c[i] = true;
            }
            else if (MonthIndex(w[i]) is { } month && (i == 0 || !Bounds.Contains(w[i - 1])))
            {
                // A month after "until", "starting", "before"… is a date bound, not a month to fire in: left unplaced.
                months.Add(MonthCodes[month]);
                c[i] = true;
            }
        }

        if (months.Count > 0)
        {
            p.Month = string.Join(",", months.Distinct());
        }

        for (var i = 0; i < w.Count; i++)
        {
            if (w[i] is "yearly" or "annually" || (w[i] == "year" && i > 0 && w[i - 1] is "every" or "each" or "a"))
            {
                c[i] = true;
                if (i > 0 && w[i - 1] is "every" or "each" or "a")
                {
                    c[i - 1] = true;
                }

                p.Month ??= "JAN";
                p.Yearly = true;
                if (p.DayOfWeek is null)
                {
                    p.DayOfMonth ??= "1";
                }
            }
        }
    }

    /// <summary>JAN-MAR; a range across the new year (november to february) as two, so no reader has to know Quartz wraps.</summary>
    private static string MonthRange(int from, int to) =>
        from == to ? MonthCodes[from] : from < to ? $"{MonthCodes[from]}-{MonthCodes[to]}" : $"{MonthCodes[from]}-DEC,JAN-{MonthCodes[to]}";

    /// <summary>"…starting at 8": the first firing of a step, not a start date; claimed with the time it introduces.</summary>
    private static void ClaimStarting(List<string> w, bool[] c, int timeAt)
    {
        if (timeAt >= 2 && w[timeAt - 1] == "at" && w[timeAt - 2] == "starting")
        {
            c[timeAt - 2] = true;
        }
        else if (timeAt >= 1 && w[timeAt - 1] == "starting")
        {
            c[timeAt - 1] = true;
        }
    }

    /// <summary>"of the month", "of every month", "each month", "a month" from <paramref name="at"/>.</summary>
    private static bool OfEachMonth(List<string> w, int at)
    {
        if (at < w.Count && w[at] == "of")
        {
            at++;
        }

        if (at < w.Count && w[at] is "the" or "every" or "each" or "a")
        {
            at++;
        }

        return at < w.Count && w[at] is "month" or "months";
    }

    private static void ClaimTimes(List<string> w, bool[] c, Parts p)
    {
        for (var i = 0; i < w.Count; i++)
        {
            if (c[i])
            {
                continue;
            }

            if (w[i] == "12" && i + 1 < w.Count && w[i + 1] is "midnight" or "noon")
            {
                // "12 midnight" is one time, not 12:00 and 00:00.
                c[i] = true;
                continue;
            }

            var at = i;
            // A bare number is a time only after "at" or "and" (at 9, at 9 and 17); "9:30", "9 am", "noon" always are.
            var bare = int.TryParse(w[i], NumberStyles.None, CultureInfo.InvariantCulture, out _) && (i + 1 >= w.Count || w[i + 1] is not ("am" or "pm"));
            if (bare && (i == 0 || w[i - 1] is not ("at" or "and" or "," or "starting")))
            {
                continue;
            }

            if (TryTime(w, ref at, out var time, out var length))
            {
                if (length == 1 && Clock().IsMatch(w[i]))
                {
                    // No am/pm: "every evening at 6" is 18:00, "sunday night at 11" is 23:00.
                    time = p.PartOfDay switch
                    {
                        "afternoon" or "evening" when time.Hour is >= 1 and <= 11 => (time.Hour + 12, time.Minute),
                        "night" when time.Hour is >= 6 and <= 11 => (time.Hour + 12, time.Minute),
                        "night" when time.Hour == 12 => (0, time.Minute),
                        _ => time,
                    };
                }

                p.Times.Add(time);
                p.TimePositions.Add(i);
                ClaimStarting(w, c, i);
                for (var k = i; k < i + length; k++)
                {
                    c[k] = true;
                }

                i += length - 1;
            }
        }
    }

    private static void ClaimPeriods(List<string> w, bool[] c, Parts p)
    {
        for (var i = 0; i < w.Count; i++)
        {
            if (w[i] is "monthly" || (w[i] == "month" && i > 0 && w[i - 1] is "every" or "each" or "a"))
            {
                c[i] = true;
                // "every month" alone means the 1st; "the second tuesday of every month" already says which day.
                if (p.DayOfWeek is null)
                {
                    p.DayOfMonth ??= "1";
                }
            }
        }
    }

    /// <summary>Reads a time at <paramref name="at"/>: "9:30", "9", "9 am", "6:15 pm", "noon", "midnight", "17h".</summary>
    private static bool TryTime(List<string> w, ref int at, out (int Hour, int Minute) time, out int length)
    {
        time = default;
        length = 0;
        if (at >= w.Count)
        {
            return false;
        }

        if (w[at] is "noon" or "midday")
        {
            time = (12, 0);
            length = 1;
            at++;
            return true;
        }

        if (w[at] == "midnight")
        {
            time = (0, 0);
            length = 1;
            at++;
            return true;
        }

        var match = Clock().Match(w[at]);
        if (!match.Success)
        {
            return false;
        }

        var hour = int.Parse(match.Groups[1].Value, CultureInfo.InvariantCulture);
        var minute = match.Groups[2].Success ? int.Parse(match.Groups[2].Value, CultureInfo.InvariantCulture) : 0;
        length = 1;
        if (at + 1 < w.Count && w[at + 1] is "am" or "pm")
        {
            if (hour is < 1 or > 12)
            {
                throw new PhraseException($"'{w[at]} {w[at + 1]}' is not a time (1–12 with am/pm).", at, at + 1);
            }

            hour = w[at + 1] == "pm" ? (hour % 12) + 12 : hour % 12;
            length = 2;
        }

        if (hour > 23 || minute > 59)
        {
            throw new PhraseException($"'{w[at]}' is not a time of day (00:00–23:59).", [.. Enumerable.Range(at, length)]);
        }

        time = (hour, minute);
        at += length;
        return true;
    }

    private static void Set(ref string? field, string value, string what, params int[] words)
    {
        if (field is not null && field != value)
        {
            throw new PhraseException($"the phrase names the {what} twice ({field} and {value}).", words);
        }

        field = value;
    }

    private static int? DayIndex(string word)
    {
        var w = word.TrimEnd('s');
        for (var i = 0; i < DayNames.Length; i++)
        {
            if (w == DayNames[i] || w == DayNames[i][..3] || (w.Length >= 3 && DayNames[i].StartsWith(w, StringComparison.Ordinal) && w.Length > 3))
            {
                return i;
            }
        }

        return w switch { "tue" or "tues" => 2, "wed" or "weds" => 3, "thu" or "thur" or "thurs" => 4, _ => null };
    }

    private static int? MonthIndex(string word)
    {
        for (var i = 0; i < MonthNames.Length; i++)
        {
            if (word == MonthNames[i] || (word.Length == 3 && word != "may" && MonthNames[i].StartsWith(word, StringComparison.Ordinal)) || (word == "may" && i == 4))
            {
                return i;
            }
        }

        return word == "sept" ? 8 : null;
    }

    private static int? Words(string word) => word switch
    {
        "one" => 1,
        "two" => 2,
        "three" => 3,
        "four" => 4,
        "five" => 5,
        "six" => 6,
        "ten" => 10,
        "fifteen" => 15,
        "twenty" => 20,
        "thirty" => 30,
        "other" => 2,
        _ => null,
    };

    // [0-9], not \d: \d also matches other scripts' digits ("٥"), which int.Parse refuses. Those stay words no rule places.
    [GeneratedRegex(@"\b([0-9]{1,2}(?::[0-9]{2})?)(am|pm)\b", RegexOptions.CultureInvariant)]
    private static partial Regex AmPm();

    [GeneratedRegex(@"\b([0-9]{1,6})(min|mins|sec|secs|hr|hrs)\b", RegexOptions.CultureInvariant)]
    private static partial Regex NumberUnit();

    [GeneratedRegex(@"\bonce (?:a|an|per|every)\b", RegexOptions.CultureInvariant)]
    private static partial Regex OncePer();

    [GeneratedRegex(@"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", RegexOptions.CultureInvariant)]
    private static partial Regex IsoDate();

    [GeneratedRegex(@"^([0-9]{1,2})(?:[:h]([0-9]{2}))?h?$", RegexOptions.CultureInvariant)]
    private static partial Regex Clock();

    [GeneratedRegex(@"^([0-9]{1,2})(?:st|nd|rd|th)$", RegexOptions.CultureInvariant)]
    private static partial Regex OrdinalNumber();

    [GeneratedRegex(@"^([a-z]+)-([a-z]+)$", RegexOptions.CultureInvariant)]
    private static partial Regex DayRange();
}
