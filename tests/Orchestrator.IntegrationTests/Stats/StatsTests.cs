using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Data;
using Orchestrator.IntegrationTests.Infrastructure;
using Orchestrator.Runs;

namespace Orchestrator.IntegrationTests.Stats;

/// <summary>
/// <c>GET /api/stats</c>, the home page's figures, on PostgreSQL and on the embedded SQLite default: ledger rows written
/// at known times land in the right hour and outcome, lateness counts schedule and recovery starts only, a scoped key
/// counts its projects only, the hours are clock hours (of the zone asked for) with the current one partial, and a bad
/// window or zone is a 422 naming the field.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class StatsTests
{
    private static readonly object Noop = new { type = "noop", config = new { } };

    /// <summary>
    /// Writes ledger rows the way the ledger stores them (through the server's own DbContext), relative to now: what
    /// finished in the last hour, earlier today and yesterday, a late start, a backfill of an old fire time, a running
    /// run, and one run of project <paramref name="other"/>.
    /// </summary>
    private static async Task<List<RunRecord>> SeedAsync(InProcessServer server, string other)
    {
        var now = TimeProvider.System.GetUtcNow();
        var n = 0;
        RunRecord Run(string project, RunStatus status, RunTrigger trigger, DateTimeOffset due, TimeSpan lateBy, TimeSpan? took)
        {
            n++;
            return new RunRecord
            {
                Id = Guid.CreateVersion7(now),
                ScheduleId = $"{project}.seeded-{n}",
                ProjectId = project,
                ActionType = "noop",
                Status = status,
                TriggeredBy = trigger,
                ScheduledFireTime = due,
                StartedAt = due + lateBy,
                FinishedAt = took is { } t ? due + lateBy + t : null,
                Attempt = 1,
                IdempotencyKey = $"seeded-{Guid.NewGuid():N}",
                ConfigSnapshot = "{}",
            };
        }

        using var scope = server.Services.CreateScope();
        var db = scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>();
        var second = TimeSpan.FromSeconds(1);
        List<RunRecord> seeded = [
            Run("default", RunStatus.Succeeded, RunTrigger.Schedule, now.AddMinutes(-30), TimeSpan.FromMilliseconds(200), second),
            Run("default", RunStatus.Failed, RunTrigger.Schedule, now.AddMinutes(-20), TimeSpan.FromSeconds(5), second),
            Run("default", RunStatus.Cancelled, RunTrigger.Manual, now.AddMinutes(-10), TimeSpan.Zero, second),
            // A backfill of a fire time five days ago, run ten minutes ago: counted as an outcome, never as late.
            Run("default", RunStatus.Succeeded, RunTrigger.Backfill, now.AddDays(-5), TimeSpan.FromDays(5) - TimeSpan.FromMinutes(10), second),
            Run("default", RunStatus.Running, RunTrigger.Schedule, now.AddMinutes(-1), TimeSpan.Zero, null),
            Run("default", RunStatus.Succeeded, RunTrigger.Schedule, now.AddMinutes(-150), TimeSpan.Zero, second),
            // Yesterday, outside the day.
            Run("default", RunStatus.Failed, RunTrigger.Schedule, now.AddHours(-30), TimeSpan.Zero, second),
            Run(other, RunStatus.Succeeded, RunTrigger.Recovery, now.AddMinutes(-5), TimeSpan.FromSeconds(3), second),
        ];
        db.Runs.AddRange(seeded);
        await db.SaveChangesAsync();
        return seeded;
    }

    private static async Task AssertAdminFiguresAsync(HttpClient admin, List<RunRecord> seeded)
    {
        var stats = await admin.GetFromJsonAsync<JsonElement>("/api/stats");
        Assert.That(stats.GetProperty("hours").GetInt32(), Is.EqualTo(24));
        Assert.That(stats.GetProperty("lateSeconds").GetInt32(), Is.EqualTo(1));
        Assert.That(stats.GetProperty("running").GetInt32(), Is.EqualTo(1));
        Assert.That(Outcomes(stats.GetProperty("lastHour")), Is.EqualTo((3, 1, 1)), "last hour: two of default and one of the other project succeeded, one failed, one cancelled");
        Assert.That(Outcomes(stats.GetProperty("lastDay")), Is.EqualTo((4, 1, 1)), "the day adds the run of 150 minutes ago, not yesterday's");
        // The failed run started 5 s after its due time, the recovery 3 s; the backfill is not late, whatever its fire time.
        Assert.That(stats.GetProperty("lateLastHour").GetInt32(), Is.EqualTo(2));

        // The buckets are clock hours (UTC's by default): the last is the hour now is in, partial.
        var buckets = stats.GetProperty("buckets").EnumerateArray().ToList();
        Assert.That(buckets, Has.Count.EqualTo(24));
        var generatedAt = stats.GetProperty("generatedAt").GetDateTimeOffset();
        for (var i = 0; i < buckets.Count; i++)
        {
            var start = buckets[i].GetProperty("start").GetDateTimeOffset();
            Assert.That((start.UtcDateTime.Minute, start.UtcDateTime.Second, start.UtcDateTime.Millisecond), Is.EqualTo((0, 0, 0)), $"bucket {i} starts on the hour: {start:O}");
            Assert.That(buckets[i].GetProperty("end").GetDateTimeOffset() - start, Is.EqualTo(TimeSpan.FromHours(1)));
            Assert.That(buckets[i].GetProperty("partial").GetBoolean(), Is.EqualTo(i == buckets.Count - 1), $"bucket {i}");
        }

        var current = buckets[^1];
        Assert.That(generatedAt, Is.GreaterThanOrEqualTo(current.GetProperty("start").GetDateTimeOffset()).And.LessThan(current.GetProperty("end").GetDateTimeOffset()));

        // Each seeded run is in the hour that holds its finish (outcomes) and its start (schedule and recovery starts).
        var started = new[] { RunStatus.Running, RunStatus.Succeeded, RunStatus.Failed, RunStatus.Cancelled, RunStatus.Interrupted };
        foreach (var bucket in buckets)
        {
            var (from, to) = (bucket.GetProperty("start").GetDateTimeOffset(), bucket.GetProperty("end").GetDateTimeOffset());
            bool In(DateTimeOffset? t) => t >= from && t < to;
            var finished = seeded.Where(r => In(r.FinishedAt)).ToList();
            var starts = seeded.Where(r => In(r.StartedAt) && started.Contains(r.Status) && r.TriggeredBy is RunTrigger.Schedule or RunTrigger.Recovery).ToList();
            var expected = (finished.Count(r => r.Status == RunStatus.Succeeded), finished.Count(r => r.Status == RunStatus.Failed),
                finished.Count(r => r.Status is not RunStatus.Succeeded and not RunStatus.Failed),
                starts.Count, starts.Count(r => r.StartedAt - r.ScheduledFireTime > TimeSpan.FromSeconds(1)));
            Assert.That((bucket.GetProperty("succeeded").GetInt32(), bucket.GetProperty("failed").GetInt32(), bucket.GetProperty("other").GetInt32(),
                bucket.GetProperty("started").GetInt32(), bucket.GetProperty("late").GetInt32()), Is.EqualTo(expected), $"the hour from {from:O}");
        }

        Assert.That(buckets.Sum(b => b.GetProperty("succeeded").GetInt32()), Is.EqualTo(4), "every success of the day is in some hour");
        Assert.That(buckets.Sum(b => b.GetProperty("failed").GetInt32()), Is.EqualTo(1), "yesterday's failure is outside the window");
        Assert.That(buckets.Max(b => b.GetProperty("maxLateMs").ValueKind == JsonValueKind.Number ? b.GetProperty("maxLateMs").GetInt64() : 0), Is.InRange(4999, 5001));

        // Another zone's clock hours: Kolkata is UTC+05:30, so its hours start at half past UTC's.
        var kolkata = await admin.GetFromJsonAsync<JsonElement>("/api/stats?timeZone=Asia/Kolkata");
        Assert.That(kolkata.GetProperty("buckets").EnumerateArray().Select(b => b.GetProperty("start").GetDateTimeOffset().UtcDateTime.Minute).Distinct(), Is.EqualTo(new[] { 30 }));
        Assert.That(Outcomes(kolkata.GetProperty("lastHour")), Is.EqualTo((3, 1, 1)), "the counters do not depend on the zone");

        // The runs list's late filter is the same definition: exactly the starts counted late (all in the last hour here),
        // and late=false every other run; a manual run, a backfill of an old fire time and the running run are not late.
        var late = await admin.GetFromJsonAsync<JsonElement>("/api/runs?late=true&pageSize=200");
        var expectedLate = seeded.Where(r => r.TriggeredBy is RunTrigger.Schedule or RunTrigger.Recovery && r.StartedAt - r.ScheduledFireTime > TimeSpan.FromSeconds(1))
            .Select(r => r.Id.ToString()).ToList();
        Assert.That(expectedLate, Has.Count.EqualTo(stats.GetProperty("lateLastHour").GetInt32()));
        Assert.That(late.GetProperty("items").EnumerateArray().Select(r => r.GetProperty("id").GetString()), Is.EquivalentTo(expectedLate));
        Assert.That(late.GetProperty("total").GetInt32(), Is.EqualTo(expectedLate.Count));
        var notLate = await admin.GetFromJsonAsync<JsonElement>("/api/runs?late=false&pageSize=200");
        Assert.That(notLate.GetProperty("items").EnumerateArray().Select(r => r.GetProperty("id").GetString()),
            Is.EquivalentTo(seeded.Select(r => r.Id.ToString()).Except(expectedLate)));
        var lateFailed = await admin.GetFromJsonAsync<JsonElement>("/api/runs?late=true&status=failed");
        Assert.That(lateFailed.GetProperty("total").GetInt32(), Is.EqualTo(1), "the late filter composes with the others");
        await ApiAssertions.AssertProblemAsync(await admin.GetAsync("/api/runs?late=maybe"), HttpStatusCode.BadRequest);

        // A longer tolerance: neither start is late any more.
        var tolerant = await admin.GetFromJsonAsync<JsonElement>("/api/stats?hours=6&lateSeconds=10");
        Assert.That(tolerant.GetProperty("lateLastHour").GetInt32(), Is.Zero);
        Assert.That(tolerant.GetProperty("buckets").GetArrayLength(), Is.EqualTo(6));
        Assert.That(Outcomes(tolerant.GetProperty("lastDay")), Is.EqualTo((4, 1, 1)), "the last day is counted whatever the chart's window");
    }

    private static (int, int, int) Outcomes(JsonElement counts) =>
        (counts.GetProperty("succeeded").GetInt32(), counts.GetProperty("failed").GetInt32(), counts.GetProperty("other").GetInt32());

    [Test]
    public async Task Outcomes_lateness_and_schedules_are_counted_by_hour_and_a_scoped_key_sees_its_projects_only()
    {
        var workspaces = Directory.CreateTempSubdirectory("orchestrator-stats-ws-").FullName;
        var database = await TestPostgres.CreateDatabaseAsync("stats");
        await using var server = InProcessServer.Start(PostgresNode.Environment(database, new Dictionary<string, string?> { ["Orchestrator__Workspaces__Roots__0"] = workspaces }));
        await server.WaitUntilReadyAsync();
        using var admin = server.CreateClient(server.PrintedAdminKey);
        await admin.PostForJsonAsync("/api/projects", new { id = "beta", name = "Beta", rootPath = Path.Combine(workspaces, "beta") }, HttpStatusCode.Created);
        await admin.CreateScheduleAsync(new { name = "kept", action = Noop, trigger = new { cron = "0 0 3 * * ?", timeZone = "UTC" } });
        await admin.CreateScheduleAsync(new { name = "held", action = Noop, trigger = new { cron = "0 0 3 * * ?", timeZone = "UTC" } });
        await admin.CreateScheduleAsync(new { name = "theirs", project = "beta", action = Noop, trigger = new { cron = "0 0 3 * * ?", timeZone = "UTC" } });
        await admin.PostForJsonAsync("/api/schedules/default.held/pause", new { reason = "stats" }, HttpStatusCode.OK);
        var seeded = await SeedAsync(server, "beta");

        await AssertAdminFiguresAsync(admin, seeded);
        var all = await admin.GetFromJsonAsync<JsonElement>("/api/stats");
        Assert.That((all.GetProperty("schedules").GetProperty("active").GetInt32(), all.GetProperty("schedules").GetProperty("paused").GetInt32()), Is.EqualTo((2, 1)),
            "schedules of every project; not the server's own jobs");

        var key = await admin.PostForJsonAsync("/api/keys", new { name = "beta-viewer", role = "viewer", projects = new[] { "beta" } }, HttpStatusCode.Created);
        using var scoped = server.CreateClient(key.GetProperty("key").GetString());
        var theirs = await scoped.GetFromJsonAsync<JsonElement>("/api/stats");
        Assert.That(theirs.GetProperty("running").GetInt32(), Is.Zero);
        Assert.That(Outcomes(theirs.GetProperty("lastHour")), Is.EqualTo((1, 0, 0)), "beta's run only");
        Assert.That(theirs.GetProperty("lateLastHour").GetInt32(), Is.EqualTo(1));
        Assert.That((theirs.GetProperty("schedules").GetProperty("active").GetInt32(), theirs.GetProperty("schedules").GetProperty("paused").GetInt32()), Is.EqualTo((1, 0)));

        foreach (var (query, field) in new[] { ("hours=0", "hours"), ("hours=169", "hours"), ("lateSeconds=-1", "lateSeconds"), ("timeZone=Mars/Olympus", "timeZone") })
        {
            var problem = await ApiAssertions.AssertProblemAsync(await admin.GetAsync($"/api/stats?{query}"), HttpStatusCode.UnprocessableEntity);
            Assert.That(problem.GetProperty("errors").TryGetProperty(field, out _), Is.True, query);
        }

        await ApiAssertions.AssertProblemAsync(await admin.GetAsync("/api/stats?hours=many"), HttpStatusCode.BadRequest);
    }

    [Test]
    public async Task The_same_figures_come_from_the_embedded_sqlite_database()
    {
        await using var server = InProcessServer.Start();
        await server.WaitUntilReadyAsync();
        using var admin = server.CreateClient(server.PrintedAdminKey);
        await admin.CreateScheduleAsync(new { name = "lite", action = Noop, trigger = new { cron = "0 0 3 * * ?" } });
        var seeded = await SeedAsync(server, "default");
        await AssertAdminFiguresAsync(admin, seeded);
        var stats = await admin.GetFromJsonAsync<JsonElement>("/api/stats");
        Assert.That(stats.GetProperty("schedules").GetProperty("active").GetInt32(), Is.EqualTo(1));
    }
}
