using System.Globalization;
using System.Text.RegularExpressions;
using Quartz;

namespace Orchestrator.Schedules;

/// <summary>Plain-English descriptions of triggers for the API and dashboard. Every shape the phrase parser produces gets words; the rest are quoted.</summary>
public static partial class TriggerDescription
{
    private static readonly string[] Days = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];
    private static readonly string[] Months = ["January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"];
    private static readonly string[] Ordinals = ["first", "second", "third", "fourth", "fifth"];

    /// <summary>
    /// The trigger in words. A calendar interval repeats its first fire time, so it is described by that start's weekday,
    /// day or date and wall-clock time; <paramref name="startedAt"/> is that start when the trigger leaves it out (a schedule
    /// saved without startAt starts when it is saved).
    /// </summary>
    public static string Describe(TriggerSpec trigger, DateTimeOffset? startedAt = null) => trigger switch
    {
        CronTriggerSpec c => $"{DescribeCron(c.Expression)} ({c.TimeZone.Id})",
        IntervalTriggerSpec i => $"every {Span(i.Interval)}",
        OnceTriggerSpec o => $"once at {o.At.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture)}",
        CalendarTriggerSpec k => $"{DescribeCalendar(k, k.StartAt ?? startedAt)} ({k.TimeZone.Id})",
        _ => "unknown trigger",
    } + (trigger.MaxRuns is { } max && trigger is not OnceTriggerSpec ? $", at most {max} time{(max == 1 ? "" : "s")}" : "");

    /// <summary>"every 2 weeks on Monday at 10:00": the period, then what of the start each period repeats, read in the trigger's zone.</summary>
    private static string DescribeCalendar(CalendarTriggerSpec k, DateTimeOffset? start)
    {
        var unit = k.Unit.ToString().ToLowerInvariant();
        var every = k.Every == 1 ? $"every {unit}" : $"every {k.Every} {unit}s";
        if (start is not { } anchor)
        {
            return every;
        }

        var local = TimeZoneInfo.ConvertTime(anchor, k.TimeZone);
        var at = $"at {Clock(local.Hour, local.Minute, local.Second)}";
        return k.Unit switch
        {
            IntervalUnit.Day => $"{every} {at}",
            IntervalUnit.Week => $"{every} on {Days[(int)local.DayOfWeek]} {at}",
            IntervalUnit.Month => $"{every} on day {local.Day} {at}",
            IntervalUnit.Year => $"{every} on {Months[local.Month - 1]} {Ordinal(local.Day)} {at}",
            IntervalUnit.Hour when local.Second == 0 => $"{every} at minute {local.Minute}",
            _ => every,
        };
    }

    public static string DescribeCron(string expression)
    {
        var f = expression.ToUpperInvariant().Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (f.Length is < 6 or > 7 || (f.Length == 7 && f[6] != "*"))
        {
            return $"cron '{expression}'";
        }

        var (sec, min, hour, dom, month, dow) = (f[0], f[1], f[2], f[3], f[4], f[5]);
        var time = Time(sec, min, hour);
        var days = YearlyDate(dom, month, dow) is { } date ? (Text: time?.AtFixedTimes == true ? $"every year on {date}" : $"on {date}", Month: "")
            : (Text: DayText(dom, dow), Month: MonthText(month));
        if (time is null || days.Text is null || days.Month is null)
        {
            return $"cron '{expression}'";
        }

        // "at 09:30 every day" reads better than "at 09:30"; "every 5 minutes every day" does not.
        var dayText = days.Text.Length == 0 && time.Value.AtFixedTimes ? "every day" : days.Text;
        return string.Join(" ", new[] { time.Value.Text, dayText, days.Month }.Where(s => s.Length > 0));
    }

    /// <summary>The seconds, minutes and hours in words, and whether they are fixed times of day (so "every day" may follow).</summary>
    private static (string Text, bool AtFixedTimes)? Time(string sec, string min, string hour)
    {
        if (sec == "*" || StepOf(sec) is not null)
        {
            var seconds = sec == "*" ? "every second" : Every(StepOf(sec)!.Value, "second");
            return min == "*" && Window(hour) is { } window ? (seconds + window, false) : null;
        }

        if (Number(sec, 59) is not { } s)
        {
            return null;
        }

        if (min == "*" || StepOf(min) is not null)
        {
            var minutes = min == "*" ? "every minute" + (s == 0 ? "" : $" at second {s}") : s == 0 ? Every(StepOf(min)!.Value, "minute") : null;
            return minutes is not null && Window(hour) is { } window ? (minutes + window, false) : null;
        }

        if (min.Split(',').Select(x => Number(x, 59)).ToList() is var minuteList && minuteList.Count > 1 && minuteList.All(x => x is not null)
            && hour.Split(',').Select(h => Number(h, 23)).ToList() is var listed && listed.All(h => h is not null))
        {
            // "at 8:15 and 8:45": every listed minute of every listed hour.
            var clocks = listed.Select(h => h!.Value).Distinct().Order()
                .SelectMany(h => minuteList.Select(x => x!.Value).Distinct().Order().Select(x => Clock(h, x, s))).ToList();
            return ("at " + List(clocks), true);
        }

        if (Number(min, 59) is not { } m)
        {
            return null;
        }

        if (hour == "*")
        {
            return s == 0 ? ($"every hour at minute {m}", false) : null;
        }

        if (hour.Split(',').Select(h => Number(h, 23)).ToList() is var hours && hours.All(h => h is not null))
        {
            var clocks = hours.Select(h => h!.Value).Distinct().Order().Select(h => Clock(h, m, s)).ToList();
            return ("at " + List(clocks), true);
        }

        if (s != 0)
        {
            return null;
        }

        if (StepOf(hour) is { } step)
        {
            var last = step.Start + ((23 - step.Start) / step.Every * step.Every);
            return step.Start == 0 ? ($"{Every(step, "hour")} at minute {m}", false) : ($"{Every(step, "hour")} from {Clock(step.Start, m, 0)} to {Clock(last, m, 0)}", false);
        }

        if (RangeStep().Match(hour) is { Success: true } r && Number(r.Groups[1].Value, 23) is { } from && Number(r.Groups[2].Value, 23) is { } to && to >= from)
        {
            var every = r.Groups[3].Success ? Number(r.Groups[3].Value, 23) ?? 0 : 1;
            if (every < 1)
            {
                return null;
            }

            var last = from + ((to - from) / every * every);
            return ($"{Every((from, every), "hour")} from {Clock(from, m, 0)} to {Clock(last, m, 0)}", false);
        }

        return null;
    }

    /// <summary>The hours a sub-hourly step is limited to: "9" is 09:00–10:00, "8-17" is 08:00–18:00.</summary>
    private static string? Window(string hour)
    {
        if (hour == "*")
        {
            return "";
        }

        var range = RangeStep().Match(hour);
        var (from, to) = Number(hour, 23) is { } h ? (h, h)
            : range.Success && !range.Groups[3].Success && Number(range.Groups[1].Value, 23) is { } a && Number(range.Groups[2].Value, 23) is { } b && b >= a ? (a, b)
            : (-1, -1);
        return from < 0 ? null : $" between {from:00}:00 and {to + 1:00}:00";
    }

    /// <summary>A single month and a single day of the month: a date in the year ("January 1st").</summary>
    private static string? YearlyDate(string dom, string month, string dow) =>
        dow is "*" or "?" && Number(dom, 31) is { } day and > 0 && MonthIndex(month) is { } m ? $"{Months[m]} {Ordinal(day)}" : null;

    private static string? DayText(string dom, string dow)
    {
        var anyDom = dom is "*" or "?";
        var anyDow = dow is "*" or "?";
        if (anyDom && anyDow)
        {
            return "";
        }

        if (!anyDom && !anyDow)
        {
            return null;
        }

        if (anyDom)
        {
            if (dow is "MON-FRI" or "2-6")
            {
                return "on weekdays";
            }

            if (dow is "SAT,SUN" or "SUN,SAT" or "1,7" or "7,1")
            {
                return "on weekends";
            }

            if (NthDay().Match(dow) is { Success: true } nth && DayIndex(nth.Groups[1].Value) is { } d)
            {
                var which = nth.Groups[2].Value == "L" ? "last" : Number(nth.Groups[2].Value[1..], 5) is { } n and > 0 ? Ordinals[n - 1] : null;
                return which is null ? null : $"on the {which} {Days[d]} of the month";
            }

            var parts = new List<string>();
            foreach (var part in dow.Split(','))
            {
                var ends = part.Split('-');
                if (ends.Length == 1 && DayIndex(part) is { } one)
                {
                    parts.Add(Days[one] + "s");
                }
                else if (ends.Length == 2 && DayIndex(ends[0]) is { } a && DayIndex(ends[1]) is { } b)
                {
                    parts.Add($"{Days[a]} to {Days[b]}");
                }
                else
                {
                    return null;
                }
            }

            return "on " + List(parts);
        }

        return dom switch
        {
            "L" => "on the last day of the month",
            "LW" => "on the last weekday of the month",
            _ when dom.StartsWith("L-", StringComparison.Ordinal) && Number(dom[2..], 30) is { } before =>
                before == 1 ? "on the day before the last day of the month" : $"{before} days before the last day of the month",
            _ when dom.EndsWith('W') && Number(dom[..^1], 31) is { } near and > 0 => $"on the weekday nearest day {near} of the month",
            _ when dom.Split(',').Select(d => Number(d, 31)).ToList() is var list && list.All(d => d is > 0) =>
                list.Count == 1 ? $"on day {list[0]} of the month" : $"on days {List([.. list.Select(d => d!.Value.ToString(CultureInfo.InvariantCulture))])} of the month",
            _ when RangeStep().Match(dom) is { Success: true } r && !r.Groups[3].Success && Number(r.Groups[1].Value, 31) is > 0 and var a && Number(r.Groups[2].Value, 31) is { } b && b >= a =>
                $"on days {a} to {b} of the month",
            _ => null,
        };
    }

    private static string? MonthText(string month)
    {
        if (month == "*")
        {
            return "";
        }

        var parts = new List<string>();
        foreach (var part in month.Split(','))
        {
            var ends = part.Split('-');
            if (ends.Length == 1 && MonthIndex(part) is { } one)
            {
                parts.Add(Months[one]);
            }
            else if (ends.Length == 2 && MonthIndex(ends[0]) is { } a && MonthIndex(ends[1]) is { } b)
            {
                if (month.Contains(',', StringComparison.Ordinal))
                {
                    parts.Add($"{Months[a]} to {Months[b]}");
                }
                else
                {
                    return $"from {Months[a]} to {Months[b]}";
                }
            }
            else
            {
                return null;
            }
        }

        return "in " + List(parts);
    }

    private static (int Start, int Every)? StepOf(string field)
    {
        var slash = field.IndexOf('/', StringComparison.Ordinal);
        if (slash < 0 || Number(field[(slash + 1)..], 59) is not { } every || every < 1)
        {
            return null;
        }

        var start = field[..slash];
        return start == "*" ? (0, every) : Number(start, 59) is { } s ? (s, every) : null;
    }

    private static string Every((int Start, int Every) step, string unit) =>
        (step.Every == 1 ? $"every {unit}" : $"every {step.Every} {unit}s") + (step.Start == 0 || unit == "hour" ? "" : $" from {unit} {step.Start}");

    private static int? Number(string text, int max) =>
        int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n <= max ? n : null;

    private static int? DayIndex(string text)
    {
        var index = Array.FindIndex(Days, d => d.StartsWith(text, StringComparison.OrdinalIgnoreCase) && text.Length == 3);
        return index >= 0 ? index : Number(text, 7) is { } n and >= 1 ? n - 1 : null;
    }

    private static int? MonthIndex(string text)
    {
        var index = Array.FindIndex(Months, m => m.StartsWith(text, StringComparison.OrdinalIgnoreCase) && text.Length == 3);
        return index >= 0 ? index : Number(text, 12) is { } n and >= 1 ? n - 1 : null;
    }

    private static string Clock(int hour, int minute, int second) =>
        second == 0 ? $"{hour:00}:{minute:00}" : $"{hour:00}:{minute:00}:{second:00}";

    private static string Ordinal(int n) =>
        n + ((n % 100) is 11 or 12 or 13 ? "th" : (n % 10) switch { 1 => "st", 2 => "nd", 3 => "rd", _ => "th" });

    private static string List(List<string> items) => items.Count == 1 ? items[0] : string.Join(", ", items.Take(items.Count - 1)) + " and " + items[^1];

    [GeneratedRegex(@"^(\d{1,2})-(\d{1,2})(?:/(\d{1,2}))?$", RegexOptions.CultureInvariant)]
    private static partial Regex RangeStep();

    /// <summary>"MON#1", "2#3", "6L", "FRIL": the nth or last given weekday of the month.</summary>
    [GeneratedRegex(@"^([A-Z]{3}|[1-7])(#\d|L)$", RegexOptions.CultureInvariant)]
    private static partial Regex NthDay();

    private static string Span(TimeSpan span) =>
        span.TotalDays >= 1 && span.TotalDays % 1 == 0 ? Plural((int)span.TotalDays, "day")
        : span.TotalHours >= 1 && span.TotalHours % 1 == 0 ? Plural((int)span.TotalHours, "hour")
        : span.TotalMinutes >= 1 && span.TotalMinutes % 1 == 0 ? Plural((int)span.TotalMinutes, "minute")
        : Plural((int)span.TotalSeconds, "second");

    private static string Plural(int n, string unit) => n == 1 ? unit : $"{n} {unit}s";
}
