using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Tools;

/// <summary>
/// The housekeeper (<c>workspace.cleanup</c>) on real trees with files of controlled ages and sizes: each policy removes
/// exactly the expected files, oldest first; a dry run removes nothing and reports the same list.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class WorkspaceCleanupTests
{
    private InProcessServer server = null!;
    private HttpClient admin = null!;
    private string root = null!;
    private string outside = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        var workspaces = Directory.CreateTempSubdirectory("orchestrator-cleanup-ws-").FullName;
        outside = Directory.CreateTempSubdirectory("orchestrator-cleanup-outside-").FullName;
        var database = await TestPostgres.CreateDatabaseAsync("cleanup");
        server = InProcessServer.Start(PostgresNode.Environment(database, new Dictionary<string, string?>
        {
            ["Orchestrator__Workspaces__Roots__0"] = workspaces,
            ["Orchestrator__Tools__DisabledBuiltins__0"] = "shell.run",
        }));
        await server.WaitUntilReadyAsync();
        admin = server.CreateClient(server.PrintedAdminKey);
        root = Path.Combine(workspaces, "house");
        await admin.PostForJsonAsync("/api/projects", new { id = "house", name = "House", rootPath = root }, HttpStatusCode.Created);
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        admin?.Dispose();
        if (server is not null)
        {
            await server.DisposeAsync();
        }
    }

    /// <summary>logs/a.log … logs/e.log, 1, 2, 5, 10 and 20 days old, 100, 200, 300, 400 and 500 KiB; plus a .txt and a nested file.</summary>
    private async Task<string> TreeAsync(string name)
    {
        var directory = Path.Combine(root, name);
        Directory.CreateDirectory(Path.Combine(directory, "logs", "nested"));
        var now = TimeProvider.System.GetUtcNow().UtcDateTime;
        var files = new (string Path, int Days, int KiB)[]
        {
            ("logs/a.log", 1, 100), ("logs/b.log", 2, 200), ("logs/c.log", 5, 300), ("logs/d.log", 10, 400), ("logs/e.log", 20, 500),
            ("logs/keep.txt", 30, 50), ("logs/nested/f.log", 40, 10),
        };
        foreach (var (path, days, kib) in files)
        {
            var full = Path.Combine(directory, path);
            await File.WriteAllBytesAsync(full, new byte[kib * 1024]);
            File.SetLastWriteTimeUtc(full, now.AddDays(-days).AddMinutes(-1));
        }

        return name;
    }

    private async Task<JsonElement> CleanAsync(object arguments)
    {
        var invoked = await admin.PostForJsonAsync("/api/tools/workspace.cleanup/invoke", new { project = "house", arguments }, HttpStatusCode.OK);
        Assert.That(invoked.GetProperty("succeeded").GetBoolean(), Is.True, invoked.ToString());
        return invoked.GetProperty("result");
    }

    private static List<string> Removed(JsonElement report) => [.. report.GetProperty("removed").EnumerateArray().Select(r => r.GetProperty("path").GetString()!)];

    private List<string> Remaining(string tree) =>
        [.. Directory.GetFiles(Path.Combine(root, tree), "*", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(Path.Combine(root, tree), f).Replace('\\', '/')).Order(StringComparer.Ordinal)];

    [Test]
    public async Task Age_policy_removes_exactly_the_files_older_than_the_retention()
    {
        var tree = await TreeAsync("age");
        var report = await CleanAsync(new { directory = tree, pattern = "**/*.log", retentionDays = 7 });
        Assert.That(Removed(report), Is.EqualTo(new[] { "age/logs/nested/f.log", "age/logs/e.log", "age/logs/d.log" }), "oldest first");
        Assert.That(report.GetProperty("removed").EnumerateArray().Select(r => r.GetProperty("reason").GetString()), Is.All.EqualTo("age"));
        Assert.That(report.GetProperty("bytesFreed").GetInt64(), Is.EqualTo((10 + 500 + 400) * 1024));
        Assert.That(Remaining(tree), Is.EqualTo(new[] { "logs/a.log", "logs/b.log", "logs/c.log", "logs/keep.txt" }), "the .txt does not match the pattern");
    }

    [Test]
    public async Task Count_policy_keeps_the_newest_files()
    {
        var tree = await TreeAsync("count");
        var report = await CleanAsync(new { directory = tree, pattern = "logs/*.log", maxFiles = 2 });
        Assert.That(Removed(report), Is.EqualTo(new[] { "count/logs/e.log", "count/logs/d.log", "count/logs/c.log" }));
        Assert.That(Remaining(tree), Is.EqualTo(new[] { "logs/a.log", "logs/b.log", "logs/keep.txt", "logs/nested/f.log" }), "logs/*.log does not reach into nested/");
        Assert.That(report.GetProperty("remaining").GetProperty("files").GetInt32(), Is.EqualTo(2));
    }

    [Test]
    public async Task Size_policy_removes_the_oldest_until_the_total_fits()
    {
        var tree = await TreeAsync("size");
        // *.log total: 10 + 500 + 400 + 300 + 200 + 100 = 1510 KiB; a 0.6 MiB (614.4 KiB) cap leaves a.log + b.log + c.log = 600 KiB.
        var report = await CleanAsync(new { directory = tree, pattern = "**/*.log", maxSizeMb = 0.6 });
        Assert.That(Removed(report), Is.EqualTo(new[] { "size/logs/nested/f.log", "size/logs/e.log", "size/logs/d.log" }));
        Assert.That(report.GetProperty("remaining").GetProperty("bytes").GetInt64(), Is.EqualTo(600 * 1024));
        Assert.That(Remaining(tree), Is.EqualTo(new[] { "logs/a.log", "logs/b.log", "logs/c.log", "logs/keep.txt" }));
    }

    [Test]
    public async Task Policies_combine_age_then_count_then_size()
    {
        var tree = await TreeAsync("combined");
        var report = await CleanAsync(new { directory = tree, pattern = "**/*.log", retentionDays = 15, maxFiles = 3, maxSizeMb = 0.45 });
        var reasons = report.GetProperty("removed").EnumerateArray().ToDictionary(r => r.GetProperty("path").GetString()!, r => r.GetProperty("reason").GetString());
        Assert.That(reasons, Is.EqualTo(new Dictionary<string, string>
        {
            ["combined/logs/nested/f.log"] = "age",
            ["combined/logs/e.log"] = "age",
            ["combined/logs/d.log"] = "count",
            ["combined/logs/c.log"] = "size",
        }));
        Assert.That(Remaining(tree), Is.EqualTo(new[] { "logs/a.log", "logs/b.log", "logs/keep.txt" }));
    }

    [Test]
    public async Task Dry_run_removes_nothing_and_reports_the_same_list()
    {
        var tree = await TreeAsync("dry");
        var before = Remaining(tree);
        var dry = await CleanAsync(new { directory = tree, pattern = "**/*.log", retentionDays = 7, maxFiles = 1, dryRun = true });
        Assert.That(Remaining(tree), Is.EqualTo(before), "nothing removed");
        Assert.That(dry.GetProperty("dryRun").GetBoolean(), Is.True);

        var real = await CleanAsync(new { directory = tree, pattern = "**/*.log", retentionDays = 7, maxFiles = 1 });
        Assert.That(Removed(dry), Is.EqualTo(Removed(real)));
        Assert.That(dry.GetProperty("bytesFreed").GetInt64(), Is.EqualTo(real.GetProperty("bytesFreed").GetInt64()));
        Assert.That(Remaining(tree), Is.EqualTo(new[] { "logs/a.log", "logs/keep.txt" }));
    }

    [Test]
    public async Task Symlinks_are_neither_followed_nor_removed()
    {
        var tree = await TreeAsync("links");
        var target = Path.Combine(outside, "old.log");
        await File.WriteAllTextAsync(target, "outside");
        File.SetLastWriteTimeUtc(target, TimeProvider.System.GetUtcNow().UtcDateTime.AddDays(-100));
        Directory.CreateSymbolicLink(Path.Combine(root, tree, "logs", "outside-dir"), outside);
        File.CreateSymbolicLink(Path.Combine(root, tree, "logs", "old-link.log"), target);

        var report = await CleanAsync(new { directory = tree, pattern = "**/*", retentionDays = 0 });
        Assert.That(Removed(report), Has.None.Contains("outside-dir").And.None.Contains("old-link"));
        Assert.That(File.Exists(target), Is.True, "nothing outside the root was touched");
        Assert.That(File.Exists(Path.Combine(root, tree, "logs", "old-link.log")), Is.True);
    }

    [Test]
    public async Task A_cleanup_without_any_policy_is_refused()
    {
        var response = await admin.PostAsync("/api/tools/workspace.cleanup/invoke", ApiClient.Json(new { project = "house", arguments = new { pattern = "**/*" } }));
        var problem = await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity);
        Assert.That(problem.GetProperty("detail").GetString(), Does.Contain("retentionDays"));
    }

    [Test]
    public async Task A_scheduled_housekeeper_runs_through_run_task_and_records_its_report()
    {
        var tree = await TreeAsync("scheduled");
        await admin.CreateScheduleAsync(new
        {
            name = "housekeeper",
            project = "house",
            action = new { type = "run_task", config = new { tool = "workspace.cleanup", arguments = new { directory = tree, pattern = "**/*.log", maxFiles = 4 } } },
            trigger = new { at = TimeProvider.System.GetUtcNow().AddSeconds(1).ToString("O", CultureInfo.InvariantCulture) },
        });
        var runs = await Poll.UntilAsync(() => admin.RunsAsync("house.housekeeper"), r => r.Count == 1 && r[0].Status() is "succeeded" or "failed",
            TimeSpan.FromSeconds(20), "the housekeeper run");
        Assert.That(runs[0].Status(), Is.EqualTo("succeeded"), runs[0].ToString());
        Assert.That(Removed(runs[0].GetProperty("result")), Is.EqualTo(new[] { "scheduled/logs/nested/f.log", "scheduled/logs/e.log" }));
    }

    [Test]
    public async Task A_built_in_tool_disabled_in_settings_is_listed_as_disabled_and_refuses_to_run()
    {
        var tool = await admin.GetFromJsonAsync<JsonElement>("/api/tools/shell.run");
        Assert.That(tool.GetProperty("enabled").GetBoolean(), Is.False);
        var response = await admin.PostAsync("/api/tools/shell.run/invoke", ApiClient.Json(new { project = "house", arguments = new { argv = new[] { "true" } } }));
        await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.Conflict);
    }
}
