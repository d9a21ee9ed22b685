using System.Net;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Routing;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Hosting;

/// <summary>
/// A query parameter a route does not read is a 422 naming it and listing the ones the route reads, on every /api
/// route: ignored, <c>?limit=5</c> answered the default page and a typo <c>?stat=paused</c> answered everything. The
/// parameters a route reads are those its delegate binds from the query, the same the OpenAPI document lists.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed partial class UnknownQueryParameterTests
{
    private InProcessServer server = null!;
    private HttpClient admin = null!;
    private JsonDocument document = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        var workspaces = Directory.CreateTempSubdirectory("orchestrator-query-ws-").FullName;
        var database = await TestPostgres.CreateDatabaseAsync("unknownquery");
        server = InProcessServer.Start(PostgresNode.Environment(database, new Dictionary<string, string?> { ["Orchestrator__Workspaces__Roots__0"] = workspaces }));
        await server.WaitUntilReadyAsync();
        admin = server.CreateClient(server.PrintedAdminKey);
        await admin.PostForJsonAsync("/api/projects", new { id = "uq", name = "uq", rootPath = Path.Combine(workspaces, "uq") }, HttpStatusCode.Created);
        await admin.CreateScheduleAsync(new { name = "job", project = "uq", action = new { type = "noop", config = new { } }, trigger = new { cron = "0 0 3 * * ?" } });
        await admin.PostForJsonAsync("/api/pipelines", new
        {
            id = "uq-pipe",
            name = "uq pipeline",
            project = "uq",
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

    /// <summary>Every GET route under /api, from the server's own endpoint data source (not the document, which could miss one).</summary>
    private List<string> ApiGetRoutes() =>
        [.. server.Services.GetRequiredService<EndpointDataSource>().Endpoints.OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<IHttpMethodMetadata>()?.HttpMethods.Contains("GET") == true)
            .Select(e => "/" + (e.RoutePattern.RawText ?? "").Trim('/'))
            .Where(p => p.StartsWith("/api/", StringComparison.Ordinal))
            .Distinct()
            .Order(StringComparer.Ordinal)];

    [Test]
    public async Task Every_api_GET_route_refuses_a_parameter_it_does_not_read_naming_it_and_the_ones_it_reads()
    {
        var routes = ApiGetRoutes();
        Assert.That(routes, Has.Count.GreaterThan(20).And.Contains("/api/runs").And.Contains("/api/schedules/{id}/occurrences"));
        var failures = new List<string>();
        foreach (var route in routes)
        {
            // Any value for a route parameter: the parameter is refused before the handler looks anything up.
            var path = RouteParameter().Replace(route, "x");
            using var response = await admin.GetAsync(path + "?zz_unknown=1");
            var text = await response.Content.ReadAsStringAsync();
            if (response.StatusCode != HttpStatusCode.UnprocessableEntity)
            {
                failures.Add($"{route}: {(int)response.StatusCode} {text}");
                continue;
            }

            var reason = JsonDocument.Parse(text).RootElement.GetProperty("errors").GetProperty("zz_unknown")[0].GetString()!;
            var documented = DocumentedQuery(route);
            var listed = Listed().Match(reason) is { Success: true } m ? m.Groups[1].Value.Split(", ") : [];
            if (!reason.StartsWith("is not read by this route", StringComparison.Ordinal) || !listed.ToHashSet().SetEquals(documented))
            {
                failures.Add($"{route}: '{reason}' lists [{string.Join(", ", listed)}], the document [{string.Join(", ", documented)}]");
            }
        }

        Assert.That(failures, Is.Empty, string.Join("\n", failures));
    }

    [Test]
    public async Task A_typo_is_refused_with_the_name_meant_and_nothing_is_answered_as_if_it_were_read()
    {
        var limit = await ApiAssertions.AssertProblemAsync(await admin.GetAsync("/api/schedules?limit=5"), HttpStatusCode.UnprocessableEntity);
        var reason = limit.GetProperty("errors").GetProperty("limit")[0].GetString();
        Assert.That(reason, Does.Contain("project").And.Contain("actionType").And.Contain("state").And.Contain("pageSize").And.Contain("cursor"));

        var stat = await ApiAssertions.AssertProblemAsync(await admin.GetAsync("/api/schedules?stat=paused"), HttpStatusCode.UnprocessableEntity);
        Assert.That(stat.GetProperty("errors").GetProperty("stat")[0].GetString(), Does.EndWith("Did you mean 'state'?"));

        // Each unknown name is named, known ones beside them notwithstanding.
        var two = await ApiAssertions.AssertProblemAsync(await admin.GetAsync("/api/runs?status=failed&sheduleId=uq.job&colour=red"), HttpStatusCode.UnprocessableEntity);
        var errors = two.GetProperty("errors");
        Assert.That(errors.EnumerateObject().Select(e => e.Name), Is.EquivalentTo(new[] { "sheduleId", "colour" }));
        Assert.That(errors.GetProperty("sheduleId")[0].GetString(), Does.EndWith("Did you mean 'scheduleId'?"));
        Assert.That(errors.GetProperty("colour")[0].GetString(), Does.Not.Contain("Did you mean"), "no guess for a name nothing is near");

        // A route that reads no query parameter says so.
        var none = await ApiAssertions.AssertProblemAsync(await admin.GetAsync("/api/schedules/uq.job?verbose=true"), HttpStatusCode.UnprocessableEntity);
        Assert.That(none.GetProperty("errors").GetProperty("verbose")[0].GetString(), Does.Contain("takes no query parameters"));

        // Other methods too: a run-now with a query it does not read changes nothing.
        var run = await ApiAssertions.AssertProblemAsync(await admin.PostAsync("/api/schedules/uq.job/run?dryRun=true", null), HttpStatusCode.UnprocessableEntity);
        Assert.That(run.GetProperty("errors").TryGetProperty("dryRun", out _), Is.True, run.ToString());
        var runs = JsonDocument.Parse(await admin.GetStringAsync("/api/runs?scheduleId=uq.job")).RootElement;
        Assert.That(runs.GetProperty("total").GetInt32(), Is.Zero, "the refused run-now started nothing");
    }

    [Test]
    public async Task Names_are_matched_as_the_binder_matches_them_ignoring_case()
    {
        using var response = await admin.GetAsync("/api/runs?PAGESIZE=5&ScheduleId=uq.job");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
    }

    /// <summary>The queries the dashboard's pages send (Dashboard/assets/*.js), each with every parameter it may add.</summary>
    [TestCase("/api/stats?hours=24&timeZone=UTC")]
    [TestCase("/api/runs?page=1&pageSize=50&sort=created&scheduleId=uq.job&status=failed&project=uq&actionType=noop&triggeredBy=manual&late=true")]
    [TestCase("/api/schedules?page=1&pageSize=50&q=job&project=uq&actionType=noop&state=active")]
    [TestCase("/api/audit?pageSize=50&actor=someone&resource=schedule:uq.job&action=schedule.pause&project=uq&from=2026-01-01T00:00:00.000Z&to=2027-01-01T00:00:00.000Z")]
    [TestCase("/api/deadlines?pageSize=50&page=1&state=open&scheduleId=uq.job")]
    [TestCase("/api/schedules/uq.job/occurrences?from=2026-01-01T00:00:00Z&to=2026-01-02T00:00:00Z")]
    [TestCase("/api/cluster/misfires?pageSize=100")]
    [TestCase("/api/keys?pageSize=200")]
    [TestCase("/api/projects?pageSize=200")]
    [TestCase("/api/pipelines?pageSize=200")]
    [TestCase("/api/pipelines/uq-pipe/runs?pageSize=20")]
    public async Task The_dashboards_own_queries_are_read(string uri)
    {
        using var response = await admin.GetAsync(uri);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK), await response.Content.ReadAsStringAsync());
    }

    private string[] DocumentedQuery(string route)
    {
        var paths = document.RootElement.GetProperty("paths");
        var key = route.Replace("{**", "{", StringComparison.Ordinal);
        if (!paths.TryGetProperty(key, out var item) || !item.TryGetProperty("get", out var get) || !get.TryGetProperty("parameters", out var parameters))
        {
            return [];
        }

        return [.. parameters.EnumerateArray().Where(p => p.GetProperty("in").GetString() == "query").Select(p => p.GetProperty("name").GetString()!)];
    }

    [GeneratedRegex(@"\{[^}]+\}")]
    private static partial Regex RouteParameter();

    [GeneratedRegex(@"it reads (.+)\.(?: Did you mean|$)")]
    private static partial Regex Listed();
}
