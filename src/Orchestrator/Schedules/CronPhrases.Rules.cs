using System.Globalization;
using Quartz;

namespace Orchestrator.Schedules;

/// <summary>
/// The rules that say how often: period words (daily, weekly, quarterly, twice a day, business hours), steps ("every 5
/// minutes", "every other monday"), the minute of the hour and "monthly". Each rule claims the words it understands into the
/// parts; <see cref="Read"/> runs them in order.
/// </summary>
public static partial class CronPhrases
{
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

    private static void Set(ref string? field, string value, string what, params int[] words)
    {
        if (field is not null && field != value)
        {
            throw new PhraseException($"the phrase names the {what} twice ({field} and {value}).", words);
        }

        field = value;
    }
}
