using Microsoft.EntityFrameworkCore;
using Orchestrator.Api;
using Orchestrator.Audit;
using Orchestrator.Data;
using Orchestrator.Projects;
using Orchestrator.Schedules;

namespace Orchestrator.Security;

public sealed record KeyRequest(string? Name, string? Role, IReadOnlyList<string>? Projects, string? ExpiresAt);

/// <summary>A key as listed: never its secret or hash. <c>status</c> is active, expired or revoked.</summary>
public sealed record KeyResponse(
    Guid Id, string Prefix, string Name, string Role, IReadOnlyList<string>? Projects, string Status,
    DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt, DateTimeOffset? LastUsedAt, DateTimeOffset? RevokedAt)
{
    public static KeyResponse From(ApiKey k, DateTimeOffset now) => new(
        k.Id, k.Prefix, k.Name, EndpointRoles.Name(k.Role), k.ProjectList, StatusOf(k, now), k.CreatedAt, k.ExpiresAt, k.LastUsedAt, k.RevokedAt);

    private static string StatusOf(ApiKey k, DateTimeOffset now) =>
        k.RevokedAt is not null ? "revoked" : k.IsExpired(now) ? "expired" : "active";
}

/// <summary>A key just created: the listing's fields and, this once, the key itself.</summary>
public sealed record CreatedKeyResponse(
    Guid Id, string Prefix, string Name, string Role, IReadOnlyList<string>? Projects, DateTimeOffset CreatedAt, DateTimeOffset? ExpiresAt, string Key);

/// <summary>
/// The key use cases: list, create (the plain key is returned once and never stored), revoke. Revocation is read by
/// every node on the next request (<see cref="ApiKeyStore.CheckAsync"/> caches nothing).
/// </summary>
public sealed class KeyService(OrchestratorDbContext db, ApiKeyStore store, AuditLog audit, TimeProvider time)
{
    public const int MaxNameLength = 100;
    public const int MaxProjects = 50;

    public async Task<PagedList<KeyResponse>> ListAsync(Paging paging, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var total = await db.ApiKeys.CountAsync(ct);
        // Version 7 ids grow with creation time: newest first, and unique, so pages never skip or repeat a key.
        var items = await db.ApiKeys.AsNoTracking().OrderByDescending(k => k.Id).Skip(paging.Skip).Take(paging.Size).ToListAsync(ct);
        return new PagedList<KeyResponse>([.. items.Select(k => KeyResponse.From(k, now))], paging.Number, paging.Size, total);
    }

    public async Task<Outcome<CreatedKeyResponse>> CreateAsync(KeyRequest request, CancellationToken ct)
    {
        var errors = new FieldErrors();
        var name = request.Name?.Trim();
        if (string.IsNullOrEmpty(name))
        {
            errors.Add("name", "is required.");
        }
        else if (name.Length > MaxNameLength || name.Any(char.IsControl))
        {
            // A newline in a name would forge lines wherever the name is printed or logged.
            errors.Add("name", $"must be at most {MaxNameLength} printable characters.");
        }

        ApiRole role = default;
        if (request.Role is null)
        {
            errors.Add("role", "is required: admin, operator or viewer.");
        }
        else if (request.Role is not ("admin" or "operator" or "viewer") || !SecurityServiceCollectionExtensions.TryParseRole(request.Role, out role))
        {
            errors.Add("role", $"'{Truncate(request.Role)}' is not a role; use admin, operator or viewer.");
        }

        var projects = await CheckProjectsAsync(request.Projects, errors, ct);
        var expiresAt = ScheduleValidator.ParseInstant(request.ExpiresAt, "expiresAt", errors);
        if (expiresAt is { } expires && expires <= time.GetUtcNow())
        {
            errors.Add("expiresAt", "must be in the future.");
        }

        if (errors.Any)
        {
            return errors.ToProblemDetails();
        }

        if (await db.ApiKeys.AnyAsync(k => k.Name == name && k.RevokedAt == null, ct))
        {
            return DuplicateName(name!);
        }

        try
        {
            var (key, plain) = await store.CreateAsync(name!, role, projects, expiresAt, ct);
            // Who made which key, never the key: the plain text exists only in this answer.
            await audit.RecordAsync(new AuditChange("key.create", "key", key.Id.ToString(), null, null, Described(key)), ct);
            return new CreatedKeyResponse(key.Id, key.Prefix, key.Name, EndpointRoles.Name(key.Role), key.ProjectList, key.CreatedAt, key.ExpiresAt, plain);
        }
        catch (DbUpdateException)
        {
            // Lost a race with a concurrent create of the same name (the unique index among keys not revoked).
            return DuplicateName(name!);
        }
    }

