using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;
using Orchestrator.Hosting;

namespace Orchestrator.Actions.Notifications;

/// <summary>
/// Encrypts channel secrets at rest with AES-256-GCM under <c>Orchestrator:Encryption:Key</c>, a key every node of a
/// cluster is configured with (so any node can read what another wrote). Each value carries the id of the key that
/// sealed it, so a key can be rotated: the new key seals, <c>Encryption:PreviousKeys</c> still open. The channel's
/// name is bound in as associated data, so a sealed value copied to another channel does not open. Without a key,
/// values are stored as they are (and the server says so at start).
/// </summary>
public sealed partial class SecretBox(IOptionsMonitor<OrchestratorOptions> options, ILogger<SecretBox> logger)
{
    private const string Prefix = "enc:v1:";

    public bool Encrypting => options.CurrentValue.Encryption.Key is not null;

    /// <summary>Says at start whether channel secrets are encrypted at rest, so an operator is not surprised either way.</summary>
    public void ReportMode()
    {
        if (Encrypting)
        {
            LogEncrypting(logger);
        }
        else
        {
            LogPlaintext(logger);
        }
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Channel secrets are encrypted at rest (Orchestrator:Encryption:Key)")]
    private static partial void LogEncrypting(ILogger logger);

    [LoggerMessage(Level = LogLevel.Warning, Message = "Channel secrets are stored unencrypted: set Orchestrator:Encryption:Key (base64 of 32 random bytes, the same on every node) to encrypt them at rest")]
    private static partial void LogPlaintext(ILogger logger);

    public string Seal(string plaintext, string context)
    {
        if (options.CurrentValue.Encryption.Key is not { } keyText)
        {
            return plaintext;
        }

        var key = Convert.FromBase64String(keyText);
        var nonce = RandomNumberGenerator.GetBytes(AesGcm.NonceByteSizes.MaxSize);
        var data = Encoding.UTF8.GetBytes(plaintext);
        var sealedData = new byte[data.Length];
        var tag = new byte[AesGcm.TagByteSizes.MaxSize];
        using (var aes = new AesGcm(key, tag.Length))
        {
            aes.Encrypt(nonce, data, sealedData, tag, Encoding.UTF8.GetBytes(context));
        }

        return $"{Prefix}{KeyId(key)}:{Convert.ToBase64String([.. nonce, .. tag, .. sealedData])}";
    }

    public string Open(string stored, string context)
    {
        if (!stored.StartsWith(Prefix, StringComparison.Ordinal))
        {
            // Written before a key was configured: plain JSON.
            return stored;
        }

        var parts = stored[Prefix.Length..].Split(':', 2);
        var settings = options.CurrentValue.Encryption;
        var key = new[] { settings.Key }.Concat(settings.PreviousKeys).Where(k => k is not null).Select(k => Convert.FromBase64String(k!))
            .FirstOrDefault(k => KeyId(k) == parts[0])
            ?? throw new CryptographicException($"a channel secret was sealed with key {parts[0]}, which is neither Orchestrator:Encryption:Key nor one of Encryption:PreviousKeys.");
        var blob = Convert.FromBase64String(parts[1]);
        var nonceSize = AesGcm.NonceByteSizes.MaxSize;
        var tagSize = AesGcm.TagByteSizes.MaxSize;
        var plaintext = new byte[blob.Length - nonceSize - tagSize];
        using var aes = new AesGcm(key, tagSize);
        aes.Decrypt(blob.AsSpan(0, nonceSize), blob.AsSpan(nonceSize + tagSize), blob.AsSpan(nonceSize, tagSize), plaintext, Encoding.UTF8.GetBytes(context));
        return Encoding.UTF8.GetString(plaintext);
    }

    /// <summary>A short, public fingerprint of a key: which key sealed a value, without revealing the key.</summary>
    private static string KeyId(byte[] key) => Convert.ToHexStringLower(SHA256.HashData(key))[..8];
}
