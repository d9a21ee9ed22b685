using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Security;

/// <summary>Authentication, roles and the projects API on a real PostgreSQL, through a real server process.</summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class ApiKeyAuthorizationTests
{
    private InProcessServer server = null!;
    private Dictionary<string, string?> environment = null!;
    private string adminKey = null!;
    private string viewerKey = null!;
    private string operatorKey = null!;
    private string workspaceRoot = null!;

    [OneTimeSetUp]
    public async Task StartServer()
    {
        var database = await TestPostgres.CreateDatabaseAsync("auth");
        workspaceRoot = Directory.CreateTempSubdirectory("orchestrator-ws-").FullName;
        environment = PostgresNode.Environment(database, new Dictionary<string, string?> { ["Orchestrator__Workspaces__Roots__0"] = workspaceRoot });
        server = InProcessServer.Start(environment, listenOnLoopback: true);
        await server.WaitUntilReadyAsync();
        adminKey = server.PrintedAdminKey ?? throw new InvalidOperationException("no admin key printed:\n" + server.Output);
        viewerKey = await CreateKeyAsync("viewer");
        operatorKey = await CreateKeyAsync("operator");
    }

    [OneTimeTearDown]
    public async Task StopServer()
    {
        if (server is not null)
        {
            await server.DisposeAsync();
        }
    }

    private async Task<string> CreateKeyAsync(string role)
    {
        var (exitCode, output) = await ServerProcess.RunCommandAsync(environment, server.WorkingDirectory, "keys", "create", "--role", role);
        Assert.That(exitCode, Is.Zero, output);
        return output.Split('\n').Select(l => l.Trim()).Single(l => l.StartsWith("orch_", StringComparison.Ordinal));
    }

    private static StringContent Json(object body) => new(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    private async Task<List<string>> ProjectIdsAsync()
    {
        using var http = server.CreateClient(adminKey);
        var page = await http.GetFromJsonAsync<JsonElement>("/api/projects?pageSize=200");
        return [.. page.GetProperty("items").EnumerateArray().Select(p => p.GetProperty("id").GetString()!)];
    }

    [TestCase("/api/projects")]
    [TestCase("/api/cluster/nodes")]
    [TestCase("/api/actions")]
    public async Task Api_route_without_a_key_is_401_problem(string route)
    {
        using var http = server.CreateClient();
        var response = await http.GetAsync(route);
        await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.Unauthorized);
        Assert.That(response.Headers.WwwAuthenticate.ToString(), Does.Contain("Bearer"));
    }

    [TestCase("orch_00000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")]
    [TestCase("not-a-key")]
    [TestCase("")]
    public async Task Unknown_or_malformed_key_is_401(string key)
    {
        using var http = server.CreateClient();
        http.DefaultRequestHeaders.TryAddWithoutValidation("Authorization", "Bearer " + key);
        await ApiAssertions.AssertProblemAsync(await http.GetAsync("/api/projects"), HttpStatusCode.Unauthorized);
    }

    [Test]
    public async Task A_tampered_admin_key_with_the_right_prefix_is_401()
    {
        var tampered = adminKey[..^1] + (adminKey[^1] == 'A' ? 'B' : 'A');
        using var http = server.CreateClient(tampered);
        await ApiAssertions.AssertProblemAsync(await http.GetAsync("/api/projects"), HttpStatusCode.Unauthorized);
    }

    [Test]
    public async Task Key_is_accepted_in_the_X_Api_Key_header()
    {
        using var http = server.CreateClient();
        http.DefaultRequestHeaders.Add("X-Api-Key", viewerKey);
        Assert.That((await http.GetAsync("/api/projects")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task Health_and_readiness_need_no_key()
    {
        using var http = server.CreateClient();
        Assert.That((await http.GetAsync("/healthz")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await http.GetAsync("/readyz")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task Viewer_can_read_but_creating_a_project_is_403_and_stores_nothing()
    {
        using var viewer = server.CreateClient(viewerKey);
        Assert.That((await viewer.GetAsync("/api/projects")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var response = await viewer.PostAsync("/api/projects", Json(new { id = "viewer-made", name = "V", rootPath = Path.Combine(workspaceRoot, "viewer-made") }));
        await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.Forbidden);
        Assert.That(await ProjectIdsAsync(), Does.Not.Contain("viewer-made"));
    }

    [Test]
    public async Task Operator_cannot_create_projects_either()
    {
        using var op = server.CreateClient(operatorKey);
        var response = await op.PostAsync("/api/projects", Json(new { id = "op-made", name = "O", rootPath = Path.Combine(workspaceRoot, "op-made") }));
        await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.Forbidden);
    }

    [Test]
    public async Task Admin_creates_a_project_then_a_second_with_the_same_id_is_409()
    {
        using var admin = server.CreateClient(adminKey);
        var root = Path.Combine(workspaceRoot, "reports");
        var created = await admin.PostAsync("/api/projects", Json(new { id = "reports", name = "Reports", rootPath = root }));
        Assert.That(created.StatusCode, Is.EqualTo(HttpStatusCode.Created), await created.Content.ReadAsStringAsync());
        Assert.That(created.Headers.Location?.ToString(), Is.EqualTo("/api/projects/reports"));
        Assert.That(Directory.Exists(root), Is.True, "the project's root directory is created");

        var fetched = await admin.GetFromJsonAsync<JsonElement>("/api/projects/reports");
        Assert.That(fetched.GetProperty("rootPath").GetString(), Is.EqualTo(root));

        var duplicate = await admin.PostAsync("/api/projects", Json(new { id = "reports", name = "Other", rootPath = Path.Combine(workspaceRoot, "other") }));
        var problem = await ApiAssertions.AssertProblemAsync(duplicate, HttpStatusCode.Conflict);
        Assert.That(problem.GetProperty("detail").GetString(), Does.Contain("reports"));
        var stillOriginal = await admin.GetFromJsonAsync<JsonElement>("/api/projects/reports");
        Assert.That(stillOriginal.GetProperty("name").GetString(), Is.EqualTo("Reports"));
    }

    [Test]
    public async Task Project_root_outside_the_allowed_roots_is_422_naming_the_roots_and_nothing_is_stored()
    {
        using var admin = server.CreateClient(adminKey);
        var before = await ProjectIdsAsync();
        var outside = Path.Combine(Path.GetTempPath(), "elsewhere-" + Guid.NewGuid().ToString("N"));
        var response = await admin.PostAsync("/api/projects", Json(new { id = "escape", name = "Escape", rootPath = outside }));
        var problem = await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity);
        var reasons = problem.GetProperty("errors").GetProperty("rootPath")[0].GetString();
        Assert.That(reasons, Does.Contain(workspaceRoot), "the message says which roots are allowed");
        Assert.That(await ProjectIdsAsync(), Is.EqualTo(before));
        Assert.That(Directory.Exists(outside), Is.False, "nothing is created on disk either");
    }

    private static IEnumerable<TestCaseData> BadProjects()
    {
        yield return new TestCaseData(new { id = "", name = "x", rootPath = "{root}/a" }, "id").SetName("empty id");
        yield return new TestCaseData(new { id = "Upper", name = "x", rootPath = "{root}/a" }, "id").SetName("uppercase id");
        yield return new TestCaseData(new { id = "../etc", name = "x", rootPath = "{root}/a" }, "id").SetName("traversal in id");
        yield return new TestCaseData(new { id = new string('a', 64), name = "x", rootPath = "{root}/a" }, "id").SetName("id too long");
        yield return new TestCaseData(new { id = "ok-id", name = "", rootPath = "{root}/a" }, "name").SetName("empty name");
        yield return new TestCaseData(new { id = "ok-id", name = new string('n', 201), rootPath = "{root}/a" }, "name").SetName("name too long");
        yield return new TestCaseData(new { id = "ok-id", name = "x", rootPath = "relative/dir" }, "rootPath").SetName("relative root");
        yield return new TestCaseData(new { id = "ok-id", name = "x", rootPath = "{root}/../../etc" }, "rootPath").SetName("root escaping with ..");
        yield return new TestCaseData(new { id = "ok-id", name = "x", rootPath = "{root}" }, "rootPath").SetName("root equal to the workspace root itself");
        yield return new TestCaseData(new { id = "ok-id", name = "x", rootPath = "/" }, "rootPath").SetName("filesystem root");
        yield return new TestCaseData(new { id = "ok-id", name = "x", rootPath = "{root}/a\u0000b" }, "rootPath").SetName("NUL in root");
        yield return new TestCaseData(new { id = "ok-id", name = "x" }, "rootPath").SetName("missing root");
    }

    [TestCaseSource(nameof(BadProjects))]
    public async Task Invalid_project_is_422_naming_the_field_and_stores_nothing(object body, string field)
    {
        using var admin = server.CreateClient(adminKey);
        var before = await ProjectIdsAsync();
        var json = JsonSerializer.Serialize(body).Replace("{root}", workspaceRoot.Replace("\\", "\\\\", StringComparison.Ordinal), StringComparison.Ordinal);
        var response = await admin.PostAsync("/api/projects", new StringContent(json, Encoding.UTF8, "application/json"));
        var problem = await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity);
        Assert.That(problem.GetProperty("errors").TryGetProperty(field, out _), Is.True, problem.ToString());
        Assert.That(await ProjectIdsAsync(), Is.EqualTo(before));
    }

    [Test]
    public async Task A_symlink_inside_the_workspace_root_pointing_outside_is_refused_as_a_project_root()
    {
        var outside = Directory.CreateTempSubdirectory("orchestrator-outside-").FullName;
        var link = Path.Combine(workspaceRoot, "sneaky-" + Guid.NewGuid().ToString("N")[..6]);
        Directory.CreateSymbolicLink(link, outside);
        using var admin = server.CreateClient(adminKey);
        var response = await admin.PostAsync("/api/projects", Json(new { id = "sneaky", name = "S", rootPath = Path.Combine(link, "inner") }));
        await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity);
        Assert.That(Directory.Exists(Path.Combine(outside, "inner")), Is.False);
    }

    [TestCase("{\"id\": 5, \"name\": \"x\", \"rootPath\": \"/x\"}", "$.id")]
    [TestCase("{\"id\": \"x\", \"name\": [1], \"rootPath\": \"/x\"}", "$.name")]
    [TestCase("{\"id\": \"x\",", "$")]
    [TestCase("not json", "$")]
    public async Task Malformed_body_is_400_problem_saying_where(string body, string path)
    {
        using var admin = server.CreateClient(adminKey);
        var response = await admin.PostAsync("/api/projects", new StringContent(body, Encoding.UTF8, "application/json"));
        var problem = await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.That(problem.GetProperty("detail").GetString(), Does.Contain(path));
    }

    [Test]
    public async Task Oversized_body_is_413_and_stores_nothing()
    {
        using var admin = server.CreateClient(adminKey);
        var before = await ProjectIdsAsync();
        var huge = JsonSerializer.Serialize(new { id = "huge", name = new string('x', 3 * 1024 * 1024), rootPath = Path.Combine(workspaceRoot, "huge") });
        var response = await admin.PostAsync("/api/projects", new StringContent(huge, Encoding.UTF8, "application/json"));
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.RequestEntityTooLarge));
        Assert.That(await ProjectIdsAsync(), Is.EqualTo(before));
    }

    [Test]
    public async Task Unknown_project_is_404_problem_for_get_put_and_delete()
    {
        using var admin = server.CreateClient(adminKey);
        await ApiAssertions.AssertProblemAsync(await admin.GetAsync("/api/projects/nope"), HttpStatusCode.NotFound);
        await ApiAssertions.AssertProblemAsync(await admin.PutAsync("/api/projects/nope", Json(new { name = "n", rootPath = Path.Combine(workspaceRoot, "n") })), HttpStatusCode.NotFound);
        await ApiAssertions.AssertProblemAsync(await admin.DeleteAsync("/api/projects/nope"), HttpStatusCode.NotFound);
    }

    [Test]
    public async Task Admin_renames_moves_and_deletes_a_project()
    {
        using var admin = server.CreateClient(adminKey);
        var created = await admin.PostAsync("/api/projects", Json(new { id = "lifecycle", name = "Before", rootPath = Path.Combine(workspaceRoot, "lifecycle") }));
        Assert.That(created.StatusCode, Is.EqualTo(HttpStatusCode.Created));

        var moved = Path.Combine(workspaceRoot, "lifecycle-2");
        var replaced = await admin.PutAsync("/api/projects/lifecycle", Json(new { name = "After", rootPath = moved }));
        Assert.That(replaced.StatusCode, Is.EqualTo(HttpStatusCode.OK), await replaced.Content.ReadAsStringAsync());
        var fetched = await admin.GetFromJsonAsync<JsonElement>("/api/projects/lifecycle");
        Assert.That(fetched.GetProperty("name").GetString(), Is.EqualTo("After"));
        Assert.That(fetched.GetProperty("rootPath").GetString(), Is.EqualTo(moved));

        var idChange = await admin.PutAsync("/api/projects/lifecycle", Json(new { id = "renamed", name = "After", rootPath = moved }));
        await ApiAssertions.AssertProblemAsync(idChange, HttpStatusCode.UnprocessableEntity);

        Assert.That((await admin.DeleteAsync("/api/projects/lifecycle")).StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        await ApiAssertions.AssertProblemAsync(await admin.GetAsync("/api/projects/lifecycle"), HttpStatusCode.NotFound);
    }

    [Test]
    public async Task The_default_project_cannot_be_deleted()
    {
        using var admin = server.CreateClient(adminKey);
        await ApiAssertions.AssertProblemAsync(await admin.DeleteAsync("/api/projects/default"), HttpStatusCode.Conflict);
        Assert.That(await ProjectIdsAsync(), Does.Contain("default"));
    }

    [Test]
    public async Task Keys_are_stored_hashed_never_in_plain_text()
    {
        await using var connection = new Npgsql.NpgsqlConnection(environment["Orchestrator__Database__ConnectionString"]);
        await connection.OpenAsync();
        await using var command = new Npgsql.NpgsqlCommand("SELECT prefix || ' ' || hash || ' ' || name FROM api_keys", connection);
        var rows = new List<string>();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                rows.Add(reader.GetString(0));
            }
        }

        Assert.That(rows, Has.Count.GreaterThanOrEqualTo(3));
        foreach (var key in new[] { adminKey, viewerKey, operatorKey })
        {
            var secret = key[14..];
            Assert.That(rows.Any(r => r.Contains(secret, StringComparison.Ordinal)), Is.False, "the secret part of a key is never stored");
        }
    }

    [Test]
    public async Task Keys_create_refuses_an_unknown_role()
    {
        var (exitCode, output) = await ServerProcess.RunCommandAsync(environment, server.WorkingDirectory, "keys", "create", "--role", "root");
        Assert.That(exitCode, Is.Not.Zero);
        Assert.That(output, Does.Contain("admin, operator, viewer"));
    }
}
