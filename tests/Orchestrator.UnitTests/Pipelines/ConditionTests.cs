using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Pipelines;

namespace Orchestrator.UnitTests.Pipelines;

public sealed class ConditionTests
{
    private static readonly JsonNode Context = JsonNode.Parse("""
        {
          "inputs": { "mode": "full", "limit": 10, "flags": [true, false], "empty": "" },
          "run": { "id": "r1" },
          "nodes": {
            "fetch": { "status": "succeeded", "output": { "status": 200, "body": { "items": [ { "id": 7, "name": "a b" } ], "ok": true, "count": 3 } } },
            "other": { "status": "skipped", "output": null }
          }
        }
        """)!;

    [TestCase("nodes.fetch.output.status == 200", true)]
    [TestCase("nodes.fetch.output.status != 200", false)]
    [TestCase("nodes.fetch.output.body.items[0].id >= 7", true)]
    [TestCase("nodes.fetch.output.body.items[0].id < 7", false)]
    [TestCase("nodes.fetch.output.body.items[0].name == 'a b'", true)]
    [TestCase("nodes.fetch.output.body.items[0].name == \"a b\"", true)]
    [TestCase("inputs.mode == 'full' && inputs.limit > 5", true)]
    [TestCase("inputs.mode == 'dry' || inputs.limit > 50", false)]
    [TestCase("!(inputs.mode == 'dry')", true)]
    [TestCase("!nodes.fetch.output.body.ok", false)]
    [TestCase("inputs.flags[0] && !inputs.flags[1]", true)]
    [TestCase("inputs.empty", false)]
    [TestCase("inputs.missing == null", true)]
    [TestCase("inputs.missing", false)]
    [TestCase("nodes.other.status == 'skipped'", true)]
    [TestCase("nodes.fetch.output.status == 200.0", true)]
    [TestCase("inputs.limit > 'a'", false)]
    [TestCase("inputs.mode < 'g'", true)]
    [TestCase("-1 < 0 && 2 <= 2 && 3 >= 3", true)]
    [TestCase("true && (false || (true && !false))", true)]
    [TestCase("nodes.fetch.output.body.count == 3 && nodes.fetch.output.body.items[5].id == null", true)]
    public void Conditions_evaluate_over_the_run_data(string expression, bool expected) =>
        Assert.That(Condition.Parse(expression).IsTrue(Context), Is.EqualTo(expected));

    [TestCase("nodes.fetch.output.status ==", "expected a value")]
    [TestCase("nodes.fetch.output.status = 200", "not part of the condition language")]
    [TestCase("(true", "expected ')'")]
    [TestCase("'unclosed", "not closed")]
    [TestCase("System.IO.File.Delete('x')", "a path starts with")]
    [TestCase("nodes.fetch.secret", "nodes.<id>.output")]
    [TestCase("inputs.x; drop table", "not part of the condition language")]
    [TestCase("inputs.x + 1", "not part of the condition language")]
    [TestCase("true true", "unexpected")]
    [TestCase("inputs[abc]", "array index")]
    public void Malformed_or_unsafe_expressions_are_refused_with_a_reason(string expression, string reason)
    {
        var ex = Assert.Throws<ExpressionException>(() => Condition.Parse(expression));
        Assert.That(ex!.Message, Does.Contain(reason));
    }

    [Test]
    public void An_expression_over_the_length_cap_is_refused() =>
        Assert.Throws<ExpressionException>(() => Condition.Parse(string.Join(" && ", Enumerable.Repeat("true", 500))));

    [Test]
    public void Parentheses_and_nots_nested_up_to_the_limit_parse()
    {
        var parens = new string('(', Condition.MaxNesting) + "inputs.limit > 5" + new string(')', Condition.MaxNesting);
        Assert.That(Condition.Parse(parens).IsTrue(Context), Is.True);
        var nots = new string('!', Condition.MaxNesting) + "true";
        Assert.That(Condition.Parse(nots).IsTrue(Context), Is.True, "an even number of '!'");
    }

