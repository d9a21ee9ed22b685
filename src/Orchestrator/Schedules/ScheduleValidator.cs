using System.Globalization;
using System.Text.Json;
using System.Text.RegularExpressions;
using System.Xml;
using Microsoft.EntityFrameworkCore;
using Orchestrator.Actions;
using Orchestrator.Api;
using Microsoft.Extensions.Options;
using Orchestrator.Data;
using Orchestrator.Hosting;
using Orchestrator.Projects;
using Quartz;

namespace Orchestrator.Schedules;

/// <summary>Validates a schedule request once, at the edge, into a <see cref="ScheduleSpec"/>; every problem is named by field.</summary>
public sealed partial class ScheduleValidator(ActionCatalog actions, OrchestratorDbContext db, TimeProvider time, IOptions<OrchestratorOptions> options)
{
    public const int MaxDescriptionLength = 1000;
    public const int MaxRunsLimit = 1_000_000;

    /// <summary>
    /// How long ago a one-time <c>at</c> may be and still be accepted: a time a person or a client computed as "now" or
    /// "in a few seconds" can be a little behind by the time it arrives (clock skew, a slow form); further back it is a
    /// mistake that would fire at once as a misfire.
    /// </summary>
    public static readonly TimeSpan PastOneTimeGrace = TimeSpan.FromSeconds(60);

    public Task<(ScheduleSpec? Spec, FieldErrors Errors)> ValidateAsync(ScheduleRequest request, string? nameFromRoute, string? projectFromRoute, CancellationToken ct) =>
        ValidateAsync(request, nameFromRoute, projectFromRoute, triggerUnchanged: false, ct);

    /// <summary>
    /// <paramref name="triggerUnchanged"/>: a replace that keeps the stored trigger as it is. Such a trigger is not
    /// judged against the clock again: a one-time schedule that already ran keeps its (now past) instant and stays editable.
    /// </summary>
    public async Task<(ScheduleSpec? Spec, FieldErrors Errors)> ValidateAsync(
        ScheduleRequest request, string? nameFromRoute, string? projectFromRoute, bool triggerUnchanged, CancellationToken ct)
    {
        var errors = new FieldErrors();

        var name = request.Name ?? nameFromRoute;
        if (string.IsNullOrEmpty(name))
        {
            errors.Add("name", "is required.");
        }
        else if (!NamePattern().IsMatch(name))
        {
            errors.Add("name", "must be 1–100 letters, digits, '-' or '_', starting with a letter or digit (no dots: the id is '{project}.{name}').");
        }
        else if (nameFromRoute is not null && name != nameFromRoute)
        {
            errors.Add("name", $"must match the schedule in the URL ('{nameFromRoute}'); rename by creating a new schedule.");
        }

        var project = request.Project ?? projectFromRoute ?? Project.DefaultId;
        if (projectFromRoute is not null && project != projectFromRoute)
        {
            errors.Add("project", $"must match the schedule in the URL ('{projectFromRoute}').");
        }
        else if (!ProjectEndpoints.IsSlug(project))
        {
            errors.Add("project", "must be a project id (lowercase letters, digits and '-').");
        }
        else if (!await db.Projects.AnyAsync(p => p.Id == project, ct))
        {
            errors.Add("project", $"no project with id '{project}'.");
        }

        if (request.Description is { Length: > MaxDescriptionLength })
        {
            errors.Add("description", $"must be at most {MaxDescriptionLength} characters.");
        }
        else if (request.Description?.Contains('\0', StringComparison.Ordinal) == true)
        {
            // PostgreSQL text cannot hold NUL: storing it failed as a 500.
            errors.Add("description", "must not contain NUL characters.");
        }

        var (actionType, config) = await ValidateActionAsync(request.Action, errors.Entries.ContainsKey("project") ? null : project, errors, ct);
        var misfire = ValidateMisfire(request.Misfire, errors, out var threshold);
        var trigger = ValidateTrigger(request.Trigger, "trigger", misfire, errors);
        if (!triggerUnchanged && !errors.Entries.ContainsKey("trigger.at") && PastOneTimeReason(trigger, time.GetUtcNow()) is { } past)
        {
            errors.Add("trigger.at", past);
        }

        if (!ScheduleOverlaps.TryParse(request.Concurrency, out var concurrency))
        {
            errors.Add("concurrency", $"'{request.Concurrency}' is not an overlap policy; use {string.Join(", ", ScheduleOverlaps.Names.Select(n => $"'{n}'"))}.");
        }

        var retry = ValidateRetry(request.Retry, errors);
        var jitter = ScheduleJitter.Resolve(request.JitterSeconds, options.Value.Scheduler.DefaultJitterSeconds, trigger, errors);
        var (deadline, expectSuccessEvery) = await Deadlines.DeadlineRules.ValidateAsync(request.Deadline, request.ExpectSuccessEvery, db, errors, ct);

        TimeSpan? timeout = null;
        if (request.TimeoutSeconds is { } seconds)
        {
            if (seconds is < 1 or > 86_400)
            {
                errors.Add("timeoutSeconds", "must be between 1 and 86400.");
            }
            else
            {
                timeout = TimeSpan.FromSeconds(seconds);
            }
        }

        if (request.ExecutionGroup is { } group && !GroupPattern().IsMatch(group))
        {
            errors.Add("executionGroup", "must be 1–200 letters, digits or ':', '_', '.', '-'.");
        }

        if (errors.Any)
        {
            return (null, errors);
        }

        return (new ScheduleSpec(project, name!, request.Description, actionType!, config, trigger!, misfire, threshold, concurrency, retry, timeout,
            request.ExecutionGroup, request.Enabled ?? true)
        {
            JitterSeconds = jitter,
            Deadline = deadline,
            ExpectSuccessEvery = expectSuccessEvery,
        }, errors);
    }

