using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Telemetry;

/// <summary>
/// <c>orchestrator.occurrences</c> in <c>/metrics</c>, on PostgreSQL with a real HTTP peer: one schedule (in a project of
/// its own, the counter's only per-schedule tag) driven to each outcome, and the counter agrees with what
/// <c>GET /api/schedules/{id}/occurrences</c> says of the same schedule's due times.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Self)]
public sealed class OccurrenceMetricsTests
{
    /// <summary>The outcomes the counter and the timeline are compared on (a pause's skips are the timeline's alone).</summary>
    private static readonly string[] Compared = ["on_time", "late", "retried", "coalesced", "skipped/misfire_policy", "skipped/overlap"];

    [Test]
    public async Task Each_outcome_is_counted_once_per_due_time_as_the_occurrences_route_counts_it()
    {
        await using var peer = await RecordingHttpServer.StartAsync();
        var workspaces = Directory.CreateTempSubdirectory("orchestrator-occmetrics-ws-").FullName;
        var database = await TestPostgres.CreateDatabaseAsync("occmetrics");
        // A server process of its own, as MetricsEndpointTests says why: the meter listener of a test process that hosts
        // many in-process servers does not show every server's instruments.
        await using var process = ServerProcess.Start(PostgresNode.Environment(database, new Dictionary<string, string?>
        {
            ["Orchestrator__Outbound__AllowedHosts__0"] = "127.0.0.1",
            ["Orchestrator__Workspaces__Roots__0"] = workspaces,
        }));
        await process.WaitUntilReadyAsync();
        using var admin = process.CreateClient(process.PrintedAdminKey);
        using var anonymous = process.CreateClient();

        // The first call of each held path waits until released, so the every-second schedules behind it fall behind.
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        foreach (var held in new[] { "/hold-coalesce", "/hold-skip", "/hold-overlap" })
        {
            peer.Configure(held, new RecordingHttpServer.Behaviour(TimeSpan.Zero, Hold: release.Task));
        }

        peer.Configure("/slow", new RecordingHttpServer.Behaviour(TimeSpan.FromSeconds(2.5)));
        peer.Configure("/broken", new RecordingHttpServer.Behaviour(TimeSpan.Zero, Status: 500));

        var created = TimeProvider.System.GetUtcNow();
        object CallApi(string path) => new { type = "call_api", config = new { url = peer.BaseUrl + path } };
        var schedules = new Dictionary<string, object>
        {
            // Ran: one due time each, on time unless the machine is slow (either way, both surfaces say the same).
            ["occ-ran"] = new { action = new { type = "noop", config = new { } }, trigger = new { at = TimeProvider.System.GetUtcNow().AddSeconds(1).ToString("O", CultureInfo.InvariantCulture) } },
            // Late: three due times a second apart, each run 2.5 s long and queued behind the one before (catch_up runs each).
            ["occ-late"] = new { action = CallApi("/slow"), trigger = new { intervalSeconds = 1, maxRuns = 3 }, concurrency = "forbid", misfire = new { policy = "catch_up" } },
            // Retried: the first attempt fails and its retry runs the due time again.
            ["occ-retried"] = new { action = CallApi("/broken"), trigger = new { intervalSeconds = 3600 }, retry = new { maxAttempts = 2, backoff = "fixed", initialDelaySeconds = 1 } },
            // Coalesced: due times missed while the held run blocked the trigger, folded into one fire_once catch-up.
            ["occ-coalesced"] = new { action = CallApi("/hold-coalesce"), trigger = new { cron = "* * * * * ?" }, concurrency = "forbid", misfire = new { policy = "fire_once", thresholdSeconds = 1 } },
            // Skipped by the skip misfire policy: the same, left unrun.
            ["occ-skip"] = new { action = CallApi("/hold-skip"), trigger = new { cron = "* * * * * ?" }, concurrency = "forbid", misfire = new { policy = "skip", thresholdSeconds = 1 } },
            // Skipped by the skip overlap policy: due times that came while the held run was still going.
            ["occ-overlap"] = new { action = CallApi("/hold-overlap"), trigger = new { cron = "* * * * * ?" }, concurrency = "skip" },
        };
        foreach (var (project, schedule) in schedules)
        {
            await admin.PostForJsonAsync("/api/projects", new { id = project, name = project, rootPath = Path.Combine(workspaces, project) }, HttpStatusCode.Created);
            var body = JsonSerializer.SerializeToNode(schedule)!.AsObject();
            body["name"] = "s";
            body["project"] = project;
            await admin.CreateScheduleAsync(body);
        }

        foreach (var held in new[] { "/hold-coalesce", "/hold-skip", "/hold-overlap" })
        {
            await peer.WaitForRequestsAsync(held, 1, TimeSpan.FromSeconds(60), includeInFlight: true);
        }

        // Several due times pass (by more than the 1 s misfire threshold) while the held runs go on; then every call is quick.
        await Task.Delay(TimeSpan.FromSeconds(5));
        foreach (var held in new[] { "/hold-coalesce", "/hold-skip", "/hold-overlap" })
        {
            peer.Configure(held, new RecordingHttpServer.Behaviour(TimeSpan.Zero));
        }

        release.SetResult();

        // The misfires handled and the catch-up run: a run of occ-coalesced keyed on no whole second.
        await Poll.UntilAsync(() => admin.RunsAsync("occ-coalesced.s", "succeeded"), r => r.Count >= 2, TimeSpan.FromSeconds(90), "the held run and the catch-up");
        await Poll.UntilAsync(() => admin.RunsAsync("occ-skip.s", "succeeded"), r => r.Count >= 2, TimeSpan.FromSeconds(90), "the held run and the next one");
        await Poll.UntilAsync(() => admin.RunsAsync("occ-late.s", "succeeded"), r => r.Count == 3, TimeSpan.FromSeconds(90), "three late-queued runs");
        await Poll.UntilAsync(() => admin.RunsAsync("occ-retried.s", "failed"), r => r.Any(x => x.GetProperty("attempt").GetInt32() == 2), TimeSpan.FromSeconds(90), "the retry ran");
        foreach (var project in new[] { "occ-coalesced", "occ-skip", "occ-overlap" })
        {
            await admin.PostAsync($"/api/schedules/{project}.s/pause", null);
        }

        foreach (var project in schedules.Keys)
        {
            await Poll.UntilAsync(() => admin.RunsAsync($"{project}.s"), r => r.All(x => x.Status() is not ("running" or "pending")), TimeSpan.FromSeconds(60), $"{project}'s runs settled");
        }

        // The route calls a due time of the last 5 s with no run yet pending (in flight); past that, it has its outcome.
        var to = TimeProvider.System.GetUtcNow().AddSeconds(1);
        await Task.Delay(TimeSpan.FromSeconds(6));

        // What the occurrences route says of each schedule's due times, in the counter's words.
        var timelines = new Dictionary<string, (Dictionary<string, int> Counts, string Text)>();
        foreach (var project in schedules.Keys)
        {
            var answer = await admin.GetFromJsonAsync<JsonElement>(
                $"/api/schedules/{project}.s/occurrences?from={Uri.EscapeDataString(created.AddSeconds(-10).ToString("O", CultureInfo.InvariantCulture))}&to={Uri.EscapeDataString(to.ToString("O", CultureInfo.InvariantCulture))}");
            var counts = Compared.ToDictionary(o => o, _ => 0);
            foreach (var item in answer.GetProperty("items").EnumerateArray())
            {
                var outcome = item.GetProperty("outcome").GetString()!;
                var reason = item.TryGetProperty("reason", out var r) && r.ValueKind == JsonValueKind.String ? r.GetString()! : "";
                var word = outcome switch
                {
                    "ran" => item.GetProperty("late").GetBoolean() ? "late" : "on_time",
                    "skipped" when reason.StartsWith("misfire policy skip", StringComparison.Ordinal) => "skipped/misfire_policy",
                    "skipped" when reason.StartsWith("overlap", StringComparison.Ordinal) => "skipped/overlap",
                    _ => outcome,
                };
                if (counts.TryGetValue(word, out var sofar))
                {
                    counts[word] = sofar + 1;
                }
            }

            timelines[project] = (counts, answer.ToString());
        }

        async Task<PrometheusText> ScrapeAsync()
        {
            using var response = await anonymous.GetAsync("/metrics");
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            return PrometheusText.Parse(await response.Content.ReadAsStringAsync());
        }

        static int Counted(PrometheusText metrics, string project, string word) => (int)(word.Split('/') is [var outcome, var reason]
            ? metrics.Sum("orchestrator_occurrences_total", ("project", project), ("outcome", outcome), ("reason", reason))
            : metrics.Sum("orchestrator_occurrences_total", ("project", project), ("outcome", word)));

        // Under forbid, once the trigger is released, Quartz runs the first due time that came while it was blocked late.
        // Under fire_once that run is the catch-up (keyed on the first due time missed) and both surfaces call the missed
        // due times coalesced; under skip it ran its own due time, late, and both call the rest skipped.
        bool Agree(PrometheusText metrics) => timelines.All(t => Compared.All(word => Counted(metrics, t.Key, word) == t.Value.Counts[word]));

        // A first attempt is counted once Quartz has finished its firing, a moment after the ledger row is complete.
        // Read until they agree or 30 s pass; the assertions below then say which count differs.
        var waited = System.Diagnostics.Stopwatch.StartNew();
        var scraped = await ScrapeAsync();
        while (!Agree(scraped) && waited.Elapsed < TimeSpan.FromSeconds(30))
        {
            await Task.Delay(TimeSpan.FromMilliseconds(250));
            scraped = await ScrapeAsync();
        }

        Assert.Multiple(() =>
        {
            foreach (var (project, (counts, text)) in timelines)
            {
                foreach (var word in Compared)
                {
                    Assert.That(Counted(scraped, project, word), Is.EqualTo(counts[word]), $"{project} {word}\n{text}\n{string.Join('\n', scraped.Text.Split('\n').Where(l => l.Contains("occurrences", StringComparison.Ordinal)))}");
                }
            }

            // Each schedule was driven to its outcome.
            Assert.That(timelines["occ-ran"].Counts["on_time"] + timelines["occ-ran"].Counts["late"], Is.EqualTo(1));
            Assert.That(timelines["occ-late"].Counts["late"], Is.GreaterThanOrEqualTo(2), timelines["occ-late"].Text);
            Assert.That(timelines["occ-retried"].Counts["retried"], Is.EqualTo(1), timelines["occ-retried"].Text);
            Assert.That(timelines["occ-coalesced"].Counts["coalesced"], Is.GreaterThanOrEqualTo(3), timelines["occ-coalesced"].Text);
            Assert.That(Counted(scraped, "occ-coalesced", "coalesced"), Is.GreaterThanOrEqualTo(3), "fire_once folded the due times missed while blocked");
            Assert.That(Counted(scraped, "occ-coalesced", "skipped/misfire_policy"), Is.Zero);
            Assert.That(Counted(scraped, "occ-skip", "skipped/misfire_policy"), Is.GreaterThanOrEqualTo(3), "skip left the due times missed while blocked");
            Assert.That(Counted(scraped, "occ-skip", "coalesced"), Is.Zero, "the skip policy never coalesces");
            Assert.That(timelines["occ-overlap"].Counts["skipped/overlap"], Is.GreaterThanOrEqualTo(3), timelines["occ-overlap"].Text);

            // Never a schedule id among the tags.
            Assert.That(scraped.Samples.Where(s => s.Name == "orchestrator_occurrences_total").SelectMany(s => s.Labels.Keys).Distinct(),
                Has.None.Contains("schedule").And.None.Contains("run"));
        });
    }

