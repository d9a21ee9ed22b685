using System.Text.Json;
using Orchestrator.Api;
using Orchestrator.Hosting;
using Orchestrator.Pipelines;

namespace Orchestrator.UnitTests.Pipelines;

/// <summary>The definition's own rules, without a database: what the split off <see cref="PipelineReferenceChecks"/> makes testable alone.</summary>
public sealed class PipelineGraphChecksTests
{
    private static NodeRequest Node(string id, string type = "condition", string? expression = "true") =>
        new(id, type, null, expression, null, null, null, null);

    private static PipelineRequest Request(List<NodeRequest?> nodes, List<EdgeRequest?> edges) => new("p", "p", null, null, null, null, nodes, edges);

    [Test]
    public void A_cycle_is_reported_with_the_nodes_on_it_and_leaves_no_order()
    {
        var errors = new FieldErrors();
        var graph = PipelineGraphChecks.CheckGraph(Request([Node("a"), Node("b"), Node("c")], [new("a", "b", true), new("b", "c", true), new("c", "b", true)]), new PipelinesOptions(), errors);
        Assert.That(graph!.Order, Is.Null);
        Assert.That(errors.Entries["edges"].Single(), Does.StartWith("form a cycle through 'b', 'c'"));
    }

    [Test]
    public void Ancestors_are_every_node_upstream()
    {
        var errors = new FieldErrors();
        var graph = PipelineGraphChecks.CheckGraph(Request([Node("a"), Node("b"), Node("c")], [new("a", "b", true), new("b", "c", true)]), new PipelinesOptions(), errors);
        Assert.That(errors.Any, Is.False);
        Assert.That(graph!.Order, Is.EqualTo(new[] { "a", "b", "c" }));
        Assert.That(graph.Ancestors!["c"], Is.EquivalentTo(new[] { "a", "b" }));
    }

    [Test]
    public void A_template_reading_a_node_that_does_not_run_before_is_refused()
    {
        var errors = new FieldErrors();
        var config = JsonDocument.Parse("""{ "url": "https://example.com/{{nodes.later.output.id}}" }""").RootElement;
        PipelineGraphChecks.CheckTemplatePaths(config, "nodes.n.action.config", "n", ["earlier"], errors);
        Assert.That(errors.Entries["nodes.n.action.config"].Single(), Does.Contain("reads node 'later', which does not run before 'n'"));
    }

    [Test]
    public void A_placeholder_the_field_does_not_offer_is_refused_naming_the_field()
    {
        var errors = new FieldErrors();
        var config = JsonDocument.Parse("""{ "url": "https://example.com/", "headers": { "X-Attempt": "{{run.attempt}}" }, "body": { "tenant": "{{inputs.tenant}}", "n": "{{schedule.name}}" } }""").RootElement;
        PipelineGraphChecks.CheckPlaceholders("call_api", config, "nodes.n.action.config", errors);
        Assert.That(errors.Entries.Keys, Is.EquivalentTo(new[] { "nodes.n.action.config.headers.X-Attempt", "nodes.n.action.config.body.n" }));
    }

    [Test]
    public void A_notification_node_accepts_a_schedules_placeholders_beside_the_pipelines_data()
    {
        var errors = new FieldErrors();
        var config = JsonDocument.Parse("""{ "channel": "ops", "subject": "{{schedule.name}} {{run.pipelineId}}", "message": "{{inputs.t}} attempt {{run.attempt}} at {{run.scheduledFireTime}}, {{nope}}" }""").RootElement;
        PipelineGraphChecks.CheckPlaceholders("send_notification", config, "nodes.n.action.config", errors);
        Assert.That(errors.Entries.Keys, Is.EqualTo(new[] { "nodes.n.action.config.message" }));
        Assert.That(errors.Entries["nodes.n.action.config.message"].Single(), Does.StartWith("'{{nope}}' is not a known placeholder"));
    }
}
