using System.Net;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Telemetry;

/// <summary>
/// <c>/metrics</c> after a few real firings (noop and call_api to a real HTTP server on 127.0.0.1) on PostgreSQL: the
/// firings, the lateness histogram and the run outcomes are there with the right counts, anonymously.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class MetricsEndpointTests : ServerWithPeerFixture
{
    private const string Project = "metered";
    private string workspaces = null!;

    protected override string DatabaseName => "metrics";

    protected override IReadOnlyDictionary<string, string?> Settings
    {
        get
        {
            workspaces ??= Directory.CreateTempSubdirectory("orchestrator-metrics-ws-").FullName;
            return new Dictionary<string, string?> { ["Orchestrator__Workspaces__Roots__0"] = workspaces };
        }
    }

    private async Task<PrometheusText> ScrapeAsync()
    {
        // No key: Prometheus scrapes anonymously.
        using var anonymous = Server.CreateClient();
        using var response = await anonymous.GetAsync("/metrics");
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/plain"));
        return PrometheusText.Parse(await response.Content.ReadAsStringAsync());
    }

    [Test]
    public async Task Firings_lateness_and_outcomes_are_counted_per_project_action_type_and_status()
    {
        // A server process of its own, as an operator runs it: a meter listener sees every meter of its process, and
        // this test process hosts many in-process servers at once, whose instruments crowd one another out of an
        // exporter's streams (seen in full runs: a scrape with none of this server's instruments).
        var database = await TestPostgres.CreateDatabaseAsync("metricsprocess");
        await using var process = ServerProcess.Start(PostgresNode.Environment(database, new Dictionary<string, string?>
        {
            ["Orchestrator__Outbound__AllowedHosts__0"] = "127.0.0.1",
            ["Orchestrator__Workspaces__Roots__0"] = workspaces,
        }));
        await process.WaitUntilReadyAsync();
        using var admin = process.CreateClient(process.PrintedAdminKey);
        using var anonymous = process.CreateClient();
        async Task<PrometheusText> ScrapeProcessAsync()
        {
            using var response = await anonymous.GetAsync("/metrics");
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
            return PrometheusText.Parse(await response.Content.ReadAsStringAsync());
        }

        // A project of its own: the counts below are this test's firings only.
        await admin.PostForJsonAsync("/api/projects", new { id = Project, name = "Metered", rootPath = Path.Combine(workspaces, Project) }, HttpStatusCode.Created);
        Peer.Configure("/broken", new RecordingHttpServer.Behaviour(TimeSpan.Zero, Status: 500));
        var at = InOneSecond();
        foreach (var name in new[] { "noop-1", "noop-2", "noop-3" })
        {
            await admin.CreateScheduleAsync(new { name, project = Project, action = new { type = "noop", config = new { } }, trigger = new { at } });
        }

        foreach (var (name, path) in new[] { ("call-1", "/fine"), ("call-2", "/fine"), ("call-broken", "/broken") })
        {
            await admin.CreateScheduleAsync(new
            {
                name,
                project = Project,
                action = new { type = "call_api", config = new { method = "GET", url = Peer.BaseUrl + path } },
                trigger = new { at },
            });
        }

        var metrics = await Poll.UntilAsync(ScrapeProcessAsync,
            m => m.Sum("orchestrator_run_outcomes_total", ("project", Project)) >= 6, TimeSpan.FromSeconds(90), "six run outcomes in /metrics");

        Assert.Multiple(() =>
        {
            Assert.That(metrics.Sum("orchestrator_firings_total", ("project", Project), ("action_type", "noop"), ("trigger", "schedule")), Is.EqualTo(3), metrics.Text);
            Assert.That(metrics.Sum("orchestrator_firings_total", ("project", Project), ("action_type", "call_api")), Is.EqualTo(3));

            // The lateness histogram: one observation per firing, each in the +Inf bucket and (these fired within a
            // minute of their time) in the 60 s bucket, with a non-negative sum.
            Assert.That(metrics.Sum("orchestrator_firing_lateness_seconds_count", ("project", Project), ("action_type", "noop")), Is.EqualTo(3));
            Assert.That(metrics.Sum("orchestrator_firing_lateness_seconds_bucket", ("project", Project), ("action_type", "noop"), ("le", "+Inf")), Is.EqualTo(3));
            Assert.That(metrics.Sum("orchestrator_firing_lateness_seconds_bucket", ("project", Project), ("action_type", "call_api"), ("le", "60")), Is.EqualTo(3));
            Assert.That(metrics.Sum("orchestrator_firing_lateness_seconds_sum", ("project", Project)), Is.GreaterThanOrEqualTo(0));
            Assert.That(metrics.Samples.Count(s => s.Name == "orchestrator_firing_lateness_seconds_bucket" && s.Labels.GetValueOrDefault("project") == Project
                                                  && s.Labels.GetValueOrDefault("action_type") == "noop"), Is.EqualTo(17), "16 boundaries and +Inf");

            Assert.That(metrics.Sum("orchestrator_run_outcomes_total", ("project", Project), ("action_type", "noop"), ("status", "succeeded")), Is.EqualTo(3));
            Assert.That(metrics.Sum("orchestrator_run_outcomes_total", ("project", Project), ("action_type", "call_api"), ("status", "succeeded")), Is.EqualTo(2));
            Assert.That(metrics.Sum("orchestrator_run_outcomes_total", ("project", Project), ("action_type", "call_api"), ("status", "failed")), Is.EqualTo(1));
            Assert.That(metrics.Sum("orchestrator_run_duration_seconds_count", ("action_type", "call_api"), ("status", "failed")), Is.GreaterThanOrEqualTo(1));

            // Every one of the six ran as a first attempt; nothing here was a duplicate or a recovery.
            Assert.That(metrics.Sum("orchestrator_ledger_decisions_total", ("decision", "ran"), ("reason", "claim_first_attempt")), Is.GreaterThanOrEqualTo(6));
            Assert.That(metrics.Sum("orchestrator_recoveries_total", ("project", Project)), Is.Zero);

            // Quartz's own meter is exported beside the product's.
            Assert.That(metrics.Samples.Any(s => s.Name.StartsWith("quartz_", StringComparison.Ordinal)), Is.True, "Quartz's instruments");
        });
    }

    [Test]
    public async Task Metrics_answer_on_the_public_port_without_a_key_when_no_management_port_is_set()
    {
        var metrics = await ScrapeAsync();
        Assert.That(metrics.Text, Does.Contain("# TYPE"));
        Assert.That(metrics.Has("target_info"), Is.True, "the resource (service name) as target_info");
        Assert.That(metrics.Samples.First(s => s.Name == "target_info").Labels["service_name"], Is.EqualTo("orchestrator"));
    }
}
