using Orchestrator.Projects;

namespace Orchestrator.UnitTests.Projects;

public sealed class ProjectRulesTests
{
    [TestCase("default")]
    [TestCase("a")]
    [TestCase("nightly-reports-2")]
    public void Slugs_are_accepted(string id) => Assert.That(ProjectService.IsSlug(id), Is.True);

    [TestCase("")]
    [TestCase("-lead")]
    [TestCase("trail-")]
    [TestCase("Upper")]
    [TestCase("dot.ted")]
    [TestCase("../up")]
    [TestCase("space d")]
    public void Non_slugs_are_refused(string id) => Assert.That(ProjectService.IsSlug(id), Is.False);

    [Test]
    public void Long_slug_boundary_is_63_characters()
    {
        Assert.That(ProjectService.IsSlug(new string('a', 63)), Is.True);
        Assert.That(ProjectService.IsSlug(new string('a', 64)), Is.False);
    }

    [TestCase("/ws/a", "/ws", true)]
    [TestCase("/ws/a/b", "/ws", true)]
    [TestCase("/ws", "/ws", false)]
    [TestCase("/wsother/a", "/ws", false)]
    [TestCase("/w", "/ws", false)]
    public void Strict_containment_does_not_accept_a_sibling_with_the_same_prefix(string path, string root, bool inside)
    {
        Assert.That(WorkspaceRoots.IsStrictlyInside(path, root), Is.EqualTo(inside));
    }
}
