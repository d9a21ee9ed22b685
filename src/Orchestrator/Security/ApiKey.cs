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

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset? RevokedAt { get; set; }
}

/// <summary>Roles are ordered: an admin can do what an operator can, an operator what a viewer can.</summary>
public enum ApiRole
{
    Viewer = 0,
    Operator = 1,
    Admin = 2,
}
