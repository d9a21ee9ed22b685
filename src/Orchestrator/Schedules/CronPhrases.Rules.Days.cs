using System.Globalization;

namespace Orchestrator.Schedules;

/// <summary>The rules that say on which days: days of the month ("the 1st", "the last weekday"), days of the week ("mondays", "monday to friday") and months ("january through march", "every year").</summary>
public static partial class CronPhrases
{
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
}
