using System.Globalization;
using System.Net;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Schedules;

/// <summary>The cron authoring helpers on the embedded default (SQLite): describe an expression, parse a phrase.</summary>
[TestFixture]
[NonParallelizable]
public sealed class CronHelperTests
{
    private ServerProcess server = null!;
    private HttpClient viewer = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        server = ServerProcess.Start();
        await server.WaitUntilReadyAsync();
        var (exitCode, output) = await ServerProcess.RunCommandAsync(null, server.WorkingDirectory, "keys", "create", "--role", "viewer");
        Assert.That(exitCode, Is.Zero, output);
        viewer = server.CreateClient(output.Split('\n').Select(l => l.Trim()).Single(l => l.StartsWith("orch_", StringComparison.Ordinal)));
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        viewer?.Dispose();
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
    public async Task A_phrase_cron_cannot_hold_is_refused_with_the_reason_and_only_the_words_not_understood()
    {
        var until = await ApiAssertions.AssertProblemAsync(await viewer.PostAsync("/api/cron/parse", ApiClient.Json(new { text = "every day at 9 until march" })), HttpStatusCode.UnprocessableEntity);
        Assert.That(until.GetProperty("unplaced").EnumerateArray().Select(u => u.GetString()), Is.EqualTo(new[] { "until", "march" }));
        Assert.That(until.GetProperty("errors").GetProperty("text")[0].GetString(), Does.Contain("start or end"));

        var uneven = await ApiAssertions.AssertProblemAsync(await viewer.PostAsync("/api/cron/parse", ApiClient.Json(new { text = "every 45 minutes" })), HttpStatusCode.UnprocessableEntity);
        Assert.That(uneven.GetProperty("unplaced").GetArrayLength(), Is.Zero, "45 and minutes were understood");
        Assert.That(uneven.GetProperty("errors").GetProperty("text")[0].GetString(), Does.Contain("does not divide"));
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
