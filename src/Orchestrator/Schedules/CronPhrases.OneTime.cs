using System.Globalization;

namespace Orchestrator.Schedules;

/// <summary>One-time phrases ("tomorrow at 9", "next friday at 17:00", "in 2 hours"), read on the clock and in the zone given.</summary>
public static partial class CronPhrases
{
    /// <summary>
    /// A one-time phrase: "tomorrow at 9", "today at 17:30", "next friday at 17:00", "on 2026-12-24 at 18:00", "once at 8",
    /// "in 2 hours". Only when every word is part of it; otherwise the recurring rules read the phrase.
    /// </summary>
    private static PhraseResult? Once(List<string> w, bool[] c, TimeZoneInfo zone, DateTimeOffset now)
    {
        var local = TimeZoneInfo.ConvertTime(now, zone);
        var today = DateOnly.FromDateTime(local.DateTime);
        DateOnly? date = null;
        DateOnly? otherDate = null;
        (int Hour, int Minute)? time = null;
        DateTimeOffset? exact = null;
        var once = false;
        var dates = 0;
        for (var i = 0; i < w.Count; i++)
        {
            if (c[i] || w[i] is "at" or "on" or "the" or "please" or "run" or "only" or "just" or "," or "of")
            {
                continue;
            }

            if (w[i] == "once")
            {
                once = true;
            }
            else if (w[i] is "today" or "tomorrow")
            {
                date = w[i] == "today" ? today : today.AddDays(1);
                dates++;
            }
            else if (w[i] is "next" or "this" && i + 1 < w.Count && DayIndex(w[i + 1]) is { } day)
            {
                // The coming one (never today); "next friday" could also mean the Friday of next week, offered as the other reading.
                var ahead = ((day - (int)today.DayOfWeek + 7) % 7) is var d && d == 0 ? (w[i] == "this" ? 0 : 7) : d;
                date = today.AddDays(ahead);
                otherDate = w[i] == "next" && ahead < 7 ? date.Value.AddDays(7) : null;
                dates++;
                i++;
            }
            else if (w[i] == "in" && i + 2 < w.Count && (int.TryParse(w[i + 1], NumberStyles.None, CultureInfo.InvariantCulture, out var n) || (w[i + 1] is "a" or "an" && (n = 1) == 1) || Words(w[i + 1]) is { } nw && (n = nw) > 0)
                && UnitSeconds(w[i + 2]) is { } unit && n > 0 && (long)n * unit <= MaxAhead)
            {
                exact = now.AddSeconds((double)n * unit);
                dates++;
                i += 2;
            }
            else if (IsoDate().IsMatch(w[i]) && DateOnly.TryParseExact(w[i], "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var iso))
            {
                date = iso;
                dates++;
            }
            else
            {
                var at = i;
                var bare = int.TryParse(w[i], NumberStyles.None, CultureInfo.InvariantCulture, out _) && (i + 1 >= w.Count || w[i + 1] is not ("am" or "pm"));
                if (time is not null || (bare && (i == 0 || w[i - 1] != "at")) || !TryTimeQuietly(w, ref at, out var t, out var length))
                {
                    return null;
                }

                time = t;
                i += length - 1;
            }
        }

        if (dates > 1 || (dates == 0 && !(once && time is not null)) || (exact is not null && (time is not null || once)))
        {
            return null;
        }

        if (exact is { } inSpan)
        {
            var atInstant = CeilingToSecond(inSpan);
            return new PhraseResult(new PhraseReading($"once at {Local(atInstant, zone)}", new TriggerRequest(null, null, null, null, Iso(atInstant, zone), null, null, null, null, null)), [], [], null, []);
        }

        var clock = time ?? (0, 0);
        // "once at 8": the next 08:00.
        var day1 = date ?? (new TimeOnly(clock.Hour, clock.Minute) > TimeOnly.FromDateTime(local.DateTime) ? today : today.AddDays(1));
        if (!TryInstant(day1, clock, zone, out var instant, out var why))
        {
            return new PhraseResult(null, [], [], why, Suggest(w));
        }

        if (instant <= now)
        {
            return new PhraseResult(null, [], [], $"{Local(instant, zone)} has already passed (it is {local:yyyy-MM-dd HH:mm} there); say tomorrow, or a later time.", Suggest(w));
        }

        var alternatives = new List<PhraseReading>();
        if (otherDate is { } other && TryInstant(other, clock, zone, out var later, out _))
        {
            alternatives.Add(new PhraseReading($"once at {Local(later, zone)} (the {other.DayOfWeek} of the week after)", new TriggerRequest(null, null, null, null, Iso(later, zone), null, null, null, null, null)));
        }

        var note = time is null ? " (no time given: midnight)" : "";
        return new PhraseResult(new PhraseReading($"once at {Local(instant, zone)}{note}", new TriggerRequest(null, null, null, null, Iso(instant, zone), null, null, null, null, null)), alternatives, [], null, []);
    }

    private static bool TryTimeQuietly(List<string> w, ref int at, out (int Hour, int Minute) time, out int length)
    {
        try
        {
            return TryTime(w, ref at, out time, out length);
        }
        catch (PhraseException)
        {
            (time, length) = (default, 0);
            return false;
        }
    }

    /// <summary>A wall-clock time on a day in a zone, refused when a daylight-saving change skips it.</summary>
    private static bool TryInstant(DateOnly day, (int Hour, int Minute) clock, TimeZoneInfo zone, out DateTimeOffset instant, out string? why)
    {
        var wall = day.ToDateTime(new TimeOnly(clock.Hour, clock.Minute));
        if (zone.IsInvalidTime(wall))
        {
            (instant, why) = (default, $"{wall:yyyy-MM-dd HH:mm} does not exist in {zone.Id} (the clocks skip it for daylight saving).");
            return false;
        }

        var offset = zone.GetUtcOffset(wall);
        if (wall.Ticks - offset.Ticks > DateTime.MaxValue.Ticks || wall.Ticks - offset.Ticks < 0)
        {
            (instant, why) = (default, $"{wall:yyyy-MM-dd HH:mm} is outside the calendar this server can hold.");
            return false;
        }

        instant = new DateTimeOffset(wall, offset).ToUniversalTime();
        why = null;
        return true;
    }

    /// <summary>How far ahead "in N units" may reach (100 years): the rest is not a schedule, and beyond year 9999 not a date.</summary>
    private const long MaxAhead = 100L * 366 * 86_400;

    private static DateTimeOffset CeilingToSecond(DateTimeOffset time)
    {
        var remainder = time.UtcTicks % TimeSpan.TicksPerSecond;
        return remainder == 0 ? time : time.AddTicks(TimeSpan.TicksPerSecond - remainder);
    }
}
