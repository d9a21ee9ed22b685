using System.Globalization;

namespace Orchestrator.Schedules;

/// <summary>Plain-English descriptions of triggers for the API and dashboard. Common cron shapes get words; the rest are quoted.</summary>
public static class TriggerDescription
{
    private static readonly string[] Days = ["Sunday", "Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday"];

    public static string Describe(TriggerSpec trigger) => trigger switch
    {
        CronTriggerSpec c => $"{DescribeCron(c.Expression)} ({c.TimeZone.Id})",
        IntervalTriggerSpec i => $"every {Span(i.Interval)}",
        OnceTriggerSpec o => $"once at {o.At.ToString("yyyy-MM-dd HH:mm:ss'Z'", CultureInfo.InvariantCulture)}",
        CalendarTriggerSpec k => $"every {(k.Every == 1 ? "" : k.Every.ToString(CultureInfo.InvariantCulture) + " ")}{k.Unit.ToString().ToLowerInvariant()}{(k.Every == 1 ? "" : "s")} ({k.TimeZone.Id})",
        _ => "unknown trigger",
    } + (trigger.MaxRuns is { } max && trigger is not OnceTriggerSpec ? $", at most {max} time{(max == 1 ? "" : "s")}" : "");

    public static string DescribeCron(string expression)
    {
        var f = expression.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (f.Length is < 6 or > 7 || (f.Length == 7 && f[6] != "*"))
        {
            return $"cron '{expression}'";
        }

        var (sec, min, hour, dom, month, dow) = (f[0], f[1], f[2], f[3], f[4], f[5]);
        if (month != "*")
        {
            return $"cron '{expression}'";
        }

        var everyDay = dom is "*" or "?" && dow is "*" or "?";
        if (everyDay && min == "*" && hour == "*")
        {
            return sec == "*" ? "every second"
                : Step(sec, "second") is { } seconds ? seconds
                : sec == "0" ? "every minute"
                : int.TryParse(sec, out var s) ? $"every minute at second {s}" : $"cron '{expression}'";
        }

        if (everyDay && sec == "0" && hour == "*")
        {
            return min == "*" ? "every minute" : Step(min, "minute") ?? (int.TryParse(min, out var m) ? $"every hour at minute {m}" : $"cron '{expression}'");
        }

        if (sec != "0" || !int.TryParse(min, out var minute))
        {
            return $"cron '{expression}'";
        }

        string when;
        if (int.TryParse(hour, out var h))
        {
            when = $"at {h:00}:{minute:00}";
        }
        else if (Step(hour, "hour") is { } hourly)
        {
            when = $"{hourly} at minute {minute}";
        }
        else if (hour.Contains('-', StringComparison.Ordinal) && !hour.Contains('/', StringComparison.Ordinal))
        {
            when = $"every hour at minute {minute} between {hour.Replace("-", ":00 and ", StringComparison.Ordinal)}:00";
        }
        else
        {
            return $"cron '{expression}'";
        }

        var days = (dom, dow) switch
        {
            ("*" or "?", "*" or "?") => "every day",
            ("*" or "?", "MON-FRI" or "2-6") => "on weekdays",
            ("*" or "?", "SAT,SUN" or "SUN,SAT" or "1,7") => "on weekends",
            ("*" or "?", _) => DayList(dow),
            ("L", "*" or "?") => "on the last day of the month",
            (_, "*" or "?") when int.TryParse(dom, out var d) => $"on day {d} of the month",
            _ => null,
        };
        return days is null ? $"cron '{expression}'" : $"{when} {days}";
    }

    private static string? Step(string field, string unit) =>
        field.StartsWith("0/", StringComparison.Ordinal) || field.StartsWith("*/", StringComparison.Ordinal)
            ? int.TryParse(field[2..], out var n) ? n == 1 ? $"every {unit}" : $"every {n} {unit}s" : null
            : null;

    private static string? DayList(string dow)
    {
        var names = new List<string>();
        foreach (var part in dow.Split(','))
        {
            var index = Array.FindIndex(Days, d => d.StartsWith(part, StringComparison.OrdinalIgnoreCase) && part.Length == 3);
            if (index < 0 && int.TryParse(part, out var n) && n is >= 1 and <= 7)
            {
                index = n - 1;
            }

            if (index < 0)
            {
                return null;
            }

            names.Add(Days[index] + "s");
        }

        return "on " + (names.Count == 1 ? names[0] : string.Join(", ", names[..^1]) + " and " + names[^1]);
    }

    private static string Span(TimeSpan span) =>
        span.TotalDays >= 1 && span.TotalDays % 1 == 0 ? Plural((int)span.TotalDays, "day")
        : span.TotalHours >= 1 && span.TotalHours % 1 == 0 ? Plural((int)span.TotalHours, "hour")
        : span.TotalMinutes >= 1 && span.TotalMinutes % 1 == 0 ? Plural((int)span.TotalMinutes, "minute")
        : Plural((int)span.TotalSeconds, "second");

    private static string Plural(int n, string unit) => n == 1 ? unit : $"{n} {unit}s";
}
