using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Projects;

/// <summary>
/// The OpenAPI document describes the routes of projects, project files, tools and channels: a schema for each success
/// response that has a body, and each problem status the route can answer with a problem body.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class TypedRoutesDocumentTests
{
    private InProcessServer server = null!;
    private JsonDocument document = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        server = InProcessServer.Start();
        await server.WaitUntilReadyAsync();
        using var anonymous = server.CreateClient();
        document = JsonDocument.Parse(await anonymous.GetStringAsync("/openapi/v1.json"));
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        document?.Dispose();
        if (server is not null)
        {
            await server.DisposeAsync();
        }
    }

    [TestCase("get", "/api/projects", 200, new int[0])]
    [TestCase("get", "/api/projects/{id}", 200, new[] { 404 })]
    [TestCase("post", "/api/projects", 201, new[] { 400, 409, 422 })]
    [TestCase("put", "/api/projects/{id}", 200, new[] { 400, 404, 422 })]
    [TestCase("delete", "/api/projects/{id}", 204, new[] { 404, 409 })]
    [TestCase("get", "/api/projects/{id}/files/{path}", 200, new[] { 404, 413, 422 })]
    [TestCase("put", "/api/projects/{id}/files/{path}", 200, new[] { 404, 413, 422 })]
    [TestCase("delete", "/api/projects/{id}/files/{path}", 204, new[] { 404, 409, 422 })]
    [TestCase("get", "/api/tools", 200, new int[0])]
    [TestCase("get", "/api/tools/{name}", 200, new[] { 404 })]
    [TestCase("post", "/api/tools", 201, new[] { 400, 409, 422 })]
    [TestCase("put", "/api/tools/{name}", 200, new[] { 400, 404, 409, 422 })]
    [TestCase("delete", "/api/tools/{name}", 204, new[] { 404, 409 })]
    [TestCase("post", "/api/tools/{name}/validate", 200, new[] { 400, 404, 422 })]
    [TestCase("post", "/api/tools/{name}/invoke", 200, new[] { 400, 403, 404, 409, 422 })]
    [TestCase("get", "/api/channels", 200, new int[0])]
    [TestCase("get", "/api/channels/{name}", 200, new[] { 404 })]
    [TestCase("post", "/api/channels", 201, new[] { 400, 409, 422 })]
    [TestCase("put", "/api/channels/{name}", 200, new[] { 400, 404, 422 })]
    [TestCase("delete", "/api/channels/{name}", 204, new[] { 404, 409 })]
    public void Route_documents_its_success_schema_and_its_problems(string method, string path, int success, int[] problems)
    {
        Assert.That(document.RootElement.GetProperty("paths").TryGetProperty(path, out var item), Is.True, $"{path} is in the document");
        Assert.That(item.TryGetProperty(method, out var operation), Is.True, $"{method} {path} is in the document");
        var responses = operation.GetProperty("responses");

        Assert.That(responses.TryGetProperty(success.ToString(System.Globalization.CultureInfo.InvariantCulture), out var ok), Is.True, $"{method} {path} documents {success}");
        if (success != 204)
        {
            Assert.That(ok.TryGetProperty("content", out var content) && content.TryGetProperty("application/json", out var json) && json.TryGetProperty("schema", out _),
                Is.True, $"{method} {path}: {success} has a JSON schema: {ok}");
        }

        foreach (var status in problems)
        {
            Assert.That(responses.TryGetProperty(status.ToString(System.Globalization.CultureInfo.InvariantCulture), out var problem), Is.True, $"{method} {path} documents {status}");
            Assert.That(problem.TryGetProperty("content", out var content) && content.TryGetProperty("application/problem+json", out var body) && body.TryGetProperty("schema", out _),
                Is.True, $"{method} {path}: {status} has a problem body: {problem}");
        }
    }

    [Test]
    public void A_file_read_documents_the_listing_and_the_download()
    {
        var content = document.RootElement.GetProperty("paths").GetProperty("/api/projects/{id}/files/{path}").GetProperty("get").GetProperty("responses").GetProperty("200").GetProperty("content");
        Assert.That(content.GetProperty("application/json").GetProperty("schema").GetRawText(), Does.Contain("FileEntry"));
        Assert.That(content.GetProperty("application/octet-stream").GetProperty("schema").GetProperty("format").GetString(), Is.EqualTo("binary"));
    }

    [Test]
    public void A_channel_documents_both_shapes_of_its_settings_without_a_discriminator()
    {
        var settings = document.RootElement.GetProperty("components").GetProperty("schemas").GetProperty("ChannelSettingsResponse");
        Assert.That(settings.GetRawText(), Does.Contain("WebhookChannelSettings").And.Contain("EmailChannelSettings"));
        // The JSON carries no "$type": the document must not promise one.
        Assert.That(settings.TryGetProperty("discriminator", out _), Is.False, settings.ToString());
    }
}
