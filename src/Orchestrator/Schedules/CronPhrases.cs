using System.Globalization;
using System.Text.RegularExpressions;

namespace Orchestrator.Schedules;

/// <summary>The outcome of reading a phrase: a Quartz cron expression, or the words that could not be placed and the closest supported forms.</summary>
public sealed record PhraseResult(string? Cron, IReadOnlyList<string> Unplaced, string? Problem, IReadOnlyList<string> Suggestions);

/// <summary>
/// Turns the phrases operators type ("every weekday at 9:30", "on the 1st of every month at 6am", "every hour between
/// 9 and 17 on weekdays") into Quartz cron expressions. Deterministic: the phrase is cut into words, each word is
/// claimed by one rule (a time, a day, a step, a range…), and the claims are assembled into the six fields. A word
/// no rule claims is reported, with the supported forms closest to what was typed.
/// </summary>
public static partial class CronPhrases
{
    /// <summary>The forms the parser understands, one example each; also the suggestions offered for a phrase it cannot read.</summary>
    public static readonly IReadOnlyList<string> Examples =
    [
        "every 30 seconds", "every minute", "every 5 minutes", "every hour", "every 2 hours", "every day at 9:30",
        "every weekday at 17:00", "every weekend at 10am", "mondays and thursdays at 08:15", "monday to friday at 7:45",
        "on the 1st of every month at 6am", "at 23:59 on the last day of the month", "on the last weekday of the month at 18:00",
        "on the first monday of the month at 9am", "every hour between 9 and 17 on weekdays", "every 15 minutes between 8:00 and 18:00",
        "every day at noon", "every day at 9:00 and 17:00", "every year on january 1st at midnight", "every day in december at 8pm",
        "every hour at minute 15", "every minute on sundays", "every day at 9:00 from january to march",
        "every second tuesday of the month at 10:00",
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
        "please", "time", "times", "daily", "per", "s",
    ];

    /// <summary>
    /// Words that bound a schedule in time ("until march", "starting next week"). Left unclaimed they mean a start or end
    /// date, which one cron expression cannot hold; they are claimed only as part of a range ("from 9 to 17", "january
    /// through march") or a first firing ("every 2 hours starting at 8").
    /// </summary>
    private static readonly HashSet<string> Bounds = ["from", "to", "through", "thru", "till", "until", "between", "starting", "since", "before", "after", "next", "tomorrow", "today"];

    public static PhraseResult Parse(string text)
    {
        var words = Tokenize(text);
        if (words.Count == 0)
        {
            return new PhraseResult(null, [], "the phrase is empty.", Suggest(words));
        }

        var claimed = new bool[words.Count];
        var parts = new Parts();
        string? problem = null;
        Action<List<string>, bool[], Parts>[] rules = [ClaimSteps, ClaimMinuteOfHour, ClaimRanges, ClaimMonthDays, ClaimWeekdays, ClaimMonths, ClaimTimes, ClaimPeriods];
        foreach (var rule in rules)
        {
            try
            {
                rule(words, claimed, parts);
            }
            catch (PhraseException ex)
            {
                // The words were understood but mean something cron cannot do: they are not "unplaced". Later rules still
                // run, so a word no rule knows is named as well.
                problem ??= ex.Message;
                foreach (var i in ex.Words)
                {
                    claimed[i] = true;
                }
            }
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
                notPlaced += $": '{said}' reads as a start or end date, which a cron expression cannot hold; give the schedule a start or end time (trigger startAt/endAt) instead";
            }

            return new PhraseResult(null, unplaced, problem is null ? notPlaced + "." : $"{problem} Also {notPlaced}.", Suggest(words));
        }

