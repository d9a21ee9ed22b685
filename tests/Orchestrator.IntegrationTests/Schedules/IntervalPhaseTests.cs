using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Actions;
using Orchestrator.IntegrationTests.Infrastructure;
using Orchestrator.Schedules;
using Quartz;

namespace Orchestrator.IntegrationTests.Schedules;

/// <summary>
/// An interval schedule keeps its phase (issue 14): a fire_once misfire runs one catch-up and the schedule goes on on its
/// original grid, and the due times before it stay as they were; no due time before a schedule existed is listed.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class IntervalPhaseTests : ServerWithPeerFixture
{
    protected override string DatabaseName => "intervalphase";

    private Task<IScheduler> SchedulerAsync() => ((InProcessServer)Server).Services.GetRequiredService<ISchedulerFactory>().GetScheduler().AsTask();

    [Test]
    public Task A_fire_once_resume_past_the_threshold_runs_one_catch_up_then_keeps_the_original_grid() =>
        IntervalPhase.ResumeKeepsTheGridAsync(Admin, "phase-kept");

    [Test]
    public async Task Occurrences_list_no_due_time_before_the_schedule_was_created()
    {
        var created = TimeProvider.System.GetUtcNow();
        await Admin.CreateScheduleAsync(new { name = "born-cron", action = IntervalPhase.Noop, trigger = new { cron = "0/5 * * * * ?", timeZone = "UTC" } });
        await Admin.CreateScheduleAsync(new
        {
            name = "born-interval", action = IntervalPhase.Noop, trigger = new { intervalSeconds = 5, startAt = IntervalPhase.Iso(created.AddMinutes(-10)) },
            misfire = new { policy = "skip" },
        });
        await PauseIntervals.UntilPassedAsync(created.AddSeconds(12));

        foreach (var id in new[] { "default.born-cron", "default.born-interval" })
        {
            var due = await IntervalPhase.DueTimesAsync(Admin, id, created.AddMinutes(-10), created.AddSeconds(12));
            Assert.That(due, Is.Not.Empty.And.All.GreaterThanOrEqualTo(created), $"{id}: nothing was due before it was created");
        }
    }

    [Test]
    public async Task A_schedule_stored_without_its_creation_instant_starts_its_occurrences_at_its_audited_creation()
    {
        var created = TimeProvider.System.GetUtcNow();
        await Admin.CreateScheduleAsync(new { name = "legacy-born", action = IntervalPhase.Noop, trigger = new { cron = "0/5 * * * * ?", timeZone = "UTC" } });
        var key = new JobKey("legacy-born", "default");
        var scheduler = await SchedulerAsync();
        var job = (await scheduler.GetJobDetail(key))!;
        Assert.That(ScheduleMapping.CreatedAtOf(job.JobDataMap), Is.GreaterThanOrEqualTo(created), "kept on create");

        // As stored before the creation instant was kept; a replace keeps what is stored, so it stays without one.
        Assert.That(job.JobDataMap.Remove(JobDataKeys.CreatedAt), Is.True);
        await scheduler.AddJob(job, AddJobOptions.Replacing, CancellationToken.None);
        var replaced = await Admin.PutAsync("/api/schedules/default.legacy-born", ApiClient.Json(new
        {
            name = "legacy-born", description = "edited", action = IntervalPhase.Noop, trigger = new { cron = "0/5 * * * * ?", timeZone = "UTC" },
        }));
        Assert.That(replaced.StatusCode, Is.EqualTo(HttpStatusCode.OK), await replaced.Content.ReadAsStringAsync());
        Assert.That(ScheduleMapping.CreatedAtOf((await scheduler.GetJobDetail(key))!.JobDataMap), Is.Null);

        await PauseIntervals.UntilPassedAsync(created.AddSeconds(8));
        var due = await IntervalPhase.DueTimesAsync(Admin, "default.legacy-born", created.AddMinutes(-10), created.AddSeconds(8));
        Assert.That(due, Is.Not.Empty.And.All.GreaterThanOrEqualTo(created), "the audit log's create entry is its creation");
    }

    [Test]
    public async Task An_interval_schedule_stored_as_a_simple_trigger_is_converted_when_saved_keeping_its_next_fire_time()
    {
        var scheduler = await SchedulerAsync();
        var minute = new { name = "legacy-minute", action = IntervalPhase.Noop, trigger = new { intervalSeconds = 60 }, misfire = new { policy = "fire_once", thresholdSeconds = 1 } };
        await Admin.CreateScheduleAsync(minute);

        // Stored as every interval was before intervals kept their phase; nothing converts it behind the API's back.
        var active = new TriggerKey("legacy-minute", "default");
        var next = (await scheduler.GetTrigger(active))!.NextFireTimeUtc!.Value;
        await scheduler.RescheduleJob(active, Legacy(active, next));
        Assert.That(await scheduler.GetTrigger(active), Is.InstanceOf<ISimpleTrigger>());

        var saved = await Admin.PutAsync("/api/schedules/default.legacy-minute", ApiClient.Json(minute));
        Assert.That(saved.StatusCode, Is.EqualTo(HttpStatusCode.OK), await saved.Content.ReadAsStringAsync());

        var converted = (await scheduler.GetTrigger(active))!;
        Assert.That(converted, Is.InstanceOf<ICalendarIntervalTrigger>());
        Assert.That(converted.NextFireTimeUtc, Is.EqualTo(next), "it goes on from its next fire time");
        Assert.That(converted.MisfireInstructionCode, Is.EqualTo((int)CalendarIntervalTriggerMisfireInstruction.FireAndProceed), "fire_once, keeping the phase");
        var read = await Admin.GetFromJsonAsync<JsonElement>("/api/schedules/default.legacy-minute");
        Assert.That(read.GetProperty("nextFireTime").GetDateTimeOffset(), Is.EqualTo(next));

        static ITrigger Legacy(TriggerKey key, DateTimeOffset start) => TriggerBuilder.Create().WithIdentity(key).ForJob(key.Name, key.Group).StartAt(start)
            .WithSimpleSchedule(x => x.WithInterval(TimeSpan.FromSeconds(60)).RepeatForever().WithMisfireInstruction(SimpleTriggerMisfireInstruction.NowWithRemainingCount))
            .WithMisfireThreshold(TimeSpan.FromSeconds(1)).WithExecutionGroup("noop").Build();
    }

    [Test]
    public async Task A_node_starting_leaves_legacy_interval_triggers_as_stored_and_a_paused_one_paused()
    {
        var scheduler = await SchedulerAsync();
        await Admin.CreateScheduleAsync(new { name = "legacy-running", action = IntervalPhase.Noop, trigger = new { intervalSeconds = 60 } });
        await Admin.CreateScheduleAsync(new { name = "legacy-held", action = IntervalPhase.Noop, trigger = new { intervalSeconds = 60 } });
        await Admin.PostForJsonAsync("/api/schedules/default.legacy-held/pause", new { reason = "held" }, HttpStatusCode.OK);
        var running = new TriggerKey("legacy-running", "default");
        // An hour off (so it does not fire during the test), at a fractional second a conversion would round up.
        var next = TimeProvider.System.GetUtcNow().AddHours(1);
        next = new DateTimeOffset(next.Year, next.Month, next.Day, next.Hour, next.Minute, next.Second, 300, TimeSpan.Zero);
        await scheduler.RescheduleJob(running, Legacy(running, next));
        var held = new TriggerKey("legacy-held", "default");
        var heldJob = (await scheduler.GetJobDetail(new JobKey("legacy-held", "default")))!;
        await scheduler.ScheduleJob(heldJob, [Legacy(held, TimeProvider.System.GetUtcNow().AddMinutes(1))], new ScheduleJobOptions { Replace = true, Paused = true }, CancellationToken.None);

        // Another node of the cluster starts while this one fires: it must not replace triggers under it.
        await using var second = InProcessServer.Start(PostgresNode.Environment(Database));
        await second.WaitUntilReadyAsync();

        Assert.That(await scheduler.GetTrigger(running), Is.InstanceOf<ISimpleTrigger>().And.Property(nameof(ITrigger.NextFireTimeUtc)).EqualTo(next), "left as stored");
        Assert.That(await scheduler.GetTrigger(held), Is.InstanceOf<ISimpleTrigger>());
        Assert.That(await scheduler.GetTriggerState(held), Is.EqualTo(TriggerState.Paused), "still paused");
        var read = await Admin.GetFromJsonAsync<JsonElement>("/api/schedules/default.legacy-held");
        Assert.That(read.GetProperty("state").GetString(), Is.EqualTo("paused"), read.ToString());

        static ITrigger Legacy(TriggerKey key, DateTimeOffset start) => TriggerBuilder.Create().WithIdentity(key).ForJob(key.Name, key.Group).StartAt(start)
            .WithSimpleSchedule(x => x.WithInterval(TimeSpan.FromSeconds(60)).RepeatForever().WithMisfireInstruction(SimpleTriggerMisfireInstruction.NowWithRemainingCount))
            .WithMisfireThreshold(TimeSpan.FromSeconds(1)).WithExecutionGroup("noop").Build();
    }
}


