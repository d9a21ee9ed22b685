using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Data;
using Orchestrator.Deadlines;
using Orchestrator.IntegrationTests.Infrastructure;
using Orchestrator.IntegrationTests.Schedules;
using Orchestrator.Schedules;
using Quartz;

namespace Orchestrator.IntegrationTests.Deadlines;

/// <summary>
/// The stored pause intervals as the deadline checker and the pause paths use them, on PostgreSQL, with the server's own
/// check an hour apart so the tests run the checker themselves: a pause and resume between two checks alerts none of
/// its due times; an open interval left over a running trigger is closed, not taken for the next pause; the resume's
/// time is stored before Quartz resumes, so the catch-up starts after it.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class DeadlinePauseTests : ServerWithPeerFixture
{
    protected override string DatabaseName => "deadlinepauses";

    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Orchestrator__Deadlines__CheckSeconds"] = "3600" };

    protected override async Task StartedAsync()
    {
        await Admin.PostForJsonAsync("/api/channels", new { name = "pause-ops", kind = "webhook", webhook = new { url = Peer.BaseUrl + "/pause-ops" } }, HttpStatusCode.Created);
    }

    private IServiceProvider Services => ((InProcessServer)Server).Services;

    private async Task CheckAsync()
    {
        await using var scope = Services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<DeadlineChecker>().CheckAsync(CancellationToken.None);
    }

    private async Task<List<SchedulePause>> IntervalsAsync(string id)
    {
        await using var scope = Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>();
        return await db.Set<SchedulePause>().AsNoTracking().Where(p => p.ScheduleId == id).OrderBy(p => p.PausedAt).ToListAsync();
    }

    [Test]
    public async Task A_pause_and_resume_between_two_checks_alerts_none_of_its_due_times()
    {
        const string Id = "default.paused-between-checks";
        await Admin.CreateScheduleAsync(new
        {
            name = "paused-between-checks",
            action = new { type = "noop", config = new { } },
            trigger = new { intervalSeconds = 1 },
            // Skip what was missed, so the resume starts nothing for the paused due times.
            // The paused-firing veto skips the pause's due times whatever the threshold; a 1-s threshold let a loaded
            // machine skip a due time after the resume as a misfire, which the checker rightly called not started.
            misfire = new { policy = "skip", thresholdSeconds = 30 },
            deadline = new { startWithinSeconds = 1, channel = "pause-ops" },
        });
        await Poll.UntilAsync(() => Admin.RunsAsync(Id), r => r.Count >= 1, TimeSpan.FromSeconds(30), "a run before the pause");
        await CheckAsync();

        await Admin.PostForJsonAsync($"/api/schedules/{Id}/pause", null, HttpStatusCode.OK);
        // Due times after the pause's answer and before the resume is asked for cannot fire: the trigger is paused.
        var pausedAfter = TimeProvider.System.GetUtcNow();
        await PauseIntervals.UntilPassedAsync(pausedAfter.AddSeconds(4));
        var resumedBefore = TimeProvider.System.GetUtcNow();
        await Admin.PostForJsonAsync($"/api/schedules/{Id}/resume", null, HttpStatusCode.OK);

        // No check saw the pause; the next one comes after the start limit of every paused due time has passed.
        await PauseIntervals.UntilPassedAsync(TimeProvider.System.GetUtcNow().AddSeconds(2));
        await CheckAsync();
        await Admin.PostForJsonAsync($"/api/schedules/{Id}/pause", new { reason = "test over" }, HttpStatusCode.OK);

        var intervals = await IntervalsAsync(Id);
        Assert.That(intervals.Any(p => p.PausedAt <= pausedAfter && p.ResumedAt >= resumedBefore), Is.True, "the pause is stored");
        var breaches = (await Admin.GetFromJsonAsync<JsonElement>($"/api/deadlines?scheduleId={Id}")).GetProperty("items").EnumerateArray().ToList();
        // The catch-up Quartz fires at the resume may be keyed on a due time inside the pause: it ran, so it is judged.
        var ran = (await Admin.RunsAsync(Id)).Select(r => r.GetProperty("scheduledFireTime").GetDateTimeOffset()).ToHashSet();
        var inPause = breaches.Where(b => b.GetProperty("occurrence").GetDateTimeOffset() is var at && at > pausedAfter && at < resumedBefore && !ran.Contains(at)).ToList();
        Assert.That(inPause, Is.Empty, string.Join("\n", breaches));
    }

    [Test]
    public async Task An_open_interval_over_a_running_trigger_is_closed_by_the_next_pause_and_by_housekeeping()
    {
        const string Id = "default.stale-open";
        const string Other = "default.stale-housekept";
        const string Held = "default.stale-held";
        await Admin.CreateScheduleAsync(PauseIntervals.EverySecond("stale-open"));
        await Admin.CreateScheduleAsync(PauseIntervals.EverySecond("stale-housekept"));
        await Admin.CreateScheduleAsync(PauseIntervals.EverySecond("stale-held"));
        await Admin.PostForJsonAsync($"/api/schedules/{Held}/pause", null, HttpStatusCode.OK);

        // What a pause that lost a race with a resume (or a node that died before pausing Quartz) leaves behind.
        var staleAt = TimeProvider.System.GetUtcNow().AddMinutes(-10);
        await using (var scope = Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>();
            db.Set<SchedulePause>().AddRange(
                new SchedulePause { ScheduleId = Id, PausedAt = staleAt, PausedBy = "lost-race", Source = "api" },
                new SchedulePause { ScheduleId = Other, PausedAt = staleAt, PausedBy = "lost-race", Source = "api" });
            await db.SaveChangesAsync();
        }

        var asked = TimeProvider.System.GetUtcNow();
        await Admin.PostForJsonAsync($"/api/schedules/{Id}/pause", new { reason = "fresh" }, HttpStatusCode.OK);
        var intervals = await IntervalsAsync(Id);
        Assert.That(intervals, Has.Count.EqualTo(2), string.Join("\n", intervals.Select(p => $"{p.PausedAt:O}-{p.ResumedAt:O} {p.Reason}")));
        Assert.That(intervals[0].ResumedAt, Is.Not.Null.And.LessThanOrEqualTo(intervals[1].PausedAt), "the stale interval is closed");
        Assert.That((intervals[1].PausedAt >= asked, intervals[1].ResumedAt, intervals[1].Reason), Is.EqualTo((true, (DateTimeOffset?)null, "fresh")), "the pause has its own interval");

        // Housekeeping closes the one nothing else would: older than StaleAfter, its trigger running. The paused one stays open.
        await using (var scope = Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>();
            var scheduler = await scope.ServiceProvider.GetRequiredService<ISchedulerFactory>().GetScheduler();
            Assert.That(await SchedulePauses.CloseStaleAsync(db, scheduler, TimeProvider.System.GetUtcNow(), CancellationToken.None), Is.EqualTo(1));
        }

        Assert.That((await IntervalsAsync(Other)).Single().ResumedAt, Is.Not.Null);
        Assert.That((await IntervalsAsync(Held)).Single().ResumedAt, Is.Null);
        Assert.That((await IntervalsAsync(Id)).Count(p => p.ResumedAt is null), Is.EqualTo(1));
    }

    [Test]
    public async Task A_resume_stores_its_time_before_the_catch_up_starts()
    {
        const string Id = "default.resumed-catch-up";
        await Admin.CreateScheduleAsync(PauseIntervals.EverySecond("resumed-catch-up"));
        var (_, resumedBefore, _) = await PauseIntervals.PauseWaitResumeAsync(Admin, Id, "catch-up");
        var catchUp = await Poll.UntilAsync(() => Admin.RunsAsync(Id, "succeeded"),
            r => r.Any(x => x.GetProperty("startedAt").GetDateTimeOffset() >= resumedBefore), TimeSpan.FromSeconds(30), "a run after the resume");
        var firstAfter = catchUp.Select(r => r.GetProperty("startedAt").GetDateTimeOffset()).Where(t => t >= resumedBefore).Min();

        var pause = (await IntervalsAsync(Id)).Single();
        Assert.That(pause.ResumedAt, Is.Not.Null.And.LessThanOrEqualTo(firstAfter), "the stored resume is before the catch-up's start");
    }
}
