using System.Globalization;
using System.Net.Http.Json;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Schedules;

/// <summary>
/// A restart keeps misfire state (process tier): an outage's misfire, the catch-up it caused and what the occurrences say
/// of the missed times read the same after the server is stopped and started again.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class LifecycleRestartTests
{
    private const int EverySeconds = 2;

    [Test]
    public async Task A_restart_keeps_the_misfires_and_the_occurrences_an_outage_left()
    {
        var database = await TestPostgres.CreateDatabaseAsync("lifecyclerestart");
        var environment = PostgresNode.Environment(database, new Dictionary<string, string?>());
        string key;
        DateTimeOffset stoppedAt;
        await using (var first = ServerProcess.Start(environment))
        {
            await first.WaitUntilReadyAsync();
            key = first.PrintedAdminKey!;
            using var api = first.CreateClient(key);
            await api.CreateScheduleAsync(new
            {
                name = "outage", action = new { type = "noop", config = new { } },
                trigger = new { cron = $"*/{EverySeconds} * * * * ?" }, misfire = new { policy = "fire_once", thresholdSeconds = 1 },
            });
            await Poll.UntilAsync(() => api.RunsAsync("default.outage", "succeeded"), r => r.Count >= 1, TimeSpan.FromSeconds(20), "a run before the outage");
            Assert.That(await first.StopGracefullyAsync(TimeSpan.FromSeconds(40)), Is.Zero);
            stoppedAt = TimeProvider.System.GetUtcNow();
        }

        await Task.Delay(TimeSpan.FromSeconds(4 * EverySeconds)); // several fire times pass with no node up
        string misfiresBefore;
        string gapBefore;
        var from = stoppedAt.AddSeconds(EverySeconds);
        string Range(DateTimeOffset to) =>
            $"from={Uri.EscapeDataString(from.ToString("O", CultureInfo.InvariantCulture))}&to={Uri.EscapeDataString(to.ToString("O", CultureInfo.InvariantCulture))}";
        string query;
        await using (var second = ServerProcess.Start(environment))
        {
            await second.WaitUntilReadyAsync();
            using var api = second.CreateClient(key);
            var misfires = await Poll.UntilAsync(async () => (await api.GetFromJsonAsync<JsonElement>("/api/schedules/default.outage/misfires")).GetProperty("items"),
                m => m.GetArrayLength() >= 1, TimeSpan.FromSeconds(20), "the outage's misfire");
            await Poll.UntilAsync(() => api.RunsAsync("default.outage", "succeeded"), r => r.Any(x => x.GetProperty("scheduledFireTime").GetDateTimeOffset() > stoppedAt),
                TimeSpan.FromSeconds(20), "the fire_once catch-up");
            // The range ends when the restarted node noticed the misfire: the times due before that are the outage's,
            // which the one catch-up stands for. (A time due after it is an ordinary firing, which on a loaded machine
            // may still be waiting when the schedule is paused below.)
            var noticed = misfires.EnumerateArray().Min(m => m.GetProperty("detectedAt").GetDateTimeOffset());
            query = Range(noticed);
            await api.PostAsync("/api/schedules/default.outage/pause", null);
            // Past the 5 s in which a due time with no run yet reads as pending.
            await Task.Delay(TimeSpan.FromSeconds(6));
            misfiresBefore = misfires.ToString();
            var gap = await api.GetFromJsonAsync<JsonElement>($"/api/schedules/default.outage/occurrences?{query}");
            var outcomes = gap.GetProperty("items").EnumerateArray().Select(o => o.GetProperty("outcome").GetString()).ToList();
            Assert.That(outcomes, Has.Count.GreaterThanOrEqualTo(2), gap.ToString());
            Assert.That(outcomes, Is.All.EqualTo("coalesced"), "every time the outage held was stood for by the one catch-up: " + gap);
            gapBefore = gap.GetProperty("items").ToString();
            Assert.That(await second.StopGracefullyAsync(TimeSpan.FromSeconds(40)), Is.Zero);
        }

        await using var third = ServerProcess.Start(environment);
        await third.WaitUntilReadyAsync();
        using var api3 = third.CreateClient(key);
        var kept = (await api3.GetFromJsonAsync<JsonElement>("/api/schedules/default.outage/misfires")).GetProperty("items");
        // Every misfire read before is still there (the restart itself may add one for a time it missed meanwhile).
        Assert.That(kept.EnumerateArray().Select(m => m.ToString()), Is.SupersetOf(JsonDocument.Parse(misfiresBefore).RootElement.EnumerateArray().Select(m => m.ToString())),
            "the misfire history is in the database, not the process");
        var again = await api3.GetFromJsonAsync<JsonElement>($"/api/schedules/default.outage/occurrences?{query}");
        Assert.That(again.GetProperty("items").ToString(), Is.EqualTo(gapBefore), "the occurrences of the outage read the same after a restart");
    }
}
