using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Deadlines;

/// <summary>
/// A deadline tells the truth about the schedule's own misfire policy (issue 14): a due time that <c>skip</c> skipped on
/// purpose (missed by more than its misfire threshold while a run held the trigger under <c>forbid</c>) is no breach,
/// and the occurrences route calls the same due times skipped; under <c>fire_once</c> the same due times did not run
/// (folded into one catch-up), and each is alerted once. On PostgreSQL, the alerts through a real webhook peer.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class DeadlineMisfirePolicyTests : ServerWithPeerFixture
{
    protected override string DatabaseName => "deadlinemisfires";

    // Checks every second, so each due time is judged about a second after its start limit.
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Orchestrator__Deadlines__CheckSeconds"] = "1" };

    [Test]
    public async Task Due_times_skipped_by_the_skip_policy_are_not_alerted_and_the_same_due_times_under_fire_once_are()
    {
        await Admin.PostForJsonAsync("/api/channels", new { name = "misfire-ops", kind = "webhook", webhook = new { url = Peer.BaseUrl + "/misfire-ops" } }, HttpStatusCode.Created);
        // Every 2 s under 'forbid', each run taking 5 s: the due times that come during a run pass their 1-s threshold.
        Peer.Configure("/misfire-busy", new RecordingHttpServer.Behaviour(TimeSpan.FromSeconds(5)));
        foreach (var (name, policy) in new[] { ("skipping", "skip"), ("folding", "fire_once") })
        {
            await Admin.CreateScheduleAsync(new
            {
                name,
                action = new { type = "call_api", config = new { method = "GET", url = Peer.BaseUrl + "/misfire-busy" } },
                trigger = new { intervalSeconds = 2 },
                concurrency = "forbid",
                misfire = new { policy, thresholdSeconds = 1 },
                deadline = new { startWithinSeconds = 1, channel = "misfire-ops" },
            });
        }

        var from = TimeProvider.System.GetUtcNow().AddSeconds(-5);
        // Three runs each: at least two rounds of due times passed during a run.
        foreach (var id in new[] { "default.skipping", "default.folding" })
        {
            await Poll.UntilAsync(() => Admin.RunsAsync(id, "succeeded"), r => r.Count >= 3, TimeSpan.FromSeconds(120), $"{id}: three runs");
        }

        foreach (var id in new[] { "default.skipping", "default.folding" })
        {
            await Admin.PostForJsonAsync($"/api/schedules/{id}/pause", new { reason = "test over" }, HttpStatusCode.OK);
        }

        var to = TimeProvider.System.GetUtcNow();
        var skipped = await OutcomesAsync("default.skipping", from, to, "skipped");
        var folded = await OutcomesAsync("default.folding", from, to, "coalesced");
        var missed = (await OutcomesAsync("default.folding", from, to, "missed")).Concat(await OutcomesAsync("default.skipping", from, to, "missed")).ToList();
        // The checker judges a due time about a second after its start limit; every one of them is judged by then.
        var judgedBy = skipped.Concat(folded).DefaultIfEmpty(to).Max().AddSeconds(6);
        await PauseUntilAsync(judgedBy);

        var skipBreaches = (await BreachesAsync("default.skipping")).Select(b => b.GetProperty("occurrence").GetDateTimeOffset()).ToList();
        var foldBreaches = (await BreachesAsync("default.folding")).Select(b => b.GetProperty("occurrence").GetDateTimeOffset()).ToList();
        List<JsonElement> FoldAlerts() => [.. Peer.RequestsTo("/misfire-ops").Select(r => JsonDocument.Parse(r.Body).RootElement)
            .Where(m => m.GetProperty("subject").GetString()!.StartsWith("Deadline missed", StringComparison.Ordinal)
                        && m.GetProperty("message").GetString()!.Contains("default.folding", StringComparison.Ordinal))];
        // Sent by the check after the one that found them: waited for, then counted (a second alert would be a duplicate).
        await Poll.UntilAsync(() => Task.FromResult(FoldAlerts()), a => a.Count >= foldBreaches.Count, TimeSpan.FromSeconds(60), "the alerts sent");
        var alerts = FoldAlerts();
        string Text() => $"skipped {Times(skipped)}; coalesced {Times(folded)}; missed {Times(missed)}\nskip breaches {Times(skipBreaches)}\nfire_once breaches {Times(foldBreaches)}";
        Assert.Multiple(() =>
        {
            Assert.That(skipped, Has.Count.GreaterThanOrEqualTo(2), "the route: due times skip skipped on purpose (the premise)\n" + Text());
            Assert.That(folded, Has.Count.GreaterThanOrEqualTo(2), "the route: due times fire_once folded into a catch-up (the premise)\n" + Text());
            Assert.That(skipBreaches.Intersect(skipped), Is.Empty, "a due time the skip policy skipped is no breach\n" + Text());
            Assert.That(folded.Except(foldBreaches), Is.Empty, "a due time that did not run of its own is a breach\n" + Text());
            Assert.That(alerts, Has.Count.EqualTo(foldBreaches.Count), "each breach alerted once\n" + Text());
        });
    }

    private static string Times(IEnumerable<DateTimeOffset> times) =>
        string.Join(", ", times.Order().Select(t => t.ToString("HH:mm:ss", CultureInfo.InvariantCulture)));

    private async Task<List<DateTimeOffset>> OutcomesAsync(string id, DateTimeOffset from, DateTimeOffset to, string outcome)
    {
        var answer = await Admin.GetFromJsonAsync<JsonElement>(
            $"/api/schedules/{id}/occurrences?from={Uri.EscapeDataString(from.ToString("O", CultureInfo.InvariantCulture))}&to={Uri.EscapeDataString(to.ToString("O", CultureInfo.InvariantCulture))}");
        return [.. answer.GetProperty("items").EnumerateArray()
            .Where(i => i.GetProperty("outcome").GetString() == outcome)
            .Select(i => i.GetProperty("dueAt").GetDateTimeOffset())];
    }

    private async Task<List<JsonElement>> BreachesAsync(string id) =>
        [.. (await Admin.GetFromJsonAsync<JsonElement>($"/api/deadlines?scheduleId={id}&kind=start")).GetProperty("items").EnumerateArray()];

    private static async Task PauseUntilAsync(DateTimeOffset at)
    {
        var wait = at - TimeProvider.System.GetUtcNow();
        if (wait > TimeSpan.Zero)
        {
            await Task.Delay(wait);
        }
    }
}
