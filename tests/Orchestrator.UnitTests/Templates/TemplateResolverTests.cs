using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Actions;
using Orchestrator.Api;
using Orchestrator.Pipelines;
using Orchestrator.Templates;

namespace Orchestrator.UnitTests.Templates;

public sealed class TemplateResolverTests
{
    private static readonly ActionInvocation Invocation = new(
        Guid.Parse("11111111-2222-3333-4444-555555555555"), "pipeline:nightly", "tell", "ops", 3, "key-7",
        new DateTimeOffset(2026, 11, 30, 18, 0, 0, TimeSpan.Zero), JsonDocument.Parse("{}").RootElement);

    private static readonly JsonNode PipelineRun = JsonNode.Parse("""
        {
          "inputs": { "tenant": "acme", "limit": 10 },
          "run": { "id": "r1", "pipelineId": "nightly", "version": 4, "project": "ops" },
          "nodes": { "fetch": { "status": "succeeded", "output": { "body": { "id": 7 } } } }
        }
        """)!;

    [TestCase("{{run.id}}", "11111111-2222-3333-4444-555555555555")]
    [TestCase("{{run.attempt}}", "3")]
    [TestCase("{{ run.idempotencyKey }}", "key-7")]
    [TestCase("{{run.scheduledFireTime}}", "2026-11-30T18:00:00.0000000+00:00")]
    [TestCase("{{schedule.id}}", "pipeline:nightly")]
    [TestCase("{{schedule.name}}", "tell")]
    [TestCase("{{schedule.project}}", "ops")]
    public void The_run_and_schedule_namespaces_render_from_the_invocation(string template, string expected) =>
        Assert.That(TemplateResolver.RenderText($"<{template}>", new InvocationValues(Invocation)), Is.EqualTo($"<{expected}>"));

    [Test]
    public void The_inputs_nodes_and_run_namespaces_render_from_the_pipeline_run_with_their_json_type()
    {
        var config = JsonDocument.Parse("""{ "id": "{{nodes.fetch.output.body.id}}", "text": "{{inputs.tenant}}/{{inputs.limit}} v{{run.version}} of {{run.pipelineId}}", "run": "{{run.id}}" }""").RootElement;
        var rendered = PipelineTemplates.Render(config, PipelineRun)!;
        Assert.That(rendered["id"]!.GetValueKind(), Is.EqualTo(JsonValueKind.Number));
        Assert.That(rendered["text"]!.GetValue<string>(), Is.EqualTo("acme/10 v4 of nightly"));
        Assert.That(rendered["run"]!.GetValue<string>(), Is.EqualTo("r1"));
    }

    [Test]
    public void A_pipeline_leaves_what_a_notification_fills_per_attempt_to_the_sender_which_then_fills_it()
    {
        var config = JsonDocument.Parse("""{ "message": "{{inputs.tenant}} attempt {{run.attempt}} of {{schedule.name}} at {{run.scheduledFireTime}} ({{run.idempotencyKey}})" }""").RootElement;
        var atNodeStart = PipelineTemplates.Render(config, PipelineRun)!["message"]!.GetValue<string>();
        Assert.That(atNodeStart, Is.EqualTo("acme attempt {{run.attempt}} of {{schedule.name}} at {{run.scheduledFireTime}} ({{run.idempotencyKey}})"));
        Assert.That(TemplateResolver.RenderText(atNodeStart, new InvocationValues(Invocation)),
            Is.EqualTo("acme attempt 3 of tell at 2026-11-30T18:00:00.0000000+00:00 (key-7)"));
    }

    [Test]
    public void The_args_namespace_renders_from_a_tools_arguments()
    {
        var arguments = JsonDocument.Parse("""{ "city": "Zürich", "n": 2 }""").RootElement;
        Assert.That(TemplateResolver.RenderText("q={{args.city}}&n={{args.n}}", new ArgumentValues(arguments), (_, text) => Uri.EscapeDataString(text)),
            Is.EqualTo("q=Z%C3%BCrich&n=2"));
    }

    [Test]
    public void A_placeholder_whose_value_is_missing_fails_instead_of_rendering_empty()
    {
        var ex = Assert.Throws<TemplateException>(() => TemplateResolver.RenderText("a {{run.id}}", new EmptyRun()));
        Assert.That(ex!.Message, Is.EqualTo("'{{run.id}}' refers to nothing in this run."));
        var missing = Assert.Throws<ActionFailedException>(() => TemplateResolver.RenderText("{{args.city}}", new ArgumentValues(JsonDocument.Parse("{}").RootElement)));
        Assert.That(missing!.Message, Is.EqualTo("Argument 'city' is used by the tool's template but was not given."));
        var config = JsonDocument.Parse("""{ "x": "{{inputs.nope}}" }""").RootElement;
        Assert.That(Assert.Throws<ExpressionException>(() => PipelineTemplates.Render(config, PipelineRun))!.Message, Does.Contain("'{{inputs.nope}}' refers to nothing"));
    }

    [Test]
    public void Text_a_source_does_not_fill_stays_as_written()
    {
        Assert.That(TemplateResolver.RenderText("{{inputs.x}} {{secret:TOKEN}} {{ not a placeholder }}", new InvocationValues(Invocation)),
            Is.EqualTo("{{inputs.x}} {{secret:TOKEN}} {{ not a placeholder }}"));
    }

