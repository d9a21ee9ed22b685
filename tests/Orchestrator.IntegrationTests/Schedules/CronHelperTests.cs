using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Schedules;

/// <summary>The cron authoring helpers on the embedded default (SQLite): describe an expression, parse a phrase.</summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class CronHelperTests
{
    private InProcessServer server = null!;
    private HttpClient viewer = null!;
    private HttpClient admin = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        server = InProcessServer.Start();
        await server.WaitUntilReadyAsync();
        admin = server.CreateClient(server.PrintedAdminKey!);
        var (exitCode, output) = await ServerProcess.RunCommandAsync(null, server.WorkingDirectory, "keys", "create", "--role", "viewer");
        Assert.That(exitCode, Is.Zero, output);
        viewer = server.CreateClient(output.Split('\n').Select(l => l.Trim()).Single(l => l.StartsWith("orch_", StringComparison.Ordinal)));
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        viewer?.Dispose();
        admin?.Dispose();
        if (server is not null)
        {
            await server.DisposeAsync();
        }
    }

    [Test]
    public async Task Describe_gives_words_and_the_next_fire_times_in_the_zone()
    {
        var result = await viewer.PostForJsonAsync("/api/cron/describe", new { expression = "0 30 9 ? * MON-FRI", timeZone = "Europe/Paris", count = 7 }, HttpStatusCode.OK);
        Assert.That(result.GetProperty("description").GetString(), Is.EqualTo("at 09:30 on weekdays (Europe/Paris)"));
        var times = result.GetProperty("nextFireTimes").EnumerateArray().Select(t => t.GetDateTimeOffset()).ToList();
        Assert.That(times, Has.Count.EqualTo(7));
        var paris = TimeZoneInfo.FindSystemTimeZoneById("Europe/Paris");
        foreach (var local in times.Select(t => TimeZoneInfo.ConvertTime(t, paris)))
        {
            Assert.That((local.Hour, local.Minute), Is.EqualTo((9, 30)));
            Assert.That(local.DayOfWeek, Is.Not.EqualTo(DayOfWeek.Saturday).And.Not.EqualTo(DayOfWeek.Sunday));
        }
    }

    [TestCase("0 61 * * * ?", "expression")]
    [TestCase("not cron", "expression")]
    [TestCase("0 0 12 30 FEB ? 2020", "expression")]
    public async Task An_invalid_expression_is_a_422_that_says_why(string expression, string field)
    {
        var response = await viewer.PostAsync("/api/cron/describe", ApiClient.Json(new { expression }));
        var problem = await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity);
        Assert.That(problem.GetProperty("errors").GetProperty(field)[0].GetString(), Is.Not.Empty);
    }

    [Test]
    public async Task An_unknown_time_zone_is_named()
    {
        var response = await viewer.PostAsync("/api/cron/describe", ApiClient.Json(new { expression = "0 0 9 * * ?", timeZone = "Mars/Olympus" }));
        var problem = await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity);
        Assert.That(problem.GetProperty("errors").TryGetProperty("timeZone", out _), Is.True, problem.ToString());
    }

    [Test]
    public async Task A_phrase_becomes_cron_with_its_description_and_next_times()
    {
        var result = await viewer.PostForJsonAsync("/api/cron/parse", new { text = "every weekday at 9:30", timeZone = "America/New_York" }, HttpStatusCode.OK);
        Assert.That(result.GetProperty("expression").GetString(), Is.EqualTo("0 30 9 ? * MON-FRI"));
        Assert.That(result.GetProperty("description").GetString(), Does.StartWith("at 09:30 on weekdays"));
        var ny = TimeZoneInfo.FindSystemTimeZoneById("America/New_York");
        var first = TimeZoneInfo.ConvertTime(result.GetProperty("nextFireTimes")[0].GetDateTimeOffset(), ny);
        Assert.That(first.ToString("HH:mm", CultureInfo.InvariantCulture), Is.EqualTo("09:30"));
    }

    [Test]
    public async Task An_unreadable_phrase_names_the_words_and_offers_supported_forms()
    {
        var response = await viewer.PostAsync("/api/cron/parse", ApiClient.Json(new { text = "every blue moon at 9" }));
        var problem = await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity);
        Assert.That(problem.GetProperty("unplaced").EnumerateArray().Select(u => u.GetString()), Is.EquivalentTo(new[] { "blue", "moon" }));
        Assert.That(problem.GetProperty("suggestions").GetArrayLength(), Is.GreaterThan(0));
        Assert.That(problem.GetProperty("errors").GetProperty("text")[0].GetString(), Does.Contain("'blue'"));
    }

    [Test]
    public async Task A_phrase_no_trigger_can_hold_is_refused_with_the_reason_and_only_the_words_not_understood()
    {
        var until = await ApiAssertions.AssertProblemAsync(await viewer.PostAsync("/api/cron/parse", ApiClient.Json(new { text = "every day at 9 until march" })), HttpStatusCode.UnprocessableEntity);
        Assert.That(until.GetProperty("unplaced").EnumerateArray().Select(u => u.GetString()), Is.EqualTo(new[] { "until", "march" }));
        Assert.That(until.GetProperty("errors").GetProperty("text")[0].GetString(), Does.Contain("start or end"));

        var limited = await ApiAssertions.AssertProblemAsync(await viewer.PostAsync("/api/cron/parse", ApiClient.Json(new { text = "every 90 minutes on weekdays" })), HttpStatusCode.UnprocessableEntity);
        Assert.That(limited.GetProperty("unplaced").GetArrayLength(), Is.Zero, "90, minutes and weekdays were understood");
        Assert.That(limited.GetProperty("errors").GetProperty("text")[0].GetString(), Does.Contain("interval cannot be limited"));
    }

    [Test]
    public async Task A_phrase_over_the_length_limit_is_said_to_be_too_long_not_missing()
    {
        // It answered "is required: a phrase of at most 300 characters" to a 200,000-character text.
        var problem = await ApiAssertions.AssertProblemAsync(
            await viewer.PostAsync("/api/cron/parse", ApiClient.Json(new { text = new string('a', 200_000) })), HttpStatusCode.UnprocessableEntity);
        Assert.That(problem.GetProperty("errors").GetProperty("text")[0].GetString(),
            Is.EqualTo("is too long: 200000 characters; a phrase has at most 300, e.g. 'every weekday at 9:30'."));
    }

    [TestCase("every ٥ minutes", "٥")]
    [TestCase("at ٩:٣٠ every day", "٩:٣٠")]
    public async Task Parse_with_non_ascii_digits_is_a_422_naming_them_not_a_500(string text, string word)
    {
        // Issue 10, item 5: "every ٥ minutes" answered 500 (a regex's \d matched the digit, int.Parse refused it).
        var problem = await ApiAssertions.AssertProblemAsync(await viewer.PostAsync("/api/cron/parse", ApiClient.Json(new { text })), HttpStatusCode.UnprocessableEntity);
        Assert.That(problem.GetProperty("unplaced").EnumerateArray().Select(u => u.GetString()), Is.EqualTo(new[] { word }));
        Assert.That(problem.GetProperty("errors").GetProperty("text")[0].GetString(), Does.Contain($"'{word}'"));
    }

    [TestCase("every 5 min during business hours", "cron", "0 0/5 9-16 ? * MON-FRI")]
    [TestCase("every 90 minutes", "intervalSeconds", "5400")]
    [TestCase("every other monday at 10", "every", "2")]
    [TestCase("tomorrow at 9", "at", null)]
    public async Task A_phrase_answers_the_trigger_form_it_means_checked_and_previewed(string text, string form, string? value)
    {
        var result = await viewer.PostForJsonAsync("/api/cron/parse", new { text, timeZone = "Europe/Paris" }, HttpStatusCode.OK);
        var trigger = result.GetProperty("trigger");
        Assert.That(trigger.TryGetProperty(form, out var formValue), Is.True, trigger.ToString());
        if (value is not null)
        {
            Assert.That(formValue.ToString(), Is.EqualTo(value));
        }

        Assert.That(result.TryGetProperty("expression", out var expression), Is.EqualTo(form == "cron"), "expression is kept for cron answers only");
        if (form == "cron")
        {
            Assert.That(expression.GetString(), Is.EqualTo(trigger.GetProperty("cron").GetString()));
        }

        Assert.That(result.GetProperty("reading").GetString(), Is.Not.Empty);
        Assert.That(result.GetProperty("description").GetString(), Is.Not.Empty.And.Not.StartWith("cron '"));
        var times = result.GetProperty("nextFireTimes").EnumerateArray().Select(t => t.GetDateTimeOffset()).ToList();
        Assert.That(times, Is.Not.Empty.And.Ordered);
        Assert.That(times[0], Is.GreaterThan(TimeProvider.System.GetUtcNow().AddMinutes(-1)));
        var paris = TimeZoneInfo.FindSystemTimeZoneById("Europe/Paris");
        switch (form)
        {
            case "intervalSeconds":
                Assert.That(times[1] - times[0], Is.EqualTo(TimeSpan.FromMinutes(90)));
                break;
            case "every":
                Assert.That(times.Select(t => TimeZoneInfo.ConvertTime(t, paris)).Select(t => (t.DayOfWeek, t.Hour, t.Minute)), Has.All.EqualTo((DayOfWeek.Monday, 10, 0)));
                Assert.That(times[1] - times[0], Is.EqualTo(TimeSpan.FromDays(14)));
                Assert.That(trigger.GetProperty("timeZone").GetString(), Is.EqualTo("Europe/Paris"));
                break;
            case "at":
                Assert.That(times, Has.Count.EqualTo(1));
                Assert.That(TimeZoneInfo.ConvertTime(times[0], paris).Date, Is.EqualTo(TimeZoneInfo.ConvertTime(TimeProvider.System.GetUtcNow(), paris).Date.AddDays(1)));
                Assert.That(TimeZoneInfo.ConvertTime(times[0], paris).Hour, Is.EqualTo(9));
                break;
        }
    }

    [Test]
    public async Task An_ambiguous_phrase_returns_the_reading_chosen_and_the_alternatives_as_triggers()
    {
        var result = await viewer.PostForJsonAsync("/api/cron/parse", new { text = "every second monday at 10", timeZone = "UTC" }, HttpStatusCode.OK);
        Assert.That(result.GetProperty("trigger").GetProperty("unit").GetString(), Is.EqualTo("week"));
        Assert.That(result.GetProperty("reading").GetString(), Does.StartWith("every 2 weeks from Monday"));
        var alternatives = result.GetProperty("alternatives").EnumerateArray().ToList();
        Assert.That(alternatives.Select(a => a.GetProperty("trigger").TryGetProperty("cron", out var c) ? c.GetString() : null), Does.Contain("0 0 10 ? * MON#2"));
        Assert.That(alternatives.Select(a => a.GetProperty("description").GetString()), Has.All.Not.Empty);

        var zone = await viewer.PostForJsonAsync("/api/cron/parse", new { text = "every day at 9 CST" }, HttpStatusCode.OK);
        Assert.That(zone.GetProperty("trigger").GetProperty("timeZone").GetString(), Is.EqualTo("America/Chicago"));
        Assert.That(zone.GetProperty("timeZone").GetString(), Is.EqualTo("America/Chicago"), "the phrase's zone is the answer's");
        Assert.That(zone.GetProperty("alternatives").EnumerateArray().Select(a => a.GetProperty("trigger").GetProperty("timeZone").GetString()), Does.Contain("Asia/Shanghai"));
    }

    [TestCase("every weekday at 9:30")]
    [TestCase("at 9 Paris time")]
    [TestCase("every 90 minutes")]
    [TestCase("every other monday at 10")]
    [TestCase("every 3 months")]
    [TestCase("tomorrow at 9")]
    [TestCase("in 2 hours")]
    // The ten phrases a new user tried (issue 16).
    [TestCase("daily")]
    [TestCase("weekly")]
    [TestCase("every night at midnight")]
    [TestCase("twice a day")]
    [TestCase("every 5 min")]
    [TestCase("every 5 min during business hours")]
    [TestCase("quarterly")]
    [TestCase("every other week")]
    public async Task Each_trigger_a_phrase_answers_is_taken_as_it_is_by_POST_schedules(string text)
    {
        var result = await viewer.PostForJsonAsync("/api/cron/parse", new { text, timeZone = "Europe/Paris" }, HttpStatusCode.OK);
        var triggers = new[] { result.GetProperty("trigger") }.Concat(result.GetProperty("alternatives").EnumerateArray().Select(a => a.GetProperty("trigger"))).ToList();
        for (var i = 0; i < triggers.Count; i++)
        {
            var name = $"phrase-{Guid.NewGuid():N}"[..30];
            var created = await admin.CreateScheduleAsync(new { name, action = new { type = "noop", config = new { } }, trigger = triggers[i] });
            Assert.That(JsonElement.DeepEquals(created.GetProperty("trigger"), triggers[i]), Is.True, $"{text} #{i}: {triggers[i]} → {created.GetProperty("trigger")}");
            if (i == 0 && !triggers[i].TryGetProperty("intervalSeconds", out _))
            {
                // The schedule fires when the preview said (an interval counts from its creation instead).
                var stored = await admin.GetFromJsonAsync<JsonElement>($"/api/schedules/default.{name}");
                Assert.That(stored.GetProperty("nextFireTime").GetDateTimeOffset(), Is.EqualTo(result.GetProperty("nextFireTimes")[0].GetDateTimeOffset()), text);
            }

            Assert.That((await admin.DeleteAsync($"/api/schedules/default.{name}")).IsSuccessStatusCode, Is.True);
        }
    }

    [Test]
    public async Task A_calendar_interval_is_described_by_its_weekday_and_time_in_the_parse_the_preview_and_the_schedule()
    {
        // "every other monday at 10" was described as "every 2 weeks (UTC)", which drops the day and the time.
        const string words = "every 2 weeks on Monday at 10:00 (Europe/Paris)";
        var parsed = await viewer.PostForJsonAsync("/api/cron/parse", new { text = "every other monday at 10", timeZone = "Europe/Paris" }, HttpStatusCode.OK);
        Assert.That(parsed.GetProperty("description").GetString(), Is.EqualTo(words));
        var preview = await viewer.PostForJsonAsync("/api/schedules/preview", new { trigger = parsed.GetProperty("trigger"), count = 2 }, HttpStatusCode.OK);
        Assert.That(preview.GetProperty("description").GetString(), Is.EqualTo(words));
        var name = $"calendar-{Guid.NewGuid():N}"[..30];
        var created = await admin.CreateScheduleAsync(new { name, action = new { type = "noop", config = new { } }, trigger = parsed.GetProperty("trigger") });
        Assert.That(created.GetProperty("triggerDescription").GetString(), Is.EqualTo(words));
        Assert.That((await admin.DeleteAsync($"/api/schedules/default.{name}")).IsSuccessStatusCode, Is.True);
    }

    [Test]
    public async Task A_calendar_interval_saved_without_a_start_is_described_by_when_it_was_saved_and_keeps_it_when_replaced_unchanged()
    {
        var name = $"unanchored-{Guid.NewGuid():N}"[..30];
        var schedule = new { name, action = new { type = "noop", config = new { } }, trigger = new { every = 3, unit = "day", timeZone = "Asia/Tokyo" } };
        var created = await admin.CreateScheduleAsync(schedule);
        var next = created.GetProperty("nextFireTime").GetDateTimeOffset();
        var tokyo = TimeZoneInfo.ConvertTime(next, TimeZoneInfo.FindSystemTimeZoneById("Asia/Tokyo"));
        var words = $"every 3 days at {tokyo:HH:mm}{(tokyo.Second == 0 ? "" : $":{tokyo:ss}")} (Asia/Tokyo)";
        Assert.That(created.GetProperty("triggerDescription").GetString(), Is.EqualTo(words), "the first firing is when it was saved");

        await Task.Delay(TimeSpan.FromSeconds(1.1));
        var replaced = await admin.PutAsync($"/api/schedules/default.{name}", ApiClient.Json(schedule));
        Assert.That(replaced.StatusCode, Is.EqualTo(HttpStatusCode.OK), await replaced.Content.ReadAsStringAsync());
        var stored = await admin.GetFromJsonAsync<JsonElement>($"/api/schedules/default.{name}");
        Assert.That(stored.GetProperty("triggerDescription").GetString(), Is.EqualTo(words), "an unchanged trigger goes on from its first start");
        Assert.That((await admin.DeleteAsync($"/api/schedules/default.{name}")).IsSuccessStatusCode, Is.True);
    }

    [Test]
    public async Task Business_hours_and_a_bare_time_answer_their_other_reading()
    {
        var hourly = await viewer.PostForJsonAsync("/api/cron/parse", new { text = "every hour during business hours", timeZone = "UTC" }, HttpStatusCode.OK);
        Assert.That(hourly.GetProperty("expression").GetString(), Is.EqualTo("0 0 9-16 ? * MON-FRI"));
        Assert.That(hourly.GetProperty("reading").GetString(), Does.Contain("up to but not including 17:00"));
        Assert.That(hourly.GetProperty("alternatives").EnumerateArray().Select(a => a.GetProperty("trigger").GetProperty("cron").GetString()), Is.EqualTo(new[] { "0 0 9-17 ? * MON-FRI" }));

        var bare = await viewer.PostForJsonAsync("/api/cron/parse", new { text = "at 9 Paris time", timeZone = "UTC" }, HttpStatusCode.OK);
        Assert.That(bare.GetProperty("expression").GetString(), Is.EqualTo("0 0 9 * * ?"));
        var once = bare.GetProperty("alternatives").EnumerateArray().Single().GetProperty("trigger").GetProperty("at").GetDateTimeOffset();
        var paris = TimeZoneInfo.ConvertTime(once, TimeZoneInfo.FindSystemTimeZoneById("Europe/Paris"));
        Assert.That((paris.Hour, paris.Minute), Is.EqualTo((9, 0)));
        Assert.That(once, Is.GreaterThan(TimeProvider.System.GetUtcNow()).And.LessThan(TimeProvider.System.GetUtcNow().AddDays(1)));
    }

    [Test]
    public async Task A_month_range_reads_back_in_words()
    {
        var result = await viewer.PostForJsonAsync("/api/cron/parse", new { text = "every day at 8pm from january to march", timeZone = "UTC" }, HttpStatusCode.OK);
        Assert.That(result.GetProperty("expression").GetString(), Is.EqualTo("0 0 20 * JAN-MAR ?"));
        Assert.That(result.GetProperty("description").GetString(), Is.EqualTo("at 20:00 every day from January to March (UTC)"));
    }

    [Test]
    public async Task The_helpers_need_a_key()
    {
        using var anonymous = server.CreateClient();
        Assert.That((await anonymous.PostAsync("/api/cron/parse", ApiClient.Json(new { text = "every minute" }))).StatusCode, Is.EqualTo(HttpStatusCode.Unauthorized));
        var tooLong = await viewer.PostAsync("/api/cron/parse", ApiClient.Json(new { text = new string('x', 301) }));
        await ApiAssertions.AssertProblemAsync(tooLong, HttpStatusCode.UnprocessableEntity);
    }
}
