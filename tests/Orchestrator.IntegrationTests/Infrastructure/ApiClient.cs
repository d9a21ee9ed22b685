using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;

namespace Orchestrator.IntegrationTests.Infrastructure;

/// <summary>Thin helpers over the admin API for tests: JSON in, JsonElement out.</summary>
public static class ApiClient
{
    public static StringContent Json(object body) => new(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    public static async Task<JsonElement> CreateScheduleAsync(this HttpClient http, object schedule)
    {
        var response = await http.PostAsync("/api/schedules", Json(schedule));
        var text = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created), text);
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    public static async Task<List<JsonElement>> RunsAsync(this HttpClient http, string scheduleId, string? status = null)
    {
        var page = await http.GetFromJsonAsync<JsonElement>($"/api/runs?scheduleId={scheduleId}&pageSize=200{(status is null ? "" : "&status=" + status)}");
        return [.. page.GetProperty("items").EnumerateArray()];
    }

    public static async Task<JsonElement> PostForJsonAsync(this HttpClient http, string path, object? body, HttpStatusCode expected)
    {
        var response = await http.PostAsync(path, body is null ? null : Json(body));
        var text = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(expected), text);
        return text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone();
    }

    public static string Status(this JsonElement run) => run.GetProperty("status").GetString()!;
}