    [Test]
    public async Task Due_times_that_came_while_paused_are_counted_at_the_resume_as_the_route_calls_them()
    {
        var workspaces = Directory.CreateTempSubdirectory("orchestrator-occpause-ws-").FullName;
        var database = await TestPostgres.CreateDatabaseAsync("occpause");
        await using var process = ServerProcess.Start(PostgresNode.Environment(database, new Dictionary<string, string?>
        {
            ["Orchestrator__Workspaces__Roots__0"] = workspaces,
        }));
        await process.WaitUntilReadyAsync();
        using var admin = process.CreateClient(process.PrintedAdminKey);
        using var anonymous = process.CreateClient();

        // Due every 5 s, paused at once: fire_once makes one catch-up at the resume (Quartz keys it on the first due time
        // missed, which the route then calls ran, late), skip none.
        var created = TimeProvider.System.GetUtcNow();
        string[] projects = ["occ-pause-once", "occ-pause-skip"];
        foreach (var project in projects)
        {
            await admin.PostForJsonAsync("/api/projects", new { id = project, name = project, rootPath = Path.Combine(workspaces, project) }, HttpStatusCode.Created);
            var body = JsonSerializer.SerializeToNode(new
            {
                name = "s",
                project,
                action = new { type = "noop", config = new { } },
                trigger = new { cron = "0/5 * * * * ?" },
                misfire = new { policy = project.EndsWith("once", StringComparison.Ordinal) ? "fire_once" : "skip", thresholdSeconds = 1 },
            })!.AsObject();
            await admin.CreateScheduleAsync(body);
            await admin.PostAsync($"/api/schedules/{project}.s/pause", null);
        }

        async Task<JsonElement> OccurrencesAsync(string project) => await admin.GetFromJsonAsync<JsonElement>(
            $"/api/schedules/{project}.s/occurrences?from={Uri.EscapeDataString(created.AddSeconds(-10).ToString("O", CultureInfo.InvariantCulture))}&to={Uri.EscapeDataString(TimeProvider.System.GetUtcNow().AddSeconds(1).ToString("O", CultureInfo.InvariantCulture))}");
        static int PausedSkips(IEnumerable<JsonElement> items) => items
            .Count(i => i.GetProperty("outcome").GetString() == "skipped" && i.GetProperty("reason").GetString()!.StartsWith("paused", StringComparison.Ordinal));

        foreach (var project in projects)
        {
            await Poll.UntilAsync(() => OccurrencesAsync(project), a => PausedSkips(a.GetProperty("items").EnumerateArray()) >= 3, TimeSpan.FromSeconds(120), $"{project}: three due times while paused");
        }

        // Resumed between two due times (a second or two past one), so the catch-up, keyed on the whole second it is
        // handled in, is keyed on no due time.
        var now = TimeProvider.System.GetUtcNow();
        var wholeSecond = now.AddTicks(-(now.UtcTicks % TimeSpan.TicksPerSecond));
        var between = wholeSecond.AddSeconds(5 - (wholeSecond.Second % 5) + 1).AddMilliseconds(100);
        await Task.Delay(between - now);
        foreach (var project in projects)
        {
            await admin.PostAsync($"/api/schedules/{project}.s/resume", null);
        }

        var resumed = TimeProvider.System.GetUtcNow();
        await Poll.UntilAsync(() => admin.RunsAsync("occ-pause-once.s", "succeeded"), r => r.Count >= 1, TimeSpan.FromSeconds(60), "the catch-up at the resume");

        async Task<PrometheusText> ScrapeAsync()
        {
            using var response = await anonymous.GetAsync("/metrics");
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            return PrometheusText.Parse(await response.Content.ReadAsStringAsync());
        }

        // The route's words for the due times up to the resume, which later firings do not change.
        var routes = new Dictionary<string, (int Paused, int Coalesced, int Skipped, string Text)>();
        foreach (var project in projects)
        {
            var answer = await OccurrencesAsync(project);
            var items = answer.GetProperty("items").EnumerateArray().Where(i => i.GetProperty("dueAt").GetDateTimeOffset() < resumed).ToList();
            routes[project] = (PausedSkips(items), items.Count(i => i.GetProperty("outcome").GetString() == "coalesced"),
                items.Count(i => i.GetProperty("outcome").GetString() == "skipped"), answer.ToString());
        }

        static int Counted(PrometheusText metrics, string project, string outcome, string? reason = null) => (int)(reason is null
            ? metrics.Sum("orchestrator_occurrences_total", ("project", project), ("outcome", outcome))
            : metrics.Sum("orchestrator_occurrences_total", ("project", project), ("outcome", outcome), ("reason", reason)));
        bool Agree(PrometheusText metrics) => projects.All(p => Counted(metrics, p, "skipped", "paused") == routes[p].Paused
            && Counted(metrics, p, "coalesced") == routes[p].Coalesced && Counted(metrics, p, "skipped") == routes[p].Skipped);

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
            foreach (var project in projects)
            {
                var (paused, coalesced, skipped, text) = routes[project];
                Assert.That(Counted(scraped, project, "skipped", "paused"), Is.EqualTo(paused), $"{project} skipped/paused\n{text}\n{lines}");
                Assert.That(Counted(scraped, project, "coalesced"), Is.EqualTo(coalesced), $"{project} coalesced\n{text}\n{lines}");
                Assert.That(Counted(scraped, project, "skipped", "misfire_policy"), Is.Zero, $"{project}: a pause's due times are no misfire policy's\n{lines}");
            }

            Assert.That(routes["occ-pause-once"].Paused, Is.GreaterThanOrEqualTo(2), "fire_once's catch-up at the resume runs the first, the rest were paused");
            Assert.That(routes["occ-pause-skip"].Paused, Is.GreaterThanOrEqualTo(3));
        });
    }
}
