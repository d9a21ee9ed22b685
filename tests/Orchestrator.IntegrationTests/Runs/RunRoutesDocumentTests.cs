using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Runs;

/// <summary>The run routes' OpenAPI entries: a typed success response and every problem status the route can give.</summary>
[TestFixture]
public sealed class RunRoutesDocumentTests : ServerWithPeerFixture
{
    protected override string DatabaseName => "runroutesdoc";

    [TestCase("get", "/api/runs", "200", new[] { "400", "422" })]
    [TestCase("get", "/api/runs/{runId}", "200", new[] { "404" })]
    [TestCase("post", "/api/runs/{runId}/cancel", "202", new[] { "404", "409" })]
    public async Task A_run_route_documents_its_response_schema_and_its_problems(string method, string path, string success, string[] problems)
    {
        using var http = Server.CreateClient(null);
        using var document = JsonDocument.Parse(await http.GetStringAsync("/openapi/v1.json"));
        var responses = document.RootElement.GetProperty("paths").GetProperty(path).GetProperty(method).GetProperty("responses");

        var schema = responses.GetProperty(success).GetProperty("content").GetProperty("application/json").GetProperty("schema");
        Assert.That(schema.TryGetProperty("$ref", out _), Is.True, $"{method} {path}: the {success} response has a schema of its own: {schema}");
        foreach (var status in problems)
        {
            Assert.That(responses.TryGetProperty(status, out var problem), Is.True, $"{method} {path} documents {status}: {responses}");
            Assert.That(problem.GetProperty("content").TryGetProperty("application/problem+json", out _), Is.True, $"{method} {path}: {status} is a problem: {problem}");
        }
    }
}
