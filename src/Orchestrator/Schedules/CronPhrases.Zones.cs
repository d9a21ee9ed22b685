namespace Orchestrator.Schedules;

/// <summary>The time zone a phrase names: an abbreviation ("CET"), a city ("Paris time", "in new york") or an IANA id.</summary>
public static partial class CronPhrases
{
    /// <summary>Zone abbreviations operators write after a time, as the IANA zone meant (and the others it could mean).</summary>
    private static readonly Dictionary<string, (string Zone, string[] Others)> ZoneAbbreviations = new(StringComparer.Ordinal)
    {
        ["utc"] = ("UTC", []),
        ["gmt"] = ("UTC", ["Europe/London"]),
        ["bst"] = ("Europe/London", []),
        ["cet"] = ("Europe/Paris", []),
        ["cest"] = ("Europe/Paris", []),
        ["eet"] = ("Europe/Athens", []),
        ["eest"] = ("Europe/Athens", []),
        ["msk"] = ("Europe/Moscow", []),
        ["est"] = ("America/New_York", []),
        ["edt"] = ("America/New_York", []),
        ["cst"] = ("America/Chicago", ["Asia/Shanghai"]),
        ["cdt"] = ("America/Chicago", []),
        ["mst"] = ("America/Denver", ["America/Phoenix"]),
        ["mdt"] = ("America/Denver", []),
        ["pst"] = ("America/Los_Angeles", []),
        ["pdt"] = ("America/Los_Angeles", []),
        ["ist"] = ("Asia/Kolkata", ["Europe/Dublin", "Asia/Jerusalem"]),
        ["jst"] = ("Asia/Tokyo", []),
        ["kst"] = ("Asia/Seoul", []),
        ["sgt"] = ("Asia/Singapore", []),
        ["hkt"] = ("Asia/Hong_Kong", []),
        ["aest"] = ("Australia/Sydney", ["Australia/Brisbane"]),
        ["aedt"] = ("Australia/Sydney", []),
        ["nzst"] = ("Pacific/Auckland", []),
        ["nzdt"] = ("Pacific/Auckland", []),
    };

    /// <summary>IANA zones by lower-case id and by city ("paris", "new york"), read once from the system's zone list.</summary>
    private static readonly Lazy<(Dictionary<string, string> ById, Dictionary<string, string> ByCity)> Zones = new(() =>
    {
        var byId = new Dictionary<string, string>(StringComparer.Ordinal);
        var byCity = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var zone in TimeZoneInfo.GetSystemTimeZones())
        {
            byId.TryAdd(zone.Id.ToLowerInvariant(), zone.Id);
            var slash = zone.Id.LastIndexOf('/');
            // Region/City ids only: "US/Eastern" or "Etc/GMT+5" are not cities.
            if (slash > 0 && !zone.Id.StartsWith("Etc/", StringComparison.Ordinal) && !zone.Id.StartsWith("US/", StringComparison.Ordinal))
            {
                byCity.TryAdd(zone.Id[(slash + 1)..].Replace('_', ' ').ToLowerInvariant(), zone.Id);
            }
        }

        byId.TryAdd("utc", "UTC");
        return (byId, byCity);
    });

    /// <summary>A zone in the phrase: "CET", "Paris time", "in new york", "Europe/Paris". The phrase's zone wins over the request's.</summary>
    private static void ClaimZone(List<string> w, bool[] c, Parts p)
    {
        for (var i = 0; i < w.Count; i++)
        {
            string? id = null;
            var from = i;
            var to = i;
            if (ZoneAbbreviations.TryGetValue(w[i], out var abbreviation))
            {
                id = abbreviation.Zone;
                p.ZoneOthers = [.. abbreviation.Others];
                to = i + 1 < w.Count && w[i + 1] == "time" ? i + 1 : i;
            }
            else if (w[i].Contains('/', StringComparison.Ordinal) && Zones.Value.ById.TryGetValue(w[i], out var byId))
            {
                id = byId;
                from = i > 0 && w[i - 1] == "in" ? i - 1 : i;
            }
            else if (w[i] == "time" && i > 0 && w[i - 1] == "local")
            {
                // "at 9 local time": the zone the request gives.
                c[i - 1] = c[i] = true;
                continue;
            }
            else if (w[i] == "time" && City(w, i, -1) is { } before)
            {
                (id, from) = (before.Zone, before.At);
            }
            else if (w[i] == "in" && City(w, i, +1) is { } after)
            {
                (id, to) = (after.Zone, after.At);
            }

            if (id is null || TryFindZone(id) is not { } zone)
            {
                continue;
            }

            if (p.ZoneWord is not null && p.Zone.Id != zone.Id)
            {
                throw new PhraseException($"the phrase names two time zones ({p.Zone.Id} and {zone.Id}).", [.. Enumerable.Range(from, to - from + 1)]);
            }

            p.Zone = zone;
            p.ZoneWord = string.Join(" ", w.Skip(from).Take(to - from + 1));
            for (var k = from; k <= to; k++)
            {
                c[k] = true;
            }

            i = to;
        }
    }

    /// <summary>A city of one to three words just before (direction -1) or after (+1) position <paramref name="at"/>.</summary>
    private static (string Zone, int At)? City(List<string> w, int at, int direction)
    {
        for (var length = 3; length >= 1; length--)
        {
            var start = direction < 0 ? at - length : at + 1;
            if (start < 0 || start + length > w.Count)
            {
                continue;
            }

            var name = string.Join(" ", w.Skip(start).Take(length));
            if (MonthIndex(name) is null && Zones.Value.ByCity.TryGetValue(name, out var zone))
            {
                return (zone, direction < 0 ? start : start + length - 1);
            }
        }

        return null;
    }

    private static TimeZoneInfo? TryFindZone(string id)
    {
        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(id);
        }
        catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            return null;
        }
    }
}
