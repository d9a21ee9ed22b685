using System.Globalization;
using System.Text.RegularExpressions;

namespace Orchestrator.Schedules;

/// <summary>
/// Reading the phrase into words: lower case, "9am" as "9 am", synonyms as one word ("hrs" is "hours"); and reading one word
/// (or a few) as a time of day, a day, a month, a number or a unit. What a word means in the phrase is the rules' business.
/// </summary>
public static partial class CronPhrases
{
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

    /// <summary>"other" (2), "second", "third"…, "2nd", "3rd": how many weeks apart in "every other monday".</summary>
    private static int? NthWord(string word) =>
        word == "other" ? 2
        : Array.IndexOf(Ordinals, word) is var o and > 0 ? o + 1
        : OrdinalNumber().Match(word) is { Success: true } m && int.TryParse(m.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 1 ? n
        : null;

    private static int? UnitSeconds(string word) => word.TrimEnd('s') switch
    {
        "second" => 1,
        "minute" => 60,
        "hour" => 3600,
        "day" => 86_400,
        "week" => 604_800,
        _ => null,
    };

    private static bool ForeignDigits(string word) => word.Any(ch => char.IsDigit(ch) && !char.IsAsciiDigit(ch));

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
