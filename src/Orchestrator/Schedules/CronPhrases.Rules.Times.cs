using System.Globalization;

namespace Orchestrator.Schedules;

/// <summary>The rules that say at what time: times of day ("at 9:30", "noon", "6 pm"), ranges of hours ("between 9 and 17") and a step's first firing ("starting at 8").</summary>
public static partial class CronPhrases
{
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
}