    private async Task<(string? Type, JsonElement Config)> ValidateActionAsync(ActionRequest? action, string? projectId, FieldErrors errors, CancellationToken ct)
    {
        if (action is null)
        {
            errors.Add("action", "is required: {\"type\": …, \"config\": {…}}.");
            return (null, default);
        }

        if (string.IsNullOrEmpty(action.Type))
        {
            errors.Add("action.type", $"is required; one of {string.Join(", ", actions.Types)}.");
            return (null, default);
        }

        if (!actions.TryGet(action.Type, out var definition))
        {
            errors.Add("action.type", $"'{action.Type}' is not an action type; use one of {string.Join(", ", actions.Types)}.");
            return (null, default);
        }

        if (action.ConfigOrEmpty is not { ValueKind: JsonValueKind.Object } config)
        {
            errors.Add("action.config", "must be a JSON object (leave it out for an action with no settings).");
            return (null, default);
        }

        await definition.ValidateAsync(config, "action.config", errors, ct, projectId);
        return (action.Type, config.Clone());
    }

    private static MisfirePolicy ValidateMisfire(MisfireRequest? misfire, FieldErrors errors, out TimeSpan? threshold)
    {
        threshold = null;
        if (misfire?.ThresholdSeconds is { } seconds)
        {
            if (seconds is < 1 or > 86_400)
            {
                errors.Add("misfire.thresholdSeconds", "must be between 1 and 86400.");
            }
            else
            {
                threshold = TimeSpan.FromSeconds(seconds);
            }
        }

        switch (misfire?.Policy)
        {
            case null or "fire_once":
                return MisfirePolicy.FireOnce;
            case "catch_up":
                return MisfirePolicy.CatchUp;
            case "skip":
                return MisfirePolicy.Skip;
            default:
                errors.Add("misfire.policy", $"'{misfire.Policy}' is not a misfire policy; use fire_once, catch_up or skip.");
                return MisfirePolicy.FireOnce;
        }
    }

