using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Hosting;

/// <summary>
/// A name or id already taken is a 409 whose <c>errors</c> map names the field, on every route that creates something
/// named, so a form puts the message beside the input (as it does a 422's), and nothing is created twice.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class DuplicateNameTests
{
    private InProcessServer server = null!;
    private HttpClient admin = null!;
    private string workspaces = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        workspaces = Directory.CreateTempSubdirectory("orchestrator-dup-ws-").FullName;
        var database = await TestPostgres.CreateDatabaseAsync("dupnames");
        server = InProcessServer.Start(PostgresNode.Environment(database, new Dictionary<string, string?> { ["Orchestrator__Workspaces__Roots__0"] = workspaces }));
        await server.WaitUntilReadyAsync();
        admin = server.CreateClient(server.PrintedAdminKey);
        admin.Timeout = TimeSpan.FromSeconds(60);
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        admin.Dispose();
        await server.DisposeAsync();
    }

    private object Project(string id) => new { id, name = id, rootPath = Path.Combine(workspaces, id) };

    private static IEnumerable<TestCaseData> Creations()
    {
        yield return new TestCaseData("/api/schedules", "name").SetName("schedule");
        yield return new TestCaseData("/api/projects", "id").SetName("project");
        yield return new TestCaseData("/api/pipelines", "id").SetName("pipeline");
        yield return new TestCaseData("/api/channels", "name").SetName("channel");
        yield return new TestCaseData("/api/tools", "name").SetName("tool");
        yield return new TestCaseData("/api/keys", "name").SetName("key");
    }

    private object Body(string route, string name) => route switch
    {
        "/api/schedules" => new { name, action = new { type = "noop", config = new { } }, trigger = new { cron = "0 0 3 1 1 ?", timeZone = "UTC" } },
        "/api/projects" => Project(name),
        "/api/pipelines" => new { id = name, name, nodes = new object[] { new { id = "a", type = "action", action = new { type = "noop", config = new { } } } }, edges = Array.Empty<object>() },
        "/api/channels" => new { name, kind = "email", email = new { host = "smtp.example.com", port = 587, from = "a@example.com", to = new[] { "b@example.com" } } },
        "/api/tools" => new { name, kind = "http", parameters = new { type = "object" }, config = new { url = "https://tools.example.com/x" } },
        "/api/keys" => new { name, role = "viewer" },
        _ => throw new ArgumentOutOfRangeException(nameof(route)),
    };

    private async Task<int> CountAsync(string route, string name)
    {
        var text = await admin.GetStringAsync(route);
        var root = JsonDocument.Parse(text).RootElement;
        var items = root.ValueKind == JsonValueKind.Array ? root : root.GetProperty("items");
        return items.EnumerateArray().Count(i =>
            (i.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String && n.GetString() == name)
                || (i.TryGetProperty("id", out var id) && id.ValueKind == JsonValueKind.String && (id.GetString() == name || id.GetString() == $"default.{name}")));
    }

    [TestCaseSource(nameof(Creations))]
    public async Task A_taken_name_is_a_conflict_naming_the_field_and_nothing_is_created_twice(string route, string field)
    {
        var name = $"dup-{route.Split('/')[^1]}-{Guid.NewGuid():N}"[..24];
        await admin.PostForJsonAsync(route, Body(route, name), HttpStatusCode.Created);

        using var again = await admin.PostAsJsonAsync(route, Body(route, name));
        var text = await again.Content.ReadAsStringAsync();
        Assert.That(again.StatusCode, Is.EqualTo(HttpStatusCode.Conflict), text);
        Assert.That(again.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"));
        var problem = JsonDocument.Parse(text).RootElement;
        var reasons = problem.GetProperty("errors").GetProperty(field).EnumerateArray().Select(r => r.GetString()).ToList();
        Assert.That(reasons, Has.Count.EqualTo(1), text);
        Assert.That(reasons[0], Does.Contain(name).And.Contain("already exists"), text);
        Assert.That(problem.GetProperty("detail").GetString(), Is.EqualTo(reasons[0]), "the detail says the same for a client that reads only it");
        Assert.That(await CountAsync(route, name), Is.EqualTo(1), $"{route} lists '{name}' once");
    }
}