/// <summary>The same on the embedded SQLite default.</summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class IntervalPhaseOnSqliteTests
{
    [Test]
    public async Task A_fire_once_resume_past_the_threshold_keeps_the_original_grid_on_the_embedded_database()
    {
        await using var server = InProcessServer.Start();
        await server.WaitUntilReadyAsync();
        using var admin = server.CreateClient(server.PrintedAdminKey);
        await IntervalPhase.ResumeKeepsTheGridAsync(admin, "lite-phase-kept");
    }
}

/// <summary>What the interval phase tests share.</summary>
internal static class IntervalPhase
{
    public static readonly object Noop = new { type = "noop", config = new { } };

    private static readonly TimeSpan Every = TimeSpan.FromSeconds(3);

    public static string Iso(DateTimeOffset t) => t.ToString("O", CultureInfo.InvariantCulture);

    public static async Task<List<DateTimeOffset>> DueTimesAsync(HttpClient admin, string id, DateTimeOffset from, DateTimeOffset to)
    {
        var answer = await admin.GetFromJsonAsync<JsonElement>($"/api/schedules/{id}/occurrences?from={PauseIntervals.Iso(from)}&to={PauseIntervals.Iso(to)}");
        return [.. answer.GetProperty("items").EnumerateArray().Select(o => o.GetProperty("dueAt").GetDateTimeOffset())];
    }

