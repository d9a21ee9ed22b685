using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Data;
using Orchestrator.Deadlines;
using Orchestrator.IntegrationTests.Infrastructure;
using Orchestrator.IntegrationTests.Telemetry;

namespace Orchestrator.IntegrationTests.Deadlines;

/// <summary>
/// Deadlines and the dead man's switch on PostgreSQL, alerting a real webhook receiver on 127.0.0.1 (each test its own
/// path): a slow run, a blocked occurrence and a failing schedule each alert once and announce one recovery; two checks
/// racing on the same database alert once; bad fields are 422s naming them; the breaches reach <c>/metrics</c>.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class DeadlineTests : ServerWithPeerFixture
{
    protected override string DatabaseName => "deadlines";

    // Checks every second, so a breach is alerted within about a second of its deadline.
    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?> { ["Orchestrator__Deadlines__CheckSeconds"] = "1" };

    protected override async Task StartedAsync()
    {
        await Admin.PostForJsonAsync("/api/channels", new { name = "ops", kind = "webhook", webhook = new { url = Peer.BaseUrl + "/ops" } }, HttpStatusCode.Created);
    }

    private async Task<string> ChannelAsync(string name)
    {
        await Admin.PostForJsonAsync("/api/channels", new { name, kind = "webhook", webhook = new { url = Peer.BaseUrl + "/" + name } }, HttpStatusCode.Created);
        return "/" + name;
    }

    private List<JsonElement> Messages(string path) => [.. Peer.RequestsTo(path).Select(r => JsonDocument.Parse(r.Body).RootElement)];

    private static bool IsAlert(JsonElement message) => message.GetProperty("subject").GetString()!.StartsWith("Deadline missed", StringComparison.Ordinal);

    private static bool IsRecovery(JsonElement message) => message.GetProperty("subject").GetString()!.StartsWith("Recovered", StringComparison.Ordinal);

    private async Task<List<JsonElement>> BreachesAsync(string query) =>
        [.. (await Admin.GetFromJsonAsync<JsonElement>("/api/deadlines?" + query)).GetProperty("items").EnumerateArray()];

    [Test]
    public async Task A_slow_run_breaches_succeed_within_once_and_recovers_when_it_succeeds()
    {
        var alerts = await ChannelAsync("slow-alerts");
        Peer.Configure("/slow", new RecordingHttpServer.Behaviour(TimeSpan.FromSeconds(6)));
        await Admin.CreateScheduleAsync(new
        {
            name = "slow-report",
            action = new { type = "call_api", config = new { method = "GET", url = Peer.BaseUrl + "/slow" } },
            trigger = new { at = InOneSecond() },
            deadline = new { succeedWithinSeconds = 2, channel = "slow-alerts" },
        });

        // While the run is still going: one alert, and the schedule shows the breach as open.
        var alert = await Poll.UntilAsync(() => Task.FromResult(Messages(alerts)), m => m.Count >= 1, TimeSpan.FromSeconds(20), "the succeed-deadline alert");
        Assert.That(IsAlert(alert[0]), Is.True, alert[0].ToString());
        Assert.That(alert[0].GetProperty("subject").GetString(), Is.EqualTo("Deadline missed: schedule default.slow-report did not succeed in time"));
        Assert.That(alert[0].GetProperty("message").GetString(), Does.Contain("default.slow-report").And.Contain("is still running").And.Contain("within 2 s"));
        var schedule = await Admin.GetFromJsonAsync<JsonElement>("/api/schedules/default.slow-report");
        Assert.That(schedule.GetProperty("deadline").GetProperty("succeedWithinSeconds").GetInt32(), Is.EqualTo(2));
        var status = schedule.GetProperty("deadlineStatus");
        Assert.That(status.GetProperty("open").GetArrayLength(), Is.EqualTo(1), schedule.ToString());
        Assert.That(status.GetProperty("open")[0].GetProperty("kind").GetString(), Is.EqualTo("succeed"));

        // The run succeeds about six seconds in: one recovery message, and nothing more after it.
        var messages = await Poll.UntilAsync(() => Task.FromResult(Messages(alerts)), m => m.Count >= 2, TimeSpan.FromSeconds(20), "the recovery message");
        await Task.Delay(TimeSpan.FromSeconds(3));
        messages = Messages(alerts);
        Assert.That(messages.Count(IsAlert), Is.EqualTo(1), string.Join("\n", messages));
        Assert.That(messages.Count(IsRecovery), Is.EqualTo(1), string.Join("\n", messages));
        Assert.That(messages[1].GetProperty("message").GetString(), Does.Contain("succeeded at"));

        var breaches = await BreachesAsync("scheduleId=default.slow-report");
        Assert.That(breaches, Has.Count.EqualTo(1));
        Assert.That(breaches[0].GetProperty("state").GetString(), Is.EqualTo("recovered"));
        Assert.That(breaches[0].GetProperty("notifiedAt").ValueKind, Is.EqualTo(JsonValueKind.String));
        Assert.That(breaches[0].GetProperty("recoveryNotifiedAt").ValueKind, Is.EqualTo(JsonValueKind.String));
        var run = (await Admin.RunsAsync("default.slow-report")).Single();
        Assert.That(breaches[0].GetProperty("occurrence").GetDateTimeOffset(), Is.EqualTo(run.GetProperty("scheduledFireTime").GetDateTimeOffset()));
        Assert.That((await BreachesAsync("scheduleId=default.slow-report&state=open")), Is.Empty);
        schedule = await Admin.GetFromJsonAsync<JsonElement>("/api/schedules/default.slow-report");
        Assert.That(schedule.GetProperty("deadlineStatus").GetProperty("open").GetArrayLength(), Is.EqualTo(0));
        Assert.That(schedule.GetProperty("deadlineStatus").GetProperty("lastBreachAt").ValueKind, Is.EqualTo(JsonValueKind.String));

        // The metrics: the breach and its recovery, by project and kind.
        using var anonymous = Server.CreateClient();
        var metrics = PrometheusText.Parse(await anonymous.GetStringAsync("/metrics"));
        Assert.That(metrics.Sum("orchestrator_deadline_breaches_total", ("project", "default"), ("kind", "succeed")), Is.GreaterThanOrEqualTo(1), metrics.Text);
        Assert.That(metrics.Sum("orchestrator_deadline_recoveries_total", ("project", "default"), ("kind", "succeed")), Is.GreaterThanOrEqualTo(1), metrics.Text);
    }

    [Test]
    public async Task An_occurrence_blocked_behind_a_running_one_breaches_start_within_and_recovers_when_it_starts()
    {
        var alerts = await ChannelAsync("blocked-alerts");
        // Every 3 s under 'forbid', each run taking 5 s: the second due time cannot start until the first ends.
        Peer.Configure("/busy", new RecordingHttpServer.Behaviour(TimeSpan.FromSeconds(5)));
        await Admin.CreateScheduleAsync(new
        {
            name = "blocked",
            action = new { type = "call_api", config = new { method = "GET", url = Peer.BaseUrl + "/busy" } },
            trigger = new { intervalSeconds = 3 },
            concurrency = "forbid",
            deadline = new { startWithinSeconds = 1, channel = "blocked-alerts" },
        });

        var messages = await Poll.UntilAsync(() => Task.FromResult(Messages(alerts)), m => m.Any(IsRecovery), TimeSpan.FromSeconds(30), "a start alert and its recovery");
        await Admin.PostForJsonAsync("/api/schedules/default.blocked/pause", new { reason = "test over" }, HttpStatusCode.OK);
        var alert = messages.First(IsAlert);
        Assert.That(alert.GetProperty("subject").GetString(), Is.EqualTo("Deadline missed: schedule default.blocked did not start in time"));
        Assert.That(alert.GetProperty("message").GetString(), Does.Contain("should have started within 1 s"));
        Assert.That(messages.First(IsRecovery).GetProperty("message").GetString(), Does.Contain("started at"));

        // Every breach alerted exactly once, and every recovery announced exactly once.
        await Task.Delay(TimeSpan.FromSeconds(3));
        messages = Messages(alerts);
        var breaches = await BreachesAsync("scheduleId=default.blocked&kind=start");
        Assert.That(breaches, Is.Not.Empty);
        Assert.That(messages.Count(IsAlert), Is.EqualTo(breaches.Count), string.Join("\n", messages));
        Assert.That(messages.Count(IsRecovery), Is.EqualTo(breaches.Count(b => b.GetProperty("recoveryNotifiedAt").ValueKind == JsonValueKind.String)));
        Assert.That(Peer.RequestsTo(alerts).Select(r => r.IdempotencyKey).Distinct().Count(), Is.EqualTo(messages.Count), "each message its own key");
    }

    [Test]
    public async Task The_dead_mans_switch_fires_once_for_a_failing_schedule_and_recovers_after_a_success()
    {
        var alerts = await ChannelAsync("silence-alerts");
        Peer.Configure("/flaky", new RecordingHttpServer.Behaviour(TimeSpan.Zero, Status: 500));
        var created = await Admin.CreateScheduleAsync(new
        {
            name = "heartbeat",
            action = new { type = "call_api", config = new { method = "GET", url = Peer.BaseUrl + "/flaky" } },
            trigger = new { intervalSeconds = 1 },
            expectSuccessEvery = 3,
            deadline = new { channel = "silence-alerts" },
        });
        Assert.That(created.GetProperty("expectSuccessEvery").GetString(), Is.EqualTo("PT3S"));

        await Poll.UntilAsync(() => Task.FromResult(Messages(alerts)), m => m.Count >= 1, TimeSpan.FromSeconds(20), "the dead man's switch alert");
        // Still failing for a few more seconds: no second alert for the same silence.
        await Task.Delay(TimeSpan.FromSeconds(4));
        Assert.That(Messages(alerts), Has.Count.EqualTo(1), string.Join("\n", Messages(alerts)));
        var alert = Messages(alerts)[0];
        Assert.That(alert.GetProperty("subject").GetString(), Is.EqualTo("Deadline missed: schedule default.heartbeat has not succeeded for too long"));
        Assert.That(alert.GetProperty("message").GetString(), Does.Contain("no run succeeded").And.Contain("expected every 3 s"));

        Peer.Configure("/flaky", new RecordingHttpServer.Behaviour(TimeSpan.Zero));
        var messages = await Poll.UntilAsync(() => Task.FromResult(Messages(alerts)), m => m.Any(IsRecovery), TimeSpan.FromSeconds(20), "the recovery");
        await Task.Delay(TimeSpan.FromSeconds(3));
        await Admin.PostForJsonAsync("/api/schedules/default.heartbeat/pause", null, HttpStatusCode.OK);
        messages = Messages(alerts);
        Assert.That(messages.Count(IsAlert), Is.EqualTo(1), string.Join("\n", messages));
        Assert.That(messages.Count(IsRecovery), Is.EqualTo(1), string.Join("\n", messages));
        var breach = (await BreachesAsync("scheduleId=default.heartbeat")).Single();
        Assert.That(breach.GetProperty("kind").GetString(), Is.EqualTo("silence"));
        Assert.That(breach.GetProperty("state").GetString(), Is.EqualTo("recovered"));
    }

    [Test]
    public async Task Two_checks_racing_on_one_database_alert_once_and_announce_one_recovery()
    {
        var alerts = await ChannelAsync("race-alerts");
        Peer.Configure("/race-slow", new RecordingHttpServer.Behaviour(TimeSpan.FromSeconds(4)));
        await Admin.CreateScheduleAsync(new
        {
            name = "raced",
            action = new { type = "call_api", config = new { method = "GET", url = Peer.BaseUrl + "/race-slow" } },
            trigger = new { at = InOneSecond() },
            deadline = new { succeedWithinSeconds = 1, channel = "race-alerts" },
        });

        // Besides the server's own job, pairs of checks at once, each in its own scope (its own connection), until the
        // run has succeeded and its recovery is marked.
        var services = ((InProcessServer)Server).Services;
        var stop = TimeProvider.System.GetUtcNow().AddSeconds(12);
        while (TimeProvider.System.GetUtcNow() < stop)
        {
            await Task.WhenAll(Enumerable.Range(0, 3).Select(async _ =>
            {
                await using var scope = services.CreateAsyncScope();
                await scope.ServiceProvider.GetRequiredService<DeadlineChecker>().CheckAsync(CancellationToken.None);
            }));
            await Task.Delay(100);
        }

        var messages = Messages(alerts);
        Assert.That(messages.Count(IsAlert), Is.EqualTo(1), string.Join("\n", messages));
        Assert.That(messages.Count(IsRecovery), Is.EqualTo(1), string.Join("\n", messages));
        Assert.That(await BreachesAsync("scheduleId=default.raced"), Has.Count.EqualTo(1));
    }

    [Test]
    public async Task A_schedule_created_disabled_with_a_deadline_never_alerts()
    {
        // Created paused through Quartz's Paused option: no pause record, and no run ever started.
        var alerts = await ChannelAsync("disabled-alerts");
        var created = await Admin.CreateScheduleAsync(new
        {
            name = "born-paused",
            action = new { type = "noop", config = new { } },
            trigger = new { intervalSeconds = 1 },
            enabled = false,
            deadline = new { startWithinSeconds = 1, succeedWithinSeconds = 1, channel = "disabled-alerts" },
        });
        Assert.That(created.GetProperty("enabled").GetBoolean(), Is.False);

        // Several due times and their limits pass, with a check every second.
        await Task.Delay(TimeSpan.FromSeconds(6));
        Assert.That(Messages(alerts), Is.Empty, string.Join("\n", Messages(alerts)));
        Assert.That(await BreachesAsync("scheduleId=default.born-paused"), Is.Empty);
    }

    [Test]
    public async Task Due_times_inside_a_pause_are_not_alerted_after_the_resume()
    {
        var alerts = await ChannelAsync("resume-alerts");
        await Admin.CreateScheduleAsync(new
        {
            name = "paused-a-while",
            action = new { type = "noop", config = new { } },
            trigger = new { intervalSeconds = 1 },
            // Skip what was missed, so the resume starts nothing late.
            // The paused-firing veto skips the pause's due times whatever the threshold; a 1-s threshold let a loaded
            // machine skip a due time after the resume as a misfire, which the checker rightly called not started.
            misfire = new { policy = "skip", thresholdSeconds = 30 },
            deadline = new { startWithinSeconds = 3, channel = "resume-alerts" },
        });
        await Task.Delay(TimeSpan.FromSeconds(2));
        await Admin.PostForJsonAsync("/api/schedules/default.paused-a-while/pause", null, HttpStatusCode.OK);
        var pausedAt = TimeProvider.System.GetUtcNow();
        await Task.Delay(TimeSpan.FromSeconds(5));
        await Admin.PostForJsonAsync("/api/schedules/default.paused-a-while/resume", null, HttpStatusCode.OK);
        var resumedAt = TimeProvider.System.GetUtcNow();

        // The due times of the pause's last 3 s are judged after the resume: none of them alerts.
        await Task.Delay(TimeSpan.FromSeconds(6));
        await Admin.PostForJsonAsync("/api/schedules/default.paused-a-while/pause", new { reason = "test over" }, HttpStatusCode.OK);
        var breaches = await BreachesAsync("scheduleId=default.paused-a-while");
        var inPause = breaches.Where(b => b.GetProperty("occurrence").GetDateTimeOffset() is var at && at >= pausedAt && at <= resumedAt).ToList();
        Assert.That(inPause, Is.Empty, string.Join("\n", breaches));
        Assert.That(Messages(alerts), Is.Empty, string.Join("\n", Messages(alerts)));
        Assert.That((await Admin.RunsAsync("default.paused-a-while")).Count, Is.GreaterThanOrEqualTo(2), "it ran before and after the pause");
    }

    [Test]
    public async Task A_schedule_created_by_the_batch_is_watched()
    {
        var alerts = await ChannelAsync("batch-alerts");
        Peer.Configure("/batch-slow", new RecordingHttpServer.Behaviour(TimeSpan.FromSeconds(4)));
        await Admin.PostForJsonAsync("/api/schedules/batch", new
        {
            items = new object[]
            {
                new
                {
                    name = "batched-slow",
                    action = new { type = "call_api", config = new { method = "GET", url = Peer.BaseUrl + "/batch-slow" } },
                    trigger = new { at = InOneSecond() },
                    deadline = new { succeedWithinSeconds = 1, channel = "batch-alerts" },
                },
                new { name = "batched-plain", action = new { type = "noop", config = new { } }, trigger = new { cron = "0 0 3 * * ?", timeZone = "UTC" } },
            },
        }, HttpStatusCode.Created);

        var messages = await Poll.UntilAsync(() => Task.FromResult(Messages(alerts)), m => m.Any(IsAlert), TimeSpan.FromSeconds(20), "the batch schedule's alert");
        Assert.That(messages.First(IsAlert).GetProperty("subject").GetString(), Is.EqualTo("Deadline missed: schedule default.batched-slow did not succeed in time"));
        await using var scope = ((InProcessServer)Server).Services.CreateAsyncScope();
        var watched = await scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>().Set<DeadlineWatch>()
            .Where(w => w.TargetId.StartsWith("default.batched-")).Select(w => w.TargetId).ToListAsync();
        Assert.That(watched, Is.EqualTo(new[] { "default.batched-slow" }), "only the schedule with a deadline is watched");
    }

    [Test]
    public async Task Sends_waiting_for_a_retry_do_not_starve_a_new_alert()
    {
        var alerts = await ChannelAsync("backlog-alerts");
        var services = ((InProcessServer)Server).Services;
        var now = TimeProvider.System.GetUtcNow();
        DeadlineBreach Breach(int n, DateTimeOffset? retryAt) => new()
        {
            TargetType = DeadlineBreach.Schedule,
            TargetId = "default.backlog",
            Project = "default",
            Kind = DeadlineBreach.Start,
            Occurrence = now.AddHours(-10).AddSeconds(n),
            DueAt = now.AddHours(-10).AddSeconds(n + 1),
            DetectedAt = now.AddHours(-10),
            Node = "test",
            Channel = "backlog-alerts",
            Message = $"backlog {n}",
            SendLeaseUntil = retryAt,
            LastSendError = retryAt is null ? null : "Webhook channel 'backlog-alerts' answered 500.",
        };

        // More failed sends backing off than one check sends, stored before (lower ids than) the new alert.
        long newId;
        await using (var scope = services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>();
            db.AddRange(Enumerable.Range(0, DeadlineChecker.MaxSendsPerCheck + 10).Select(n => Breach(n, now.AddHours(1))));
            await db.SaveChangesAsync();
            var fresh = Breach(100_000, null);
            db.Add(fresh);
            await db.SaveChangesAsync();
            newId = fresh.Id;
        }

        await using (var scope = services.CreateAsyncScope())
        {
            await scope.ServiceProvider.GetRequiredService<DeadlineChecker>().CheckAsync(CancellationToken.None);
        }

        var messages = Messages(alerts);
        Assert.That(messages.Select(m => m.GetProperty("message").GetString()), Is.EqualTo(new[] { "backlog 100000" }));
        await using (var scope = services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>();
            Assert.That((await db.Set<DeadlineBreach>().SingleAsync(b => b.Id == newId)).NotifiedAt, Is.Not.Null);
            Assert.That(await db.Set<DeadlineBreach>().CountAsync(b => b.TargetId == "default.backlog" && b.NotifiedAt == null), Is.EqualTo(DeadlineChecker.MaxSendsPerCheck + 10));
            await db.Set<DeadlineBreach>().Where(b => b.TargetId == "default.backlog").ExecuteDeleteAsync();
        }
    }

    [Test]
    public async Task A_failed_send_backs_off_and_a_send_to_a_deleted_channel_waits_marked_with_why()
    {
        // A receiver that refuses: the alert is tried, fails, and is not tried again on the next checks.
        var alerts = await ChannelAsync("refusing-alerts");
        Peer.Configure(alerts, new RecordingHttpServer.Behaviour(TimeSpan.Zero, Status: 500));
        await Admin.PostForJsonAsync("/api/channels", new { name = "doomed-alerts", kind = "webhook", webhook = new { url = Peer.BaseUrl + "/doomed-alerts" } }, HttpStatusCode.Created);
        var services = ((InProcessServer)Server).Services;
        var now = TimeProvider.System.GetUtcNow();
        DeadlineBreach Breach(string channel) => new()
        {
            TargetType = DeadlineBreach.Pipeline,
            TargetId = "unwatched-" + channel,
            Project = "default",
            Kind = DeadlineBreach.Start,
            Occurrence = now,
            DueAt = now,
            DetectedAt = now,
            Node = "test",
            Channel = channel,
            Message = "failing " + channel,
        };
        await using (var scope = services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>();
            db.AddRange(Breach("refusing-alerts"), Breach("doomed-alerts"));
            await db.SaveChangesAsync();
        }

        var response = await Admin.DeleteAsync("/api/channels/doomed-alerts");
        Assert.That(response.IsSuccessStatusCode, Is.True, await response.Content.ReadAsStringAsync());
        await Poll.UntilAsync(() => Task.FromResult(Peer.RequestsTo(alerts).Count), n => n >= 1, TimeSpan.FromSeconds(10), "the first try");
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.That(Peer.RequestsTo(alerts), Has.Count.EqualTo(1), "tried again only after its back-off, not on every check");
        Assert.That(Peer.RequestsTo("/doomed-alerts"), Is.Empty);

        await using (var scope = services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>();
            var refused = await db.Set<DeadlineBreach>().AsNoTracking().SingleAsync(b => b.TargetId == "unwatched-refusing-alerts");
            Assert.That(refused.NotifiedAt, Is.Null);
            Assert.That(refused.LastSendError, Does.Contain("500"));
            Assert.That(refused.SendLeaseUntil, Is.GreaterThanOrEqualTo(refused.DetectedAt + DeadlineChecker.MinRetryDelay));
            var doomed = await db.Set<DeadlineBreach>().AsNoTracking().SingleAsync(b => b.TargetId == "unwatched-doomed-alerts");
            Assert.That(doomed.NotifiedAt, Is.Null);
            Assert.That(doomed.LastSendError, Does.Contain("'doomed-alerts' no longer exists"));
            await db.Set<DeadlineBreach>().Where(b => b.TargetId.StartsWith("unwatched-")).ExecuteDeleteAsync();
        }
    }

    [Test]
    public async Task A_deleted_schedules_open_breach_is_closed_without_a_recovery_message()
    {
        var alerts = await ChannelAsync("gone-alerts");
        Peer.Configure("/gone-slow", new RecordingHttpServer.Behaviour(TimeSpan.FromSeconds(10)));
        await Admin.CreateScheduleAsync(new
        {
            name = "soon-gone",
            action = new { type = "call_api", config = new { method = "GET", url = Peer.BaseUrl + "/gone-slow" } },
            trigger = new { at = InOneSecond() },
            deadline = new { succeedWithinSeconds = 1, channel = "gone-alerts" },
        });
        await Poll.UntilAsync(() => Task.FromResult(Messages(alerts)), m => m.Any(IsAlert), TimeSpan.FromSeconds(20), "the alert");
        Assert.That(await BreachesAsync("scheduleId=default.soon-gone&state=open"), Has.Count.EqualTo(1));

        var response = await Admin.DeleteAsync("/api/schedules/default.soon-gone");
        Assert.That(response.IsSuccessStatusCode, Is.True, await response.Content.ReadAsStringAsync());
        var breaches = await Poll.UntilAsync(() => BreachesAsync("scheduleId=default.soon-gone"),
            b => b.Count == 1 && b[0].GetProperty("state").GetString() == "recovered", TimeSpan.FromSeconds(15), "the breach closed");
        Assert.That(breaches[0].GetProperty("recoveryMessage").GetString(), Does.Contain("was deleted"));
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.That(Messages(alerts).Count(IsRecovery), Is.EqualTo(0), string.Join("\n", Messages(alerts)));
    }

    private static object Schedule(object? deadline, object? expectSuccessEvery = null) => new
    {
        name = "refused",
        action = new { type = "noop", config = new { } },
        trigger = new { cron = "0 0 3 * * ?", timeZone = "UTC" },
        deadline,
        expectSuccessEvery,
    };

    public static IEnumerable<TestCaseData> BadFields()
    {
        yield return new TestCaseData(new { startWithinSeconds = 0, channel = "ops" }, null, "deadline.startWithinSeconds").SetName("start limit zero");
        yield return new TestCaseData(new { succeedWithinSeconds = -5, channel = "ops" }, null, "deadline.succeedWithinSeconds").SetName("success limit negative");
        yield return new TestCaseData(new { startWithinSeconds = 10_000_000, channel = "ops" }, null, "deadline.startWithinSeconds").SetName("start limit huge");
        yield return new TestCaseData(new { startWithinSeconds = 60, channel = "no-such-channel" }, null, "deadline.channel").SetName("unknown channel");
        yield return new TestCaseData(new { startWithinSeconds = 60 }, null, "deadline.channel").SetName("no channel");
        yield return new TestCaseData(new { channel = "ops" }, null, "deadline").SetName("no limit");
        yield return new TestCaseData(null, "PT26H", "deadline.channel").SetName("dead man's switch without a channel");
        yield return new TestCaseData(new { channel = "ops" }, "every day", "expectSuccessEvery").SetName("duration not ISO-8601");
        yield return new TestCaseData(new { channel = "ops" }, 0, "expectSuccessEvery").SetName("duration zero");
        yield return new TestCaseData(new { channel = "ops" }, "P400D", "expectSuccessEvery").SetName("duration over a year");
        yield return new TestCaseData(new { channel = "ops" }, true, "expectSuccessEvery").SetName("duration of the wrong type");
    }

    [TestCaseSource(nameof(BadFields))]
    public async Task A_bad_deadline_is_a_422_naming_the_field_and_nothing_is_stored(object? deadline, object? expectSuccessEvery, string field)
    {
        var response = await Admin.PostAsync("/api/schedules", ApiClient.Json(Schedule(deadline, expectSuccessEvery)));
        var problem = await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity);
        Assert.That(problem.GetProperty("errors").TryGetProperty(field, out _), Is.True, problem.ToString());
        Assert.That((await Admin.GetAsync("/api/schedules/default.refused")).StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task A_deadline_of_the_wrong_type_is_refused_naming_it()
    {
        var body = """{"name": "typed", "action": {"type": "noop", "config": {}}, "trigger": {"cron": "0 0 3 * * ?"}, "deadline": {"startWithinSeconds": "soon", "channel": "ops"}}""";
        var response = await Admin.PostAsync("/api/schedules", new StringContent(body, System.Text.Encoding.UTF8, "application/json"));
        Assert.That((int)response.StatusCode, Is.AnyOf(400, 422));
        Assert.That(await response.Content.ReadAsStringAsync(), Does.Contain("deadline.startWithinSeconds"));
        Assert.That((await Admin.GetAsync("/api/schedules/default.typed")).StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task Deadline_fields_are_stored_normalized_on_schedules_and_pipelines_and_a_pipeline_refuses_an_unknown_channel()
    {
        var schedule = await Admin.CreateScheduleAsync(new
        {
            name = "watched",
            action = new { type = "noop", config = new { } },
            trigger = new { cron = "0 0 3 * * ?", timeZone = "UTC" },
            deadline = new { startWithinSeconds = 60, succeedWithinSeconds = 900, channel = "ops" },
            expectSuccessEvery = 93_600,
        });
        Assert.That(schedule.GetProperty("deadline").GetRawText(), Is.EqualTo("""{"startWithinSeconds":60,"succeedWithinSeconds":900,"channel":"ops"}"""));
        Assert.That(schedule.GetProperty("expectSuccessEvery").GetString(), Is.EqualTo("PT26H"));
        Assert.That(schedule.GetProperty("deadlineStatus").GetProperty("open").GetArrayLength(), Is.EqualTo(0));

        var pipeline = await Admin.PostForJsonAsync("/api/pipelines", new
        {
            id = "nightly-flow",
            name = "Nightly",
            nodes = new[] { new { id = "a", type = "action", action = new { type = "noop", config = new { } } } },
            deadline = new { succeedWithinSeconds = 600, channel = "ops" },
            expectSuccessEvery = "P1D",
        }, HttpStatusCode.Created);
        Assert.That(pipeline.GetProperty("deadline").GetProperty("succeedWithinSeconds").GetInt32(), Is.EqualTo(600));
        Assert.That(pipeline.GetProperty("expectSuccessEvery").GetString(), Is.EqualTo("P1D"));

        var refused = await Admin.PostAsync("/api/pipelines", ApiClient.Json(new
        {
            id = "unwatched-flow",
            name = "Unwatched",
            nodes = new[] { new { id = "a", type = "action", action = new { type = "noop", config = new { } } } },
            deadline = new { startWithinSeconds = 5, channel = "missing" },
        }));
        var problem = await ApiAssertions.AssertProblemAsync(refused, HttpStatusCode.UnprocessableEntity);
        Assert.That(problem.GetProperty("errors").GetProperty("deadline.channel")[0].GetString(), Does.Contain("'missing'"));
        Assert.That((await Admin.GetAsync("/api/pipelines/unwatched-flow")).StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task A_pipeline_run_that_does_not_succeed_in_time_breaches_its_pipelines_deadline()
    {
        var alerts = await ChannelAsync("flow-alerts");
        Peer.Configure("/flow-slow", new RecordingHttpServer.Behaviour(TimeSpan.FromSeconds(4)));
        await Admin.PostForJsonAsync("/api/pipelines", new
        {
            id = "slow-flow",
            name = "Slow flow",
            nodes = new[] { new { id = "call", type = "action", action = new { type = "call_api", config = new { method = "GET", url = Peer.BaseUrl + "/flow-slow" } } } },
            deadline = new { succeedWithinSeconds = 1, channel = "flow-alerts" },
        }, HttpStatusCode.Created);
        await Admin.PostForJsonAsync("/api/pipelines/slow-flow/run", new { inputs = new { } }, HttpStatusCode.Accepted);

        var until = TimeProvider.System.GetUtcNow().AddSeconds(30);
        while (!Messages(alerts).Any(IsRecovery) && TimeProvider.System.GetUtcNow() < until)
        {
            await Task.Delay(150);
        }

        var messages = Messages(alerts);
        if (!messages.Any(IsRecovery))
        {
            Assert.Fail($"No alert and recovery. Messages: {string.Join("\n", messages)}\nBreaches: {await Admin.GetStringAsync("/api/deadlines?pipelineId=slow-flow")}\n"
                        + $"Runs: {await Admin.GetStringAsync("/api/pipelines/slow-flow/runs")}\nLog: {string.Join("\n", ((InProcessServer)Server).Output.Split('\n').Where(l => l.Contains("eadline", StringComparison.Ordinal)))}");
        }

        Assert.That(messages.Count(IsAlert), Is.EqualTo(1), string.Join("\n", messages));
        Assert.That(messages.First(IsAlert).GetProperty("subject").GetString(), Is.EqualTo("Deadline missed: pipeline slow-flow did not succeed in time"));
        var breach = (await BreachesAsync("pipelineId=slow-flow")).Single();
        Assert.That(breach.GetProperty("kind").GetString(), Is.EqualTo("succeed"));
        Assert.That(breach.GetProperty("scheduleId").ValueKind, Is.EqualTo(JsonValueKind.Null));
    }

    [TestCase("state=later", "state")]
    [TestCase("kind=late", "kind")]
    [TestCase("pageSize=0", "pageSize")]
    public async Task The_breach_list_refuses_bad_filters_naming_them(string query, string field)
    {
        var problem = await ApiAssertions.AssertProblemAsync(await Admin.GetAsync("/api/deadlines?" + query), HttpStatusCode.UnprocessableEntity);
        Assert.That(problem.GetProperty("errors").TryGetProperty(field, out _), Is.True, problem.ToString());
    }
}
