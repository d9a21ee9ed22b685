using System.Net;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Definitions;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Cli;

/// <summary>
/// <c>apply -f examples/</c> and <c>export</c> as an operator runs them: the CLI as a separate process against a
/// server process on PostgreSQL, the repository's own example documents, and the files export writes applied back.
/// </summary>
[TestFixture]
[Category("Cli")]
public sealed class CliDefinitionsTests
{
    private ServerProcess server = null!;
    private string adminKey = null!;
    private HttpClient admin = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        var database = await TestPostgres.CreateDatabaseAsync("clidefs");
        server = ServerProcess.Start(PostgresNode.Environment(database, new Dictionary<string, string?>
        {
            ["Orchestrator__Workspaces__Roots__0"] = Directory.CreateTempSubdirectory("orchestrator-clidefs-ws-").FullName,
            // The example channel's header is a reference to this secret, never its value.
            ["Orchestrator__Secrets__ops-hook-token"] = "example-token-7d1e",
        }));
        await server.WaitUntilReadyAsync();
        adminKey = server.PrintedAdminKey ?? throw new InvalidOperationException("The server printed no admin key:\n" + server.Output);
        admin = server.CreateClient(adminKey);
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        admin.Dispose();
        await server.DisposeAsync();
    }

    private Task<CliProcess.Finished> Cli(params string[] arguments) =>
        CliProcess.RunAsync(null, [.. arguments, "--server", server.BaseAddress.ToString(), "--key", adminKey]);

    private static string Examples()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Orchestrator.sln")))
            {
                return Path.Combine(dir.FullName, "examples");
            }
        }

        throw new InvalidOperationException("The repository root was not found above " + AppContext.BaseDirectory);
    }

    private static List<string> Files(string dir) =>
        [.. Directory.EnumerateFiles(dir, "*.yaml", SearchOption.AllDirectories).Select(f => Path.GetRelativePath(dir, f).Replace('\\', '/')).Order(StringComparer.Ordinal)];

    [Test]
    public async Task Apply_creates_the_examples_export_writes_the_same_files_and_applying_them_back_changes_nothing()
    {
        var dry = await Cli("apply", "-f", Examples(), "--dry-run");
        Assert.That(dry.ExitCode, Is.Zero, dry.ToString());
        Assert.That(dry.Stdout, Does.Contain("Plan (nothing changed): 7 create."));
        Assert.That((await admin.GetAsync("/api/projects/reports")).StatusCode, Is.EqualTo(HttpStatusCode.NotFound), "a dry run created nothing");

        var applied = await Cli("apply", "-f", Examples());
        Assert.That(applied.ExitCode, Is.Zero, applied.ToString());
        Assert.That(applied.Stdout, Does.Contain("Applied: 7 create."));
        foreach (var route in new[] { "/api/projects/reports", "/api/channels/ops", "/api/tools/disk-usage", "/api/pipelines/nightly-report" })
        {
            Assert.That((await admin.GetAsync(route)).StatusCode, Is.EqualTo(HttpStatusCode.OK), route);
        }

        var schedules = JsonNode.Parse(await admin.GetStringAsync("/api/schedules?project=reports"))!["items"]!.AsArray();
        Assert.That(schedules, Has.Count.EqualTo(3));

        var exported = Directory.CreateTempSubdirectory("orchestrator-export-").FullName;
        var export = await Cli("export", "--out", exported);
        Assert.That(export.ExitCode, Is.Zero, export.ToString());
        // The examples' files where they keep them, and the server's own default project beside them.
        Assert.That(Files(exported), Is.EqualTo(Files(Examples()).Append("projects/default.yaml").Order(StringComparer.Ordinal).ToList()));

        var again = await Cli("apply", "-f", exported, "--json");
        Assert.That(again.ExitCode, Is.Zero, again.ToString());
        using var plan = JsonDocument.Parse(again.Stdout);
        Assert.That(plan.RootElement.GetProperty("changes").EnumerateArray().Select(c => c.GetProperty("action").GetString()), Is.All.EqualTo("unchanged"));

        // Printed as YAML on stdout, the same documents the files hold.
        var printed = await Cli("export");
        Assert.That(printed.ExitCode, Is.Zero, printed.ToString());
        Assert.That(DefinitionFiles.ParseYaml(printed.Stdout, "stdout").Select(d => d.ToJsonString()),
            Is.EquivalentTo(DefinitionFiles.ReadDirectory(exported).Select(d => d.ToJsonString())));
    }

    [Test]
    public async Task A_directory_with_a_broken_document_is_a_usage_error_naming_the_file_and_nothing_is_sent()
    {
        var dir = Directory.CreateTempSubdirectory("orchestrator-broken-").FullName;
        File.WriteAllText(Path.Combine(dir, "good.yaml"), "kind: project\nid: never-made\nname: Never\nrootPath: never-made\n");
        File.WriteAllText(Path.Combine(dir, "bad.yaml"), "kind: schedule\nname: [unclosed\n");
        var result = await Cli("apply", "-f", dir);
        Assert.That(result.ExitCode, Is.EqualTo(2), result.ToString());
        Assert.That(result.Stderr, Does.Contain("bad.yaml"));
        Assert.That((await admin.GetAsync("/api/projects/never-made")).StatusCode, Is.EqualTo(HttpStatusCode.NotFound));

        var missing = await Cli("apply", "-f", Path.Combine(dir, "nope"));
        Assert.That(missing.ExitCode, Is.EqualTo(2), missing.ToString());
    }

    [Test]
    public async Task A_refused_document_exits_1_with_the_servers_reason()
    {
        var dir = Directory.CreateTempSubdirectory("orchestrator-refused-").FullName;
        File.WriteAllText(Path.Combine(dir, "s.yaml"), "kind: schedule\nname: refused\naction: {type: noop, config: {}}\ntrigger: {cron: 'not a cron'}\n");
        var result = await Cli("apply", "-f", dir);
        Assert.That(result.ExitCode, Is.EqualTo(1), result.ToString());
        Assert.That(result.Stderr, Does.Contain("trigger.cron"));
    }

    [Test]
    public async Task Keys_create_list_revoke_and_audit_against_the_real_routes()
    {
        var created = await Cli("keys", "create", "--role", "viewer", "--name", "cli-made", "--project", "default", "--json");
        Assert.That(created.ExitCode, Is.Zero, created.ToString());
        using var key = JsonDocument.Parse(created.Stdout);
        var id = key.RootElement.GetProperty("id").GetString()!;
        var plain = key.RootElement.GetProperty("key").GetString()!;
        Assert.That(key.RootElement.GetProperty("projects")[0].GetString(), Is.EqualTo("default"));

        // The new key works, scoped and with its role: a viewer may read but not create.
        using (var viewer = server.CreateClient(plain))
        {
            Assert.That((await viewer.GetAsync("/api/schedules")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
            var asViewer = await CliProcess.RunAsync(null, ["keys", "list", "--server", server.BaseAddress.ToString(), "--key", plain]);
            Assert.That(asViewer.ExitCode, Is.EqualTo(4), asViewer.ToString());
        }

        var listed = await Cli("keys", "list");
        Assert.That(listed.ExitCode, Is.Zero, listed.ToString());
        Assert.That(listed.Stdout, Does.Contain("cli-made").And.Not.Contain(plain));

        var revoked = await Cli("keys", "revoke", id);
        Assert.That(revoked.ExitCode, Is.Zero, revoked.ToString());
        using (var gone = server.CreateClient(plain))
        {
            Assert.That((await gone.GetAsync("/api/schedules")).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized), "refused at once");
        }

        Assert.That((await Cli("keys", "revoke", Guid.NewGuid().ToString())).ExitCode, Is.EqualTo(3), "an unknown key is not found");

        var audit = await Cli("audit", "--resource", $"key:{id}", "--json");
        Assert.That(audit.ExitCode, Is.Zero, audit.ToString());
        using var entries = JsonDocument.Parse(audit.Stdout);
        var items = entries.RootElement.GetProperty("items").EnumerateArray().ToList();
        Assert.That(items.Select(e => e.GetProperty("action").GetString()), Is.EqualTo(new[] { "key.revoke", "key.create" }));
        Assert.That(items.Select(e => e.GetProperty("source").GetString()), Is.All.EqualTo("cli"), "the CLI names itself to the audit log");
        Assert.That(audit.Stdout, Does.Not.Contain(plain[(plain.LastIndexOf('_') + 1)..]));

        var table = await Cli("audit", "--action", "key.create");
        Assert.That(table.ExitCode, Is.Zero, table.ToString());
        Assert.That(table.Stdout, Does.Contain("ACTION").And.Contain("key.create"));
    }
}
