using System.Net;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Agents;

/// <summary><c>GET /api/models</c>: the configured models, for anyone with a key, without the key or the endpoint's path and query.</summary>
[TestFixture]
[NonParallelizable]
public sealed class ModelsEndpointTests : ServerWithPeerFixture
{
    private const string Key = "sk-listed-never-4b1d";
    private const string QueryToken = "sig=q-never-shown";

    protected override string DatabaseName => "models";

    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Orchestrator__Secrets__openai"] = Key,
        ["Orchestrator__Agents__Models__default__Endpoint"] = "http://127.0.0.1:9/v1",
        ["Orchestrator__Agents__Models__default__Model"] = "scripted-1",
        ["Orchestrator__Agents__Models__default__ApiKeySecret"] = "openai",
        ["Orchestrator__Agents__Models__hosted__Endpoint"] = $"https://models.example.com:8443/deployments/team-a/v1?{QueryToken}",
        ["Orchestrator__Agents__Models__hosted__Model"] = "gpt-4.1-mini",
        ["Orchestrator__Agents__Models__hosted__ApiKeySecret"] = "openai",
        ["Orchestrator__Agents__Models__hosted__Temperature"] = "0.2",
    };

    [Test]
    public async Task Lists_each_configured_model_with_its_host_and_whether_its_key_resolves_never_the_key()
    {
        using var response = await Admin.GetAsync("/api/models");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        var text = await response.Content.ReadAsStringAsync();

        using var document = JsonDocument.Parse(text);
        var models = document.RootElement.EnumerateArray().ToList();
        Assert.That(models.Select(m => m.GetProperty("name").GetString()), Is.EqualTo(new[] { "default", "hosted" }));
        Assert.That(models[0].GetRawText(), Is.EqualTo("""{"name":"default","model":"scripted-1","endpointHost":"127.0.0.1:9","keyResolves":true}"""));
        Assert.That(models[1].GetRawText(), Is.EqualTo("""{"name":"hosted","model":"gpt-4.1-mini","endpointHost":"models.example.com:8443","keyResolves":true}"""));
        Assert.That(text, Does.Not.Contain(Key).And.Not.Contain(QueryToken).And.Not.Contain("team-a").And.Not.Contain("openai"),
            "neither the key, the secret's name, nor the endpoint's path or query");
    }

    [Test]
    public async Task Without_a_key_the_list_is_refused() =>
        // Which roles may call it is the OpenAPI document test's (every operation, each role): viewer and up.
        await ApiAssertions.AssertProblemAsync(await Server.CreateClient().GetAsync("/api/models"), HttpStatusCode.Unauthorized);

    [Test]
    public async Task The_route_is_in_the_openapi_document_with_its_schema_and_role()
    {
        using var document = JsonDocument.Parse(await Server.CreateClient().GetStringAsync("/openapi/v1.json"));
        var operation = document.RootElement.GetProperty("paths").GetProperty("/api/models").GetProperty("get");
        Assert.That(operation.GetProperty("x-required-role").GetString(), Is.EqualTo("viewer"));
        var schema = operation.GetProperty("responses").GetProperty("200").GetProperty("content").GetProperty("application/json").GetProperty("schema");
        Assert.That(schema.GetProperty("items").GetProperty("$ref").GetString(), Does.EndWith("/ModelResponse"));
        Assert.That(operation.GetProperty("responses").TryGetProperty("401", out _), Is.True);
    }
}
