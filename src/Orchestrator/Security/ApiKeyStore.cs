using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Orchestrator.Data;

namespace Orchestrator.Security;

/// <summary>What checking a presented key found: the key, or why it is refused.</summary>
public sealed record KeyCheck(ApiKey? Key, string? Refusal)
{
    public static readonly KeyCheck Invalid = new(null, "The API key is not valid.");
}

/// <summary>Issues and checks API keys. A key is <c>orch_&lt;8 hex&gt;_&lt;43 base64url&gt;</c>; only its prefix and hash are stored.</summary>
public sealed class ApiKeyStore(OrchestratorDbContext db, TimeProvider time)
{
    public const string BootstrapKeyName = "bootstrap-admin";

    /// <summary>
    /// A key's <see cref="ApiKey.LastUsedAt"/> is written at most this often: a key polled several times a second would
    /// otherwise cost a database write per request, and "last used" is read by people, who need minutes, not milliseconds.
    /// </summary>
    public static readonly TimeSpan LastUsedResolution = TimeSpan.FromMinutes(1);

    private const string KeyTag = "orch_";

    /// <summary>Creates an unscoped key that does not expire (the first-start bootstrap and the command line).</summary>
    public Task<(ApiKey Key, string PlainText)> CreateAsync(string name, ApiRole role, CancellationToken cancellationToken) =>
        CreateAsync(name, role, null, null, cancellationToken);

    /// <summary>Creates a key and returns its plain text, which exists only in this return value.</summary>
    public async Task<(ApiKey Key, string PlainText)> CreateAsync(
        string name, ApiRole role, IReadOnlyCollection<string>? projects, DateTimeOffset? expiresAt, CancellationToken cancellationToken)
    {
        var prefix = KeyTag + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
        var secret = Base64UrlEncode(RandomNumberGenerator.GetBytes(32));
        var plain = $"{prefix}_{secret}";
        var now = time.GetUtcNow();
        var key = new ApiKey
        {
            Id = Guid.CreateVersion7(now),
            Name = name,
            Prefix = prefix,
            Hash = Hash(plain),
            Role = role,
            Projects = projects is null ? null : string.Join(',', projects),
            CreatedAt = now,
            ExpiresAt = expiresAt,
        };
        db.ApiKeys.Add(key);
        await db.SaveChangesAsync(cancellationToken);
        return (key, plain);
    }

    /// <summary>
    /// Checks a presented key against the database on every request, so a revocation is refused at once on every node
    /// (no node caches a key). A revoked or expired key is refused with a reason that says so (to the holder of the whole key only); anything else is just "not valid".
    /// </summary>
    public async Task<KeyCheck> CheckAsync(string presented, CancellationToken cancellationToken)
    {
        if (!TrySplit(presented, out var prefix))
        {
            return KeyCheck.Invalid;
        }

        var key = await db.ApiKeys.AsNoTracking().FirstOrDefaultAsync(k => k.Prefix == prefix, cancellationToken);
        if (key is null)
        {
            return KeyCheck.Invalid;
        }

        var expected = Convert.FromHexString(key.Hash);
        var actual = SHA256.HashData(Encoding.UTF8.GetBytes(presented));
        if (!CryptographicOperations.FixedTimeEquals(expected, actual))
        {
            return KeyCheck.Invalid;
        }

        // Only the holder of the whole key learns that it was revoked or expired; a guess at a prefix learns nothing.
        if (key.RevokedAt is { } revoked)
        {
            return new KeyCheck(null, $"The API key '{key.Name}' was revoked at {revoked:yyyy-MM-dd'T'HH:mm:ss'Z'}; ask an admin for a new one.");
        }

        var now = time.GetUtcNow();
        if (key.IsExpired(now))
        {
            return new KeyCheck(null, $"The API key '{key.Name}' expired at {key.ExpiresAt:yyyy-MM-dd'T'HH:mm:ss'Z'}; ask an admin for a new one.");
        }

        await TouchAsync(key, now, cancellationToken);
        return new KeyCheck(key, null);
    }

    public Task<bool> AnyAsync(CancellationToken cancellationToken) => db.ApiKeys.AnyAsync(cancellationToken);

    /// <summary>
    /// Records the use, unless the stored time is recent enough. The update is conditional, so nodes racing on the same
    /// busy key write it once between them, not once each.
    /// </summary>
    private async Task TouchAsync(ApiKey key, DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (key.LastUsedAt is { } last && now - last < LastUsedResolution)
        {
            return;
        }

        var staleBefore = now - LastUsedResolution;
        await db.ApiKeys
            .Where(k => k.Id == key.Id && (k.LastUsedAt == null || k.LastUsedAt < staleBefore))
            .ExecuteUpdateAsync(s => s.SetProperty(k => k.LastUsedAt, now), cancellationToken);
        key.LastUsedAt = now;
    }

    internal static string Hash(string plain) => Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(plain)));

    internal static bool TrySplit(string presented, out string prefix)
    {
        prefix = "";
        // orch_ + 8 hex + _ + 43 base64url characters
        if (presented.Length != 57 || !presented.StartsWith(KeyTag, StringComparison.Ordinal) || presented[13] != '_')
        {
            return false;
        }

        prefix = presented[..13];
        return true;
    }

    private static string Base64UrlEncode(byte[] bytes) =>
        Convert.ToBase64String(bytes).TrimEnd('=').Replace('+', '-').Replace('/', '_');
}
