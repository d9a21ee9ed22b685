using System.Globalization;

namespace Orchestrator.Schedules;

/// <summary>The parts as one Quartz cron expression: the field each part fills, and the combinations one expression cannot hold.</summary>
public static partial class CronPhrases
{
    /// <summary>The parts as one Quartz cron expression, or why one cannot hold them.</summary>
    private static (string? Cron, string? Why) Cron(Parts p)
    {
        static (string?, string?) Refuse(string why) => (null, why);
        var times = p.Times.Distinct().ToList();
        if (times.Count == 0 && p.TimesPerDay is null && (p.PartOfDay is "morning" or "afternoon" or "evening" || (p.PartOfDay == "night" && p.DayOfWeek is not null)))
        {
            // "every night" alone is midnight, as nightly is; a morning or "sunday night" has no such obvious time.
            return Refuse($"'{p.PartOfDay}' needs a time (e.g. every {p.PartOfDay} at {(p.PartOfDay == "morning" ? "8" : p.PartOfDay == "night" ? "11pm" : "6pm")}).");
        }

        if (p.TimesPerDay is { } perDay)
        {
            if (times.Count == 0)
            {
                // "twice a day" with no times: spread over the day from midnight (00:00 and 12:00).
                times = [.. Enumerable.Range(0, perDay).Select(k => (k * 24 / perDay, 0))];
            }
            else if (times.Count != perDay)
            {
                return Refuse($"the phrase says {perDay} times a day but names {times.Count} time{(times.Count == 1 ? "" : "s")}.");
            }
        }
        if (times.Count > 1 && p.TimePositions.Count > 1 && p.DayPositions.Any(d => d > p.TimePositions.Min() && d < p.TimePositions.Max()))
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
            // "every hour between 9 and 17" fires at 17:00 too; business hours end before 17:00 whatever the step.
            hour = p.HourStep is { } h ? (p.HourRange is { } r ? $"{Hours(r, p.BusinessHours)}/{h}" : $"{first}/{h}") : p.HourRange is { } range ? Hours(range, p.BusinessHours) : "*";
        }
        else if (p.HourRange is not null)
        {
            return Refuse("a range of hours needs a step (e.g. every hour between 9 and 17, or every 15 minutes between 8 and 18).");
        }
        else if (times.Count > 0)
        {
            // One cron fires at every listed minute of every listed hour: 8:15 and 8:45 fit (minutes 15,45 of hour 8),
            // 8:15 and 17:45 do not (it would also fire at 8:45 and 17:15).
            var hours = times.Select(t => t.Hour).Distinct().Order().ToList();
            var minutes = times.Select(t => t.Minute).Distinct().Order().ToList();
            if (hours.Count * minutes.Count != times.Count)
            {
                var extra = hours.SelectMany(h => minutes.Select(m => (Hour: h, Minute: m))).Except(times).Select(t => $"{t.Hour:00}:{t.Minute:00}");
                return Refuse($"the times {string.Join(", ", times.Select(t => $"{t.Hour:00}:{t.Minute:00}"))} have different minutes, which one cron expression cannot hold (it would also fire at {string.Join(", ", extra)}); make one schedule per time.");
            }

            minute = string.Join(",", minutes);
            hour = string.Join(",", hours);
        }
        else if (p.MinuteOfHour is { } mh)
        {
            minute = mh.ToString(CultureInfo.InvariantCulture);
            hour = "*";
        }
        else if (p.DayOfWeek is not null || p.DayOfMonth is not null || p.Month is not null || p.EveryDay)
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

        return ($"{second} {minute} {hour} {dom} {p.Month ?? "*"} {dow}", null);
    }
}
