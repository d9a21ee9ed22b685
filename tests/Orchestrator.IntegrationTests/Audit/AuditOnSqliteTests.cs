using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Audit;

/// <summary>The audit log on the embedded SQLite default: recorded, filtered by time and action prefix, paged.</summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class AuditOnSqliteTests
{
    [Test]
    public async Task Changes_are_recorded_filtered_and_paged_on_the_embedded_database()
    {
        await using var server = InProcessServer.Start();
        await server.WaitUntilReadyAsync();
        using var admin = server.CreateClient(server.PrintedAdminKey);
        await admin.CreateScheduleAsync(new { name = "lite", action = new { type = "noop", config = new { } }, trigger = new { cron = "0 0 3 * * ?" } });
        await admin.PostForJsonAsync("/api/schedules/default.lite/pause", new { reason = "sqlite too" }, HttpStatusCode.OK);
        await admin.PostForJsonAsync("/api/schedules/default.lite/resume", null, HttpStatusCode.OK);

        var since = Uri.EscapeDataString(TimeProvider.System.GetUtcNow().AddMinutes(-5).ToString("O", CultureInfo.InvariantCulture));
        var first = await admin.GetFromJsonAsync<JsonElement>($"/api/audit?action=schedule.*&from={since}&pageSize=2");
        var items = first.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("action").GetString()).ToList();
        Assert.That(items, Is.EqualTo(new[] { "schedule.resume", "schedule.pause" }));
        var cursor = first.GetProperty("nextCursor").GetString();
        var second = await admin.GetFromJsonAsync<JsonElement>($"/api/audit?action=schedule.*&from={since}&pageSize=2&cursor={cursor}");
        Assert.That(second.GetProperty("items").EnumerateArray().Select(e => e.GetProperty("action").GetString()), Is.EqualTo(new[] { "schedule.create" }));
        Assert.That(second.GetProperty("nextCursor").ValueKind, Is.EqualTo(JsonValueKind.Null));
        Assert.That(first.GetProperty("items")[1].GetProperty("reason").GetString(), Is.EqualTo("sqlite too"));
    }
}
