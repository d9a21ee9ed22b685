using System.Net;
using System.Text;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Hosting;

/// <summary>
/// A number with a fraction in an integer field, of any request body or query parameter, is refused as "must be a
/// whole number", not with the .NET type's range (-2147483648 to 2147483647), which answered a question nobody asked;
/// a paging value keeps the route's own range. Nothing is stored.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class WholeNumberTests
{
    private const string Schedule = """
        "name": "whole", "action": { "type": "noop", "config": {} }, "trigger": { "cron": "0 0 3 * * ?" }
        """;

    private const string Pipeline = """
        "id": "whole-pipe", "name": "whole", "edges": [], "nodes": [ { "id": "a", "type": "action", "action": { "type": "noop", "config": {} } %NODE% } ]
        """;

    private InProcessServer server = null!;
    private HttpClient admin = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        var database = await TestPostgres.CreateDatabaseAsync("wholenumber");
        server = InProcessServer.Start(PostgresNode.Environment(database));
        await server.WaitUntilReadyAsync();
        admin = server.CreateClient(server.PrintedAdminKey);
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        admin?.Dispose();
        if (server is not null)
        {
            await server.DisposeAsync();
        }
    }

    [TestCase("/api/schedules", Schedule + ", \"timeoutSeconds\": 1.5", "timeoutSeconds", "must be a whole number; 1.5 is not.")]
    [TestCase("/api/schedules", Schedule + ", \"retry\": { \"maxAttempts\": 2.5 }", "retry.maxAttempts", "must be a whole number; 2.5 is not.")]
    [TestCase("/api/schedules", Schedule + ", \"misfire\": { \"policy\": \"skip\", \"thresholdSeconds\": -0.5 }", "misfire.thresholdSeconds", "must be a whole number; -0.5 is not.")]
    [TestCase("/api/schedules", Schedule + ", \"jitterSeconds\": 10.25", "jitterSeconds", "must be a whole number; 10.25 is not.")]
    [TestCase("/api/schedules", Schedule + ", \"deadline\": { \"startWithinSeconds\": 0.1 }", "deadline.startWithinSeconds", "must be a whole number; 0.1 is not.")]
    [TestCase("/api/schedules", "\"name\": \"whole\", \"action\": { \"type\": \"noop\", \"config\": {} }, \"trigger\": { \"intervalSeconds\": 60.5 }", "trigger.intervalSeconds", "must be a whole number; 60.5 is not.")]
    // Whole in value but written with a decimal point or an exponent: the reason says how to write it.
    [TestCase("/api/schedules", Schedule + ", \"timeoutSeconds\": 30.0", "timeoutSeconds", "must be a whole number written without a decimal point or exponent (such as 30); 30.0 is not.")]
    [TestCase("/api/schedules", Schedule + ", \"timeoutSeconds\": 1e3", "timeoutSeconds", "must be a whole number written without a decimal point or exponent (such as 1000); 1e3 is not.")]
    [TestCase("/api/pipelines", Pipeline + ", \"maxParallelism\": 1.5", "maxParallelism", "must be a whole number; 1.5 is not.")]
    [TestCase("/api/pipelines", "NODE:, \"retry\": { \"maxAttempts\": 3.5 }", "nodes[0].retry.maxAttempts", "must be a whole number; 3.5 is not.")]
    [TestCase("/api/pipelines", "NODE:, \"timeoutSeconds\": 2.5", "nodes[0].timeoutSeconds", "must be a whole number; 2.5 is not.")]
    [TestCase("/api/cron/describe", "\"expression\": \"0 0 3 * * ?\", \"count\": 2.5", "count", "must be a whole number; 2.5 is not.")]
    public async Task A_fraction_in_an_integer_body_field_is_not_a_whole_number(string path, string body, string field, string reason)
    {
        var json = body.StartsWith("NODE:", StringComparison.Ordinal)
            ? Pipeline.Replace("%NODE%", body["NODE:".Length..], StringComparison.Ordinal)
            : body.Replace("%NODE%", "", StringComparison.Ordinal);
        var response = await admin.PostAsync(path, new StringContent("{" + json + "}", Encoding.UTF8, "application/json"));
        var problem = await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.That(problem.GetProperty("errors").GetProperty(field)[0].GetString(), Is.EqualTo(reason), problem.ToString());
        Assert.That(problem.ToString(), Does.Not.Contain("2147483647"));

        // Nothing was created.
        var list = await admin.GetAsync(path.StartsWith("/api/cron", StringComparison.Ordinal) ? "/api/schedules" : path);
        Assert.That(await list.Content.ReadAsStringAsync(), Does.Contain("\"items\":[]"));
    }

    [Test]
    public async Task A_whole_number_beyond_the_field_type_still_names_the_range()
    {
        var response = await admin.PostAsync("/api/schedules", new StringContent("{" + Schedule + ", \"timeoutSeconds\": 2147483648}", Encoding.UTF8, "application/json"));
        var problem = await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.BadRequest);
        Assert.That(problem.GetProperty("errors").GetProperty("timeoutSeconds")[0].GetString(),
            Is.EqualTo("must be a whole number between -2147483648 and 2147483647; 2147483648 is not."));
    }

    [TestCase("/api/stats?hours=2.5", HttpStatusCode.BadRequest, "hours", "must be a whole number; '2.5' is not.")]
    [TestCase("/api/stats?lateSeconds=0.5", HttpStatusCode.BadRequest, "lateSeconds", "must be a whole number; '0.5' is not.")]
    [TestCase("/api/stats?hours=24.0", HttpStatusCode.BadRequest, "hours", "must be a whole number written without a decimal point or exponent (such as 24); '24.0' is not.")]
    // Paging values are refused by the route's paging rule, with its own range (a 422 like any value out of it).
    [TestCase("/api/runs?pageSize=2.5", HttpStatusCode.UnprocessableEntity, "pageSize", "must be a whole number between 1 and 200; '2.5' is not.")]
    [TestCase("/api/schedules?page=1.5", HttpStatusCode.UnprocessableEntity, "page", "must be a whole number, 1 or more; '1.5' is not.")]
    public async Task A_fraction_in_an_integer_query_parameter_is_not_a_whole_number(string uri, HttpStatusCode status, string field, string reason)
    {
        var problem = await ApiAssertions.AssertProblemAsync(await admin.GetAsync(uri), status);
        Assert.That(problem.GetProperty("errors").GetProperty(field)[0].GetString(), Is.EqualTo(reason), problem.ToString());
    }
}
