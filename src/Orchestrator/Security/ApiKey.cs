namespace Orchestrator.Security;

/// <summary>An API key as stored: only a lookup prefix and a SHA-256 hash, never the key itself.</summary>
public sealed class ApiKey
{
    public Guid Id { get; set; }

    public required string Name { get; set; }

    /// <summary>The public part of the key (<c>orch_xxxxxxxx</c>), used to find the row without scanning.</summary>
    public required string Prefix { get; set; }

    /// <summary>Hex SHA-256 of the whole key. Keys carry 256 bits of entropy, so a fast hash is enough.</summary>
    public required string Hash { get; set; }

    public ApiRole Role { get; set; }

    /// <summary>
    /// The projects the key is confined to, comma-separated (project ids are slugs, so a comma never occurs in one);
    /// null for a key that sees every project. Read it through <see cref="ProjectList"/>.
    /// </summary>
    public string? Projects { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>After this instant the key is refused (401, saying it expired); null for a key that does not expire.</summary>
    public DateTimeOffset? ExpiresAt { get; set; }

    /// <summary>When the key last authenticated a request, to within <see cref="ApiKeyStore.LastUsedResolution"/>.</summary>
    public DateTimeOffset? LastUsedAt { get; set; }

    public DateTimeOffset? RevokedAt { get; set; }

    /// <summary>The projects as a list, or null for an unscoped key.</summary>
    public IReadOnlyList<string>? ProjectList => Projects is null ? null : Projects.Split(',', StringSplitOptions.RemoveEmptyEntries);

    public bool IsExpired(DateTimeOffset now) => ExpiresAt is { } expires && expires <= now;
}

/// <summary>Roles are ordered: an admin can do what an operator can, an operator what a viewer can.</summary>
public enum ApiRole
{
    Viewer = 0,
    Operator = 1,
    Admin = 2,
}