        return problem is null ? Assemble(parts, words) : new PhraseResult(null, [], problem, Suggest(words));
    }

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
        // "9am" → "9 am", "6:15pm" → "6:15 pm"; "1st" stays whole.
        normalized = AmPm().Replace(normalized, "$1 $2");
        return [.. normalized.Split([' ', '\t', '\n', '\r'], StringSplitOptions.RemoveEmptyEntries)];
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
            var hasNumber = int.TryParse(next, NumberStyles.None, CultureInfo.InvariantCulture, out var n) || Words(next) is { } nw && (n = nw) > 0;
            var unitAt = hasNumber ? i + 2 : i + 1;
            if (unitAt >= w.Count)
            {
                continue;
            }

            var unit = w[unitAt].TrimEnd('s');
            if (unit is not ("second" or "minute" or "hour"))
            {
                continue;
            }

            if (unit == "second" && !hasNumber && unitAt + 1 < w.Count && DayIndex(w[unitAt + 1]) is not null)
            {
                if (OfEachMonth(w, unitAt + 2))
                {
                    // "every second tuesday of the month" is the ordinal: the second Tuesday of every month (TUE#2).
                    continue;
                }

                throw new PhraseException($"'every second {w[unitAt + 1]}' could mean every other week, which cron cannot express (use a calendar trigger: every 2 weeks); for once a second on that day say 'every second on {w[unitAt + 1]}', for the second {w[unitAt + 1]} of each month say 'every second {w[unitAt + 1]} of the month'.", i, unitAt, unitAt + 1);
            }

            int[] said = hasNumber ? [i, i + 1, unitAt] : [i, unitAt];

            if (hasNumber && n <= 0)
            {
                throw new PhraseException($"'every {next} {w[unitAt]}' needs a positive number.", said);
            }

            var (limit, name) = unit switch { "second" => (59, "seconds"), "minute" => (59, "minutes"), _ => (23, "hours") };
            if (hasNumber && n > limit)
            {
                throw new PhraseException($"'every {n} {name}' cannot be a cron step (at most {limit}); use an interval trigger instead.", said);
            }

            if (hasNumber && n > 1 && (limit + 1) % n != 0)
            {
                // 0/45 fires at :00 and :45 — gaps of 45 and 15 minutes. Say so instead of scheduling something else.
                throw new PhraseException($"'every {n} {name}' does not divide {(unit == "hour" ? "a day" : unit == "minute" ? "an hour" : "a minute")} evenly, so cron would leave uneven gaps; use an interval trigger (every {n} {name}) instead.", said);
            }

            c[i] = true;
            c[unitAt] = true;
            if (hasNumber)
            {
                c[i + 1] = true;
            }

            var step = hasNumber && n > 1 ? n : (int?)null;
            switch (unit)
            {
                case "second":
                    p.SecondStep = step;
                    p.EverySecond = step is null;
                    break;
                case "minute":
                    p.MinuteStep = step;
                    p.EveryMinute = step is null;
                    break;
                default:
                    p.HourStep = step;
                    p.EveryHour = step is null;
                    break;
            }
        }
    }

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

                Set(ref p.DayOfMonth, number.ToString(CultureInfo.InvariantCulture), "day of the month", said);
                c[i] = true;
                if (!ordinal.Success)
                {
                    c[i + 1] = true;
                }
            }
        }
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

    private static PhraseResult Assemble(Parts p, List<string> words)
    {
        PhraseResult Refuse(string why) => new(null, [], why, Suggest(words));
        var times = p.Times.Distinct().ToList();
        if (times.Count > 1 && p.DayPositions.Any(d => d > p.TimePositions.Min() && d < p.TimePositions.Max()))
        {
            // "every monday at 9 and friday at 5pm": one cron would also fire on Monday at 17:00 and Friday at 09:00.
            return Refuse("the phrase pairs different days with different times, which one cron expression cannot hold; make one schedule per day and time.");
        }

        if (p.Yearly && p.DayOfWeek is not null)
        {
            return Refuse("'every year' needs a date (e.g. every year on january 1st), not a day of the week.");
        }

        // With a step of minutes or seconds, "between 8 and 18" means up to 18:00, so the last hour that fires is 17.
        string Hours((int From, int To) r, bool endExclusive) =>
            endExclusive ? (r.To - 1 <= r.From ? $"{r.From}" : $"{r.From}-{r.To - 1}") : $"{r.From}-{r.To}";

        string second = "0", minute, hour;
        if (p.EverySecond || p.SecondStep is not null)
        {
            if (times.Count > 0)
            {
                return Refuse("a phrase cannot have both a step of seconds and a time of day; use a range (between 9 and 17) instead.");
            }

            second = p.SecondStep is { } s ? $"0/{s}" : "*";
            minute = "*";
            hour = p.HourRange is { } r ? Hours(r, endExclusive: true) : "*";
        }
        else if (p.EveryMinute || p.MinuteStep is not null)
        {
            if (times.Count > 0)
            {
                return Refuse("a phrase cannot have both a step of minutes and a time of day; use a range (between 9 and 17) instead.");
            }

            var start = p.MinuteOfHour ?? 0;
            minute = p.MinuteStep is { } m ? $"{start}/{m}" : "*";
            hour = p.HourRange is { } r ? Hours(r, endExclusive: true) : "*";
        }
        else if (p.EveryHour || p.HourStep is not null)
        {
            if (times.Count > 1 || (times.Count == 1 && p.HourStep is null))
            {
                return Refuse("an hourly phrase takes a minute, not a time of day (e.g. every hour at minute 15, or every 2 hours starting at 8).");
            }

            minute = (p.MinuteOfHour ?? (times.Count == 1 ? times[0].Minute : 0)).ToString(CultureInfo.InvariantCulture);
            var first = times.Count == 1 ? times[0].Hour : p.HourRange?.From ?? 0;
            hour = p.HourStep is { } h ? (p.HourRange is { } r ? $"{r.From}-{r.To}/{h}" : $"{first}/{h}") : p.HourRange is { } range ? Hours(range, endExclusive: false) : "*";
        }
        else if (p.HourRange is not null)
        {
            return Refuse("a range of hours needs a step (e.g. every hour between 9 and 17, or every 15 minutes between 8 and 18).");
        }
        else if (times.Count > 0)
        {
            if (times.Select(t => t.Minute).Distinct().Count() > 1)
            {
                return Refuse($"the times {string.Join(", ", times.Select(t => $"{t.Hour:00}:{t.Minute:00}"))} have different minutes, which one cron expression cannot hold; make one schedule per time.");
            }

            minute = times[0].Minute.ToString(CultureInfo.InvariantCulture);
            hour = string.Join(",", times.Select(t => t.Hour).Order());
        }
        else if (p.MinuteOfHour is { } mh)
        {
            minute = mh.ToString(CultureInfo.InvariantCulture);
            hour = "*";
        }
        else if (p.DayOfWeek is not null || p.DayOfMonth is not null || p.Month is not null)
        {
            // A day without a time: midnight.
            minute = "0";
            hour = "0";
        }
        else
        {
            return Refuse("the phrase says neither how often nor at what time.");
        }

        if (p.HourRange is not null && times.Count > 0)
        {
            return Refuse("a phrase cannot have both a range of hours and a time of day.");
        }

        var dom = p.DayOfMonth ?? (p.DayOfWeek is null ? "*" : "?");
        var dow = p.DayOfWeek ?? "?";
        if (p.DayOfMonth is not null && p.DayOfWeek is not null)
        {
            return Refuse("a phrase can name days of the week or a day of the month, not both (Quartz cannot combine them).");
        }

        return new PhraseResult($"{second} {minute} {hour} {dom} {p.Month ?? "*"} {dow}", [], null, []);
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
        "one" => 1, "two" => 2, "three" => 3, "four" => 4, "five" => 5, "six" => 6, "ten" => 10, "fifteen" => 15, "twenty" => 20, "thirty" => 30,
        "other" => 2,
        _ => null,
    };

    [GeneratedRegex(@"\b(\d{1,2}(?::\d{2})?)(am|pm)\b", RegexOptions.CultureInvariant)]
    private static partial Regex AmPm();

    [GeneratedRegex(@"^(\d{1,2})(?:[:h](\d{2}))?h?$", RegexOptions.CultureInvariant)]
    private static partial Regex Clock();

    [GeneratedRegex(@"^(\d{1,2})(?:st|nd|rd|th)$", RegexOptions.CultureInvariant)]
    private static partial Regex OrdinalNumber();

    [GeneratedRegex(@"^([a-z]+)-([a-z]+)$", RegexOptions.CultureInvariant)]
    private static partial Regex DayRange();
}
