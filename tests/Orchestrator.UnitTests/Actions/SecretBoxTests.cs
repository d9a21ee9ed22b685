using System.Security.Cryptography;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Orchestrator.Actions.Notifications;
using Orchestrator.Hosting;

namespace Orchestrator.UnitTests.Actions;

public sealed class SecretBoxTests
{
    private static readonly string KeyA = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));
    private static readonly string KeyB = Convert.ToBase64String(RandomNumberGenerator.GetBytes(32));

    private sealed class Settings(OrchestratorOptions value) : IOptionsMonitor<OrchestratorOptions>
    {
        public OrchestratorOptions CurrentValue => value;

        public OrchestratorOptions Get(string? name) => value;

        public IDisposable? OnChange(Action<OrchestratorOptions, string?> listener) => null;
    }

    private static SecretBox Box(string? key, params string[] previous) =>
        new(new Settings(new OrchestratorOptions { Encryption = new EncryptionOptions { Key = key, PreviousKeys = [.. previous] } }), NullLogger<SecretBox>.Instance);

    [Test]
    public void A_sealed_value_hides_the_secret_and_opens_for_its_channel()
    {
        var sealedValue = Box(KeyA).Seal("""{"password":"hunter2"}""", "ops-mail");
        Assert.That(sealedValue, Does.StartWith("enc:v1:").And.Not.Contain("hunter2"));
        Assert.That(Box(KeyA).Open(sealedValue, "ops-mail"), Is.EqualTo("""{"password":"hunter2"}"""));
        Assert.That(Box(KeyA).Seal("same", "c"), Is.Not.EqualTo(Box(KeyA).Seal("same", "c")), "a fresh nonce every time");
    }

    [Test]
    public void A_value_copied_to_another_channel_or_tampered_with_does_not_open()
    {
        var sealedValue = Box(KeyA).Seal("secret", "one");
        Assert.That(() => Box(KeyA).Open(sealedValue, "two"), Throws.InstanceOf<CryptographicException>());
        var cut = sealedValue.LastIndexOf(':');
        var payload = Convert.FromBase64String(sealedValue[(cut + 1)..]);
        payload[^1] ^= 0x01; // one bit of the ciphertext
        Assert.That(() => Box(KeyA).Open(sealedValue[..(cut + 1)] + Convert.ToBase64String(payload), "one"), Throws.InstanceOf<CryptographicException>());
    }

    [Test]
    public void After_a_rotation_the_previous_key_still_opens_and_an_unknown_key_is_named()
    {
        var old = Box(KeyA).Seal("secret", "c");
        Assert.That(Box(KeyB, KeyA).Open(old, "c"), Is.EqualTo("secret"));
        var ex = Assert.Throws<CryptographicException>(() => Box(KeyB).Open(old, "c"));
        Assert.That(ex!.Message, Does.Contain("PreviousKeys"));
    }

    [Test]
    public void Without_a_key_values_pass_through_and_plaintext_from_before_a_key_still_reads()
    {
        Assert.That(Box(null).Seal("{}", "c"), Is.EqualTo("{}"));
        Assert.That(Box(KeyA).Open("""{"password":null}""", "c"), Is.EqualTo("""{"password":null}"""));
    }

    [TestCase("short")]
    [TestCase("not base64 at all!")]
    public void A_key_that_is_not_32_bytes_of_base64_stops_start_up_without_echoing_it(string key)
    {
        var failures = OrchestratorOptionsValidator.Check(new OrchestratorOptions { Encryption = new EncryptionOptions { Key = key } });
        Assert.That(failures, Has.Some.Contains("Encryption:Key"));
        Assert.That(failures, Has.None.Contains(key));
    }
}
