using System.Globalization;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Orchestrator.Api;
using Orchestrator.Data;

namespace Orchestrator.Audit;

/// <summary>The filters of <c>GET /api/audit</c>, as given.</summary>
public sealed record AuditQuery(string? Actor, string? Resource, string? Action, string? Project, string? From, string? To, string? Cursor, int? PageSize);

/// <summary>One audit entry as the API shows it; before and after are JSON (secrets already redacted when recorded).</summary>
public sealed record AuditEntryResponse(
    long Id,
    DateTimeOffset At,
    AuditActorView Actor,
    string Source,
    string? ClientAddress,
    string Action,
    string ResourceType,
    string ResourceId,
    string? Project,
    JsonElement? Before,
    JsonElement? After,
    string? Reason)
{
    public static AuditEntryResponse From(AuditEntry e) => new(
        e.Id, e.At, new AuditActorView(e.ActorKeyId, e.Actor), e.Source, e.ClientAddress, e.Action, e.ResourceType, e.ResourceId, e.Project,
        Parse(e.Before), Parse(e.After), e.Reason);

    private static JsonElement? Parse(string? json) => json is null ? null : JsonDocument.Parse(json).RootElement.Clone();
}

/// <summary>Who made a change: the API key (id and name), or <c>system</c>, or <c>schedule:{id}</c> for a run's tool (no key id).</summary>
public sealed record AuditActorView(Guid? KeyId, string Name);

/// <summary>
/// A page of the log, newest first. <see cref="NextCursor"/> is the cursor of the next (older) page, null on the last:
/// the order is by the entry's id, which is unique, so a page never repeats or skips an entry while new ones arrive.
/// </summary>
public sealed record AuditPage(IReadOnlyList<AuditEntryResponse> Items, int PageSize, string? NextCursor);

/// <summary>Reads the audit log: filters, newest first, cursor paging.</summary>
public sealed class AuditQueries(OrchestratorDbContext db)
{
    public async Task<Outcome<AuditPage>> ListAsync(AuditQuery query, CancellationToken ct)
    {
        var errors = new FieldErrors();
        var from = Instant(query.From, "from", errors);
        var to = Instant(query.To, "to", errors);
        var size = PagingRule.CursorOnly.Read(null, query.PageSize, errors, query.Cursor).Size;
        long? before = null;
        if (query.Cursor is { Length: > 0 } cursor)
        {
            if (long.TryParse(cursor, NumberStyles.None, CultureInfo.InvariantCulture, out var id) && id > 0)
            {
                before = id;
            }
            else
            {
                errors.Add("cursor", "is not a cursor this log gave out (use nextCursor from the previous page).");
            }
        }

        if (from is not null && to is not null && to <= from)
        {
            errors.Add("to", "must be after from.");
        }

        if (errors.Any)
        {
            return errors.ToProblemDetails();
        }

        var entries = db.Set<AuditEntry>().AsNoTracking();
        // A project that neither exists nor appears in the log is a typo, not a quiet project: 404, as the runs and
        // deadline lists answer. A deleted project's entries stay findable by its id.
        if (query.Project is { Length: > 0 } named
            && !(await db.Projects.AnyAsync(p => p.Id == named, ct) || await entries.AnyAsync(e => e.Project == named, ct)))
        {
            return Problems.NotFound("project", named);
        }

        if (!string.IsNullOrEmpty(query.Actor))
        {
            // A key's name, its id, or "system" / "schedule:{id}".
            var actor = query.Actor;
            entries = Guid.TryParse(actor, out var keyId) ? entries.Where(e => e.ActorKeyId == keyId) : entries.Where(e => e.Actor == actor);
        }

        if (!string.IsNullOrEmpty(query.Resource))
        {
            var colon = query.Resource.IndexOf(':', StringComparison.Ordinal);
            var type = colon < 0 ? query.Resource : query.Resource[..colon];
            entries = entries.Where(e => e.ResourceType == type);
            if (colon >= 0)
            {
                var id = query.Resource[(colon + 1)..];
                entries = entries.Where(e => e.ResourceId == id);
            }
        }

        if (!string.IsNullOrEmpty(query.Action))
        {
            // "schedule.*" is every schedule action; otherwise the action exactly.
            if (query.Action.EndsWith(".*", StringComparison.Ordinal))
            {
                var prefix = query.Action[..^1];
                entries = entries.Where(e => e.Action.StartsWith(prefix));
            }
            else
            {
                var action = query.Action;
                entries = entries.Where(e => e.Action == action);
            }
        }

        if (!string.IsNullOrEmpty(query.Project))
        {
            var project = query.Project;
            entries = entries.Where(e => e.Project == project);
        }

        if (from is { } f)
        {
            entries = entries.Where(e => e.At >= f);
        }

        if (to is { } t)
        {
            entries = entries.Where(e => e.At < t);
        }

        if (before is { } b)
        {
            entries = entries.Where(e => e.Id < b);
        }

        // One more than the page tells whether an older page exists.
        var rows = await entries.OrderByDescending(e => e.Id).Take(size + 1).ToListAsync(ct);
        var page = rows.Take(size).ToList();
        var next = rows.Count > size ? page[^1].Id.ToString(CultureInfo.InvariantCulture) : null;
        return new AuditPage([.. page.Select(AuditEntryResponse.From)], size, next);
    }

    private static DateTimeOffset? Instant(string? text, string field, FieldErrors errors)
    {
        if (string.IsNullOrEmpty(text))
        {
            return null;
        }

        if (DateTimeOffset.TryParse(text, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var value))
        {
            return value;
        }

        errors.Add(field, "must be an ISO 8601 instant, e.g. 2026-01-31T09:30:00Z.");
        return null;
    }
}