    private static async Task<List<(string DueAt, string Outcome)>> OccurrencesAsync(HttpClient admin, string id, DateTimeOffset from, DateTimeOffset to)
    {
        var answer = await admin.GetFromJsonAsync<JsonElement>($"/api/schedules/{id}/occurrences?from={PauseIntervals.Iso(from)}&to={PauseIntervals.Iso(to)}");
        return [.. answer.GetProperty("items").EnumerateArray().Select(o => (o.GetProperty("dueAt").GetString()!, o.GetProperty("outcome").GetString()!))];
    }

    /// <summary>
    /// Every 3 s under fire_once with a 1 s misfire threshold: paused far past the threshold and resumed half-way between
    /// two of its fire times, it runs one catch-up for the pause and then fires on its original grid (a trigger restarted
    /// at the catch-up would fire 1.5 s off it for good), and its due times before the pause read the same as before.
    /// </summary>
    public static async Task ResumeKeepsTheGridAsync(HttpClient admin, string name)
    {
        var id = $"default.{name}";
        var created = TimeProvider.System.GetUtcNow();
        await admin.CreateScheduleAsync(new
        {
            name, action = Noop, trigger = new { intervalSeconds = (int)Every.TotalSeconds }, misfire = new { policy = "fire_once", thresholdSeconds = 1 },
        });
        var first = await Poll.UntilAsync(() => admin.RunsAsync(id, "succeeded"), r => r.Count >= 2, TimeSpan.FromSeconds(60), "two runs before the pause");
        var phase = first.Min(r => r.GetProperty("scheduledFireTime").GetDateTimeOffset());
        bool OnGrid(DateTimeOffset t) => (t - phase).Ticks % Every.Ticks == 0;

        var beforePause = TimeProvider.System.GetUtcNow();
        await admin.PostForJsonAsync($"/api/schedules/{id}/pause", new { reason = "phase" }, HttpStatusCode.OK);
        var pausedAt = TimeProvider.System.GetUtcNow();
        await PauseIntervals.UntilPassedAsync(pausedAt.AddSeconds(8));
        var history = await OccurrencesAsync(admin, id, created.AddSeconds(-5), beforePause);
        Assert.That(history, Is.Not.Empty);

        // Half-way between two fire times: a grid restarted at the catch-up could not coincide with the original one.
        await Poll.UntilAsync(() => Task.FromResult(TimeProvider.System.GetUtcNow()),
            now => (now - phase).Ticks % Every.Ticks is var off && off > Every.Ticks * 4 / 10 && off < Every.Ticks * 6 / 10, TimeSpan.FromSeconds(30), "half-way between fire times");
        var resumedBefore = TimeProvider.System.GetUtcNow();
        await admin.PostForJsonAsync($"/api/schedules/{id}/resume", null, HttpStatusCode.OK);
        var runs = await Poll.UntilAsync(() => admin.RunsAsync(id, "succeeded"),
            r => r.Count(x => x.GetProperty("startedAt").GetDateTimeOffset() >= resumedBefore) >= 4, TimeSpan.FromSeconds(90), "four runs after the resume");
        await admin.PostForJsonAsync($"/api/schedules/{id}/pause", new { reason = "done" }, HttpStatusCode.OK);

        var after = runs.Where(x => x.GetProperty("startedAt").GetDateTimeOffset() >= resumedBefore)
            .Select(x => x.GetProperty("scheduledFireTime").GetDateTimeOffset()).Order().ToList();
        // Exactly one catch-up for the whole pause (none would be skip's answer, not fire_once's): Quartz keys it on a due
        // time inside the pause or on the instant it handled the misfire (off the grid), either way before the resume's
        // next grid time.
        var catchUps = runs.Select(x => x.GetProperty("scheduledFireTime").GetDateTimeOffset())
            .Where(t => t > pausedAt.AddSeconds(1) && (t < resumedBefore.AddSeconds(-1) || (t < resumedBefore.AddSeconds(1) && !OnGrid(t)))).ToList();
        Assert.That(catchUps, Has.Count.EqualTo(1), "one catch-up for the whole pause: " + string.Join(", ", catchUps.Select(Iso)));
        Assert.That(after.Skip(1), Has.Some.Matches<DateTimeOffset>(OnGrid), "after the catch-up, the original grid: " + string.Join(", ", after.Select(Iso)));
        Assert.That(after.Skip(1).Count(OnGrid), Is.GreaterThanOrEqualTo(2), $"on the grid of {Iso(phase)} every {Every}: " + string.Join(", ", after.Select(Iso)));

        var again = await OccurrencesAsync(admin, id, created.AddSeconds(-5), beforePause);
        Assert.That(again, Is.EqualTo(history), "the due times before the pause, and what became of them, are as they were");
    }
}
