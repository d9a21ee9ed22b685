using System.Security.Cryptography;
using System.Text;
using Microsoft.EntityFrameworkCore;
using Orchestrator.Data;

namespace Orchestrator.Security;

/// <summary>Issues and checks API keys. A key is <c>orch_&lt;8 hex&gt;_&lt;43 base64url&gt;</c>; only its prefix and hash are stored.</summary>
public sealed class ApiKeyStore(OrchestratorDbContext db, TimeProvider time)
{
    public const string BootstrapKeyName = "bootstrap-admin";
    private const string KeyTag = "orch_";

    /// <summary>Creates a key and returns its plain text, which exists only in this return value.</summary>
    public async Task<(ApiKey Key, string PlainText)> CreateAsync(string name, ApiRole role, CancellationToken cancellationToken)
    {
        var prefix = KeyTag + Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(4));
        var secret = Base64UrlEncode(RandomNumberGenerator.GetBytes(32));
        var plain = $"{prefix}_{secret}";
        var key = new ApiKey
        {
            Id = Guid.CreateVersion7(time.GetUtcNow()),
            Name = name,
            Prefix = prefix,
            Hash = Hash(plain),
            Role = role,
            CreatedAt = time.GetUtcNow(),
        };
        db.ApiKeys.Add(key);
        await db.SaveChangesAsync(cancellationToken);
        return (key, plain);
    }

    public async Task<ApiKey?> FindAsync(string presented, CancellationToken cancellationToken)
    {
        if (!TrySplit(presented, out var prefix))
        {
            return null;
        }

        var key = await db.ApiKeys.AsNoTracking().FirstOrDefaultAsync(k => k.Prefix == prefix, cancellationToken);
        if (key is null || key.RevokedAt is not null)
        {
            return null;
        }

        var expected = Convert.FromHexString(key.Hash);
        var actual = SHA256.HashData(Encoding.UTF8.GetBytes(presented));
        return CryptographicOperations.FixedTimeEquals(expected, actual) ? key : null;
    }

    public Task<bool> AnyAsync(CancellationToken cancellationToken) => db.ApiKeys.AnyAsync(cancellationToken);

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
