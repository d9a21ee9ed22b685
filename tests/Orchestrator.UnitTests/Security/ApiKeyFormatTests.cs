using Orchestrator.Security;

namespace Orchestrator.UnitTests.Security;

public sealed class ApiKeyFormatTests
{
    [Test]
    public void A_well_formed_key_splits_into_its_lookup_prefix()
    {
        var key = "orch_0123abcd_" + new string('A', 43);
        Assert.That(ApiKeyStore.TrySplit(key, out var prefix), Is.True);
        Assert.That(prefix, Is.EqualTo("orch_0123abcd"));
    }

    [TestCase("")]
    [TestCase("orch_0123abcd")]
    [TestCase("xxxx_0123abcd_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [TestCase("orch_0123abcd-AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [TestCase("orch_0123abcd_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    public void Anything_else_is_not_a_key(string presented)
    {
        Assert.That(ApiKeyStore.TrySplit(presented, out _), Is.False);
    }

    [Test]
    public void The_stored_hash_is_sha256_hex_and_differs_for_one_changed_character()
    {
        var a = ApiKeyStore.Hash("orch_0123abcd_" + new string('A', 43));
        var b = ApiKeyStore.Hash("orch_0123abcd_" + new string('A', 42) + "B");
        Assert.That(a, Has.Length.EqualTo(64).And.Match("^[0-9a-f]+$"));
        Assert.That(a, Is.Not.EqualTo(b));
    }

    [TestCase("admin", ApiRole.Admin)]
    [TestCase("Operator", ApiRole.Operator)]
    [TestCase("VIEWER", ApiRole.Viewer)]
    public void Roles_parse_case_insensitively(string text, ApiRole expected)
    {
        Assert.That(SecurityServiceCollectionExtensions.TryParseRole(text, out var role), Is.True);
        Assert.That(role, Is.EqualTo(expected));
    }

    [TestCase("root")]
    [TestCase("2")]
    [TestCase(null)]
    public void Unknown_roles_and_numbers_are_refused(string? text)
    {
        Assert.That(SecurityServiceCollectionExtensions.TryParseRole(text, out _), Is.False);
    }
}
