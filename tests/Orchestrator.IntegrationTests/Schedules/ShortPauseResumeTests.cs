using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;
using Orchestrator.IntegrationTests.Telemetry;

namespace Orchestrator.IntegrationTests.Schedules;

/// <summary>
/// Resuming never floods (SPEC §3 Lifecycle) after a pause shorter than the misfire threshold, which Quartz does not
/// treat as a misfire at the resume: a server process on PostgreSQL, one schedule per misfire policy and trigger form,
/// all due every 4 s on one grid, paused for about 20 s and resumed between two due times. The runs, the occurrences
/// route and <c>orchestrator.occurrences</c> agree on what became of the paused due times.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Self)]
public sealed class ShortPauseResumeTests
{
    private static readonly TimeSpan Grid = TimeSpan.FromSeconds(4);

    [Test]
    public async Task A_pause_shorter_than_the_misfire_threshold_resumes_by_the_misfire_policy_without_a_flood()
    {
        var workspaces = Directory.CreateTempSubdirectory("orchestrator-shortpause-ws-").FullName;
        var database = await TestPostgres.CreateDatabaseAsync("shortpause");
        // A process of its own: /metrics is read (see OccurrenceMetricsTests for why not in-process).
        await using var process = ServerProcess.Start(PostgresNode.Environment(database, new Dictionary<string, string?>
        {
            ["Orchestrator__Workspaces__Roots__0"] = workspaces,
        }));
        await process.WaitUntilReadyAsync();
        using var admin = process.CreateClient(process.PrintedAdminKey);
        using var anonymous = process.CreateClient();

        var created = TimeProvider.System.GetUtcNow();
        // Interval and calendar triggers start on the cron's grid (UTC seconds divisible by 4), far enough ahead that the
        // schedules are all created by then (a start in the past would move to the first fire time from now).
        var start = NextOnGrid(created.AddSeconds(20)).ToString("O", CultureInfo.InvariantCulture);
        // The threshold is far above the pause: Quartz applies no misfire at the resume, and this server decides.
        var schedules = new Dictionary<string, (object Trigger, string Policy)>
        {
            ["rs-once"] = (new { cron = "0/4 * * * * ?" }, "fire_once"),
            ["rs-skip"] = (new { cron = "0/4 * * * * ?" }, "skip"),
            ["rs-catchup"] = (new { cron = "0/4 * * * * ?" }, "catch_up"),
            ["rs-interval"] = (new { intervalSeconds = 4, startAt = start }, "fire_once"),
            ["rs-calendar"] = (new { every = 4, unit = "second", startAt = start }, "skip"),
        };
        foreach (var (project, (trigger, policy)) in schedules)
        {
            await admin.PostForJsonAsync("/api/projects", new { id = project, name = project, rootPath = Path.Combine(workspaces, project) }, HttpStatusCode.Created);
            await admin.CreateScheduleAsync(JsonSerializer.SerializeToNode(new
            {
                name = "s",
                project,
                action = new { type = "noop", config = new { } },
                trigger,
                misfire = new { policy, thresholdSeconds = 300 },
            })!.AsObject());
        }

        var ids = schedules.Keys.Select(p => $"{p}.s").ToList();
        foreach (var id in ids)
        {
            await Poll.UntilAsync(() => admin.RunsAsync(id, "succeeded"), r => r.Count >= 1, TimeSpan.FromSeconds(90), $"{id} ran before the pause");
        }

        // Paused 1 s after a due time and resumed 2 s after one, five due times later: no due time is near either call.
        await WaitForPhaseAsync(TimeSpan.FromSeconds(1));
        await admin.PostForJsonAsync("/api/schedules/pause", new { ids, reason = "short pause" }, HttpStatusCode.OK);
        var pausedBy = TimeProvider.System.GetUtcNow();
        await Task.Delay(TimeSpan.FromSeconds(17));
        await WaitForPhaseAsync(TimeSpan.FromSeconds(2));
        var resumeFrom = TimeProvider.System.GetUtcNow();
        await admin.PostForJsonAsync("/api/schedules/resume", new { ids }, HttpStatusCode.OK);
        var resumedBy = TimeProvider.System.GetUtcNow();

        // Each schedule goes on after the resume: a due time after it runs.
        foreach (var id in ids)
        {
            await Poll.UntilAsync(() => admin.RunsAsync(id, "succeeded"), r => r.Any(x => Scheduled(x) > resumedBy), TimeSpan.FromSeconds(90), $"{id} ran after the resume");
        }

        // Stopped again between two due times, so what the route and the counter say no longer moves.
        await WaitForPhaseAsync(TimeSpan.FromSeconds(2));
        var stoppedFrom = TimeProvider.System.GetUtcNow();
        await admin.PostForJsonAsync("/api/schedules/pause", new { ids, reason = "stop" }, HttpStatusCode.OK);
        foreach (var id in ids)
        {
            await Poll.UntilAsync(() => admin.RunsAsync(id), r => r.All(x => x.Status() is not ("running" or "pending")), TimeSpan.FromSeconds(60), $"{id}'s runs settled");
        }

        var runs = new Dictionary<string, List<DateTimeOffset>>();
        var routes = new Dictionary<string, List<JsonElement>>();
        foreach (var id in ids)
        {
            runs[id] = [.. (await admin.RunsAsync(id)).Select(Scheduled)];
            var answer = await admin.GetFromJsonAsync<JsonElement>(
                $"/api/schedules/{id}/occurrences?from={Uri.EscapeDataString(created.AddSeconds(-10).ToString("O", CultureInfo.InvariantCulture))}&to={Uri.EscapeDataString(stoppedFrom.ToString("O", CultureInfo.InvariantCulture))}");
            routes[id] = [.. answer.GetProperty("items").EnumerateArray().Where(i => i.GetProperty("dueAt").GetDateTimeOffset() < stoppedFrom)];
        }

        // The due times that came while paused, each schedule's by its own trigger (as the route lists them).
        var pausedDue = ids.ToDictionary(id => id, id => routes[id].Select(i => i.GetProperty("dueAt").GetDateTimeOffset()).Where(d => d > pausedBy && d < resumeFrom).Order().ToList());
        string Text(string id) => $"paused due times {string.Join(", ", pausedDue[id].Select(p => p.ToString("HH:mm:ss", CultureInfo.InvariantCulture)))}\nruns {string.Join(", ", runs[id].Order().Select(r => r.ToString("HH:mm:ss.fff", CultureInfo.InvariantCulture)))}\n{string.Join('\n', routes[id])}";
        List<DateTimeOffset> RunsWhilePaused(string id) => [.. runs[id].Where(r => pausedDue[id].Contains(r)).Order()];
        List<string> RouteWhilePaused(string id) => [.. routes[id].Where(i => pausedDue[id].Contains(i.GetProperty("dueAt").GetDateTimeOffset()))
            .OrderBy(i => i.GetProperty("dueAt").GetDateTimeOffset())
            .Select(i => i.GetProperty("outcome").GetString() == "skipped" && i.GetProperty("reason").GetString()!.StartsWith("paused", StringComparison.Ordinal) ? "paused" : i.GetProperty("outcome").GetString()!)];

        List<string> OnlyLast(string id) => [.. pausedDue[id].Select((_, i) => i == pausedDue[id].Count - 1 ? "ran" : "paused")];
        Assert.Multiple(() =>
        {
            foreach (var id in ids)
            {
                Assert.That(pausedDue[id], Has.Count.GreaterThanOrEqualTo(4), $"due times came while {id} was paused\n{Text(id)}");
            }

            // fire_once: one catch-up, the pause's last due time; skip: none; catch_up: every one (its policy).
            foreach (var id in new[] { "rs-once.s", "rs-interval.s" })
            {
                Assert.That(RunsWhilePaused(id), Is.EqualTo(pausedDue[id].TakeLast(1)), $"{id}\n{Text(id)}");
                Assert.That(RouteWhilePaused(id), Is.EqualTo(OnlyLast(id)), $"{id}\n{Text(id)}");
            }

            foreach (var id in new[] { "rs-skip.s", "rs-calendar.s" })
            {
                Assert.That(RunsWhilePaused(id), Is.Empty, $"{id}\n{Text(id)}");
                Assert.That(RouteWhilePaused(id), Is.All.EqualTo("paused"), $"{id}\n{Text(id)}");
            }

            Assert.That(RunsWhilePaused("rs-catchup.s"), Is.EqualTo(pausedDue["rs-catchup.s"]), Text("rs-catchup.s"));
            Assert.That(RouteWhilePaused("rs-catchup.s"), Is.All.EqualTo("ran"), Text("rs-catchup.s"));
        });

        // The counter agrees with the route on every due time up to the second pause: the vetoed ones counted once, as
        // skipped/paused and never as vetoed.
        async Task<PrometheusText> ScrapeAsync()
        {
            using var response = await anonymous.GetAsync("/metrics");
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            return PrometheusText.Parse(await response.Content.ReadAsStringAsync());
        }

        static int Counted(PrometheusText metrics, string project, string outcome, string? reason = null) => (int)(reason is null
            ? metrics.Sum("orchestrator_occurrences_total", ("project", project), ("outcome", outcome))
            : metrics.Sum("orchestrator_occurrences_total", ("project", project), ("outcome", outcome), ("reason", reason)));
        int RouteCount(string id, Func<JsonElement, bool> which) => routes[id].Count(which);
        static bool IsPausedSkip(JsonElement i) =>
            i.GetProperty("outcome").GetString() == "skipped" && i.GetProperty("reason").GetString()!.StartsWith("paused", StringComparison.Ordinal);
        static bool Ran(JsonElement i) => i.GetProperty("outcome").GetString() == "ran";
        bool Agree(PrometheusText metrics) => schedules.Keys.All(p =>
            Counted(metrics, p, "skipped", "paused") == RouteCount($"{p}.s", IsPausedSkip)
            && Counted(metrics, p, "on_time") + Counted(metrics, p, "late") == RouteCount($"{p}.s", Ran));

        var waited = System.Diagnostics.Stopwatch.StartNew();
        var scraped = await ScrapeAsync();
        while (!Agree(scraped) && waited.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(TimeSpan.FromMilliseconds(250));
            scraped = await ScrapeAsync();
        }

        var lines = string.Join('\n', scraped.Text.Split('\n').Where(l => l.StartsWith("orchestrator_occurrences", StringComparison.Ordinal)));
        Assert.Multiple(() =>
        {
            foreach (var project in schedules.Keys)
            {
                var id = $"{project}.s";
                Assert.That(Counted(scraped, project, "skipped", "paused"), Is.EqualTo(RouteCount(id, IsPausedSkip)), $"{project} skipped/paused\n{Text(id)}\n{lines}");
                Assert.That(Counted(scraped, project, "on_time") + Counted(scraped, project, "late"), Is.EqualTo(RouteCount(id, Ran)), $"{project} ran\n{Text(id)}\n{lines}");
                Assert.That(Counted(scraped, project, "skipped", "vetoed"), Is.Zero, $"{project}: a paused due time is not a veto's\n{lines}");
                Assert.That(Counted(scraped, project, "coalesced"), Is.Zero, $"{project}\n{lines}");
            }

            Assert.That(Counted(scraped, "rs-skip", "skipped", "paused"), Is.EqualTo(pausedDue["rs-skip.s"].Count), lines);
            Assert.That(Counted(scraped, "rs-once", "skipped", "paused"), Is.EqualTo(pausedDue["rs-once.s"].Count - 1), lines);
        });
    }

    private static DateTimeOffset Scheduled(JsonElement run) => run.GetProperty("scheduledFireTime").GetDateTimeOffset();

    /// <summary>The first instant on the 4 s grid (UTC seconds divisible by 4) at or after <paramref name="at"/>.</summary>
    private static DateTimeOffset NextOnGrid(DateTimeOffset at)
    {
        var ticks = at.UtcTicks + Grid.Ticks - 1;
        return new DateTimeOffset(ticks - (ticks % Grid.Ticks), TimeSpan.Zero);
    }

    /// <summary>Waits until the clock is <paramref name="phase"/> past a due time of the grid.</summary>
    private static async Task WaitForPhaseAsync(TimeSpan phase)
    {
        var now = TimeProvider.System.GetUtcNow();
        var target = NextOnGrid(now.Add(-phase)).Add(phase);
        if (target <= now)
        {
            target = target.Add(Grid);
        }

        await Task.Delay(target - now);
    }
}
