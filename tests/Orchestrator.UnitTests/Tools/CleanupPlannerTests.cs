using System.Runtime.CompilerServices;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Tools;
using Orchestrator.Tools.Builtin;

namespace Orchestrator.UnitTests.Tools;

public sealed class CleanupPlannerTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 25, 12, 0, 0, TimeSpan.FromHours(1));

    private static CleanupCandidate File(string name, double daysOld, long size) => new(name, "/x/" + name, size, Now.AddDays(-daysOld));

    private static readonly CleanupCandidate[] Tree = [File("a", 1, 100), File("b", 2, 200), File("c", 5, 300), File("d", 10, 400), File("e", 20, 500)];

    private static List<string> Plan(CleanupPolicy policy, IEnumerable<CleanupCandidate>? files = null) =>
        [.. CleanupPlanner.Plan(files ?? Tree, policy, Now).Select(p => $"{p.File.Path}:{p.Reason}")];

    [Test]
    public void Age_removes_only_files_older_than_the_retention_oldest_first() =>
        Assert.That(Plan(new CleanupPolicy(TimeSpan.FromDays(7), null, null)), Is.EqualTo(new[] { "e:age", "d:age" }));

    [Test]
    public void A_file_exactly_at_the_retention_age_is_kept() =>
        Assert.That(Plan(new CleanupPolicy(TimeSpan.FromDays(5), null, null)), Is.EqualTo(new[] { "e:age", "d:age" }));

    [Test]
    public void Count_keeps_the_newest_n() =>
        Assert.That(Plan(new CleanupPolicy(null, 2, null)), Is.EqualTo(new[] { "e:count", "d:count", "c:count" }));

    [Test]
    public void Size_removes_oldest_until_the_total_fits() =>
        Assert.That(Plan(new CleanupPolicy(null, null, 350)), Is.EqualTo(new[] { "e:size", "d:size", "c:size" }));

    [Test]
    public void Policies_apply_in_order_age_count_size_each_on_what_is_left() =>
        Assert.That(Plan(new CleanupPolicy(TimeSpan.FromDays(15), 3, 450)), Is.EqualTo(new[] { "e:age", "d:count", "c:size" }));

    [Test]
    public void Zero_files_allowed_removes_everything_and_an_empty_tree_plans_nothing()
    {
        Assert.That(Plan(new CleanupPolicy(null, 0, null)), Has.Count.EqualTo(5));
        Assert.That(Plan(new CleanupPolicy(TimeSpan.Zero, 0, 0), []), Is.Empty);
    }

    [Test]
    public void Files_with_the_same_time_are_taken_in_path_order_so_the_plan_is_repeatable()
    {
        var same = new[] { File("z", 3, 1), File("m", 3, 1), File("a", 3, 1) };
        Assert.That(Plan(new CleanupPolicy(null, 1, null), same), Is.EqualTo(new[] { "a:count", "m:count" }));
    }

    [Test]
    public void The_known_names_used_to_check_settings_are_exactly_the_registered_built_in_tools()
    {
        var registered = new ServiceCollection().AddTools()
            .Where(d => d.ServiceType == typeof(BuiltinTool))
            // Name is a constant per type: read it without constructing the tool's dependencies.
            .Select(d => ((BuiltinTool)RuntimeHelpers.GetUninitializedObject(d.ImplementationType!)).Name)
            .Order(StringComparer.Ordinal);
        Assert.That(registered, Is.EqualTo(BuiltinToolCatalog.KnownNames));
    }
}
