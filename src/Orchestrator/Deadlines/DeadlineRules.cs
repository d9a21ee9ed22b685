using System.Globalization;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Xml;
using Microsoft.EntityFrameworkCore;
using Orchestrator.Api;
using Orchestrator.Data;

namespace Orchestrator.Deadlines;

/// <summary>
/// <c>"deadline": {"startWithinSeconds", "succeedWithinSeconds", "channel"}</c> as a schedule or pipeline body gives it.
/// At least one limit, unless the body also sets <c>expectSuccessEvery</c>, which alerts the same channel: a
/// <c>{"channel": …}</c> alone is then the dead man's switch's channel.
/// </summary>
public sealed record DeadlineRequest(int? StartWithinSeconds, int? SucceedWithinSeconds, string? Channel);

/// <summary>A validated deadline as stored and shown; a limit left out is not written.</summary>
public sealed record DeadlineView(
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? StartWithinSeconds,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] int? SucceedWithinSeconds,
    string Channel);

/// <summary>What a schedule or pipeline is watched for, after validation.</summary>
/// <param name="ExpectSuccessEvery">The dead man's switch: alert when no run succeeded for this long.</param>
public sealed record DeadlineSettings(DeadlineView Deadline, TimeSpan? ExpectSuccessEvery)
{
    public TimeSpan? StartWithin => Deadline.StartWithinSeconds is { } s ? TimeSpan.FromSeconds(s) : null;

    public TimeSpan? SucceedWithin => Deadline.SucceedWithinSeconds is { } s ? TimeSpan.FromSeconds(s) : null;

    /// <summary>The settings a stored definition names, or null when it has no deadline.</summary>
    public static DeadlineSettings? From(DeadlineView? deadline, string? expectSuccessEvery) =>
        deadline is null ? null : new(deadline, expectSuccessEvery is null ? null : XmlConvert.ToTimeSpan(expectSuccessEvery));
}

/// <summary>Validates the deadline fields of a schedule or pipeline body, naming each bad field.</summary>
public static class DeadlineRules
{
    /// <summary>The longest start or success limit: a week (a longer one is a dead man's switch, expectSuccessEvery).</summary>
    public const int MaxWithinSeconds = 7 * 86_400;

    /// <summary>The longest expectSuccessEvery: a year, as the longest interval trigger.</summary>
    public static readonly TimeSpan MaxExpectSuccessEvery = TimeSpan.FromDays(365);

    /// <summary>
    /// The validated deadline and dead man's switch of a body, normalized (<c>expectSuccessEvery</c> as an ISO-8601
    /// duration); (null, null) when neither is set. Problems go to <paramref name="errors"/> under their field names.
    /// </summary>
    public static async Task<(DeadlineView? Deadline, string? ExpectSuccessEvery)> ValidateAsync(
        DeadlineRequest? deadline, JsonElement? expectSuccessEvery, OrchestratorDbContext db, FieldErrors errors, CancellationToken ct)
    {
        var every = ParseEvery(expectSuccessEvery, errors);
        if (deadline is null)
        {
            if (expectSuccessEvery is { ValueKind: not JsonValueKind.Null })
            {
                errors.Add("deadline.channel", "is required with expectSuccessEvery: the dead man's switch alerts that channel ({\"deadline\": {\"channel\": …}}).");
            }

            return (null, null);
        }

        var start = Within(deadline.StartWithinSeconds, "deadline.startWithinSeconds", errors);
        var succeed = Within(deadline.SucceedWithinSeconds, "deadline.succeedWithinSeconds", errors);
        if (deadline.StartWithinSeconds is null && deadline.SucceedWithinSeconds is null && expectSuccessEvery is null or { ValueKind: JsonValueKind.Null })
        {
            errors.Add("deadline", "needs startWithinSeconds or succeedWithinSeconds (or expectSuccessEvery beside it, for a dead man's switch alone).");
        }

        if (string.IsNullOrEmpty(deadline.Channel))
        {
            errors.Add("deadline.channel", "is required: the notification channel the alerts go to (see /api/channels).");
        }
        else if (deadline.Channel.Length > 63 || !await db.Channels.AnyAsync(c => c.Name == deadline.Channel, ct))
        {
            errors.Add("deadline.channel", $"no notification channel named '{Truncate(deadline.Channel)}' (see /api/channels).");
        }

        // A duration given as text reads back as written (as a trigger's interval does); seconds read back as PT…H…M…S.
        var text = every is null ? null : expectSuccessEvery is { ValueKind: JsonValueKind.String } given ? given.GetString() : Iso(every.Value);
        return (new DeadlineView(start, succeed, deadline.Channel ?? ""), text);
    }

