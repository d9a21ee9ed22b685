using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Hosting;

/// <summary>
/// Hostile input over every /api route the OpenAPI document lists: each body property with the wrong JSON type, huge
/// payloads, deeply nested JSON, hostile path and query values, and invalid crons, zones and private or metadata URLs
/// wherever one is accepted. Every answer is a 4xx RFC 9457 problem (never a 500, never an empty body), a wrong type
/// or a refused value names its field, and nothing stored changes (the export, every list, the audit log and the
/// project's files are the same before and after). Kestrel listens for real, so its body limit is the one tested.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class HostileInputTests
{
    private static readonly string[] Methods = ["get", "post", "put", "delete"];

    private InProcessServer server = null!;
    private HttpClient admin = null!;
    private HttpClient scoped = null!;
    private string workspace = null!;
    private JsonDocument document = null!;
    private List<Route> routes = null!;

    /// <summary>One operation of the document, with its path template, body schema (resolved) and query parameters.</summary>
    private sealed record Route(string Method, string Template, JsonElement? BodySchema, IReadOnlyList<(string Name, string? Type)> Query)
    {
        public override string ToString() => $"{Method} {Template}";
    }

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        var workspaces = Directory.CreateTempSubdirectory("orchestrator-hostile-ws-").FullName;
        var database = await TestPostgres.CreateDatabaseAsync("hostile");
        server = InProcessServer.Start(PostgresNode.Environment(database, new Dictionary<string, string?> { ["Orchestrator__Workspaces__Roots__0"] = workspaces }),
            listenOnLoopback: true);
        await server.WaitUntilReadyAsync();
        admin = server.CreateClient(server.PrintedAdminKey);
        admin.Timeout = TimeSpan.FromSeconds(60);
        workspace = Path.Combine(workspaces, "hp");

        // One resource of each kind, so a path parameter can name something that exists.
        await admin.PostForJsonAsync("/api/projects", new { id = "hp", name = "Hostile probe", rootPath = workspace }, HttpStatusCode.Created);
        await File.WriteAllTextAsync(Path.Combine(workspace, "a.txt"), "inside");
        await admin.PostForJsonAsync("/api/schedules", new
        {
            name = "yearly",
            project = "hp",
            action = new { type = "noop", config = new { } },
            trigger = new { cron = "0 0 3 1 1 ?", timeZone = "UTC" },
        }, HttpStatusCode.Created);
        await admin.PostForJsonAsync("/api/pipelines", new
        {
            id = "hp-pipe",
            name = "Hostile probe pipeline",
            project = "hp",
            nodes = new object[] { new { id = "a", type = "action", action = new { type = "noop", config = new { } } } },
            edges = Array.Empty<object>(),
        }, HttpStatusCode.Created);
        await admin.PostForJsonAsync("/api/tools", new
        {
            name = "hp-echo",
            description = "echoes",
            kind = "command",
            parameters = new { type = "object", properties = new { text = new { type = "string" } } },
            config = new { argv = new[] { "echo", "{{args.text}}" } },
        }, HttpStatusCode.Created);
        await admin.PostForJsonAsync("/api/channels", new { name = "hp-hook", kind = "webhook", webhook = new { url = "https://example.com/hook" } }, HttpStatusCode.Created);

        var key = await admin.PostForJsonAsync("/api/keys", new { name = "hp-admin", role = "admin", projects = new[] { "hp" } }, HttpStatusCode.Created);
        scoped = server.CreateClient(key.GetProperty("key").GetString());

        using var anonymous = server.CreateClient();
        document = JsonDocument.Parse(await anonymous.GetStringAsync("/openapi/v1.json"));
        routes = [.. Routes(document.RootElement)];
        Assert.That(routes.Count(r => r.BodySchema is not null), Is.GreaterThan(15), "the document lists the routes that take a JSON body");
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        admin?.Dispose();
        scoped?.Dispose();
        document?.Dispose();
        if (server is not null)
        {
            await server.DisposeAsync();
        }
    }

    private static IEnumerable<Route> Routes(JsonElement root)
    {
        foreach (var path in root.GetProperty("paths").EnumerateObject().Where(p => p.Name.StartsWith("/api/", StringComparison.Ordinal)))
        {
            foreach (var operation in path.Value.EnumerateObject().Where(o => Methods.Contains(o.Name)))
            {
                JsonElement? body = null;
                if (operation.Value.TryGetProperty("requestBody", out var requestBody) && requestBody.TryGetProperty("content", out var content)
                    && content.EnumerateObject().FirstOrDefault(c => c.Name.Contains("json", StringComparison.Ordinal)) is { Value.ValueKind: JsonValueKind.Object } json
                    && json.Value.TryGetProperty("schema", out var schema))
                {
                    body = Resolve(root, schema);
                }

                var query = new List<(string, string?)>();
                if (operation.Value.TryGetProperty("parameters", out var parameters))
                {
                    foreach (var parameter in parameters.EnumerateArray().Where(p => p.GetProperty("in").GetString() == "query"))
                    {
                        query.Add((parameter.GetProperty("name").GetString()!, parameter.TryGetProperty("schema", out var s) ? TypesOf(root, s).FirstOrDefault() : null));
                    }
                }

                yield return new Route(operation.Name.ToUpperInvariant(), path.Name, body, query);
            }
        }
    }

    /// <summary>The schema a <c>$ref</c> points to (components/schemas), or the schema itself.</summary>
    private static JsonElement Resolve(JsonElement root, JsonElement schema)
    {
        for (var hops = 0; hops < 8 && schema.ValueKind == JsonValueKind.Object && schema.TryGetProperty("$ref", out var reference); hops++)
        {
            var name = reference.GetString()!.Split('/')[^1];
            schema = root.GetProperty("components").GetProperty("schemas").GetProperty(name);
        }

        return schema;
    }

    /// <summary>The JSON types a schema allows (null left out); empty when it allows any (an untyped JSON member).</summary>
    private static List<string> TypesOf(JsonElement root, JsonElement schema)
    {
        schema = Resolve(root, schema);
        if (schema.ValueKind != JsonValueKind.Object)
        {
            return [];
        }

        if (schema.TryGetProperty("type", out var type))
        {
            var types = type.ValueKind == JsonValueKind.Array ? type.EnumerateArray().Select(t => t.GetString()!).ToList() : [type.GetString()!];
            return [.. types.Where(t => t != "null").Select(t => t == "integer" ? "number" : t)];
        }

        foreach (var combinator in new[] { "oneOf", "anyOf", "allOf" })
        {
            if (schema.TryGetProperty(combinator, out var options))
            {
                var all = options.EnumerateArray().Select(o => TypesOf(root, o)).ToList();
                return all.Any(t => t.Count == 0) ? [] : [.. all.SelectMany(t => t).Distinct()];
            }
        }

        return schema.TryGetProperty("properties", out _) ? ["object"] : [];
    }

    private static IEnumerable<(string Name, JsonElement Schema)> PropertiesOf(JsonElement root, JsonElement schema)
    {
        schema = Resolve(root, schema);
        return schema.ValueKind == JsonValueKind.Object && schema.TryGetProperty("properties", out var properties)
            ? properties.EnumerateObject().Select(p => (p.Name, Resolve(root, p.Value)))
            : [];
    }

    /// <summary>A path template with its parameters naming resources that exist (or, for run ids and key ids, could).</summary>
    private static string Fill(string template) => template
        .Replace("/api/projects/{id}", "/api/projects/hp", StringComparison.Ordinal)
        .Replace("/api/schedules/{id}", "/api/schedules/hp.yearly", StringComparison.Ordinal)
        .Replace("/api/pipelines/{id}", "/api/pipelines/hp-pipe", StringComparison.Ordinal)
        .Replace("/api/tools/{name}", "/api/tools/hp-echo", StringComparison.Ordinal)
        .Replace("/api/channels/{name}", "/api/channels/hp-hook", StringComparison.Ordinal)
        .Replace("{path}", "a.txt", StringComparison.Ordinal)
        .Replace("{runId}", Guid.NewGuid().ToString(), StringComparison.Ordinal)
        .Replace("{id}", Guid.NewGuid().ToString(), StringComparison.Ordinal)
        .Replace("{name}", "hp-echo", StringComparison.Ordinal);

    private HttpRequestMessage Request(string method, string pathAndQuery, string? body = null) =>
        new(new HttpMethod(method), new Uri(server.BaseAddress + pathAndQuery.TrimStart('/'), new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true }))
        {
            Content = body is null ? null : new StringContent(body, Encoding.UTF8, "application/json"),
        };

    /// <summary>
    /// Sends the request and returns null when the answer is a 4xx problem (RFC 9457: problem+json with a status and a
    /// title), with <paramref name="field"/> among its errors when given; otherwise what was wrong with it.
    /// </summary>
    private async Task<string?> RefusedAsync(HttpRequestMessage request, string? field = null, bool allowSuccess = false, HttpClient? client = null)
    {
        var label = $"{request.Method} {request.RequestUri!.PathAndQuery[..Math.Min(request.RequestUri.PathAndQuery.Length, 120)]}";
        HttpResponseMessage response;
        try
        {
            response = await (client ?? admin).SendAsync(request);
        }
        catch (HttpRequestException ex)
        {
            return $"{label}: no answer ({ex.Message})";
        }

        using (response)
        {
            var text = await response.Content.ReadAsStringAsync();
            var status = (int)response.StatusCode;
            if (allowSuccess && status is >= 200 and < 300)
            {
                return null;
            }

            if (status is < 400 or >= 500 || text.Length == 0 || response.Content.Headers.ContentType?.MediaType != "application/problem+json")
            {
                return $"{label}: {status} {Cut(text)}";
            }

            JsonElement problem;
            try
            {
                problem = JsonDocument.Parse(text).RootElement.Clone();
            }
            catch (JsonException)
            {
                return $"{label}: {status} with a body that is not JSON: {Cut(text)}";
            }

            if (!problem.TryGetProperty("status", out var s) || s.GetInt32() != status || !problem.TryGetProperty("title", out _))
            {
                return $"{label}: {status} problem without its status or title: {Cut(text)}";
            }

            if (field is not null && !(problem.TryGetProperty("errors", out var errors) && errors.ValueKind == JsonValueKind.Object
                && errors.EnumerateObject().Any(e => e.Name == field || e.Name.StartsWith(field + ".", StringComparison.Ordinal) || e.Name.StartsWith(field + "[", StringComparison.Ordinal))))
            {
                return $"{label}: {status} does not name '{field}': {Cut(text)}";
            }

            return null;
        }
    }

    private static string Cut(string text) => text.Length <= 300 ? text : text[..300] + "…";

    /// <summary>What is stored, as the API shows it: the export, every list, the audit log's size, the project's files.</summary>
    private async Task<string> SnapshotAsync()
    {
        var parts = new StringBuilder();
        foreach (var path in new[] { "/api/export", "/api/projects", "/api/schedules?pageSize=200", "/api/pipelines", "/api/tools", "/api/channels" })
        {
            parts.AppendLine(path).AppendLine(Stable(await admin.GetStringAsync(path)));
        }

        foreach (var path in new[] { "/api/runs?pageSize=1", "/api/audit?pageSize=200", "/api/keys" })
        {
            var json = JsonNode.Parse(await admin.GetStringAsync(path))!;
            var count = json is JsonArray array ? array.Count : json["total"]?.GetValue<int>() ?? json["items"]?.AsArray().Count ?? -1;
            parts.Append(path).Append(" count ").Append(count).AppendLine();
        }

        foreach (var file in Directory.GetFileSystemEntries(workspace, "*", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            parts.AppendLine(file + (File.Exists(file) ? ":" + await File.ReadAllTextAsync(file) : "/"));
        }

        return parts.ToString();
    }

    /// <summary>The JSON without the values that change with time alone (when the export was made, a key's last use).</summary>
    private static string Stable(string json)
    {
        var node = JsonNode.Parse(json);
        Strip(node);
        return node?.ToJsonString() ?? "null";

        static void Strip(JsonNode? node)
        {
            switch (node)
            {
                case JsonObject obj:
                    foreach (var name in obj.Select(p => p.Key).Where(k => k is "exportedAt" or "generatedAt" or "lastUsedAt" or "now").ToList())
                    {
                        obj.Remove(name);
                    }

                    foreach (var (_, value) in obj)
                    {
                        Strip(value);
                    }

                    break;
                case JsonArray array:
                    foreach (var item in array)
                    {
                        Strip(item);
                    }

                    break;
            }
        }
    }

    private async Task AssertNothingStoredChangedAsync(string before, string what)
    {
        var after = await SnapshotAsync();
        Assert.That(after, Is.EqualTo(before), $"{what} changed what is stored");
    }

    private static readonly (string Kind, string Json)[] WrongValues =
    [
        ("string", "\"x\""),
        ("number", "7"),
        ("object", "{\"k\":1}"),
        ("array", "[1]"),
        ("boolean", "true"),
    ];

    [Test]
    public async Task Every_body_property_with_the_wrong_json_type_is_a_problem_naming_it_and_stores_nothing()
    {
        var before = await SnapshotAsync();
        var failures = new List<string>();
        var sent = 0;
        var root = document.RootElement;
        foreach (var route in routes.Where(r => r.BodySchema is not null))
        {
            foreach (var (name, schema) in PropertiesOf(root, route.BodySchema!.Value))
            {
                var types = TypesOf(root, schema);
                // A typed member must be refused by type, naming it; an untyped one (a config, inputs) may still be
                // refused for another reason, but never with a 500.
                foreach (var (kind, json) in WrongValues.Where(w => !types.Contains(w.Kind)))
                {
                    sent++;
                    if (await RefusedAsync(Request(route.Method, Fill(route.Template), $"{{\"{name}\":{json}}}"), types.Count > 0 ? name : null, allowSuccess: types.Count == 0) is { } failure)
                    {
                        failures.Add($"{route} {name}={json}: {failure}");
                    }
                }

                // One level down: trigger.cron, retry.maxAttempts, webhook.url…
                if (types.SequenceEqual(["object"]))
                {
                    foreach (var (inner, innerSchema) in PropertiesOf(root, schema))
                    {
                        var innerTypes = TypesOf(root, innerSchema);
                        foreach (var (kind, json) in WrongValues.Where(w => innerTypes.Count > 0 && !innerTypes.Contains(w.Kind)))
                        {
                            sent++;
                            if (await RefusedAsync(Request(route.Method, Fill(route.Template), $"{{\"{name}\":{{\"{inner}\":{json}}}}}"), $"{name}.{inner}") is { } failure)
                            {
                                failures.Add($"{route} {name}.{inner}={json}: {failure}");
                            }
                        }
                    }
                }
            }
        }

        Assert.That(sent, Is.GreaterThan(200), "the sweep sent a wrong value for every typed property");
        Assert.That(failures, Is.Empty, string.Join("\n", failures));
        await AssertNothingStoredChangedAsync(before, "a body with a wrong type");
    }

    [Test]
    public async Task A_5_MB_body_is_a_413_problem_on_every_route_that_takes_a_body()
    {
        var before = await SnapshotAsync();
        var huge = "{\"name\":\"" + new string('a', 5 * 1024 * 1024) + "\"}";
        var failures = new List<string>();
        foreach (var route in routes.Where(r => r.BodySchema is not null))
        {
            // As curl and other clients send a large body: the server answers before the body is sent, which it refuses unread.
            using var request = Request(route.Method, Fill(route.Template), huge);
            request.Headers.ExpectContinue = true;
            using var response = await admin.SendAsync(request);
            var text = await response.Content.ReadAsStringAsync();
            if (response.StatusCode != HttpStatusCode.RequestEntityTooLarge || response.Content.Headers.ContentType?.MediaType != "application/problem+json" || text.Length == 0)
            {
                failures.Add($"{route}: {(int)response.StatusCode} {Cut(text)}");
            }
        }

        Assert.That(failures, Is.Empty, string.Join("\n", failures));
        await AssertNothingStoredChangedAsync(before, "a 5 MB body");
    }

    [Test]
    public async Task A_100_kB_name_or_id_and_10000_element_arrays_are_refused_naming_the_field()
    {
        var before = await SnapshotAsync();
        var failures = new List<string>();
        var root = document.RootElement;
        var long100k = new string('n', 100 * 1024);
        foreach (var route in routes.Where(r => r.BodySchema is not null))
        {
            foreach (var (name, schema) in PropertiesOf(root, route.BodySchema!.Value))
            {
                var types = TypesOf(root, schema);
                // A name, an id or a project is never 100 kB long. (Preview's id only seeds the jitter, and a bulk pause's
                // project is a filter that matches nothing: neither stores or names anything.)
                if (name is "name" or "id" or "project" && types.SequenceEqual(["string"])
                    && route.Template is not ("/api/schedules/preview" or "/api/schedules/pause" or "/api/schedules/resume"))
                {
                    if (await RefusedAsync(Request(route.Method, Fill(route.Template), $"{{\"{name}\":\"{long100k}\"}}"), name) is { } failure)
                    {
                        failures.Add($"{route} {name}: {failure}");
                    }
                }

                if (types.SequenceEqual(["array"]))
                {
                    var many = "[" + string.Join(",", Enumerable.Repeat("\"x\"", 10_000)) + "]";
                    var started = System.Diagnostics.Stopwatch.StartNew();
                    if (await RefusedAsync(Request(route.Method, Fill(route.Template), $"{{\"{name}\":{many}}}")) is { } failure)
                    {
                        failures.Add($"{route} {name}[10000]: {failure}");
                    }

                    var took = started.Elapsed;
                    if (took > TimeSpan.FromSeconds(10))
                    {
                        failures.Add($"{route} {name}[10000]: took {took.TotalSeconds:F1} s");
                    }
                }
            }
        }

        Assert.That(failures, Is.Empty, string.Join("\n", failures));
        await AssertNothingStoredChangedAsync(before, "a 100 kB name or a 10,000-element array");
    }

    [Test]
    public async Task Json_nested_1000_deep_in_any_member_is_a_4xx_problem_and_the_depth_limit_says_so()
    {
        var before = await SnapshotAsync();
        var failures = new List<string>();
        var atDepthLimit = 0;
        var root = document.RootElement;
        var deepArray = new string('[', 1000) + new string(']', 1000);
        var deepObject = string.Concat(Enumerable.Repeat("{\"a\":", 1000)) + "1" + new string('}', 1000);
        foreach (var route in routes.Where(r => r.BodySchema is not null))
        {
            // Under every member (a config, inputs or arguments take any JSON; a typed one is refused by type or by an
            // unknown property first) and as the body itself.
            var bodies = PropertiesOf(root, route.BodySchema!.Value).SelectMany(p => new[] { $"{{\"{p.Name}\":{deepArray}}}", $"{{\"{p.Name}\":{deepObject}}}" }).Append(deepArray);
            foreach (var body in bodies)
            {
                using var response = await admin.SendAsync(Request(route.Method, Fill(route.Template), body));
                var text = await response.Content.ReadAsStringAsync();
                if ((int)response.StatusCode is < 400 or >= 500 || response.Content.Headers.ContentType?.MediaType != "application/problem+json")
                {
                    failures.Add($"{route} {body[..20]}…: {(int)response.StatusCode} {Cut(text)}");
                }
                else if (text.Contains("depth", StringComparison.OrdinalIgnoreCase))
                {
                    atDepthLimit++;
                }
            }
        }

        Assert.That(failures, Is.Empty, string.Join("\n", failures));
        Assert.That(atDepthLimit, Is.GreaterThan(10), "untyped members reach the JSON depth limit, and the problem says so");
        await AssertNothingStoredChangedAsync(before, "deeply nested JSON");
    }

    private static readonly string[] HostileSegments =
    [
        "no-such-thing-42",
        "..%2F..%2Fetc%2Fpasswd",
        "%252e%252e",
        "%252e%252e%252fetc",
        "%2Fetc%2Fpasswd",
        "C:%5CWindows%5Cwin.ini",
        "a%00b",
        "%C0%AE%C0%AE",
        "x%0Ay",
        "%E2%80%AE",
        "_system.run-housekeeping",
        "hp.no-such-schedule",
    ];

    /// <summary>As an unscoped admin and as an attacker holding an admin key scoped to one project.</summary>
    [TestCase(false)]
    [TestCase(true)]
    public async Task Hostile_or_unknown_path_parameters_are_a_4xx_problem_on_every_route_and_store_nothing(bool projectScoped)
    {
        var before = await SnapshotAsync();
        var failures = new List<string>();
        foreach (var route in routes.Where(r => r.Template.Contains('{', StringComparison.Ordinal)))
        {
            foreach (var segment in HostileSegments.Append(new string('z', 5000)))
            {
                var path = System.Text.RegularExpressions.Regex.Replace(route.Template, @"\{\*{0,2}\w+\}", segment);
                if (await RefusedAsync(Request(route.Method, path, route.BodySchema is null ? null : "{}"), client: projectScoped ? scoped : admin) is { } failure)
                {
                    failures.Add($"{route} [{segment[..Math.Min(segment.Length, 30)]}]: {failure}");
                }
            }
        }

        Assert.That(failures, Is.Empty, string.Join("\n", failures));
        await AssertNothingStoredChangedAsync(before, "a hostile path parameter");
    }

    [Test]
    public async Task Query_values_of_the_wrong_type_are_a_400_naming_the_parameter_and_hostile_strings_are_no_500()
    {
        var before = await SnapshotAsync();
        var failures = new List<string>();
        var sent = 0;
        foreach (var route in routes.Where(r => r.Method == "GET" && r.Query.Count > 0))
        {
            foreach (var (name, type) in route.Query)
            {
                var path = Fill(route.Template);
                if (type is "number" or "boolean")
                {
                    foreach (var value in new[] { "abc", "1e999", "99999999999999999999", "%7B%7D" })
                    {
                        sent++;
                        if (await RefusedAsync(Request("GET", $"{path}?{name}={value}"), name) is { } failure)
                        {
                            failures.Add($"{route} ?{name}={value}: {failure}");
                        }
                    }
                }

                foreach (var value in new[] { "..%2F..%2Fetc%2Fpasswd", "%252e%252e", new string('q', 10_000), "%E2%80%AE", "-1", "0", "2147483648", "null", "%5B%5D" })
                {
                    sent++;
                    if (await RefusedAsync(Request("GET", $"{path}?{name}={value}"), allowSuccess: true) is { } failure)
                    {
                        failures.Add($"{route} ?{name}={value[..Math.Min(value.Length, 30)]}: {failure}");
                    }
                }
            }
        }

        Assert.That(sent, Is.GreaterThan(50));
        Assert.That(failures, Is.Empty, string.Join("\n", failures));
        await AssertNothingStoredChangedAsync(before, "a hostile query value");
    }

    [Test]
    public async Task A_query_parameter_given_twice_is_a_400_naming_it_on_every_route()
    {
        // Bound to one string, two values were joined ('succeeded,failed') into a filter matching nothing: a silent empty list.
        var before = await SnapshotAsync();
        var failures = new List<string>();
        var sent = 0;
        foreach (var route in routes.Where(r => r.Method == "GET" && r.Query.Count > 0))
        {
            foreach (var (name, _) in route.Query)
            {
                var path = Fill(route.Template);
                foreach (var query in new[] { $"{name}=1&{name}=2", $"{name}=1&{name.ToUpperInvariant()}=1" })
                {
                    sent++;
                    var response = await admin.SendAsync(Request("GET", $"{path}?{query}"));
                    var body = await response.Content.ReadAsStringAsync();
                    if (response.StatusCode != HttpStatusCode.BadRequest || !body.Contains($"\"{name}\"", StringComparison.OrdinalIgnoreCase) || !body.Contains("more than once", StringComparison.Ordinal))
                    {
                        failures.Add($"{route} ?{query}: {(int)response.StatusCode} {body[..Math.Min(body.Length, 200)]}");
                    }
                }
            }
        }

        Assert.That(sent, Is.GreaterThan(20));
        Assert.That(failures, Is.Empty, string.Join("\n", failures));
        await AssertNothingStoredChangedAsync(before, "a repeated query parameter");
    }

    private static readonly string[] ForbiddenUrls =
    [
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/",
        "http://10.0.0.5/hook",
        "http://192.168.1.1/",
        "http://127.0.0.1:1/x",
        "http://localhost/x",
        "http://[::ffff:169.254.169.254]/",
        "http://0.0.0.0/",
        "file:///etc/passwd",
        "gopher://127.0.0.1/",
    ];

    private static IEnumerable<TestCaseData> CronZoneAndUrlCases()
    {
        object Schedule(object trigger, object? action = null) => new
        {
            name = "hostile-probe",
            project = "hp",
            action = action ?? new { type = "noop", config = new { } },
            trigger,
        };

        foreach (var cron in new[] { "61 * * * * ?", "* * * * *", "0 0 25 * * ?", "", "0 0 0 ? * MON-FOO", "0 0 0 31 2 ? 1999" })
        {
            yield return new TestCaseData("POST", "/api/schedules", Schedule(new { cron, timeZone = "UTC" }), "trigger.cron").SetArgDisplayNames("schedule cron " + cron);
            yield return new TestCaseData("PUT", "/api/schedules/hp.yearly", Schedule(new { cron, timeZone = "UTC" }), "trigger.cron").SetArgDisplayNames("schedule update cron " + cron);
            yield return new TestCaseData("POST", "/api/cron/describe", new { expression = cron, timeZone = "UTC" }, "expression").SetArgDisplayNames("describe " + cron);
            yield return new TestCaseData("POST", "/api/schedules/preview", new { trigger = new { cron }, count = 3 }, "trigger.cron").SetArgDisplayNames("preview " + cron);
        }

        foreach (var zone in new[] { "Mars/Olympus", "../../etc/localtime", "UTC+99", "Europe/Paris\u0000" })
        {
            yield return new TestCaseData("POST", "/api/schedules", Schedule(new { cron = "0 0 12 * * ?", timeZone = zone }), "trigger.timeZone").SetArgDisplayNames("schedule zone " + zone);
            yield return new TestCaseData("POST", "/api/cron/describe", new { expression = "0 0 12 * * ?", timeZone = zone }, "timeZone").SetArgDisplayNames("describe zone " + zone);
        }

        foreach (var url in ForbiddenUrls)
        {
            yield return new TestCaseData("POST", "/api/schedules", Schedule(new { intervalSeconds = 3600 }, new { type = "call_api", config = new { method = "GET", url } }), "action.config.url")
                .SetArgDisplayNames("schedule call_api " + url);
            yield return new TestCaseData("POST", "/api/pipelines", new
            {
                id = "hostile-pipe",
                name = "Hostile pipeline",
                project = "hp",
                nodes = new object[] { new { id = "call", type = "action", action = new { type = "call_api", config = new { method = "GET", url } } } },
                edges = Array.Empty<object>(),
            }, "nodes.call.action.config.url").SetArgDisplayNames("pipeline call_api " + url);
            yield return new TestCaseData("POST", "/api/tools", new { name = "hostile-http", description = "probe", kind = "http", parameters = new { type = "object" }, config = new { method = "GET", url } }, "config.url")
                .SetArgDisplayNames("http tool " + url);
            yield return new TestCaseData("POST", "/api/channels", new { name = "hostile-hook", kind = "webhook", webhook = new { url } }, "webhook.url")
                .SetArgDisplayNames("webhook channel " + url);
            yield return new TestCaseData("PUT", "/api/channels/hp-hook", new { name = "hp-hook", kind = "webhook", webhook = new { url } }, "webhook.url")
                .SetArgDisplayNames("webhook channel update " + url);
            yield return new TestCaseData("POST", "/api/tools/http.request/invoke", new { project = "hp", arguments = new { method = "GET", url } }, "arguments.url")
                .SetArgDisplayNames("http.request invoke " + url);
        }

        yield return new TestCaseData("POST", "/api/apply", new
        {
            documents = new object[] { new { kind = "schedule", name = "hostile-apply", project = "hp", action = new { type = "noop", config = new { } }, trigger = new { cron = "61 * * * * ?" } } },
        }, "cron").SetArgDisplayNames("apply schedule cron");
        yield return new TestCaseData("POST", "/api/apply", new
        {
            documents = new object[] { new { kind = "schedule", name = "hostile-apply", project = "hp", action = new { type = "noop", config = new { } }, trigger = new { cron = "0 0 12 * * ?", timeZone = "Mars/Olympus" } } },
        }, "timeZone").SetArgDisplayNames("apply schedule zone");
        yield return new TestCaseData("POST", "/api/apply", new
        {
            documents = new object[] { new { kind = "channel", name = "hostile-apply", type = "webhook", webhook = new { url = "http://169.254.169.254/latest/meta-data/" } } },
        }, "url").SetArgDisplayNames("apply channel metadata url");
        yield return new TestCaseData("POST", "/api/apply", new
        {
            documents = new object[]
            {
                new { kind = "schedule", name = "hostile-apply", project = "hp", action = new { type = "call_api", config = new { method = "GET", url = "http://[::1]/" } }, trigger = new { intervalSeconds = 60 } },
            },
        }, "url").SetArgDisplayNames("apply call_api loopback url");
    }

    [TestCaseSource(nameof(CronZoneAndUrlCases))]
    public async Task Invalid_cron_unknown_zone_and_private_or_metadata_urls_are_refused_naming_the_field_and_store_nothing(string method, string path, object body, string field)
    {
        var before = await SnapshotAsync();
        var request = Request(method, path, JsonSerializer.Serialize(body));
        var failure = await RefusedAsync(request);
        Assert.That(failure, Is.Null);
        using var again = await admin.SendAsync(Request(method, path, JsonSerializer.Serialize(body)));
        var text = await again.Content.ReadAsStringAsync();
        Assert.That(text, Does.Contain(field), "the problem names the field");
        await AssertNothingStoredChangedAsync(before, $"{method} {path}");
    }
}
