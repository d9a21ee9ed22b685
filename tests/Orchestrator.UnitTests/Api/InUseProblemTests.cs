using Orchestrator.Api;

namespace Orchestrator.UnitTests.Api;

/// <summary>The 409 a delete gives while something still uses what it would delete: who, how many, what to do.</summary>
public sealed class InUseProblemTests
{
    [Test]
    public void Nothing_in_use_is_no_refusal() =>
        Assert.That(InUseProblem.For("Tool 'echo'", [], []), Is.Null);

    [Test]
    public void Schedules_and_pipelines_are_named_and_counted()
    {
        var problem = InUseProblem.For("Project 'demo'", ["demo.a", "demo.b"], ["p1"]);
        Assert.That(problem!.Status, Is.EqualTo(409));
        Assert.That(problem.Detail, Is.EqualTo(
            "Project 'demo' is still used by 2 schedules ('demo.a', 'demo.b') and 1 pipeline ('p1'); delete or change them first, then delete it."));
    }

    [Test]
    public void Only_the_first_ten_users_are_named_and_the_rest_counted()
    {
        var problem = InUseProblem.For("Channel 'ops'", [.. Enumerable.Range(1, 13).Select(i => $"default.s{i:00}")], []);
        Assert.That(problem!.Detail, Does.StartWith("Channel 'ops' is still used by 13 schedules ('default.s01',"));
        Assert.That(problem.Detail, Does.Contain("'default.s10' and 3 more)"));
        Assert.That(problem.Detail, Does.Not.Contain("default.s11"));
    }
}