    [Test]
    public void A_schedules_notification_and_a_pipeline_nodes_notification_accept_the_same_placeholders()
    {
        foreach (var name in TemplateContext.RunNames)
        {
            var text = $"x {{{{{name}}}}} y";
            Assert.That(TemplateValidator.Unavailable(text, TemplateContext.ScheduleNotification), Is.Empty, name);
            Assert.That(TemplateValidator.Unavailable(text, TemplateContext.PipelineNotification), Is.Empty, name);
        }
    }

    [TestCase("{{nope}}")]
    [TestCase("{{nope.x}}")]
    [TestCase("{{schedule.nmae}}")]
    [TestCase("{{run.nope}}")]
    [TestCase("{{inputs.x}}")]
    [TestCase("{{nodes.a.output}}")]
    [TestCase("{{args.x}}")]
    public void A_schedules_notification_refuses_what_it_does_not_offer_naming_the_placeholder(string placeholder)
    {
        var errors = new FieldErrors();
        TemplateValidator.Check($"hello {placeholder}", TemplateContext.ScheduleNotification, "action.config.message", errors);
        Assert.That(errors.Entries["action.config.message"].Single(), Does.StartWith($"'{placeholder}' is not a known placeholder; use {{{{schedule.name}}}}"));
    }

    /// <summary>
    /// Braces another system wrote in a notification (a CI's <c>{{build-id}}</c>, a template's <c>{{items[0]}}</c>)
    /// were sent as written before the one template language, where notifications read names of letters, digits, '_'
    /// and '.' only; refusing them broke stored schedules and the <c>notify</c> tool. They stay text, and are not filled.
    /// </summary>
    [TestCase("{{build-id}}")]
    [TestCase("{{items[0]}}")]
    [TestCase("{{ci:branch}}")]
    [TestCase("{{run.id-x}}")]
    public void A_notification_sends_braces_of_another_systems_syntax_as_written(string braces)
    {
        var text = $"build {braces} for {{{{schedule.name}}}}";
        Assert.That(TemplateValidator.Unavailable(text, TemplateContext.ScheduleNotification), Is.Empty);
        Assert.That(TemplateValidator.Unavailable(text, TemplateContext.PipelineNotification), Is.Empty);
        Assert.That(TemplateResolver.RenderText(text, new InvocationValues(Invocation)), Is.EqualTo($"build {braces} for tell"));
    }

    [Test]
    public void A_pipeline_notification_still_reads_data_paths_with_indices() =>
        Assert.That(TemplateValidator.Unavailable("{{nodes.fetch.output.items[0]}} {{inputs.a-b}}", TemplateContext.PipelineNotification), Is.Empty);

    [TestCase("{{run.attempt}}")]
    [TestCase("{{run.scheduledFireTime}}")]
    [TestCase("{{schedule.name}}")]
    [TestCase("{{args.x}}")]
    [TestCase("{{run.nope}}")]
    public void A_pipeline_nodes_config_refuses_a_language_placeholder_nothing_fills_there(string placeholder)
    {
        var errors = new FieldErrors();
        TemplateValidator.Check($"https://example.com/{placeholder}", TemplateContext.PipelineNode, "nodes.n.action.config.url", errors);
        Assert.That(errors.Entries["nodes.n.action.config.url"].Single(), Does.Contain($"'{placeholder}' is not a known placeholder in a pipeline node's config"));
    }

    [TestCase("{{inputs.a.b[0]}} {{nodes.x.output.y}} {{run.id}} {{run.pipelineId}} {{run.version}} {{run.project}}")]
    [TestCase("{{handlebars}} of another system, sent as written")]
    public void A_pipeline_nodes_config_accepts_the_pipelines_data_and_leaves_other_braces_alone(string text) =>
        Assert.That(TemplateValidator.Unavailable(text, TemplateContext.PipelineNode), Is.Empty);

    [Test]
    public void A_pipeline_notification_also_offers_the_pipelines_data()
    {
        Assert.That(TemplateValidator.Unavailable("{{inputs.t}} {{nodes.a.output.x}} {{run.pipelineId}} {{run.attempt}}", TemplateContext.PipelineNotification), Is.Empty);
        Assert.That(TemplateValidator.Unavailable("{{args.x}} {{whatever}}", TemplateContext.PipelineNotification).Select(r => r.Written),
            Is.EqualTo(new[] { "{{args.x}}", "{{whatever}}" }));
    }

    [Test]
    public void Spaces_inside_the_braces_and_indices_belong_to_one_reference()
    {
        var reference = TemplateReference.Whole("{{ nodes.fetch.output.items[0].id }}");
        Assert.That(reference, Is.EqualTo(new TemplateReference("nodes", "fetch.output.items[0].id")));
        Assert.That(TemplateReference.Whole("{{inputs[0]}}")!.Text, Is.EqualTo("inputs[0]"));
        Assert.That(TemplateReference.Whole("a {{inputs.x}}"), Is.Null);
    }

    private sealed class EmptyRun : ITemplateValues
    {
        public bool Fills(TemplateReference reference) => reference.Namespace == TemplateContext.Run;

        public JsonNode? Lookup(TemplateReference reference, out bool found)
        {
            found = false;
            return null;
        }
    }
}
