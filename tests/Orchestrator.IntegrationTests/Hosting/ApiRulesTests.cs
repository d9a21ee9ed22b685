using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Hosting;

/// <summary>
/// The API's rules are the same on every route, walked from the OpenAPI document: paging (<c>page</c>,
/// <c>pageSize</c>, <c>cursor</c>) is refused, not clamped, with a 422 naming the parameter and the range the document
/// states; a route that takes no body refuses one with properties as every body refuses an unknown property; and a
/// schedule batch or an apply names every error of every item in one answer.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class ApiRulesTests
{
    private static readonly string[] BodyMethods = ["post", "put", "delete"];

    /// <summary>The list routes that page: the walk must find at least these (a route dropped from it would go unchecked).</summary>
    private static readonly string[] KnownPagedRoutes =
    [
        "/api/projects", "/api/schedules", "/api/schedules/{id}/runs", "/api/schedules/{id}/misfires", "/api/pipelines", "/api/pipelines/{id}/runs",
        "/api/runs", "/api/keys", "/api/deadlines", "/api/audit", "/api/cluster/misfires",
    ];

    private InProcessServer server = null!;
    private HttpClient admin = null!;
    private JsonDocument document = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        var workspaces = Directory.CreateTempSubdirectory("orchestrator-rules-ws-").FullName;
        var database = await TestPostgres.CreateDatabaseAsync("apirules");
        server = InProcessServer.Start(PostgresNode.Environment(database, new Dictionary<string, string?> { ["Orchestrator__Workspaces__Roots__0"] = workspaces }));
        await server.WaitUntilReadyAsync();
        admin = server.CreateClient(server.PrintedAdminKey);
        admin.Timeout = TimeSpan.FromSeconds(60);

        await admin.PostForJsonAsync("/api/projects", new { id = "ar", name = "API rules", rootPath = Path.Combine(workspaces, "ar") }, HttpStatusCode.Created);
        await admin.CreateScheduleAsync(new { name = "yearly", project = "ar", action = new { type = "noop", config = new { } }, trigger = new { cron = "0 0 3 1 1 ?", timeZone = "UTC" } });
        await admin.PostForJsonAsync("/api/pipelines", new
        {
            id = "ar-pipe",
            name = "API rules pipeline",
            project = "ar",
            nodes = new object[] { new { id = "a", type = "action", action = new { type = "noop", config = new { } } } },
            edges = Array.Empty<object>(),
        }, HttpStatusCode.Created);

        using var anonymous = server.CreateClient();
        document = JsonDocument.Parse(await anonymous.GetStringAsync("/openapi/v1.json"));
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        admin?.Dispose();
        document?.Dispose();
        if (server is not null)
        {
            await server.DisposeAsync();
        }
    }

    private IEnumerable<(string Method, string Path, JsonElement Operation)> Operations() =>
        document.RootElement.GetProperty("paths").EnumerateObject()
            .Where(p => p.Name.StartsWith("/api/", StringComparison.Ordinal))
            .SelectMany(p => p.Value.EnumerateObject().Where(o => o.Value.ValueKind == JsonValueKind.Object && o.Value.TryGetProperty("responses", out _))
                .Select(o => (o.Name, p.Name, o.Value)));

    private static JsonElement? QueryParameter(JsonElement operation, string name) =>
        operation.TryGetProperty("parameters", out var parameters)
            ? parameters.EnumerateArray().Where(p => p.GetProperty("in").GetString() == "query" && p.GetProperty("name").GetString() == name)
                .Select(p => (JsonElement?)p).FirstOrDefault()
            : null;

    /// <summary>A path template with its parameters naming what the set-up created.</summary>
    private static string Fill(string template) => template
        .Replace("/api/schedules/{id}", "/api/schedules/ar.yearly", StringComparison.Ordinal)
        .Replace("/api/pipelines/{id}", "/api/pipelines/ar-pipe", StringComparison.Ordinal);

    /// <summary>A path template with every parameter naming nothing that exists: a route that acts finds nothing to act on.</summary>
    private static string Unknown(string template) =>
        Regex.Replace(template, @"\{\*{0,2}(\w+)\}", m => m.Groups[1].Value == "runId" ? Guid.NewGuid().ToString() : "rules-missing-" + m.Groups[1].Value.ToLowerInvariant());

    private async Task<(HttpStatusCode Status, JsonElement Body, string Text)> SendAsync(string method, string path, string? body = null)
    {
        using var request = new HttpRequestMessage(new HttpMethod(method.ToUpperInvariant()), path)
        {
            Content = body is null ? null : new StringContent(body, Encoding.UTF8, "application/json"),
        };
        using var response = await admin.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        JsonElement json = default;
        if (text.Length > 0 && response.Content.Headers.ContentType?.MediaType is { } media && media.Contains("json", StringComparison.Ordinal))
        {
            json = JsonDocument.Parse(text).RootElement.Clone();
        }

        return (response.StatusCode, json, text);
    }

    /// <summary>Null when the answer is a problem with <paramref name="status"/> whose errors name each of <paramref name="fields"/> (each reason containing <paramref name="reasonContains"/>); else what was wrong.</summary>
    private static string? RefusalProblem((HttpStatusCode Status, JsonElement Body, string Text) answer, HttpStatusCode status, string[] fields, string? reasonContains = null)
    {
        if (answer.Status != status || answer.Body.ValueKind != JsonValueKind.Object || !answer.Body.TryGetProperty("errors", out var errors))
        {
            return $"{(int)answer.Status} {Cut(answer.Text)}";
        }

        foreach (var field in fields)
        {
            if (!errors.TryGetProperty(field, out var reasons))
            {
                return $"does not name '{field}': {Cut(answer.Text)}";
            }

            if (reasonContains is not null && !reasons.EnumerateArray().Any(r => r.GetString()!.Contains(reasonContains, StringComparison.Ordinal)))
            {
                return $"'{field}' does not say '{reasonContains}': {Cut(answer.Text)}";
            }
        }

        return null;
    }

    private static string Cut(string text) => text.Length <= 300 ? text : text[..300] + "…";

    private async Task<int> RunCountAsync() => (await admin.GetFromJsonAsync<JsonElement>("/api/runs?pageSize=1")).GetProperty("total").GetInt32();

    [Test]
    public async Task Paging_values_out_of_range_or_not_numbers_are_a_422_naming_the_parameter_and_the_documented_range_on_every_list_route()
    {
        var paged = Operations().Where(o => o.Method == "get" && QueryParameter(o.Operation, "pageSize") is not null).ToList();
        Assert.That(paged.Select(o => o.Path), Is.SupersetOf(KnownPagedRoutes), "the document lists every paged route with its pageSize");

        var failures = new List<string>();
        var sent = 0;
        foreach (var (_, template, operation) in paged)
        {
            var path = Fill(template);
            var schema = QueryParameter(operation, "pageSize")!.Value.GetProperty("schema");
            if (!schema.TryGetProperty("minimum", out var minimum) || minimum.GetRawText() != "1" || !schema.TryGetProperty("maximum", out var maximumElement))
            {
                failures.Add($"{template}: pageSize's schema has no minimum 1 and maximum: {schema.GetRawText()}");
                continue;
            }

            var maximum = (int)maximumElement.GetDouble();
            if (!operation.GetProperty("responses").TryGetProperty("422", out _))
            {
                failures.Add($"{template}: no 422 response documented");
            }

            var range = $"between 1 and {maximum}";
            foreach (var value in new[] { "0", "-1", (maximum + 1).ToString(System.Globalization.CultureInfo.InvariantCulture), "abc", "1.5", "99999999999999999999" })
            {
                sent++;
                if (RefusalProblem(await SendAsync("GET", $"{path}?pageSize={value}"), HttpStatusCode.UnprocessableEntity, ["pageSize"], range) is { } failure)
                {
                    failures.Add($"{template}?pageSize={value}: {failure}");
                }
            }

            foreach (var value in new[] { "1", maximum.ToString(System.Globalization.CultureInfo.InvariantCulture) })
            {
                var (status, _, text) = await SendAsync("GET", $"{path}?pageSize={value}");
                if (status != HttpStatusCode.OK)
                {
                    failures.Add($"{template}?pageSize={value}: {(int)status} {Cut(text)}");
                }
            }

            if (QueryParameter(operation, "page") is { } page)
            {
                if (!page.GetProperty("schema").TryGetProperty("minimum", out var pageMinimum) || pageMinimum.GetRawText() != "1")
                {
                    failures.Add($"{template}: page's schema has no minimum 1");
                }

                foreach (var value in new[] { "0", "-3", "abc", "2.5" })
                {
                    sent++;
                    if (RefusalProblem(await SendAsync("GET", $"{path}?page={value}"), HttpStatusCode.UnprocessableEntity, ["page"], "1 or more") is { } failure)
                    {
                        failures.Add($"{template}?page={value}: {failure}");
                    }
                }

                // Two refusals at once come in one answer.
                if (RefusalProblem(await SendAsync("GET", $"{path}?page=0&pageSize=0"), HttpStatusCode.UnprocessableEntity, ["page", "pageSize"]) is { } both)
                {
                    failures.Add($"{template}?page=0&pageSize=0: {both}");
                }
            }

            if (QueryParameter(operation, "cursor") is not null)
            {
                sent++;
                if (RefusalProblem(await SendAsync("GET", $"{path}?cursor=not-a-cursor%21"), HttpStatusCode.UnprocessableEntity, ["cursor"]) is { } failure)
                {
                    failures.Add($"{template}?cursor=not-a-cursor!: {failure}");
                }

                if (QueryParameter(operation, "page") is not null
                    && RefusalProblem(await SendAsync("GET", $"{path}?page=2&cursor=abc"), HttpStatusCode.UnprocessableEntity, ["page", "cursor"], "not both") is { } together)
                {
                    failures.Add($"{template}?page=2&cursor=abc: {together}");
                }
            }
        }

        Assert.That(sent, Is.GreaterThan(70));
        Assert.That(failures, Is.Empty, string.Join("\n", failures));
    }

    [Test]
    public async Task A_paging_parameter_a_route_does_not_read_is_a_422_naming_it_on_every_route_and_the_document_declares_exactly_what_each_reads()
    {
        var failures = new List<string>();
        var refused = 0;
        var gets = Operations().Where(o => o.Method == "get").ToList();
        foreach (var (_, template, operation) in gets)
        {
            var path = Fill(template);
            path = path.Contains('{', StringComparison.Ordinal) ? Unknown(path) : path;
            foreach (var (name, value) in new[] { ("page", "1"), ("pageSize", "1"), ("cursor", "x") })
            {
                var answer = await SendAsync("GET", $"{path}?{name}={value}");
                var namesIt = answer.Status == HttpStatusCode.UnprocessableEntity && answer.Body.ValueKind == JsonValueKind.Object
                    && answer.Body.TryGetProperty("errors", out var errors) && errors.TryGetProperty(name, out var reasons)
                    && reasons.EnumerateArray().Any(r => r.GetString()!.Contains("is not read by this route", StringComparison.Ordinal));
                if (QueryParameter(operation, name) is null)
                {
                    refused++;
                    if (!namesIt)
                    {
                        failures.Add($"{template}?{name}={value} (not in the document) was not refused: {(int)answer.Status} {Cut(answer.Text)}");
                    }
                    else if (!operation.GetProperty("responses").TryGetProperty("422", out _))
                    {
                        failures.Add($"{template}: answers 422 for {name} but the document declares no 422");
                    }
                }
                else if (namesIt)
                {
                    failures.Add($"{template}?{name}={value}: the document declares {name}, the route refuses it as unread");
                }
            }
        }

        Assert.That(failures, Is.Empty, string.Join("\n", failures));
        Assert.That(refused, Is.GreaterThan(40), "most routes are not paged, and each refuses all three");

        // The reported cases, each saying what the route pages by; one answer names every unread parameter.
        var runs = await SendAsync("GET", "/api/runs?cursor=abc&page=1");
        Assert.That(RefusalProblem(runs, HttpStatusCode.UnprocessableEntity, ["cursor"], "it pages by page and pageSize"), Is.Null);
        Assert.That(runs.Body.GetProperty("errors").TryGetProperty("page", out _), Is.False, "page is what runs read");
        Assert.That(RefusalProblem(await SendAsync("GET", "/api/audit?page=2"), HttpStatusCode.UnprocessableEntity, ["page"], "it pages by cursor"), Is.Null);
        Assert.That(RefusalProblem(await SendAsync("GET", "/api/cluster/misfires?page=2&cursor=a"), HttpStatusCode.UnprocessableEntity, ["page", "cursor"], "pageSize only"), Is.Null);
        Assert.That(RefusalProblem(await SendAsync("GET", "/api/schedules/ar.yearly/occurrences?pageSize=10"), HttpStatusCode.UnprocessableEntity, ["pageSize"], "not paged"), Is.Null);
        Assert.That(RefusalProblem(await SendAsync("GET", "/api/tools?Page=2"), HttpStatusCode.UnprocessableEntity, ["page"], "not paged"), Is.Null);
        // Not only reads: a paging value sent with a change is refused before anything is changed.
        var runsBefore = await RunCountAsync();
        Assert.That(RefusalProblem(await SendAsync("POST", "/api/schedules/ar.yearly/run?page=1"), HttpStatusCode.UnprocessableEntity, ["page"]), Is.Null);
        Assert.That(await RunCountAsync(), Is.EqualTo(runsBefore), "the refused run now recorded no run");
    }

    [Test]
    public async Task Paging_by_cursor_still_walks_a_list_and_a_page_of_one_holds_one()
    {
        for (var i = 0; i < 3; i++)
        {
            await admin.CreateScheduleAsync(new { name = $"walk-{i}", project = "ar", action = new { type = "noop", config = new { } }, trigger = new { cron = "0 0 3 1 1 ?", timeZone = "UTC" } });
        }

        var first = await admin.GetFromJsonAsync<JsonElement>("/api/schedules?project=ar&pageSize=1");
        Assert.That(first.GetProperty("items").GetArrayLength(), Is.EqualTo(1));
        var cursor = first.GetProperty("nextCursor").GetString();
        var second = await admin.GetFromJsonAsync<JsonElement>($"/api/schedules?project=ar&pageSize=1&cursor={Uri.EscapeDataString(cursor!)}");
        Assert.That(second.GetProperty("items")[0].GetProperty("id").GetString(), Is.Not.EqualTo(first.GetProperty("items")[0].GetProperty("id").GetString()));
    }

    [Test]
    public async Task Bodies_with_properties_are_refused_on_every_route_that_takes_none_and_store_nothing()
    {
        var bodiless = Operations()
            .Where(o => BodyMethods.Contains(o.Method) && !o.Operation.TryGetProperty("requestBody", out _))
            // Writes whatever it is sent as the file's content: its body is the file, not properties.
            .Where(o => !(o.Method == "put" && o.Path.StartsWith("/api/projects/{id}/files/", StringComparison.Ordinal)))
            .ToList();
        Assert.That(bodiless.Select(o => $"{o.Method} {o.Path}"), Is.SupersetOf(new[]
        {
            "post /api/runs/{runId}/requeue", "post /api/runs/{runId}/cancel", "post /api/schedules/{id}/run", "post /api/schedules/{id}/resume",
            "post /api/pipeline-runs/{runId}/cancel", "delete /api/schedules/{id}",
        }));

        var runsBefore = await RunCountAsync();
        var failures = new List<string>();
        foreach (var (method, template, _) in bodiless)
        {
            // The schedule and pipeline that exist, so run now and resume would act if the body were let through.
            var path = Fill(template);
            if (method == "delete")
            {
                path = Unknown(template);
            }
            else if (path.Contains('{', StringComparison.Ordinal))
            {
                path = Unknown(path);
            }

            if (RefusalProblem(await SendAsync(method, path, """{"bogus":1}"""), HttpStatusCode.BadRequest, ["bogus"], "not a known property") is { } unknown)
            {
                failures.Add($"{method} {template} {{bogus}}: {unknown}");
            }

            foreach (var body in new[] { "[1]", "\"text\"", "7", "not json" })
            {
                if (RefusalProblem(await SendAsync(method, path, body), HttpStatusCode.BadRequest, ["body"], "takes no body") is { } other)
                {
                    failures.Add($"{method} {template} {body}: {other}");
                }
            }
        }

        Assert.That(failures, Is.Empty, string.Join("\n", failures));
        Assert.That(await RunCountAsync(), Is.EqualTo(runsBefore), "no refused run now or requeue recorded a run");
        var schedule = await admin.GetFromJsonAsync<JsonElement>("/api/schedules/ar.yearly");
        Assert.That(schedule.GetProperty("state").GetString(), Is.EqualTo("active"), "no refused request changed the schedule");
    }

    [Test]
    public async Task Requeue_and_run_now_refuse_unknown_properties_and_work_with_an_empty_or_no_body()
    {
        var run = await admin.PostForJsonAsync("/api/schedules/ar.yearly/run", null, HttpStatusCode.Accepted);
        var runId = run.GetProperty("id").GetString();
        await Poll.UntilAsync(
            async () => await admin.GetFromJsonAsync<JsonElement>($"/api/runs/{runId}"),
            r => r.Status() is "succeeded" or "failed",
            TimeSpan.FromSeconds(90),
            "the run now to finish");

        var before = await RunCountAsync();
        var refused = await SendAsync("post", $"/api/runs/{runId}/requeue", """{"bogus":1,"other":2}""");
        Assert.That(RefusalProblem(refused, HttpStatusCode.BadRequest, ["bogus"]), Is.Null);
        Assert.That(refused.Body.GetProperty("errors").GetProperty("bogus")[0].GetString(), Does.Contain("1 other property"));
        Assert.That(RefusalProblem(await SendAsync("post", "/api/schedules/ar.yearly/run", """{"reason":"typo"}"""), HttpStatusCode.BadRequest, ["reason"]), Is.Null);
        Assert.That(await RunCountAsync(), Is.EqualTo(before), "a refused requeue or run now records no run");

        foreach (var body in new[] { null, "", "{}", " null " })
        {
            var (status, _, text) = await SendAsync("post", $"/api/runs/{runId}/requeue", body);
            Assert.That(status, Is.EqualTo(HttpStatusCode.Accepted), $"requeue with body [{body}]: {text}");
            (status, _, text) = await SendAsync("post", "/api/schedules/ar.yearly/run", body);
            Assert.That(status, Is.EqualTo(HttpStatusCode.Accepted), $"run now with body [{body}]: {text}");
        }

        Assert.That(await RunCountAsync(), Is.EqualTo(before + 8));
    }

    [Test]
    public async Task Optional_bodies_refuse_unknown_properties_and_wrong_types_naming_them_and_may_be_left_out()
    {
        var optional = Operations()
            .Where(o => o.Operation.TryGetProperty("requestBody", out var body) && !(body.TryGetProperty("required", out var required) && required.GetBoolean()))
            .ToList();
        Assert.That(optional.Select(o => $"{o.Method} {o.Path}"), Does.Contain("post /api/schedules/{id}/pause"));

        var failures = new List<string>();
        foreach (var (method, template, _) in optional)
        {
            var path = Unknown(template);
            if (RefusalProblem(await SendAsync(method, path, """{"bogus":1}"""), HttpStatusCode.BadRequest, ["bogus"]) is { } unknown)
            {
                failures.Add($"{method} {template} {{bogus}}: {unknown}");
            }
        }

        Assert.That(failures, Is.Empty, string.Join("\n", failures));

        var wrongType = await SendAsync("post", "/api/schedules/ar.yearly/pause", """{"reason":7}""");
        Assert.That(RefusalProblem(wrongType, HttpStatusCode.BadRequest, ["reason"]), Is.Null);
        Assert.That((await admin.GetFromJsonAsync<JsonElement>("/api/schedules/ar.yearly")).GetProperty("state").GetString(), Is.EqualTo("active"));

        var paused = await SendAsync("post", "/api/schedules/ar.yearly/pause", null);
        Assert.That(paused.Status, Is.EqualTo(HttpStatusCode.OK), paused.Text);
        var resumed = await SendAsync("post", "/api/schedules/ar.yearly/resume", "{}");
        Assert.That(resumed.Status, Is.EqualTo(HttpStatusCode.OK), resumed.Text);
    }

    private static int ReasonCount(JsonElement problem) => problem.GetProperty("errors").EnumerateObject().Sum(e => e.Value.GetArrayLength());

    private static object Schedule(string name, string project = "ar", string cron = "0 0 3 1 1 ?") =>
        new { name, project, action = new { type = "noop", config = new { } }, trigger = new { cron, timeZone = "UTC" } };

    [Test]
    public async Task Batch_errors_of_every_item_come_in_one_answer_with_names_already_taken_and_nothing_is_stored()
    {
        var items = new[]
        {
            Schedule("yearly"),                    // already exists
            Schedule("bad-cron", cron: "61 * * * * ?"),
            Schedule("twice"),
            Schedule("twice"),
            Schedule("fine"),
        };
        var answer = await SendAsync("post", "/api/schedules/batch", JsonSerializer.Serialize(new { items }));
        Assert.That(RefusalProblem(answer, HttpStatusCode.UnprocessableEntity, ["items[0].name", "items[3].name"]), Is.Null);
        var errors = answer.Body.GetProperty("errors").EnumerateObject().Select(e => e.Name).ToList();
        Assert.That(errors.Any(e => e.StartsWith("items[1].trigger", StringComparison.Ordinal)), Is.True, string.Join(", ", errors));
        Assert.That(errors.Any(e => e.StartsWith("items[4]", StringComparison.Ordinal) || e.StartsWith("items[2]", StringComparison.Ordinal)), Is.False);
        Assert.That(answer.Body.GetProperty("errors").GetProperty("items[0].name")[0].GetString(), Does.Contain("'ar.yearly' already exists"));
        var detail = answer.Body.GetProperty("detail").GetString()!;
        Assert.That(detail, Does.StartWith($"{ReasonCount(answer.Body)} problems: items[").And.EndWith("Nothing was created."));

        using var missing = await admin.GetAsync("/api/schedules/ar.fine");
        Assert.That(missing.StatusCode, Is.EqualTo(HttpStatusCode.NotFound), "nothing of the batch was stored");
    }

    [Test]
    public async Task Batch_naming_only_schedules_that_exist_is_a_409_naming_each_item()
    {
        var answer = await SendAsync("post", "/api/schedules/batch", JsonSerializer.Serialize(new { items = new[] { Schedule("new-one"), Schedule("yearly") } }));
        Assert.That(RefusalProblem(answer, HttpStatusCode.Conflict, ["items[1].name"], "already exists"), Is.Null);
        Assert.That(answer.Body.GetProperty("detail").GetString(), Does.Contain("ar.yearly"));
        using var missing = await admin.GetAsync("/api/schedules/ar.new-one");
        Assert.That(missing.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task Batch_detail_counts_many_errors_and_shows_only_the_first_few()
    {
        var items = Enumerable.Range(0, 8).Select(i => Schedule($"many-{i}", cron: "61 * * * * ?")).ToArray();
        var answer = await SendAsync("post", "/api/schedules/batch", JsonSerializer.Serialize(new { items }));
        Assert.That(answer.Status, Is.EqualTo(HttpStatusCode.UnprocessableEntity), answer.Text);
        var errors = answer.Body.GetProperty("errors").EnumerateObject().ToList();
        Assert.That(errors.Count(e => e.Name.StartsWith("items[", StringComparison.Ordinal)), Is.GreaterThanOrEqualTo(8), "every item's error is in errors");
        var detail = answer.Body.GetProperty("detail").GetString()!;
        Assert.That(detail, Does.Match(@"^\d+ problems: items\[0\]").And.Contain("more (see errors)"));
        Assert.That(detail, Does.Not.Contain("items[7]"), "the detail shows the first few, not every item");
    }

    [Test]
    public async Task Apply_names_documents_it_cannot_read_and_documents_it_refuses_in_one_answer()
    {
        var answer = await SendAsync("post", "/api/apply", JsonSerializer.Serialize(new
        {
            documents = new object[]
            {
                new { name = "no-kind" },
                new { kind = "schedule", name = "apply-bad-cron", project = "ar", action = new { type = "noop", config = new { } }, trigger = new { cron = "61 * * * * ?" } },
            },
        }));
        Assert.That(answer.Status, Is.EqualTo(HttpStatusCode.UnprocessableEntity), answer.Text);
        var errors = answer.Body.GetProperty("errors").EnumerateObject().Select(e => e.Name).ToList();
        Assert.That(errors, Does.Contain("documents[0].kind"));
        Assert.That(errors.Any(e => e.StartsWith("documents[1].trigger", StringComparison.Ordinal)), Is.True, string.Join(", ", errors));
        Assert.That(answer.Body.GetProperty("detail").GetString(), Does.StartWith($"{ReasonCount(answer.Body)} problems: documents[0].kind"));
        using var missing = await admin.GetAsync("/api/schedules/ar.apply-bad-cron");
        Assert.That(missing.StatusCode, Is.EqualTo(HttpStatusCode.NotFound));
    }
}
