using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Schedules;

/// <summary>call_api schedules on a real server process and PostgreSQL, calling a real HTTP server on 127.0.0.1.</summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class CallApiScheduleTests : ServerWithPeerFixture
{
    protected override string DatabaseName => "callapi";

    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Orchestrator__Outbound__AllowedHosts__1"] = "localhost",
        ["Orchestrator__Secrets__API_TOKEN"] = "tok-5f2a9c7e-secret",
        ["Orchestrator__Scheduler__ExecutionLimits__reports"] = "1",
    };

    private Dictionary<string, object?> CallApi(string name, string path, object trigger, object? extra = null, object? headers = null)
    {
        var schedule = new Dictionary<string, object?>
        {
            ["name"] = name,
            ["action"] = new { type = "call_api", config = new { method = "POST", url = Peer.BaseUrl + path, body = new { schedule = name }, headers = headers ?? new { } } },
            ["trigger"] = trigger,
        };
        foreach (var property in extra?.GetType().GetProperties() ?? [])
        {
            schedule[property.Name] = property.GetValue(extra);
        }

        return schedule;
    }

    [Test]
    public async Task Cron_every_second_calls_the_endpoint_with_an_idempotency_key_per_fire_time_and_records_the_runs()
    {
        await Admin.CreateScheduleAsync(CallApi("every-second", "/every-second", new { cron = "* * * * * ?", timeZone = "Europe/Paris" }));
        await Peer.WaitForRequestsAsync("/every-second", 3, TimeSpan.FromSeconds(20));
        await Admin.PostAsync("/api/schedules/default.every-second/pause", null);

        var requests = Peer.RequestsTo("/every-second");
        Assert.That(requests.Select(r => r.IdempotencyKey), Is.All.Not.Null.And.All.StartsWith("run-"));
        Assert.That(requests.Select(r => r.IdempotencyKey).Distinct().Count(), Is.EqualTo(requests.Count), "one key per fire time");
        Assert.That(requests[0].Body, Does.Contain("\"schedule\":\"every-second\""));

        var runs = await Poll.UntilAsync(() => Admin.RunsAsync("default.every-second", "succeeded"), r => r.Count >= 3, TimeSpan.FromSeconds(10), "succeeded runs");
        var run = runs[0];
        Assert.That(run.GetProperty("triggeredBy").GetString(), Is.EqualTo("schedule"));
        Assert.That(run.GetProperty("attempt").GetInt32(), Is.EqualTo(1));
        Assert.That(run.GetProperty("result").GetProperty("status").GetInt32(), Is.EqualTo(200));
        Assert.That(run.GetProperty("result").GetProperty("body").GetString(), Does.Contain("/every-second"));
        Assert.That(run.GetProperty("node").GetString(), Is.Not.Empty);
        Assert.That(requests.Select(r => r.IdempotencyKey), Does.Contain(run.GetProperty("idempotencyKey").GetString()), "the key the endpoint saw is the run's key");
    }

    [Test]
    public async Task Pause_stops_firings_resume_restarts_them_and_run_now_is_recorded_as_manual()
    {
        await Admin.CreateScheduleAsync(CallApi("pausable", "/pausable", new { intervalSeconds = 1 }));
        await Peer.WaitForRequestsAsync("/pausable", 2, TimeSpan.FromSeconds(15));

        var paused = await Admin.PostForJsonAsync("/api/schedules/default.pausable/pause", null, HttpStatusCode.OK);
        Assert.That(paused.GetProperty("state").GetString(), Is.EqualTo("paused"));
        // A firing already acquired before the pause may still complete.
        var countWhilePaused = await Poll.UntilSettledAsync(() => Task.FromResult(Peer.RequestsTo("/pausable").Count), TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(10), "the calls under way at the pause");
        await Poll.NothingHappensFor(TimeSpan.FromSeconds(3), () => Task.FromResult(Peer.RequestsTo("/pausable").Count != countWhilePaused), "a firing while paused");

        var run = await Admin.PostForJsonAsync("/api/schedules/default.pausable/run", null, HttpStatusCode.Accepted);
        Assert.That(run.GetProperty("triggeredBy").GetString(), Is.EqualTo("manual"));
        var runId = run.GetProperty("id").GetString();
        var manual = await Poll.UntilAsync(() => Admin.GetFromJsonAsync<JsonElement>($"/api/runs/{runId}"), r => r.Status() == "succeeded", TimeSpan.FromSeconds(10), "manual run");
        Assert.That(manual.GetProperty("idempotencyKey").GetString(), Does.StartWith("manual-"));
        Assert.That(Peer.RequestsTo("/pausable"), Has.Count.EqualTo(countWhilePaused + 1), "run now fires even while paused, exactly once");

        var resumed = await Admin.PostForJsonAsync("/api/schedules/default.pausable/resume", null, HttpStatusCode.OK);
        Assert.That(resumed.GetProperty("state").GetString(), Is.Not.EqualTo("paused"));
        await Peer.WaitForRequestsAsync("/pausable", countWhilePaused + 3, TimeSpan.FromSeconds(15));
        await Admin.PostAsync("/api/schedules/default.pausable/pause", null);
    }

    [Test]
    public async Task The_schedule_list_filters_by_state_action_type_and_project_with_paging()
    {
        await Admin.CreateScheduleAsync(new { name = "listed-active", action = new { type = "noop", config = new { } }, trigger = new { cron = "0 0 3 * * ?" } });
        await Admin.CreateScheduleAsync(new { name = "listed-paused", action = new { type = "noop", config = new { } }, trigger = new { cron = "0 0 3 * * ?" }, enabled = false });
        async Task<List<string>> Ids(string query) =>
            [.. (await Admin.GetFromJsonAsync<JsonElement>($"/api/schedules?{query}")).GetProperty("items").EnumerateArray().Select(s => s.GetProperty("id").GetString()!)];

        var paused = await Ids("state=paused&actionType=noop");
        Assert.That(paused, Does.Contain("default.listed-paused").And.Not.Contain("default.listed-active"));
        var active = await Ids("state=active&actionType=noop");
        Assert.That(active, Does.Contain("default.listed-active").And.Not.Contain("default.listed-paused"));
        Assert.That(await Ids("actionType=call_api"), Has.None.StartWith("default.listed-"));
        // A project that is not there is named in a 404, not answered with an empty list a typo could hide behind.
        Assert.That((await Admin.GetAsync("/api/schedules?project=nowhere")).StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
        var firstPage = await Admin.GetFromJsonAsync<JsonElement>("/api/schedules?actionType=noop&pageSize=1&page=1");
        Assert.That(firstPage.GetProperty("items").GetArrayLength(), Is.EqualTo(1));
        Assert.That(firstPage.GetProperty("total").GetInt32(), Is.GreaterThanOrEqualTo(2));
    }

    [Test]
    public async Task Forbidden_concurrency_never_overlaps_calls_to_a_slow_endpoint()
    {
        // A server of its own, so its in-flight high-water mark counts this schedule's calls only.
        await using var slowPeer = await RecordingHttpServer.StartAsync();
        slowPeer.Configure("/slow", new RecordingHttpServer.Behaviour(TimeSpan.FromMilliseconds(1500)));
        var schedule = CallApi("slow", "/slow", new { cron = "* * * * * ?" }, new { concurrency = "forbid" });
        schedule["action"] = new { type = "call_api", config = new { method = "POST", url = slowPeer.BaseUrl + "/slow" } };
        await Admin.CreateScheduleAsync(schedule);
        await slowPeer.WaitForRequestsAsync("/slow", 3, TimeSpan.FromSeconds(20));
        await Admin.PostAsync("/api/schedules/default.slow/pause", null);

        Assert.That(slowPeer.MaxInFlight, Is.LessThanOrEqualTo(1), "never two calls in flight at once");
        var calls = slowPeer.RequestsTo("/slow").OrderBy(r => r.Started).ToList();
        for (var i = 1; i < calls.Count; i++)
        {
            Assert.That(calls[i].Started, Is.GreaterThanOrEqualTo(calls[i - 1].Finished - TimeSpan.FromMilliseconds(50)),
                $"call {i} started at {calls[i].Started} before call {i - 1} finished at {calls[i - 1].Finished}");
        }
    }

    [Test]
    public async Task Schedules_sharing_an_execution_group_never_exceed_its_cluster_wide_limit()
    {
        Peer.Configure("/report-a", new RecordingHttpServer.Behaviour(TimeSpan.FromMilliseconds(1200)));
        Peer.Configure("/report-b", new RecordingHttpServer.Behaviour(TimeSpan.FromMilliseconds(1200)));
        await Admin.CreateScheduleAsync(CallApi("report-a", "/report-a", new { cron = "* * * * * ?" }, new { executionGroup = "reports" }));
        await Admin.CreateScheduleAsync(CallApi("report-b", "/report-b", new { cron = "* * * * * ?" }, new { executionGroup = "reports" }));
        await Peer.WaitForRequestsAsync("/report-b", 2, TimeSpan.FromSeconds(25));
        await Admin.PostAsync("/api/schedules/default.report-a/pause", null);
        await Admin.PostAsync("/api/schedules/default.report-b/pause", null);
        await Poll.UntilSettledAsync(() => Task.FromResult(Peer.Requests.Count(r => r.Path is "/report-a" or "/report-b")), TimeSpan.FromSeconds(1.5), TimeSpan.FromSeconds(15), "the calls under way at the pause");

        var calls = Peer.Requests.Where(r => r.Path is "/report-a" or "/report-b").OrderBy(r => r.Started).ToList();
        Assert.That(calls.Select(c => c.Path).Distinct().Count(), Is.EqualTo(2), "both schedules ran");
        for (var i = 1; i < calls.Count; i++)
        {
            Assert.That(calls[i].Started, Is.GreaterThanOrEqualTo(calls[i - 1].Finished - TimeSpan.FromMilliseconds(50)),
                $"{calls[i].Path} started while {calls[i - 1].Path} was running: the 'reports' group allows one at a time");
        }
    }

    [Test]
    public async Task Secret_header_reaches_the_endpoint_but_never_the_run_record_or_the_api()
    {
        await Admin.CreateScheduleAsync(CallApi("secret", "/secret", new { at = InOneSecond() },
            headers: new Dictionary<string, string> { ["X-Token"] = "Bearer {{secret:API_TOKEN}}" }));
        await Peer.WaitForRequestsAsync("/secret", 1, TimeSpan.FromSeconds(15));
        Assert.That(Peer.RequestsTo("/secret")[0].Headers["X-Token"], Is.EqualTo("Bearer tok-5f2a9c7e-secret"));

        var runs = await Poll.UntilAsync(() => Admin.RunsAsync("default.secret"), r => r.Count == 1 && r[0].Status() != "running", TimeSpan.FromSeconds(10), "the run");
        var everything = runs[0].GetRawText() + await Admin.GetStringAsync("/api/schedules/default.secret");
        Assert.That(everything, Does.Not.Contain("tok-5f2a9c7e-secret"));
        Assert.That(everything, Does.Contain("{{secret:API_TOKEN}}"));
        Assert.That(Server.Output, Does.Not.Contain("tok-5f2a9c7e-secret"), "nor the server's logs");
    }

    [Test]
    public async Task An_unaccepted_status_is_a_failed_run_with_the_response_and_retries_keep_the_idempotency_key()
    {
        Peer.Configure("/flaky", new RecordingHttpServer.Behaviour(TimeSpan.Zero, FailFirst: 1));
        await Admin.CreateScheduleAsync(CallApi("flaky", "/flaky", new { at = InOneSecond() },
            new { retry = new { maxAttempts = 3, backoff = "fixed", initialDelaySeconds = 1 } }));
        await Peer.WaitForRequestsAsync("/flaky", 2, TimeSpan.FromSeconds(20));

        var keys = Peer.RequestsTo("/flaky").Select(r => r.IdempotencyKey).ToList();
        Assert.That(keys.Distinct().Count(), Is.EqualTo(1), "a retry of the same fire time sends the same key: " + string.Join(", ", keys));
        var runs = await Poll.UntilAsync(() => Admin.RunsAsync("default.flaky"), r => r.Count >= 1 && r.All(x => x.Status() == "succeeded"), TimeSpan.FromSeconds(10), "the retried run to succeed");
        Assert.That(runs, Has.Count.EqualTo(1), "one ledger row for the fire time");
        Assert.That(runs[0].GetProperty("attempt").GetInt32(), Is.EqualTo(2));
        Assert.That(runs[0].GetProperty("triggeredBy").GetString(), Is.EqualTo("retry"));
    }

    [Test]
    public async Task Run_now_of_a_schedule_whose_call_fails_once_is_retried_under_its_retry_policy_with_the_same_key()
    {
        Peer.Configure("/flaky-manual", new RecordingHttpServer.Behaviour(TimeSpan.Zero, FailFirst: 1));
        // A schedule that would not fire by itself during the test: only the run-now reaches the endpoint.
        await Admin.CreateScheduleAsync(CallApi("flaky-manual", "/flaky-manual", new { cron = "0 0 3 1 1 ? 2099" },
            new { retry = new { maxAttempts = 3, backoff = "fixed", initialDelaySeconds = 1 } }));

        var pending = await Admin.PostForJsonAsync("/api/schedules/default.flaky-manual/run", null, HttpStatusCode.Accepted);
        var runId = pending.GetProperty("id").GetString();
        var run = await Poll.UntilAsync(() => Admin.GetFromJsonAsync<JsonElement>($"/api/runs/{runId}"), r => r.Status() == "succeeded", TimeSpan.FromSeconds(20), "the retried manual run");
        Assert.That(run.GetProperty("attempt").GetInt32(), Is.EqualTo(2), run.ToString());

        var keys = Peer.RequestsTo("/flaky-manual").Select(r => r.IdempotencyKey).ToList();
        Assert.That(keys, Has.Count.EqualTo(2));
        Assert.That(keys, Is.All.EqualTo(run.GetProperty("idempotencyKey").GetString()), "the retry sends the run's key again");
        Assert.That(keys[0], Does.StartWith("manual-"));
        Assert.That(await Admin.RunsAsync("default.flaky-manual"), Has.Count.EqualTo(1), "one ledger row for the run-now");
    }

    [Test]
    public async Task Run_now_of_a_one_time_schedule_that_already_fired_is_retried_under_its_definitions_policy()
    {
        // Its trigger has completed, so there is no trigger to copy the retry policy from: the definition's applies.
        Peer.Configure("/once-done", new RecordingHttpServer.Behaviour(TimeSpan.Zero));
        await Admin.CreateScheduleAsync(CallApi("once-done", "/once-done", new { at = InOneSecond() },
            new { retry = new { maxAttempts = 3, backoff = "fixed", initialDelaySeconds = 1 } }));
        await Poll.UntilAsync(() => Admin.RunsAsync("default.once-done"), r => r.Count == 1 && r[0].Status() == "succeeded", TimeSpan.FromSeconds(15), "the one-time firing");
        await Poll.UntilAsync(() => Admin.GetFromJsonAsync<JsonElement>("/api/schedules/default.once-done"), s => s.GetProperty("state").GetString() == "complete",
            TimeSpan.FromSeconds(10), "the one-time trigger to complete");

        // The peer counts every call to the path: the one-time firing was the first, so the run-now's first call fails.
        Peer.Configure("/once-done", new RecordingHttpServer.Behaviour(TimeSpan.Zero, FailFirst: 2));
        var pending = await Admin.PostForJsonAsync("/api/schedules/default.once-done/run", null, HttpStatusCode.Accepted);
        var runId = pending.GetProperty("id").GetString();
        // Between the attempts the run reads failed (attempt 1); without a retry policy it would stay so.
        var run = await Poll.UntilAsync(() => Admin.GetFromJsonAsync<JsonElement>($"/api/runs/{runId}"), r => r.Status() == "succeeded",
            TimeSpan.FromSeconds(20), "the manual run of the completed schedule to be retried and succeed");
        Assert.That(run.GetProperty("attempt").GetInt32(), Is.EqualTo(2), "retried once after the failure: " + run);
    }

    [Test]
    public async Task A_schedule_timeout_shorter_than_the_call_timeout_fails_the_run_as_timed_out()
    {
        Peer.Configure("/slow-timeout", new RecordingHttpServer.Behaviour(TimeSpan.FromSeconds(20)));
        var schedule = CallApi("slow-timeout", "/slow-timeout", new { at = InOneSecond() }, new { timeoutSeconds = 1 });
        schedule["action"] = new { type = "call_api", config = new { method = "GET", url = Peer.BaseUrl + "/slow-timeout", timeoutSeconds = 30 } };
        await Admin.CreateScheduleAsync(schedule);

        var runs = await Poll.UntilAsync(() => Admin.RunsAsync("default.slow-timeout"), r => r.Count == 1 && r[0].Status() is not ("running" or "pending"),
            TimeSpan.FromSeconds(10), "the run to end well before the call's own 30 s timeout");
        var run = runs[0];
        Assert.That(run.Status(), Is.AnyOf("failed", "cancelled"), run.ToString());
        Assert.That(run.GetProperty("error").GetString(), Does.Contain("timed out after 1 s"), run.ToString());
        var took = run.GetProperty("finishedAt").GetDateTimeOffset() - run.GetProperty("startedAt").GetDateTimeOffset();
        Assert.That(took, Is.LessThan(TimeSpan.FromSeconds(5)), run.ToString());
    }

    [Test]
    public async Task Replacing_only_the_misfire_policy_keeps_the_trigger_timing_runs_left_and_history()
    {
        var definition = CallApi("replace-keep", "/replace-keep", new { intervalSeconds = 1, maxRuns = 5 });
        await Admin.CreateScheduleAsync(definition);
        await Peer.WaitForRequestsAsync("/replace-keep", 2, TimeSpan.FromSeconds(15));
        var before = await Admin.GetFromJsonAsync<JsonElement>("/api/schedules/default.replace-keep");
        var runsBefore = (await Admin.RunsAsync("default.replace-keep")).Select(r => r.GetProperty("id").GetString()).ToList();
        Assert.That(before.GetProperty("previousFireTime").ValueKind, Is.EqualTo(JsonValueKind.String), before.ToString());

        definition["misfire"] = new { policy = "catch_up" };
        var response = await Admin.PutAsync("/api/schedules/default.replace-keep", ApiClient.Json(definition));
        var replaced = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), replaced.ToString());
        Assert.That(replaced.GetProperty("misfire").GetProperty("policy").GetString(), Is.EqualTo("catch_up"));
        Assert.That(replaced.GetProperty("previousFireTime").GetDateTimeOffset(), Is.GreaterThanOrEqualTo(before.GetProperty("previousFireTime").GetDateTimeOffset()),
            "the trigger still knows when it last fired");
        var runsAfter = (await Admin.RunsAsync("default.replace-keep")).Select(r => r.GetProperty("id").GetString()).ToList();
        Assert.That(runsAfter, Is.SupersetOf(runsBefore), "the run history is kept");

        // maxRuns counts across the replace: five runs in all, not five more.
        var runs = await Poll.UntilAsync(() => Admin.RunsAsync("default.replace-keep"), r => r.Count >= 5 && r.All(x => x.Status() == "succeeded"), TimeSpan.FromSeconds(15), "five runs");
        await Poll.NothingHappensFor(TimeSpan.FromSeconds(3), async () => (await Admin.RunsAsync("default.replace-keep")).Count != 5, "a run past maxRuns after the replace");
        var times = runs.Select(r => r.GetProperty("scheduledFireTime").GetDateTimeOffset()).Order().ToList();
        for (var i = 1; i < times.Count; i++)
        {
            Assert.That(times[i] - times[i - 1], Is.EqualTo(TimeSpan.FromSeconds(1)), "the interval's phase is kept: " + string.Join(", ", times));
        }

        var after = await Admin.GetFromJsonAsync<JsonElement>("/api/schedules/default.replace-keep");
        Assert.That(after.GetProperty("state").GetString(), Is.EqualTo("complete"), after.ToString());
    }

    [Test]
    public async Task Replacing_a_paused_schedule_without_enabled_leaves_it_paused_and_enabled_true_resumes_it()
    {
        var definition = CallApi("replace-paused", "/replace-paused", new { cron = "0 0 3 * * ?" });
        await Admin.CreateScheduleAsync(definition);
        await Admin.PostForJsonAsync("/api/schedules/default.replace-paused/pause", null, HttpStatusCode.OK);

        definition["description"] = "changed while paused";
        var response = await Admin.PutAsync("/api/schedules/default.replace-paused", ApiClient.Json(definition));
        var replaced = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), replaced.ToString());
        Assert.That(replaced.GetProperty("state").GetString(), Is.EqualTo("paused"), replaced.ToString());
        Assert.That(replaced.GetProperty("description").GetString(), Is.EqualTo("changed while paused"));

        definition["enabled"] = true;
        var resumed = await (await Admin.PutAsync("/api/schedules/default.replace-paused", ApiClient.Json(definition))).Content.ReadFromJsonAsync<JsonElement>();
        Assert.That(resumed.GetProperty("state").GetString(), Is.EqualTo("active"), resumed.ToString());
    }

    [Test]
    public async Task Cancelling_a_running_run_interrupts_the_call_and_records_it_cancelled()
    {
        Peer.Configure("/hang", new RecordingHttpServer.Behaviour(TimeSpan.FromSeconds(30)));
        await Admin.CreateScheduleAsync(CallApi("hang", "/hang", new { at = InOneSecond() }));
        var running = await Poll.UntilAsync(() => Admin.RunsAsync("default.hang"), r => r.Count == 1 && r[0].Status() == "running", TimeSpan.FromSeconds(15), "a running run");
        var runId = running[0].GetProperty("id").GetString();

        await Admin.PostForJsonAsync($"/api/runs/{runId}/cancel", null, HttpStatusCode.Accepted);
        var cancelled = await Poll.UntilAsync(() => Admin.GetFromJsonAsync<JsonElement>($"/api/runs/{runId}"), r => r.Status() != "running", TimeSpan.FromSeconds(10), "the cancel");
        Assert.That(cancelled.Status(), Is.EqualTo("cancelled"));
        await Admin.PostForJsonAsync($"/api/runs/{runId}/cancel", null, HttpStatusCode.Conflict);
    }

    [Test]
    public async Task Schedule_reads_back_with_state_next_fire_time_and_a_readable_trigger()
    {
        var created = await Admin.CreateScheduleAsync(CallApi("weekdays", "/weekdays", new { cron = "0 30 9 ? * MON-FRI", timeZone = "Europe/Paris" }));
        Assert.That(created.GetProperty("id").GetString(), Is.EqualTo("default.weekdays"));
        Assert.That(created.GetProperty("state").GetString(), Is.EqualTo("active"));
        Assert.That(created.GetProperty("triggerDescription").GetString(), Is.EqualTo("at 09:30 on weekdays (Europe/Paris)"));
        var next = created.GetProperty("nextFireTime").GetDateTimeOffset();
        var paris = TimeZoneInfo.ConvertTime(next, TimeZoneInfo.FindSystemTimeZoneById("Europe/Paris"));
        Assert.That((paris.Hour, paris.Minute), Is.EqualTo((9, 30)));
        Assert.That(paris.DayOfWeek, Is.Not.EqualTo(DayOfWeek.Saturday).And.Not.EqualTo(DayOfWeek.Sunday));

        var list = await Admin.GetFromJsonAsync<JsonElement>("/api/schedules?actionType=call_api&pageSize=200");
        Assert.That(list.GetProperty("items").EnumerateArray().Select(s => s.GetProperty("id").GetString()), Does.Contain("default.weekdays"));
        var none = await Admin.GetFromJsonAsync<JsonElement>("/api/schedules?actionType=send_notification");
        Assert.That(none.GetProperty("total").GetInt32(), Is.Zero);

        Assert.That((await Admin.DeleteAsync("/api/schedules/default.weekdays")).StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        Assert.That((await Admin.GetAsync("/api/schedules/default.weekdays")).StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task Preview_gives_next_fire_times_across_a_DST_change_without_saving_anything()
    {
        var preview = await Admin.PostForJsonAsync("/api/schedules/preview",
            new { trigger = new { cron = "0 0 9 * * ?", timeZone = "Europe/Paris", startAt = "2027-03-26T00:00:00Z" }, count = 4 }, HttpStatusCode.OK);
        var times = preview.GetProperty("nextFireTimes").EnumerateArray().Select(t => t.GetDateTimeOffset().ToUniversalTime()).ToList();
        // Paris moves to summer time on 28 March 2027: 09:00 local is 08:00Z before and 07:00Z after.
        Assert.That(times.Select(t => t.ToString("MM-dd HH:mm", System.Globalization.CultureInfo.InvariantCulture)), Is.EqualTo(new[] { "03-26 08:00", "03-27 08:00", "03-28 07:00", "03-29 07:00" }));
        Assert.That(preview.GetProperty("description").GetString(), Is.EqualTo("at 09:00 every day (Europe/Paris)"));
        var list = await Admin.GetFromJsonAsync<JsonElement>("/api/schedules?pageSize=200");
        Assert.That(list.GetProperty("items").EnumerateArray().Any(s => s.GetProperty("name").GetString() == "preview"), Is.False);
    }

    [Test]
    public async Task An_http_tool_fills_its_template_and_a_host_that_keeps_failing_trips_the_circuit_breaker()
    {
        await Admin.PostForJsonAsync("/api/tools", new
        {
            name = "lookup",
            kind = "http",
            parameters = new { type = "object", required = new[] { "q" }, properties = new { q = new { type = "string" } } },
            config = new { method = "GET", url = Peer.BaseUrl + "/lookup?q={{args.q}}" },
        }, HttpStatusCode.Created);
        var ok = await Admin.PostForJsonAsync("/api/tools/lookup/invoke", new { arguments = new { q = "a b&c=d" } }, HttpStatusCode.OK);
        Assert.That(ok.GetProperty("succeeded").GetBoolean(), Is.True, ok.ToString());
        Assert.That(Peer.RequestsTo("/lookup"), Has.Count.EqualTo(1), "the argument was URL-encoded into the query, not spliced into the path");

        // The breaker is per host (authority). Reach the same server as "localhost" so that opening it here cannot
        // fail the other tests of this fixture, which call 127.0.0.1.
        Peer.Configure("/down", new RecordingHttpServer.Behaviour(TimeSpan.Zero, Status: 503));
        await Admin.PostForJsonAsync("/api/tools", new
        {
            name = "down",
            kind = "http",
            parameters = new { type = "object" },
            config = new { method = "GET", url = Peer.BaseUrl.Replace("127.0.0.1", "localhost", StringComparison.Ordinal) + "/down" },
        }, HttpStatusCode.Created);
        var errors = new List<string>();
        for (var i = 0; i < 16; i++)
        {
            var result = await Admin.PostForJsonAsync("/api/tools/down/invoke", new { arguments = new { } }, HttpStatusCode.OK);
            Assert.That(result.GetProperty("succeeded").GetBoolean(), Is.False);
            errors.Add(result.GetProperty("error").GetString()!);
        }

        var sent = Peer.RequestsTo("/down").Count;
        Assert.That(sent, Is.GreaterThanOrEqualTo(10), "the breaker needs 10 real failures (its minimum throughput) before it opens");
        Assert.That(sent, Is.LessThan(16), "once the breaker opens, calls fail without reaching the host: " + string.Join(" | ", errors.Distinct()));
        Assert.That(errors.Last(), Does.Contain("not sent").Or.Contain("ircuit"), string.Join(" | ", errors.Distinct()));
    }
}
