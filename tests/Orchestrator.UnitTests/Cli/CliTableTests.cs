using System.Text.Json;
using Orchestrator.Cli;

namespace Orchestrator.UnitTests.Cli;

public sealed class CliTableTests
{
    private static JsonElement Json(string text) => JsonDocument.Parse(text).RootElement.Clone();

    [Test]
    public void A_page_prints_as_a_table_of_its_items_with_the_page_under_it()
    {
        var text = CliTable.Render(
            Json("""{"items":[{"id":"default.a","lastRun":{"status":"succeeded"}},{"id":"default.longer","lastRun":null}],"page":1,"pageSize":50,"total":2}"""),
            [new("ID", "id"), new("LAST RUN", "lastRun.status")]);
        var lines = text.Split(Environment.NewLine, StringSplitOptions.RemoveEmptyEntries);
        Assert.That(lines, Is.EqualTo(new[] { "ID              LAST RUN", "default.a       succeeded", "default.longer", "page 1 (page size 50), 2 in all" }));
    }

    [Test]
    public void A_list_without_fixed_columns_takes_the_first_items_scalar_fields()
    {
        var text = CliTable.Render(Json("""[{"id":"k1","createdAt":"2026-01-01T00:00:00Z","projects":["a"]}]"""), []);
        Assert.That(text, Does.StartWith("ID  CREATED AT"));
        Assert.That(text, Does.Not.Contain("PROJECTS"));
    }

    [Test]
    public void One_object_prints_its_fields_by_dotted_name()
    {
        var text = CliTable.Render(Json("""{"id":"r1","action":{"type":"noop","config":{"a":1}},"error":"line one\nline two","result":null}"""), []);
        Assert.That(text, Does.Contain("id:            r1"));
        Assert.That(text, Does.Contain("action.type:   noop"));
        Assert.That(text, Does.Contain("action.config: {\"a\":1}"));
        Assert.That(text, Does.Contain("error:         line one line two"), "a control character must not break the line");
    }

    [Test]
    public void An_empty_list_says_so()
    {
        Assert.That(CliTable.Render(Json("[]"), [new("ID", "id")]).Trim(), Is.EqualTo("(none)"));
    }
}
