using System.Text.Json.Nodes;
using Orchestrator.Definitions;

namespace Orchestrator.UnitTests.Definitions;

public sealed class DefinitionFilesTests
{
    [Test]
    public void Plain_YAML_scalars_read_as_JSON_types_and_quoted_ones_stay_strings()
    {
        var documents = DefinitionFiles.ParseYaml("""
            kind: schedule
            count: 3
            ratio: 0.5
            on: true
            nothing: ~
            quoted: "3"
            zip: 01234
            cron: 0 30 9 ? * MON-FRI
            list: [a, 2]
            """, "test.yaml");

        var d = documents.Single();
        Assert.That(d["count"]!.GetValue<int>(), Is.EqualTo(3));
        Assert.That(d["ratio"]!.GetValue<double>(), Is.EqualTo(0.5));
        Assert.That(d["on"]!.GetValue<bool>(), Is.True);
        Assert.That(d["nothing"], Is.Null);
        Assert.That(d["quoted"]!.GetValue<string>(), Is.EqualTo("3"));
        Assert.That(d["zip"]!.GetValue<string>(), Is.EqualTo("01234"));
        Assert.That(d["cron"]!.GetValue<string>(), Is.EqualTo("0 30 9 ? * MON-FRI"));
        Assert.That(d["list"]!.ToJsonString(), Is.EqualTo("""["a",2]"""));
    }

    [Test]
    public void Several_YAML_documents_in_one_text_are_read_in_order_and_empty_ones_skipped()
    {
        var documents = DefinitionFiles.ParseYaml("kind: project\nid: a\n---\n---\nkind: tool\nname: b\n", "two.yaml");
        Assert.That(documents.Select(d => d["kind"]!.GetValue<string>()), Is.EqualTo(new[] { "project", "tool" }));
    }

    [Test]
    public void A_document_that_is_not_a_mapping_is_refused_naming_the_file_and_the_document_index()
    {
        var ex = Assert.Throws<DefinitionFileException>(() => DefinitionFiles.ParseYaml("kind: project\nid: a\n---\n- just\n- a list\n", "bad.yaml"));
        Assert.That(ex!.File, Is.EqualTo("bad.yaml"));
        Assert.That(ex.Document, Is.EqualTo(1));
        Assert.That(ex.Message, Does.StartWith("bad.yaml, document 1: "));
    }

    [Test]
    public void Invalid_YAML_is_refused_with_the_file_and_line()
    {
        var ex = Assert.Throws<DefinitionFileException>(() => DefinitionFiles.ParseYaml("kind: project\n  id: [unclosed\n", "broken.yaml"));
        Assert.That(ex!.Message, Does.StartWith("broken.yaml: is not valid YAML (line "));
    }

    [Test]
    public void JSON_text_may_hold_one_document_or_an_array_of_them()
    {
        Assert.That(DefinitionFiles.ParseJson("""{"kind":"project","id":"a"}""", "one.json"), Has.Count.EqualTo(1));
        Assert.That(DefinitionFiles.ParseJson("""[{"kind":"project","id":"a"},{"kind":"tool","name":"b"}]""", "two.json"), Has.Count.EqualTo(2));
        var ex = Assert.Throws<DefinitionFileException>(() => DefinitionFiles.ParseJson("""[{"kind":"project"}, 3]""", "mixed.json"));
        Assert.That(ex!.Document, Is.EqualTo(1));
    }

    [Test]
    public void Written_YAML_reads_back_as_the_same_JSON_including_strings_that_look_like_other_types()
    {
        var document = JsonNode.Parse("""
            {"kind":"schedule","name":"n","numberText":"42","boolText":"true","nullText":"null","yes":"yes","empty":"",
             "padded":" x ","multi":"line 1\nline 2","number":1.25,"flag":false,"none":null,
             "nested":{"list":[1,"2",{"a":"{{secret:x}}"}],"cron":"0 30 9 ? * MON-FRI","colon":"a: b","hash":"# not a comment"}}
            """)!.AsObject();

        var yaml = DefinitionFiles.ToYaml([document]);
        var read = DefinitionFiles.ParseYaml(yaml, "written.yaml").Single();

        Assert.That(JsonNode.DeepEquals(read, document), Is.True, yaml);
    }
}