    /// <summary>Also used by preview, where no misfire policy is given.</summary>
    public TriggerSpec? ValidateTrigger(TriggerRequest? trigger, string prefix, MisfirePolicy misfire, FieldErrors errors)
    {
        var spec = ValidateTriggerForm(trigger, prefix, misfire, errors);
        if (spec is null || errors.Entries.Keys.Any(k => k == prefix || k.StartsWith(prefix + ".", StringComparison.Ordinal)))
        {
            return spec;
        }

        // What Quartz itself would refuse when the trigger is stored ("will never fire") or cannot compute, judged on the
        // same trigger the schedule would get, so every form (and every route that stores one) answers 422, not 500.
        DateTimeOffset? first;
        try
        {
            // maxRuns only moves the end past the first fire time, and computing that end walks every run: left out here.
            var probe = spec is CronTriggerSpec or CalendarTriggerSpec ? spec with { MaxRuns = null } : spec;
            first = ((Quartz.Extensibility.IOperableTrigger)ScheduleMapping.BuildPreviewTrigger(probe, time.GetUtcNow())).ComputeFirstFireTimeUtc(null);
        }
        catch (ArgumentException)
        {
            first = null;
        }

        if (first is null)
        {
            var field = spec switch
            {
                CronTriggerSpec => $"{prefix}.cron",
                OnceTriggerSpec => $"{prefix}.at",
                _ when trigger!.StartAt is not null => $"{prefix}.startAt",
                _ => prefix,
            };
            errors.Add(field, NeverFires);
        }

        return spec;
    }

    /// <summary>
    /// Why a one-time trigger cannot be saved as new: its instant is more than <see cref="PastOneTimeGrace"/> before
    /// <paramref name="now"/>. Null for any other trigger or a time still to come.
    /// </summary>
    public static string? PastOneTimeReason(TriggerSpec? trigger, DateTimeOffset now) =>
        trigger is OnceTriggerSpec once && once.At < now - PastOneTimeGrace
            ? $"is in the past ({once.At.ToUniversalTime():yyyy-MM-dd'T'HH:mm:ss'Z'}, more than {(int)PastOneTimeGrace.TotalSeconds} s before now); "
              + "a one-time schedule runs once at a future instant — use run now or backfill for past times."
            : null;

    public const string NeverFires = "never fires after the start time (check startAt, endAt, maxRuns and, for cron, the year field).";

