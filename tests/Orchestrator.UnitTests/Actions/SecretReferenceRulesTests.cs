using Orchestrator.Actions.CallApi;

namespace Orchestrator.UnitTests.Actions;

public sealed class SecretReferenceRulesTests
{
    [TestCase("{{secret: TOKEN}}")]
    [TestCase("{{Secret:TOKEN}}")]
    [TestCase("{{SECRET:TOKEN}}")]
    [TestCase("{{secret:MY TOKEN}}")]
    [TestCase("{{secret:TOKEN}")]
    [TestCase("Bearer {{secret:TOKEN}} and {{ secret :OTHER}}")]
    [TestCase("{{secret:\0}}")]
    public void Text_that_reads_as_a_reference_but_is_not_one_is_malformed_where_secrets_are_accepted(string text)
    {
        Assert.That(SecretTemplates.ReferenceProblem(text, accepted: true), Is.EqualTo(SecretTemplates.Malformed));
        Assert.That(SecretTemplates.ReferenceProblem(text, accepted: false), Is.EqualTo(SecretTemplates.Misplaced));
    }

    [TestCase("{{secret:TOKEN}}")]
    [TestCase("Bearer {{secret:A.b-c_1}} {{secret:TOKEN}}")]
    [TestCase("no reference at all")]
    public void Well_formed_references_are_no_problem_where_secrets_are_accepted(string text)
    {
        Assert.That(SecretTemplates.ReferenceProblem(text, accepted: true), Is.Null);
    }

    [TestCase("{{secret:" + SecretTemplates.PlaceholderBreak + "}}", "{{secret:DB_PASSWORD}}")]
    [TestCase("{{secret:A" + SecretTemplates.PlaceholderBreak + "}}", "{{secret:A}}")]
    [TestCase(SecretTemplates.PlaceholderBreak + SecretTemplates.PlaceholderBreak, "{{secret:A}}")]
    [TestCase("{{secret:A}} " + SecretTemplates.PlaceholderBreak, "{{secret:A}} {{secret:B}}")]
    [TestCase("{{secret:A}}" + SecretTemplates.PlaceholderBreak, "{{secret:A")]
    public void Filled_in_values_that_form_or_change_a_reference_are_detected(string written, string filled)
    {
        Assert.That(SecretTemplates.FillingChangesReferences(written, filled), Is.True);
    }

    [Test]
    public void Filled_in_values_beside_the_written_references_change_nothing()
    {
        Assert.That(SecretTemplates.FillingChangesReferences("Bearer {{secret:A}} " + SecretTemplates.PlaceholderBreak, "Bearer {{secret:A}} tenant-1"), Is.False);
    }
}