    private static int? Within(int? seconds, string field, FieldErrors errors)
    {
        if (seconds is { } s && (s < 1 || s > MaxWithinSeconds))
        {
            errors.Add(field, $"must be between 1 and {MaxWithinSeconds} seconds (a week).");
            return null;
        }

        return seconds;
    }

    /// <summary>An ISO-8601 duration (<c>PT26H</c>) or a number of seconds, as the API's other durations.</summary>
    private static TimeSpan? ParseEvery(JsonElement? value, FieldErrors errors)
    {
        const string Field = "expectSuccessEvery";
        const string Range = "must be whole seconds between PT1S (1) and P365D (31536000).";
        TimeSpan every;
        switch (value)
        {
            case null or { ValueKind: JsonValueKind.Null }:
                return null;
            case { ValueKind: JsonValueKind.Number } number:
                if (!number.TryGetInt64(out var seconds) || seconds < 1 || seconds > (long)MaxExpectSuccessEvery.TotalSeconds)
                {
                    errors.Add(Field, Range);
                    return null;
                }

                every = TimeSpan.FromSeconds(seconds);
                break;
            case { ValueKind: JsonValueKind.String } text:
                try
                {
                    every = XmlConvert.ToTimeSpan(text.GetString()!);
                }
                catch (Exception ex) when (ex is FormatException or OverflowException)
                {
                    errors.Add(Field, $"'{Truncate(text.GetString()!)}' is not an ISO-8601 duration such as PT26H or P1D, nor a number of seconds.");
                    return null;
                }

                break;
            default:
                errors.Add(Field, "must be an ISO-8601 duration string (\"PT26H\") or a number of seconds.");
                return null;
        }

        if (every < TimeSpan.FromSeconds(1) || every > MaxExpectSuccessEvery || every.Ticks % TimeSpan.TicksPerSecond != 0)
        {
            errors.Add(Field, Range);
            return null;
        }

        return every;
    }

    private static string Iso(TimeSpan span)
    {
        var seconds = (long)span.TotalSeconds;
        var (h, m, s) = (seconds / 3600, seconds % 3600 / 60, seconds % 60);
        return "PT" + (h > 0 ? string.Create(CultureInfo.InvariantCulture, $"{h}H") : "") + (m > 0 ? string.Create(CultureInfo.InvariantCulture, $"{m}M") : "")
            + (s > 0 ? string.Create(CultureInfo.InvariantCulture, $"{s}S") : "");
    }

    /// <summary>How a duration reads in an alert: "90 s", "12 min 5 s", "26 h".</summary>
    public static string Describe(TimeSpan span)
    {
        var seconds = (long)Math.Max(0, Math.Round(span.TotalSeconds));
        return seconds switch
        {
            < 60 => string.Create(CultureInfo.InvariantCulture, $"{seconds} s"),
            < 3600 => string.Create(CultureInfo.InvariantCulture, $"{seconds / 60} min{(seconds % 60 == 0 ? "" : $" {seconds % 60} s")}"),
            _ => string.Create(CultureInfo.InvariantCulture, $"{seconds / 3600} h{(seconds % 3600 / 60 == 0 ? "" : $" {seconds % 3600 / 60} min")}"),
        };
    }

    private static string Truncate(string text) => text.Length > 60 ? text[..60] + "…" : text;
}