    private TriggerSpec? ValidateTriggerForm(TriggerRequest? trigger, string prefix, MisfirePolicy misfire, FieldErrors errors)
    {
        if (trigger is null)
        {
            errors.Add(prefix, "is required: one of {cron, timeZone}, {intervalSeconds} or {interval}, {at}, {every, unit}.");
            return null;
        }

        var forms = new[] { trigger.Cron is not null, trigger.IntervalSeconds is not null || trigger.Interval is not null, trigger.At is not null, trigger.Every is not null || trigger.Unit is not null }.Count(f => f);
        if (forms != 1 || (trigger.IntervalSeconds is not null && trigger.Interval is not null))
        {
            errors.Add(prefix, "must have exactly one form: 'cron' (+ 'timeZone'), 'intervalSeconds' or 'interval', 'at', or 'every' + 'unit'.");
            return null;
        }

        var now = time.GetUtcNow();
        var startAt = ParseInstant(trigger.StartAt, $"{prefix}.startAt", errors);
        var endAt = ParseInstant(trigger.EndAt, $"{prefix}.endAt", errors);
        if (endAt is not null && endAt <= (startAt ?? now))
        {
            errors.Add($"{prefix}.endAt", startAt is null ? "must be in the future." : "must be after startAt.");
        }

        if (trigger.MaxRuns is { } maxRuns && (maxRuns < 1 || maxRuns > MaxRunsLimit))
        {
            errors.Add($"{prefix}.maxRuns", $"must be between 1 and {MaxRunsLimit}.");
        }

        if (trigger.Cron is not null)
        {
            var zone = ParseZone(trigger.TimeZone, $"{prefix}.timeZone", errors);
            if (!TryParseCron(trigger.Cron, zone ?? TimeZoneInfo.Utc, out var reason))
            {
                errors.Add($"{prefix}.cron", reason!);
                return null;
            }

            var next = new CronExpression(trigger.Cron, zone ?? TimeZoneInfo.Utc).GetNextValidTimeAfter(startAt ?? now);
            if (next is null || (endAt is not null && next > endAt))
            {
                errors.Add($"{prefix}.cron", "never fires after the start time (check the year field and endAt).");
            }

            return zone is null ? null : new CronTriggerSpec(trigger.Cron, zone, startAt, endAt, trigger.MaxRuns);
        }

        if (trigger.TimeZone is not null && trigger.Every is null)
        {
            errors.Add($"{prefix}.timeZone", "applies only to 'cron' and 'every' triggers.");
        }

        if (trigger.IntervalSeconds is not null || trigger.Interval is not null)
        {
            TimeSpan interval;
            if (trigger.IntervalSeconds is { } seconds)
            {
                if (seconds is < 1 or > 31_536_000)
                {
                    errors.Add($"{prefix}.intervalSeconds", "must be between 1 and 31536000 (one year).");
                    return null;
                }

                interval = TimeSpan.FromSeconds(seconds);
            }
            else
            {
                try
                {
                    interval = XmlConvert.ToTimeSpan(trigger.Interval!);
                }
                catch (FormatException)
                {
                    errors.Add($"{prefix}.interval", $"'{Truncate(trigger.Interval!)}' is not an ISO-8601 duration such as PT30S, PT5M or P1D.");
                    return null;
                }
                catch (OverflowException)
                {
                    // "P1000000000D" is a well-formed duration that no TimeSpan holds: too long, like any other beyond the cap.
                    errors.Add($"{prefix}.interval", "must be whole seconds between PT1S and P365D.");
                    return null;
                }

                if (interval < TimeSpan.FromSeconds(1) || interval > TimeSpan.FromDays(365) || interval.Ticks % TimeSpan.TicksPerSecond != 0)
                {
                    errors.Add($"{prefix}.interval", "must be whole seconds between PT1S and P365D.");
                    return null;
                }
            }

            return new IntervalTriggerSpec(interval, startAt, endAt, trigger.MaxRuns);
        }

        if (trigger.At is not null)
        {
            var at = ParseInstant(trigger.At, $"{prefix}.at", errors);
            if (trigger.StartAt is not null || trigger.EndAt is not null || trigger.MaxRuns is not null)
            {
                errors.Add($"{prefix}.at", "a one-time trigger takes no startAt, endAt or maxRuns.");
            }

            if (at is not null && at <= now && misfire == MisfirePolicy.Skip)
            {
                errors.Add($"{prefix}.at", $"{at:O} is in the past and misfire.policy is 'skip', so it would never run; use a future time or misfire.policy 'fire_once'.");
            }

            return at is null ? null : new OnceTriggerSpec(at.Value);
        }

        var zoneForCalendar = ParseZone(trigger.TimeZone, $"{prefix}.timeZone", errors);
        if (trigger.Every is not { } every || every < 1 || every > 1000)
        {
            errors.Add($"{prefix}.every", "must be a whole number between 1 and 1000.");
            return null;
        }

        if (!TryParseUnit(trigger.Unit, out var unit))
        {
            errors.Add($"{prefix}.unit", $"'{trigger.Unit}' is not a unit; use second, minute, hour, day, week, month or year.");
            return null;
        }

        return zoneForCalendar is null ? null : new CalendarTriggerSpec(every, unit, zoneForCalendar, startAt, endAt, trigger.MaxRuns);
    }

    private static RetrySpec? ValidateRetry(RetryRequest? retry, FieldErrors errors)
    {
        if (retry is null)
        {
            return null;
        }

        var attempts = retry.MaxAttempts ?? 3;
        if (attempts is < 1 or > RetrySpec.MaxAttemptsLimit)
        {
            errors.Add("retry.maxAttempts", $"must be between 1 and {RetrySpec.MaxAttemptsLimit} (1 means no retry).");
        }

        var exponential = true;
        switch (retry.Backoff)
        {
            case null or "exponential":
                break;
            case "fixed":
                exponential = false;
                break;
            default:
                errors.Add("retry.backoff", $"'{retry.Backoff}' is not a backoff; use 'fixed' or 'exponential'.");
                break;
        }

        var initial = retry.InitialDelaySeconds ?? 10;
        if (initial is < 0 or > 86_400)
        {
            errors.Add("retry.initialDelaySeconds", "must be between 0 and 86400.");
        }

        if (retry.MaxDelaySeconds is { } max && (max < initial || max > 7 * 86_400))
        {
            errors.Add("retry.maxDelaySeconds", "must be at least initialDelaySeconds and at most 604800.");
        }

        return new RetrySpec(attempts, exponential, TimeSpan.FromSeconds(initial), retry.MaxDelaySeconds is { } m ? TimeSpan.FromSeconds(m) : null);
    }

