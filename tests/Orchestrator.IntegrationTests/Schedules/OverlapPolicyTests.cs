using System.Net.Http.Json;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Schedules;

/// <summary>
/// Each overlap policy (<c>concurrency</c>) against a slow call_api action — a local HTTP server that holds every
/// response longer than the schedule's interval — on a real server and PostgreSQL.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class OverlapPolicyTests : ServerWithPeerFixture
{
    protected override string DatabaseName => "overlap";

    /// <summary>Creates a schedule firing every second that calls its own slow server; pauses it after <paramref name="calls"/> calls.</summary>
    private async Task<RecordingHttpServer> RunSlowAsync(string name, string concurrency, RecordingHttpServer.Behaviour behaviour, int calls, bool includeInFlight = false)
    {
        var slow = await RecordingHttpServer.StartAsync();
        slow.Configure("/slow", behaviour);
        await Admin.CreateScheduleAsync(new
        {
            name,
            action = new { type = "call_api", config = new { method = "POST", url = slow.BaseUrl + "/slow", timeoutSeconds = 60 } },
            trigger = new { intervalSeconds = 1 },
            misfire = new { policy = "fire_once", thresholdSeconds = 1 },
            concurrency,
        });
        await slow.WaitForRequestsAsync("/slow", calls, TimeSpan.FromSeconds(30), includeInFlight);
        await Admin.PostAsync($"/api/schedules/default.{name}/pause", null);
        return slow;
    }

    private async Task<List<JsonElement>> SettledRunsAsync(string id) =>
        await Poll.UntilAsync(() => Admin.RunsAsync(id), runs => runs.All(r => r.Status() is not ("running" or "pending")), TimeSpan.FromSeconds(30), $"{id}'s runs to finish");

    [Test]
    public async Task Forbid_queues_each_firing_behind_the_running_one_and_never_overlaps()
    {
        await using var slow = await RunSlowAsync("forbid", "forbid", new RecordingHttpServer.Behaviour(TimeSpan.FromMilliseconds(2500)), 3);
        Assert.That(slow.MaxInFlight, Is.EqualTo(1), "never two calls at once");
        var schedule = await Admin.GetFromJsonAsync<JsonElement>("/api/schedules/default.forbid");
        Assert.That(schedule.GetProperty("concurrency").GetString(), Is.EqualTo("forbid"));
    }

    [Test]
    public async Task Skip_drops_a_firing_while_one_runs_and_records_it_as_skipped_for_overlap()
    {
        await using var slow = await RunSlowAsync("skip", "skip", new RecordingHttpServer.Behaviour(TimeSpan.FromMilliseconds(2500)), 3);
        await SettledRunsAsync("default.skip");
        Assert.That(slow.MaxInFlight, Is.EqualTo(1), "never two calls at once");

        var misfires = (await Admin.GetFromJsonAsync<JsonElement>("/api/schedules/default.skip/misfires")).GetProperty("items");
        var overlaps = misfires.EnumerateArray().Where(m => m.GetProperty("reason").GetString() == "overlap").ToList();
        Assert.That(overlaps, Is.Not.Empty, "Quartz records each dropped firing with the reason overlap: " + misfires);

        var occurrences = await Admin.GetFromJsonAsync<JsonElement>("/api/schedules/default.skip/occurrences");
        var skipped = occurrences.GetProperty("items").EnumerateArray()
            .Where(o => o.GetProperty("outcome").GetString() == "skipped" && o.GetProperty("reason").GetString()!.StartsWith("overlap", StringComparison.Ordinal))
            .Select(o => o.GetProperty("dueAt").GetDateTimeOffset())
            .ToList();
        Assert.That(skipped, Is.SupersetOf(overlaps.Select(m => m.GetProperty("scheduledFireTime").GetDateTimeOffset())), occurrences.ToString());
        var ranTimes = (await Admin.RunsAsync("default.skip")).Select(r => r.GetProperty("scheduledFireTime").GetDateTimeOffset());
        Assert.That(skipped.Intersect(ranTimes), Is.Empty, "a skipped due time never ran");
    }

    [Test]
    public async Task Buffer_one_keeps_at_most_one_firing_waiting_and_runs_it_when_the_running_one_ends()
    {
        await using var slow = await RunSlowAsync("buffer-one", "buffer_one", new RecordingHttpServer.Behaviour(TimeSpan.FromMilliseconds(2500)), 3);
        var runs = await SettledRunsAsync("default.buffer-one");
        Assert.That(slow.MaxInFlight, Is.EqualTo(1), "never two calls at once");

        // The buffered firing starts as soon as the one before it ends: no idle gap of a whole interval between calls.
        var calls = slow.RequestsTo("/slow").OrderBy(r => r.Started).ToList();
        for (var i = 1; i < calls.Count; i++)
        {
            Assert.That(calls[i].Started - calls[i - 1].Finished, Is.LessThan(TimeSpan.FromMilliseconds(1500)), $"call {i} waited behind call {i - 1}");
            Assert.That(calls[i].Started, Is.GreaterThanOrEqualTo(calls[i - 1].Finished - TimeSpan.FromMilliseconds(50)), $"call {i} overlapped call {i - 1}");
        }

        var schedule = await Admin.GetFromJsonAsync<JsonElement>("/api/schedules/default.buffer-one");
        Assert.That(schedule.GetProperty("concurrency").GetString(), Is.EqualTo("buffer_one"));
        Assert.That(runs.Select(r => r.Status()), Is.All.EqualTo("succeeded"), "nothing is cancelled or skipped by the ledger");
    }

    [Test]
    public async Task Cancel_previous_interrupts_the_running_call_records_it_cancelled_with_the_reason_and_runs_the_new_one()
    {
        var never = new TaskCompletionSource();
        await using var slow = await RunSlowAsync("cancel-previous", "cancel_previous", new RecordingHttpServer.Behaviour(TimeSpan.Zero, Hold: never.Task), 3, includeInFlight: true);
        // Paused: no newer firing will supersede the last call, so it is let go.
        never.SetResult();
        var runs = await SettledRunsAsync("default.cancel-previous");

        var cancelled = runs.Where(r => r.Status() == "cancelled").ToList();
        Assert.That(cancelled, Has.Count.GreaterThanOrEqualTo(2), string.Join("\n", runs));
        Assert.That(cancelled.Select(r => r.GetProperty("error").GetString()), Has.All.Contains("cancel_previous").And.All.Contains("superseded by the firing due at"));
        Assert.That(slow.RequestsTo("/slow").Count(r => r.Aborted), Is.GreaterThanOrEqualTo(2), "the superseded calls were aborted, not left running");
        // Each superseded run was replaced by the next due time's run.
        var times = runs.Select(r => r.GetProperty("scheduledFireTime").GetDateTimeOffset()).Order().ToList();
        Assert.That(times.Distinct().Count(), Is.EqualTo(times.Count), "one run per due time");
    }

    [Test]
    public async Task Allow_starts_a_firing_alongside_the_running_one()
    {
        await using var slow = await RunSlowAsync("allow", "allow", new RecordingHttpServer.Behaviour(TimeSpan.FromMilliseconds(2500)), 3);
        Assert.That(slow.MaxInFlight, Is.GreaterThanOrEqualTo(2), "calls overlapped");
    }

    [Test]
    public async Task An_unknown_policy_is_refused_naming_the_five()
    {
        var response = await Admin.PostAsync("/api/schedules", ApiClient.Json(new
        {
            name = "bad-overlap", action = new { type = "noop", config = new { } }, trigger = new { cron = "0 0 3 * * ?" }, concurrency = "queue",
        }));
        var problem = await ApiAssertions.AssertProblemAsync(response, System.Net.HttpStatusCode.UnprocessableEntity);
        var reason = problem.GetProperty("errors").GetProperty("concurrency")[0].GetString();
        Assert.That(reason, Does.Contain("'forbid', 'skip', 'buffer_one', 'cancel_previous', 'allow'"));
        Assert.That((await Admin.GetAsync("/api/schedules/default.bad-overlap")).StatusCode, Is.EqualTo(System.Net.HttpStatusCode.NotFound));
    }
}
