using System.Net;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Runs;

/// <summary>A run id that is not a UUID is an unknown run, answered like any other: a problem that names it.</summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class RunIdMessageTests
{
    private InProcessServer server = null!;
    private HttpClient admin = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        server = InProcessServer.Start();
        await server.WaitUntilReadyAsync();
        admin = server.CreateClient(server.PrintedAdminKey!);
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

    // A route constraint answered these with a bare 404 "Not Found" and no problem body.
    [TestCase("GET", "/api/runs/nope", "No run with id 'nope'.")]
    [TestCase("POST", "/api/runs/nope/cancel", "No run with id 'nope'.")]
    [TestCase("GET", "/api/pipeline-runs/nope", "No pipeline run with id 'nope'.")]
    [TestCase("POST", "/api/pipeline-runs/nope/cancel", "No pipeline run with id 'nope'.")]
    public async Task A_malformed_run_id_is_a_404_problem_naming_it(string method, string path, string detail)
    {
        var problem = await ApiAssertions.AssertProblemAsync(await admin.SendAsync(new HttpRequestMessage(new HttpMethod(method), path)), HttpStatusCode.NotFound);
        Assert.That(problem.GetProperty("detail").GetString(), Is.EqualTo(detail));
    }

    [TestCase("GET", "/api/runs/{0}", "No run with id '{0}'.")]
    [TestCase("GET", "/api/pipeline-runs/{0}", "No pipeline run with id '{0}'.")]
    public async Task A_well_formed_unknown_run_id_is_the_same_problem(string method, string path, string detail)
    {
        var id = Guid.NewGuid().ToString();
        var problem = await ApiAssertions.AssertProblemAsync(
            await admin.SendAsync(new HttpRequestMessage(new HttpMethod(method), string.Format(System.Globalization.CultureInfo.InvariantCulture, path, id))), HttpStatusCode.NotFound);
        Assert.That(problem.GetProperty("detail").GetString(), Is.EqualTo(string.Format(System.Globalization.CultureInfo.InvariantCulture, detail, id)));
    }
}