    public static bool TryParseCron(string expression, TimeZoneInfo zone, out string? reason)
    {
        reason = null;
        if (expression.Length > 200)
        {
            reason = "is longer than 200 characters.";
            return false;
        }

        var fields = expression.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length;
        if (fields is < 6 or > 7)
        {
            reason = $"'{expression}' has {fields} fields; a Quartz cron expression has 6 or 7: second minute hour day-of-month month day-of-week [year], e.g. '0 30 9 ? * MON-FRI'.";
            return false;
        }

        try
        {
            _ = new CronExpression(expression, zone);
            return true;
        }
        catch (FormatException ex)
        {
            reason = $"'{expression}' is not a valid Quartz cron expression: {ex.Message}";
            return false;
        }
    }

    public static TimeZoneInfo? ParseZone(string? id, string field, FieldErrors errors)
    {
        if (id is null)
        {
            return TimeZoneInfo.Utc;
        }

        TimeZoneInfo zone;
        try
        {
            zone = id.Length is > 0 and <= 64 ? TimeZoneInfo.FindSystemTimeZoneById(id) : throw new TimeZoneNotFoundException();
        }
        catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            errors.Add(field, NotAnIanaId(id, "a known IANA time zone"));
            return null;
        }

        // The lookup goes through the file system and the case-insensitive zone list: it finds "Europe//Paris",
        // "europe/paris", "posix/Europe/Paris" or a Windows id too, and the schedule would then store (and show) a name
        // that is not the zone's. Only the IANA id itself, spelled as the zone database spells it, is accepted.
        if (!zone.HasIanaId)
        {
            errors.Add(field, TimeZoneInfo.TryConvertWindowsIdToIanaId(id, out var iana)
                ? $"'{id}' is a Windows time zone id; use the IANA id '{iana}'."
                : NotAnIanaId(id, "an IANA time zone id"));
            return null;
        }

        if (!string.Equals(zone.Id, id, StringComparison.Ordinal) || !IsIanaName(zone.Id))
        {
            errors.Add(field, NotAnIanaId(id, "an IANA time zone id"));
            return null;
        }