    /// <summary>
    /// Revokes a key (it stays listed, with <c>revokedAt</c>); revoking one already revoked changes nothing. A key may not
    /// revoke itself when it is the last active admin key without projects: nobody could then manage keys at all.
    /// </summary>
    public async Task<Outcome<Guid>> RevokeAsync(Guid id, Guid? callerKeyId, CancellationToken ct)
    {
        var key = await db.ApiKeys.AsNoTracking().FirstOrDefaultAsync(k => k.Id == id, ct);
        if (key is null)
        {
            return Problems.NotFound("key", id.ToString());
        }

        if (key.RevokedAt is not null)
        {
            return id;
        }

        var now = time.GetUtcNow();
        if (id == callerKeyId && !await OtherClusterAdminExistsAsync(id, now, ct))
        {
            return Problems.Conflict(
                $"Key '{key.Name}' is the last active admin key without projects; create another admin key before revoking this one, or nobody could manage keys.");
        }

        if (await db.ApiKeys.Where(k => k.Id == id && k.RevokedAt == null).ExecuteUpdateAsync(s => s.SetProperty(k => k.RevokedAt, now), ct) > 0)
        {
            await audit.RecordAsync(new AuditChange("key.revoke", "key", id.ToString(), null, Described(key), Described(key) with { RevokedAt = now }), ct);
        }

        return id;
    }

    /// <summary>A key as the audit log keeps it: what it is and may do, never its secret or hash.</summary>
    internal static AuditedKey Described(ApiKey key) =>
        new(key.Name, key.Prefix, EndpointRoles.Name(key.Role), key.ProjectList, key.ExpiresAt, key.RevokedAt);

    internal sealed record AuditedKey(string Name, string Prefix, string Role, IReadOnlyList<string>? Projects, DateTimeOffset? ExpiresAt, DateTimeOffset? RevokedAt);

    private async Task<bool> OtherClusterAdminExistsAsync(Guid id, DateTimeOffset now, CancellationToken ct) =>
        await db.ApiKeys.AnyAsync(
            k => k.Id != id && k.Role == ApiRole.Admin && k.Projects == null && k.RevokedAt == null && (k.ExpiresAt == null || k.ExpiresAt > now), ct);

    private async Task<List<string>?> CheckProjectsAsync(IReadOnlyList<string>? requested, FieldErrors errors, CancellationToken ct)
    {
        if (requested is null)
        {
            return null;
        }

        if (requested.Count == 0)
        {
            // An empty list must not quietly mean "every project".
            errors.Add("projects", "must name at least one project; leave it out for a key that sees every project.");
            return null;
        }

        if (requested.Count > MaxProjects)
        {
            errors.Add("projects", $"must name at most {MaxProjects} projects.");
            return null;
        }

        var projects = requested.Distinct(StringComparer.Ordinal).ToList();
        var malformed = projects.Where(p => p is null || !ProjectService.IsSlug(p)).ToList();
        if (malformed.Count > 0)
        {
            errors.Add("projects", $"{string.Join(", ", malformed.Select(p => $"'{Truncate(p ?? "null")}'"))} is not a project id.");
            return null;
        }

        var known = await db.Projects.AsNoTracking().Where(p => projects.Contains(p.Id)).Select(p => p.Id).ToListAsync(ct);
        var unknown = projects.Except(known, StringComparer.Ordinal).ToList();
        if (unknown.Count > 0)
        {
            errors.Add("projects", $"no project with id {string.Join(", ", unknown.Select(p => $"'{p}'"))}.");
            return null;
        }

        return projects;
    }

    private static Microsoft.AspNetCore.Mvc.ProblemDetails DuplicateName(string name) =>
        Problems.Conflict($"A key named '{name}' that is not revoked (active or expired) already exists; choose another name or revoke that key first.", "name");

    private static string Truncate(string text) => text.Length <= 40 ? text : text[..40] + "…";
}
