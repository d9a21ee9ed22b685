using System.Net;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Hosting;

[TestFixture]
public sealed class EmbeddedDefaultTests
{
    [Test]
    public async Task Server_started_with_no_configuration_uses_sqlite_and_is_live_and_ready()
    {
        await using var server = ServerProcess.Start();
        await server.WaitUntilReadyAsync();

        using var http = server.CreateClient();
        Assert.That((await http.GetAsync("/healthz")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await http.GetAsync("/readyz")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(File.Exists(Path.Combine(server.DefaultDataDirectory, "orchestrator.db")), Is.True,
            "the embedded database is a file in the per-user data directory");
        Assert.That(Directory.Exists(Path.Combine(server.DefaultDataDirectory, "workspaces", "default")), Is.True,
            "the default project's root is created under the default workspace root");

        var key = server.PrintedAdminKey;
        Assert.That(key, Is.Not.Null, "the first start prints an admin key");
        using var admin = server.CreateClient(key);
        var nodes = await admin.GetStringAsync("/api/cluster/nodes");
        Assert.That(nodes, Does.Contain("\"isThisNode\":true"));
    }

    [Test]
    public async Task Default_database_is_kept_out_of_the_working_directory_and_the_first_start_says_where_it_is()
    {
        // It used to be ./data under the content root, i.e. src/Orchestrator/data for 'dotnet run', where
        // 'git clean -fdx' deletes the keys and every schedule.
        await using var server = ServerProcess.Start();
        await server.WaitUntilReadyAsync();

        var database = Path.Combine(server.DefaultDataDirectory, "orchestrator.db");
        Assert.That(File.Exists(database), Is.True, "the default is the per-user data directory ($XDG_DATA_HOME/orchestrator)");
        Assert.That(Directory.Exists(Path.Combine(server.WorkingDirectory, "data")), Is.False, "nothing is written under the content root");
        Assert.That(server.Output, Does.Contain($"Database: SQLite file {database}"), "the first-start banner names the database file");
    }

    [Test]
    public async Task An_explicit_relative_data_directory_is_still_under_the_content_root()
    {
        await using var server = ServerProcess.Start(new Dictionary<string, string?> { ["Orchestrator__DataDirectory"] = "state" });
        await server.WaitUntilReadyAsync();
        Assert.That(File.Exists(Path.Combine(server.WorkingDirectory, "state", "orchestrator.db")), Is.True);
        Assert.That(Directory.Exists(server.DefaultDataDirectory), Is.False, "an explicit setting is used instead of the per-user default");
    }

    [Test]
    public async Task Admin_key_is_printed_on_the_first_start_only_and_keeps_working_after_a_restart()
    {
        string workingDirectory;
        string firstKey;
        await using (var first = ServerProcess.Start())
        {
            await first.WaitUntilReadyAsync();
            firstKey = first.PrintedAdminKey!;
            Assert.That(firstKey, Is.Not.Null);
            workingDirectory = first.WorkingDirectory;
        }

        await using var second = ServerProcess.Start(workingDirectory: workingDirectory);
        await second.WaitUntilReadyAsync();
        Assert.That(second.PrintedAdminKey, Is.Null, "keys exist, so no new admin key is created or printed");
        using var admin = second.CreateClient(firstKey);
        Assert.That((await admin.GetAsync("/api/projects")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task Every_start_logs_where_the_database_is_not_only_the_first_that_creates_the_admin_key()
    {
        string workingDirectory;
        await using (var first = ServerProcess.Start())
        {
            await first.WaitUntilReadyAsync();
            workingDirectory = first.WorkingDirectory;
        }

        await using var second = ServerProcess.Start(workingDirectory: workingDirectory);
        await second.WaitUntilReadyAsync();
        Assert.That(second.PrintedAdminKey, Is.Null, "no banner on the second start");
        var database = Path.Combine(ServerProcess.DefaultDataDirectoryOf(workingDirectory), "orchestrator.db");
        Assert.That(second.Output, Does.Contain($"Database: SQLite file {database} (data directory {ServerProcess.DefaultDataDirectoryOf(workingDirectory)})"));
    }

    [Test]
    public async Task OpenApi_document_is_served_without_a_key_and_lists_the_routes()
    {
        await using var server = ServerProcess.Start();
        await server.WaitUntilReadyAsync();
        using var http = server.CreateClient();
        using var document = JsonDocument.Parse(await http.GetStringAsync("/openapi/v1.json"));
        var paths = document.RootElement.GetProperty("paths");
        var missing = SpecRoutes
            .Where(r => !paths.TryGetProperty(r.Path, out var item) || !item.TryGetProperty(r.Method, out _))
            .Select(r => $"{r.Method.ToUpperInvariant()} {r.Path}")
            .ToList();
        Assert.That(missing, Is.Empty, "every route of the API contract (SPEC §4) is in the OpenAPI document");
        Assert.That(document.RootElement.GetProperty("components").GetProperty("securitySchemes").GetRawText(), Does.Contain("bearer"));
    }

    /// <summary>The API contract's routes (SPEC §4), as the OpenAPI document spells them.</summary>
    private static readonly (string Method, string Path)[] SpecRoutes =
    [
        ("get", "/api/cluster/nodes"),
        ("get", "/api/projects"), ("post", "/api/projects"),
        ("get", "/api/projects/{id}"), ("put", "/api/projects/{id}"), ("delete", "/api/projects/{id}"),
        ("get", "/api/projects/{id}/files/{path}"), ("put", "/api/projects/{id}/files/{path}"), ("delete", "/api/projects/{id}/files/{path}"),
        ("get", "/api/schedules"), ("post", "/api/schedules"),
        ("get", "/api/schedules/{id}"), ("put", "/api/schedules/{id}"), ("delete", "/api/schedules/{id}"),
        ("post", "/api/schedules/{id}/pause"), ("post", "/api/schedules/{id}/resume"), ("post", "/api/schedules/{id}/run"),
        ("post", "/api/schedules/{id}/backfill"), ("get", "/api/schedules/{id}/runs"), ("get", "/api/schedules/{id}/misfires"),
        ("post", "/api/schedules/preview"),
        ("get", "/api/runs"), ("get", "/api/runs/{runId}"), ("post", "/api/runs/{runId}/cancel"),
        ("get", "/api/tools"), ("post", "/api/tools"),
        ("get", "/api/tools/{name}"), ("put", "/api/tools/{name}"), ("delete", "/api/tools/{name}"),
        ("post", "/api/tools/{name}/validate"), ("post", "/api/tools/{name}/invoke"),
        ("get", "/api/pipelines"), ("post", "/api/pipelines"),
        ("get", "/api/pipelines/{id}"), ("put", "/api/pipelines/{id}"), ("delete", "/api/pipelines/{id}"),
        ("post", "/api/pipelines/validate"), ("post", "/api/pipelines/{id}/run"), ("get", "/api/pipelines/{id}/runs"),
        ("get", "/api/pipeline-runs/{runId}"), ("post", "/api/pipeline-runs/{runId}/cancel"),
        ("get", "/api/channels"), ("post", "/api/channels"),
        ("get", "/api/channels/{name}"), ("put", "/api/channels/{name}"), ("delete", "/api/channels/{name}"),
        ("post", "/api/cron/describe"), ("post", "/api/cron/parse"),
        ("get", "/api/actions"),
    ];

    [Test]
    public async Task A_key_made_with_keys_create_before_the_first_start_is_used_instead_of_a_printed_one()
    {
        // The path for a Windows service, whose console nobody reads.
        var workingDirectory = Directory.CreateTempSubdirectory("orchestrator-keys-").FullName;
        var (exitCode, output) = await ServerProcess.RunCommandAsync(null, workingDirectory, "keys", "create", "--role", "admin", "--name", "ops");
        Assert.That(exitCode, Is.Zero, output);
        var key = output.Split('\n').Select(l => l.Trim()).Single(l => l.StartsWith("orch_", StringComparison.Ordinal));

        await using var server = ServerProcess.Start(workingDirectory: workingDirectory);
        await server.WaitUntilReadyAsync();
        Assert.That(server.PrintedAdminKey, Is.Null);
        using var admin = server.CreateClient(key);
        Assert.That((await admin.GetAsync("/api/projects")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }
}