    [TestCase("(", ")")]
    [TestCase("!", "")]
    [TestCase("!(", ")")]
    public void Nesting_one_level_past_the_limit_is_refused_with_a_reason(string open, string close)
    {
        var levels = (Condition.MaxNesting / (open.Length)) + 1;
        var text = string.Concat(Enumerable.Repeat(open, levels)) + "true" + string.Concat(Enumerable.Repeat(close, levels));
        var ex = Assert.Throws<ExpressionException>(() => Condition.Parse(text));
        Assert.That(ex!.Message, Does.Contain($"more than {Condition.MaxNesting} levels"));
    }

    [TestCase('(')]
    [TestCase('!')]
    public void Absurdly_deep_nesting_is_a_parse_error_not_a_stack_overflow(char open)
    {
        // The longest text the parser accepts, nearly all of it one kind of nesting; parsed on a small stack, so an
        // unbounded recursion would overflow here on any platform.
        var text = new string(open, Condition.MaxLength - 4) + "true";
        ExpressionException? thrown = null;
        var thread = new Thread(() => thrown = Record(() => Condition.Parse(text)), maxStackSize: 256 * 1024);
        thread.Start();
        thread.Join();
        Assert.That(thrown, Is.Not.Null, "refused with a parse error");
        Assert.That(thrown!.Message, Does.Contain("levels deep"));
    }

    private static ExpressionException? Record(Action action)
    {
        try
        {
            action();
            return null;
        }
        catch (ExpressionException ex)
        {
            return ex;
        }
    }

    [Test]
    public void Paths_are_reported_so_validation_can_check_they_read_upstream_nodes()
    {
        var paths = Condition.Parse("nodes.a.output.x == 1 || !nodes.b.status").Paths.Select(p => p.NodeId).ToList();
        Assert.That(paths, Is.EqualTo(new[] { "a", "b" }));
    }

    [Test]
    public void A_whole_value_template_keeps_its_json_type_and_text_templates_interpolate()
    {
        var config = JsonDocument.Parse("""{ "id": "{{nodes.fetch.output.body.items[0].id}}", "label": "item {{nodes.fetch.output.body.items[0].name}} of {{inputs.mode}}", "nested": ["{{nodes.fetch.output.body.items}}"], "plain": 5 }""").RootElement;
        var rendered = PipelineTemplates.Render(config, Context)!;
        Assert.That(rendered["id"]!.GetValueKind(), Is.EqualTo(JsonValueKind.Number));
        Assert.That(rendered["id"]!.GetValue<int>(), Is.EqualTo(7));
        Assert.That(rendered["label"]!.GetValue<string>(), Is.EqualTo("item a b of full"));
        Assert.That(rendered["nested"]![0]!.AsArray(), Has.Count.EqualTo(1));
        Assert.That(rendered["plain"]!.GetValue<int>(), Is.EqualTo(5));
    }

    [Test]
    public void A_template_that_refers_to_nothing_fails_instead_of_sending_an_empty_value()
    {
        var config = JsonDocument.Parse("""{ "url": "https://example.com/{{nodes.fetch.output.body.missing}}" }""").RootElement;
        var ex = Assert.Throws<ExpressionException>(() => PipelineTemplates.Render(config, Context));
        Assert.That(ex!.Message, Does.Contain("refers to nothing"));
    }

    [TestCase("{{secret:PROD_TOKEN}}")]
    [TestCase("Bearer {{ Secret : X }}")]
    public void A_template_value_carrying_a_secret_reference_is_refused(string smuggled)
    {
        var context = JsonNode.Parse($$"""{ "inputs": { "token": {{JsonSerializer.Serialize(smuggled)}} }, "nodes": {}, "run": {} }""")!;
        var config = JsonDocument.Parse("""{ "headers": { "Authorization": "{{inputs.token}}" } }""").RootElement;
        var ex = Assert.Throws<ExpressionException>(() => PipelineTemplates.Render(config, context));
        Assert.That(ex!.Message, Does.Contain("secret"));
    }
}
