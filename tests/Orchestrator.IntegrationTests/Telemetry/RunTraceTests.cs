using System.Diagnostics;
using System.Net;
using Microsoft.Extensions.DependencyInjection;
using OpenTelemetry.Trace;
using Orchestrator.IntegrationTests.Infrastructure;
using Quartz.Diagnostics;

namespace Orchestrator.IntegrationTests.Telemetry;

/// <summary>
/// One call_api run is one trace: Quartz's firing span, the run span the ledger opens under it, and the HttpClient
/// span of the call to a real HTTP server on 127.0.0.1 under that, collected by the in-memory exporter added to the
/// in-process server's OpenTelemetry; the peer sees the same trace in its traceparent header.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class RunTraceTests
{
    private readonly LockedList<Activity> spans = new();
    private InProcessServer server = null!;
    private RecordingHttpServer peer = null!;
    private HttpClient admin = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        peer = await RecordingHttpServer.StartAsync();
        var database = await TestPostgres.CreateDatabaseAsync("traces");
        server = InProcessServer.Start(
            PostgresNode.Environment(database, new Dictionary<string, string?> { ["Orchestrator__Outbound__AllowedHosts__0"] = "127.0.0.1" }),
            configureServices: services => services.AddOpenTelemetry().WithTracing(tracing => tracing.AddInMemoryExporter(spans)));
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

        if (peer is not null)
        {
            await peer.DisposeAsync();
        }
    }

    [Test]
    public async Task A_call_api_run_is_one_tree_of_the_quartz_firing_the_run_and_the_http_call()
    {
        await admin.CreateScheduleAsync(new
        {
            name = "traced",
            action = new { type = "call_api", config = new { method = "POST", url = peer.BaseUrl + "/traced", body = new { hello = "trace" } } },
            trigger = new { at = TimeProvider.System.GetUtcNow().AddSeconds(1).ToString("O", System.Globalization.CultureInfo.InvariantCulture) },
        });
        var run = (await Poll.UntilAsync(() => admin.RunsAsync("default.traced", "succeeded"), r => r.Count == 1, TimeSpan.FromSeconds(20), "the succeeded run"))[0];
        var runId = run.GetProperty("id").GetString();

        // Spans are exported as they end; the firing's span ends last, after the ledger has recorded the outcome.
        var runSpan = await Poll.UntilAsync(
            () => Task.FromResult(spans.Snapshot().FirstOrDefault(s => s.Source.Name == "Orchestrator" && (string?)s.GetTagItem("orchestrator.run.id") == runId)),
            s => s is not null && spans.Snapshot().Any(p => p.SpanId == s.ParentSpanId), TimeSpan.FromSeconds(10), "the run span and its parent");
        var all = spans.Snapshot().Where(s => s.TraceId == runSpan!.TraceId).ToList();

        Assert.Multiple(() =>
        {
            Assert.That(runSpan!.DisplayName, Is.EqualTo("run call_api"));
            Assert.That(runSpan.GetTagItem("orchestrator.schedule.id"), Is.EqualTo("default.traced"));
            Assert.That(runSpan.GetTagItem("orchestrator.run.attempt"), Is.EqualTo(1));
            Assert.That(runSpan.GetTagItem("orchestrator.action_type"), Is.EqualTo("call_api"));
            Assert.That(runSpan.GetTagItem("orchestrator.node"), Is.EqualTo(run.GetProperty("node").GetString()));
            Assert.That(runSpan.GetTagItem("orchestrator.run.outcome"), Is.EqualTo("succeeded"));
            Assert.That(runSpan.GetTagItem("orchestrator.ledger.decision"), Is.EqualTo("claim_first_attempt"));
            Assert.That(runSpan.Status, Is.Not.EqualTo(ActivityStatusCode.Error));
        });

        // Its parent is Quartz's span of the firing, the root of the trace.
        var firing = all.Single(s => s.SpanId == runSpan!.ParentSpanId);
        Assert.That(firing.Source.Name, Is.EqualTo(QuartzInstrumentation.ActivitySourceName));
        Assert.That(firing.OperationName, Is.EqualTo(OperationName.Job.Execute));
        Assert.That(firing.ParentSpanId, Is.EqualTo(default(ActivitySpanId)), "the firing is the trace's root");

        // The HTTP call is the run span's child, and the peer received the same trace.
        var call = all.Single(s => s.Kind == ActivityKind.Client && s.ParentSpanId == runSpan!.SpanId);
        Assert.That(call.Source.Name, Is.EqualTo("System.Net.Http"));
        Assert.That(call.GetTagItem("url.full")?.ToString(), Does.EndWith("/traced"));
        Assert.That(call.GetTagItem("http.response.status_code"), Is.EqualTo(200));
        var received = peer.RequestsTo("/traced").Single();
        Assert.That(received.Headers.GetValueOrDefault("traceparent"), Does.Contain(runSpan!.TraceId.ToHexString()), "the peer's request carries the run's trace");
    }

    [Test]
    public async Task Each_pipeline_node_has_a_span_under_the_firing_with_its_http_call_below_it()
    {
        await admin.PostForJsonAsync("/api/pipelines", new
        {
            id = "traced-pipe",
            name = "traced-pipe",
            nodes = new[]
            {
                new { id = "first", type = "action", action = new { type = "call_api", config = new { method = "GET", url = peer.BaseUrl + "/node-1" } } },
                new { id = "second", type = "action", action = new { type = "call_api", config = new { method = "GET", url = peer.BaseUrl + "/node-2" } } },
            },
            edges = new[] { new { from = "first", to = "second" } },
        }, HttpStatusCode.Created);
        var runId = (await admin.PostForJsonAsync("/api/pipelines/traced-pipe/run", new { inputs = new { } }, HttpStatusCode.Accepted)).GetProperty("id").GetString();

        List<Activity> Nodes() => [.. spans.Snapshot().Where(s => s.Source.Name == "Orchestrator" && (string?)s.GetTagItem("orchestrator.pipeline.run.id") == runId)];
        var nodes = await Poll.UntilAsync(() => Task.FromResult(Nodes()), n => n.Count == 2, TimeSpan.FromSeconds(20), "both nodes' spans");
        var first = nodes.Single(n => (string?)n.GetTagItem("orchestrator.pipeline.node.id") == "first");
        var second = nodes.Single(n => (string?)n.GetTagItem("orchestrator.pipeline.node.id") == "second");
        Assert.Multiple(() =>
        {
            Assert.That(first.DisplayName, Is.EqualTo("pipeline node call_api"));
            Assert.That(first.GetTagItem("orchestrator.pipeline.id"), Is.EqualTo("traced-pipe"));
            Assert.That(first.GetTagItem("orchestrator.run.outcome"), Is.EqualTo("succeeded"));
            Assert.That(first.GetTagItem("orchestrator.run.attempt"), Is.EqualTo(1));
            Assert.That(second.TraceId, Is.EqualTo(first.TraceId), "one run, one trace");
            Assert.That(second.ParentSpanId, Is.EqualTo(first.ParentSpanId), "siblings under the run's firing");
        });

        // A run started through the API is a Quartz job of its own: the nodes hang under its firing span.
        var firing = await Poll.UntilAsync(() => Task.FromResult(spans.Snapshot().FirstOrDefault(s => s.SpanId == first.ParentSpanId)), f => f is not null,
            TimeSpan.FromSeconds(10), "the pipeline run's firing span");
        Assert.That(firing!.Source.Name, Is.EqualTo(QuartzInstrumentation.ActivitySourceName));
        var call = await Poll.UntilAsync(() => Task.FromResult(spans.Snapshot().FirstOrDefault(s => s.Kind == ActivityKind.Client && s.ParentSpanId == second.SpanId)),
            c => c is not null, TimeSpan.FromSeconds(10), "the second node's HTTP span");
        Assert.That(call!.GetTagItem("url.full")?.ToString(), Does.EndWith("/node-2"));
    }

    [Test]
    public async Task The_health_probes_are_not_traced_but_the_api_is()
    {
        using var anonymous = server.CreateClient();
        Assert.That((await anonymous.GetAsync("/healthz")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await admin.GetAsync("/api/schedules?pageSize=1")).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        await Poll.UntilAsync(() => Task.FromResult(spans.Snapshot().Any(s => s.Kind == ActivityKind.Server && s.GetTagItem("url.path") is "/api/schedules")),
            found => found, TimeSpan.FromSeconds(5), "the API request's server span");
        Assert.That(spans.Snapshot().Where(s => s.Kind == ActivityKind.Server).Select(s => s.GetTagItem("url.path")), Has.None.EqualTo("/healthz"));
    }

    /// <summary>The exporter adds from the threads spans end on while the test reads.</summary>
    private sealed class LockedList<T> : ICollection<T>
    {
        private readonly List<T> items = [];
        private readonly Lock gate = new();

        public int Count
        {
            get
            {
                lock (gate)
                {
                    return items.Count;
                }
            }
        }

        public bool IsReadOnly => false;

        public List<T> Snapshot()
        {
            lock (gate)
            {
                return [.. items];
            }
        }

        public void Add(T item)
        {
            lock (gate)
            {
                items.Add(item);
            }
        }

        public void Clear()
        {
            lock (gate)
            {
                items.Clear();
            }
        }

        public bool Contains(T item) => Snapshot().Contains(item);

        public void CopyTo(T[] array, int arrayIndex) => Snapshot().CopyTo(array, arrayIndex);

        public bool Remove(T item)
        {
            lock (gate)
            {
                return items.Remove(item);
            }
        }

        public IEnumerator<T> GetEnumerator() => Snapshot().GetEnumerator();

        System.Collections.IEnumerator System.Collections.IEnumerable.GetEnumerator() => GetEnumerator();
    }
}