        return zone;
    }

    /// <summary>
    /// The refusal of a zone spelling, with the id to use whenever one can be derived from it (repeated slashes
    /// collapsed, a <c>posix/</c> or <c>right/</c> prefix removed, letter case ignored); the generic examples otherwise.
    /// </summary>
    private static string NotAnIanaId(string id, string what) => CanonicalZoneIdFor(id) is { } canonical
        ? $"'{Truncate(id)}' is not spelled as the IANA id; use '{canonical}'."
        : $"'{Truncate(id)}' is not {what} (e.g. 'Europe/Paris', 'America/New_York', 'UTC').";

    internal static string? CanonicalZoneIdFor(string id)
    {
        if (id.Length is 0 or > 128)
        {
            return null;
        }

        var candidate = RepeatedSlashes().Replace(id.Trim(), "/").Trim('/');
        foreach (var prefix in (string[])["posix/", "right/"])
        {
            if (candidate.StartsWith(prefix, StringComparison.OrdinalIgnoreCase))
            {
                candidate = candidate[prefix.Length..];
            }
        }

        if (candidate.Length == 0 || candidate.Length > 64)
        {
            return null;
        }

        if (TimeZoneInfo.GetSystemTimeZones().FirstOrDefault(z => string.Equals(z.Id, candidate, StringComparison.OrdinalIgnoreCase)) is { } listed
            && IsIanaName(listed.Id))
        {
            return listed.Id;
        }

        // A link ('US/Eastern') is not in the zone list; the lookup finds it as spelled (the file system is case-sensitive).
        try
        {
            var zone = TimeZoneInfo.FindSystemTimeZoneById(candidate);
            return zone.HasIanaId && string.Equals(zone.Id, candidate, StringComparison.Ordinal) && IsIanaName(zone.Id) ? zone.Id : null;
        }
        catch (Exception ex) when (ex is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            return null;
        }
    }

    [GeneratedRegex("/{2,}", RegexOptions.CultureInvariant)]
    private static partial Regex RepeatedSlashes();

    /// <summary>
    /// A name of the IANA database (a zone or one of its links, such as 'US/Eastern'), not merely a file under the
    /// zoneinfo directory ('Europe//Paris', 'posix/Europe/Paris', 'localtime').
    /// </summary>
    private static bool IsIanaName(string id) =>
        ZoneIdPattern().IsMatch(id)
        && !id.StartsWith("posix/", StringComparison.Ordinal) && !id.StartsWith("right/", StringComparison.Ordinal) && id is not ("localtime" or "posixrules")
        // ICU knows every zone and link with a Windows equivalent; the few without one (Antarctica/Troll) are in the zone list.
        && (TimeZoneInfo.TryConvertIanaIdToWindowsId(id, out _) || TimeZoneInfo.GetSystemTimeZones().Any(z => string.Equals(z.Id, id, StringComparison.Ordinal)));

    /// <summary>The earliest and latest instants a trigger may name: outside them Quartz's arithmetic overflows or never fires.</summary>
    public static readonly DateTimeOffset EarliestInstant = new(1970, 1, 1, 0, 0, 0, TimeSpan.Zero);

    public static readonly DateTimeOffset LatestInstant = new(2999, 12, 31, 23, 59, 59, TimeSpan.Zero);

    public static DateTimeOffset? ParseInstant(string? text, string field, FieldErrors errors)
    {
        if (text is null)
        {
            return null;
        }

        if (!OffsetSuffix().IsMatch(text) || !DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.None, out var value))
        {
            errors.Add(field, $"'{Truncate(text)}' is not an ISO-8601 time with an offset, e.g. 2026-12-01T09:00:00Z or 2026-12-01T10:00:00+01:00.");
            return null;
        }

        if (value < EarliestInstant || value > LatestInstant)
        {
            errors.Add(field, $"'{Truncate(text)}' is out of range: a time between {EarliestInstant:yyyy-MM-dd'T'HH:mm:ss'Z'} and {LatestInstant:yyyy-MM-dd'T'HH:mm:ss'Z'}.");
            return null;
        }

        return value.ToUniversalTime();
    }

    private static bool TryParseUnit(string? text, out IntervalUnit unit)
    {
        unit = text?.TrimEnd('s') switch
        {
            "second" => IntervalUnit.Second,
            "minute" => IntervalUnit.Minute,
            "hour" => IntervalUnit.Hour,
            "day" => IntervalUnit.Day,
            "week" => IntervalUnit.Week,
            "month" => IntervalUnit.Month,
            "year" => IntervalUnit.Year,
            _ => (IntervalUnit)(-1),
        };
        return (int)unit >= 0;
    }

    private static string Truncate(string text) => text.Length > 60 ? text[..60] + "…" : text;

    /// <summary>Whether <paramref name="name"/> is a valid schedule name (the action dry run checks its sample name with it).</summary>
    public static bool IsName(string name) => NamePattern().IsMatch(name);

    [GeneratedRegex("^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$", RegexOptions.CultureInvariant)]
    private static partial Regex NamePattern();

    [GeneratedRegex("^[A-Za-z0-9:_.-]{1,200}$", RegexOptions.CultureInvariant)]
    private static partial Regex GroupPattern();

    // Area/Location[/Sub] as the zone database writes them: no empty, '.' or '..' segments, no leading or trailing '/'.
    [GeneratedRegex(@"^[A-Za-z][A-Za-z0-9_+-]*(/[A-Za-z0-9_+-]+){0,2}$", RegexOptions.CultureInvariant)]
    private static partial Regex ZoneIdPattern();

    [GeneratedRegex(@"T.*(Z|[+-]\d{2}:?\d{2})$", RegexOptions.CultureInvariant)]
    private static partial Regex OffsetSuffix();
}
