using Orchestrator.Actions.CallApi;

namespace Orchestrator.UnitTests.Actions;

public sealed class SecretMaskTests
{
    private const string Secret = "tok-9f3b2c7d-41e8-4a6b-b0c2-5d7e8f9a1b2c-ends";

    [Test]
    public void A_whole_secret_is_masked_wherever_it_appears()
    {
        Assert.That(SecretMask.Redact($"a {Secret} b {Secret}", [Secret]), Is.EqualTo("a *** b ***"));
    }

    [Test]
    public void A_secret_cut_off_at_the_end_of_a_text_is_masked_down_to_four_characters()
    {
        Assert.That(SecretMask.Redact("Bearer " + Secret[..24], [Secret]), Is.EqualTo("Bearer ***"));
        Assert.That(SecretMask.Redact("Bearer " + Secret[..5], [Secret]), Is.EqualTo("Bearer ***"));
        Assert.That(SecretMask.Redact("Bearer " + Secret[..4], [Secret]), Is.EqualTo("Bearer ***"));
    }

    [Test]
    public void A_fragment_of_eight_or_more_characters_is_masked_anywhere_in_a_text()
    {
        var text = $"x{Secret[10..18]}y {Secret[20..40]} z";
        Assert.That(SecretMask.Redact(text, [Secret]), Is.EqualTo("x***y *** z"));
    }

    [Test]
    public void A_json_escaped_or_url_encoded_secret_is_masked()
    {
        const string secret = "p+ss/w\"rd<1>&more";
        var json = System.Text.Json.JsonSerializer.Serialize(new { secret });
        Assert.That(SecretMask.Redact(json, [secret]), Is.EqualTo("""{"secret":"***"}"""));
        Assert.That(SecretMask.Redact("q=" + Uri.EscapeDataString(secret) + "&n=1", [secret]), Is.EqualTo("q=***&n=1"));
    }

    [Test]
    public void Text_without_a_piece_of_a_secret_and_values_too_short_to_mask_are_left_alone()
    {
        const string text = """{"status":"ok","items":[1,2,3]}""";
        Assert.That(SecretMask.Redact(text, [Secret]), Is.SameAs(text));
        Assert.That(SecretMask.Redact("a ok b", ["ok"]), Is.EqualTo("a ok b"));
        Assert.That(SecretMask.Redact("short tok-9f3 end", [Secret]), Is.EqualTo("short tok-9f3 end"), "seven characters inside a text are not a fragment");
    }
}
