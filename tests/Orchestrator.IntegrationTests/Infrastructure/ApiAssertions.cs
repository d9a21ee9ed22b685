using System.Net;
using System.Text.Json;

namespace Orchestrator.IntegrationTests.Infrastructure;

public static class ApiAssertions
{
    /// <summary>Asserts an RFC 9457 problem response with the status, and returns its JSON for further checks.</summary>
    public static async Task<JsonElement> AssertProblemAsync(HttpResponseMessage response, HttpStatusCode status)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(status), body);
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/problem+json"), body);
        var json = JsonDocument.Parse(body).RootElement.Clone();
        Assert.That(json.GetProperty("status").GetInt32(), Is.EqualTo((int)status));
        Assert.That(json.TryGetProperty("title", out _), Is.True);
        return json;
    }
}
