using System.Text.Json;
using Orchestrator.Api;
using Orchestrator.Tools;

namespace Orchestrator.UnitTests.Tools;

public sealed class SchemaChecksTests
{
    private const string Remote = "http://169.254.169.254/schema.json";

    private static FieldErrors Parse(string schema)
    {
        var errors = new FieldErrors();
        SchemaChecks.Parse(JsonDocument.Parse(schema).RootElement, "parameters", errors);
        return errors;
    }

    // One case per place a schema can hold a subschema (and a vendor keyword no draft defines): each remote
    // reference must be refused, because resolving it would mean fetching the URL.
    [TestCase("""{"$ref": "R"}""", "parameters.$ref")]
    [TestCase("""{"$dynamicRef": "R"}""", "parameters.$dynamicRef")]
    [TestCase("""{"properties": {"a": {"$ref": "R"}}}""", "parameters.properties.a.$ref")]
    [TestCase("""{"items": {"$ref": "R"}}""", "parameters.items.$ref")]
    [TestCase("""{"prefixItems": [{"$ref": "R"}]}""", "parameters.prefixItems[0].$ref")]
    [TestCase("""{"unevaluatedItems": {"$ref": "R"}}""", "parameters.unevaluatedItems.$ref")]
    [TestCase("""{"unevaluatedProperties": {"$ref": "R"}}""", "parameters.unevaluatedProperties.$ref")]
    [TestCase("""{"dependentSchemas": {"a": {"$ref": "R"}}}""", "parameters.dependentSchemas.a.$ref")]
    [TestCase("""{"patternProperties": {"^x": {"$ref": "R"}}}""", "parameters.patternProperties.^x.$ref")]
    [TestCase("""{"$defs": {"d": {"$ref": "R"}}}""", "parameters.$defs.d.$ref")]
    [TestCase("""{"anyOf": [{"$ref": "R"}]}""", "parameters.anyOf[0].$ref")]
    [TestCase("""{"not": {"$ref": "R"}}""", "parameters.not.$ref")]
    [TestCase("""{"contains": {"$ref": "R"}}""", "parameters.contains.$ref")]
    [TestCase("""{"propertyNames": {"$ref": "R"}}""", "parameters.propertyNames.$ref")]
    [TestCase("""{"if": {"$ref": "R"}, "then": {}, "else": {}}""", "parameters.if.$ref")]
    [TestCase("""{"if": {}, "then": {"$ref": "R"}}""", "parameters.then.$ref")]
    [TestCase("""{"x-vendor": {"nested": [{"$ref": "R"}]}}""", "parameters.x-vendor.nested[0].$ref")]
    [TestCase("""{"properties": {"default": {"$ref": "R"}}}""", "parameters.properties.default.$ref")]
    [TestCase("""{"$ref": "other.json#/$defs/x"}""", "parameters.$ref")]
    [TestCase("""{"$ref": 5}""", "parameters.$ref")]
    public void A_remote_reference_anywhere_in_the_schema_is_refused(string schema, string field)
    {
        var errors = Parse(schema.Replace("\"R\"", $"\"{Remote}\"", StringComparison.Ordinal));
        Assert.That(errors.Entries.Keys, Does.Contain(field), errors.Summary);
        Assert.That(errors.Entries[field].Single(), Does.Contain("remote references are refused"));
    }

    [TestCase("""{"enum": [{"$ref": "R"}]}""")]
    [TestCase("""{"default": {"$ref": "R"}}""")]
    [TestCase("""{"examples": [{"$ref": "R"}]}""")]
    [TestCase("""{"const": {"$ref": "R"}}""")]
    [TestCase("""{"$defs": {"d": {"type": "string"}}, "properties": {"a": {"$ref": "#/$defs/d"}}}""")]
    public void Data_that_looks_like_a_reference_and_local_references_are_accepted(string schema) =>
        Assert.That(Parse(schema.Replace("\"R\"", $"\"{Remote}\"", StringComparison.Ordinal)).Summary, Is.Empty);

    // NJsonSchema accepted these and then ignored them, so they were refused; JsonSchema.Net enforces every one.
    [TestCase("""{"const": 1}""")]
    [TestCase("""{"type": "array", "contains": {"type": "string"}, "minContains": 1}""")]
    [TestCase("""{"propertyNames": {"maxLength": 1}}""")]
    [TestCase("""{"if": {"type": "integer"}, "then": {"minimum": 5}, "else": {"type": "string"}}""")]
    [TestCase("""{"prefixItems": [{"type": "string"}], "items": false}""")]
    [TestCase("""{"unevaluatedProperties": false}""")]
    [TestCase("""{"unevaluatedItems": false}""")]
    [TestCase("""{"dependentRequired": {"a": ["b"]}}""")]
    [TestCase("""{"dependentSchemas": {"a": {"required": ["b"]}}}""")]
    [TestCase("""{"$schema": "https://json-schema.org/draft/2020-12/schema", "type": "object"}""")]
    [TestCase("""{"$schema": "http://json-schema.org/draft-07/schema#", "items": [{"type": "string"}]}""")]
    public void Draft_2020_12_keywords_are_accepted(string schema) =>
        Assert.That(Parse(schema).Summary, Is.Empty);

    [TestCase("""{"type": 5}""", "parameters.type")]
    [TestCase("""{"type": "strnig"}""", "parameters.type")]
    [TestCase("""{"minimum": "x"}""", "parameters.minimum")]
    [TestCase("""{"required": "a"}""", "parameters.required")]
    [TestCase("""{"maxLength": -1}""", "parameters.maxLength")]
    [TestCase("""{"pattern": "([a-z"}""", "parameters.pattern")]
    [TestCase("""{"items": [{"type": "string"}]}""", "parameters.items")]
    [TestCase("""{"prefixItems": [{"pattern": "([a-"}]}""", "parameters.prefixItems[0].pattern")]
    [TestCase("""{"dependentSchemas": {"a": {"type": "float"}}}""", "parameters.dependentSchemas.a.type")]
    [TestCase("""{"dependentRequired": {"a": "b"}}""", "parameters.dependentRequired.a")]
    [TestCase("""{"unevaluatedProperties": {"maxLength": "x"}}""", "parameters.unevaluatedProperties.maxLength")]
    [TestCase("""{"properties": {"a": {"items": {"enum": 3}}}}""", "parameters.properties.a.items.enum")]
    [TestCase("""{"$schema": "http://example.com/my-dialect"}""", "parameters.$schema")]
    [TestCase("\"object\"", "parameters")]
    public void A_schema_that_is_not_valid_against_the_meta_schema_is_refused_where_the_mistake_is(string schema, string field)
    {
        var errors = Parse(schema);
        Assert.That(errors.Entries.Keys, Does.Contain(field), errors.Summary);
    }

    [Test]
    public void A_local_reference_to_nothing_is_refused() =>
        Assert.That(Parse("""{"properties": {"a": {"$ref": "#/$defs/missing"}}}""").Entries.Keys, Does.Contain("parameters.properties.a.$ref"));

    [Test]
    public void An_integer_beyond_64_bits_in_a_schema_is_refused_by_name() =>
        Assert.That(Parse("""{"const": 123456789012345678901234567890}""").Entries["parameters.const"].Single(), Is.EqualTo(JsonNumbers.OutOfRange));

    private static IReadOnlyList<ArgumentError> Validate(string schema, string instance) =>
        SchemaChecks.Validate(SchemaChecks.Build(schema), JsonDocument.Parse(instance).RootElement);

    [TestCase("""{"type": "string", "format": "date-time"}""", "\"tomorrow\"", "format", "must be a valid date-time")]
    [TestCase("""{"type": "string", "format": "date"}""", "\"31/01/2026\"", "format", "must be a valid date")]
    [TestCase("""{"type": "string", "format": "email"}""", "\"nobody\"", "format", "must be a valid email address")]
    [TestCase("""{"type": "string", "format": "uri"}""", "\"not a uri\"", "format", "must be a valid absolute URI")]
    [TestCase("""{"type": "string", "format": "ipv4"}""", "\"300.1.1.1\"", "format", "must be a valid IPv4 address")]
    [TestCase("""{"type": "string", "format": "uuid"}""", "\"xyz\"", "format", "must be a valid UUID")]
    [TestCase("""{"type": "number", "multipleOf": 3}""", "4", "multipleOf", "must be a multiple of 3")]
    [TestCase("""{"not": {"type": "integer"}}""", "3", "not", "matches the schema under 'not'")]
    [TestCase("""{"type": "number", "exclusiveMaximum": 3}""", "3", "exclusiveMaximum", "must be less than 3")]
    [TestCase("""{"type": "integer", "maximum": 10}""", "11", "maximum", "must be at most 10.")]
    [TestCase("""{"type": "string", "maxLength": 2}""", "\"abc\"", "maxLength", "must be at most 2 characters long.")]
    [TestCase("""{"type": "object", "minProperties": 2}""", "{}", "minProperties", "must have at least 2 properties.")]
    [TestCase("""{"type": "array", "uniqueItems": true}""", "[1, 1]", "uniqueItems", "must be unique")]
    [TestCase("""{"type": ["integer", "string"]}""", "true", "type", "must be an integer (a whole number) or a string.")]
    [TestCase("""{"enum": ["zip", "tar"]}""", "\"rar\"", "enum", "must be one of \"zip\", \"tar\".")]
    [TestCase("""{"const": "zip"}""", "\"rar\"", "const", "must be exactly zip.")]
    [TestCase("""{"type": "array", "contains": {"type": "string"}}""", "[1, 2]", "contains", "does not have as many items of the kind the schema asks for")]
    [TestCase("""{"type": "integer", "minimum": 1}""", "0", "minimum", "must be at least 1.")]
    [TestCase("""{"type": "string", "minLength": 1}""", "\"\"", "minLength", "must be at least 1 character long.")]
    [TestCase("""{"type": "array", "maxItems": 1}""", "[1, 2]", "maxItems", "must have at most 1 item.")]
    [TestCase("""{"enum": ["GET", "POST", 3]}""", "\"GOT\"", "enum", "must be one of \"GET\", \"POST\", 3.")]
    [TestCase("""{"enum": ["", "a, b", "c d"]}""", "\"x\"", "enum", "must be one of \"\", \"a, b\", \"c d\".")]
    [TestCase("""{"type": "object"}""", "[]", "type", "must be an object.")]
    public void A_failed_keyword_is_named_and_explained(string schema, string instance, string keyword, string message)
    {
        var errors = Validate(schema, instance);
        Assert.That(errors, Has.Count.EqualTo(1), string.Join(" | ", errors));
        Assert.That(errors[0].Keyword, Is.EqualTo(keyword));
        Assert.That(errors[0].Message, Does.Contain(message));
        Assert.That(errors[0].Path, Is.EqualTo("$"));
        Assert.That(errors[0].Message, Does.Not.Contain("keyword").And.Not.Contain(keyword + ":"), "a sentence, not the schema's vocabulary");
    }

    [Test]
    public void An_error_reads_as_a_sentence_naming_its_field()
    {
        var errors = Validate("""{"type": "object", "required": ["url"], "properties": {"method": {"enum": ["GET", "POST"]}, "retries": {"maximum": 10}}}""",
            """{"method": "GOT", "retries": 11}""");
        Assert.That(errors.Select(SchemaChecks.Sentence), Is.EquivalentTo(new[] { "'url' is required.", "method must be one of \"GET\", \"POST\".", "retries must be at most 10." }));
        Assert.That(SchemaChecks.Sentence(new ArgumentError("$", "type", "must be an object.")), Is.EqualTo("The value must be an object."));
        Assert.That(SchemaChecks.Sentence(new ArgumentError("$.files[1].name", "required", "'name' is required.")), Is.EqualTo("'files[1].name' is required."));
    }

    [Test]
    public void An_error_with_an_empty_or_unrooted_path_still_reads_as_a_sentence()
    {
        // An empty path was cut as "$..." and threw (a 500 in place of the problem).
        Assert.That(SchemaChecks.Sentence(new ArgumentError("", "type", "must be an object.")), Is.EqualTo("The value must be an object."));
        Assert.That(SchemaChecks.Sentence(new ArgumentError("$[0]", "type", "must be a string.")), Is.EqualTo("[0] must be a string."));
        Assert.That(SchemaChecks.Sentence(new ArgumentError("mode", "enum", "must be one of \"a\".")), Is.EqualTo("mode must be one of \"a\"."));
    }

    [Test]
    public void A_missing_required_property_is_reported_at_its_own_path()
    {
        var errors = Validate("""{"type": "object", "properties": {"files": {"type": "array", "items": {"type": "object", "required": ["name", "size"]}}}}""",
            """{"files": [{"size": 1}]}""");
        Assert.That(errors, Is.EqualTo(new[] { new ArgumentError("$.files[0].name", "required", "'name' is required.") }));
    }

    [Test]
    public void An_unknown_property_is_named()
    {
        var errors = Validate("""{"type": "object", "properties": {"a": {}}, "additionalProperties": false}""", """{"a": 1, "extra": 2}""");
        Assert.That(errors.Select(e => (e.Path, e.Keyword)), Is.EqualTo(new[] { ("$.extra", "additionalProperties") }));
        Assert.That(errors[0].Message, Does.Contain("'extra'"));
    }

    [Test]
    public void Then_applies_when_if_matches_and_its_failure_is_at_the_missing_property()
    {
        const string Schema = """{"type": "object", "if": {"properties": {"mode": {"const": "zip"}}}, "then": {"required": ["level"]}, "else": {"properties": {"level": false}}}""";
        Assert.That(Validate(Schema, """{"mode": "zip"}""").Select(e => (e.Path, e.Keyword)), Is.EqualTo(new[] { ("$.level", "required") }));
        Assert.That(Validate(Schema, """{"mode": "tar", "level": 1}""").Select(e => (e.Path, e.Keyword)), Is.EqualTo(new[] { ("$.level", "properties") }));
        Assert.That(Validate(Schema, """{"mode": "zip", "level": 1}"""), Is.Empty);
        Assert.That(Validate(Schema, """{"mode": "tar"}"""), Is.Empty);
    }

    [Test]
    public void Prefix_items_check_each_position_and_items_false_closes_the_tuple()
    {
        const string Schema = """{"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}], "items": false}""";
        Assert.That(Validate(Schema, """["x", "y", 3]""").Select(e => (e.Path, e.Keyword)), Is.EquivalentTo(new[] { ("$[0]", "type"), ("$[2]", "items") }));
        Assert.That(Validate(Schema, """[1, "y"]"""), Is.Empty);
    }

    [Test]
    public void Unevaluated_properties_see_through_all_of()
    {
        const string Schema = """{"allOf": [{"properties": {"a": {}}}], "properties": {"b": {}}, "unevaluatedProperties": false}""";
        Assert.That(Validate(Schema, """{"a": 1, "b": 2}"""), Is.Empty);
        Assert.That(Validate(Schema, """{"a": 1, "c": 3}""").Select(e => (e.Path, e.Keyword)), Is.EqualTo(new[] { ("$.c", "unevaluatedProperties") }));
    }

    [Test]
    public void Dependent_required_and_property_names_are_enforced()
    {
        const string Schema = """{"type": "object", "dependentRequired": {"user": ["password"]}, "propertyNames": {"maxLength": 8}}""";
        var errors = Validate(Schema, """{"user": "a", "much-too-long": 1}""");
        Assert.That(errors.Select(e => (e.Path, e.Keyword)), Is.EquivalentTo(new[] { ("$.password", "dependentRequired"), ("$.much-too-long", "maxLength") }));
        Assert.That(errors.Single(e => e.Keyword == "dependentRequired").Message, Is.EqualTo("'password' is required when 'user' is present."));
    }

    // JsonSchema.Net 8.0.5 evaluates draft-07's "dependencies" only under a draft-07 "$schema": under 2020-12 (the
    // default) or 2019-09 it would accept everything, so registration refuses it there, at the place it stands.
    [TestCase("""{"type": "object", "dependencies": {"a": ["b"]}}""", "parameters.dependencies", "draft 2020-12")]
    [TestCase("""{"$schema": "https://json-schema.org/draft/2020-12/schema", "dependencies": {"a": {"required": ["c"]}}}""", "parameters.dependencies", "draft 2020-12")]
    [TestCase("""{"$schema": "https://json-schema.org/draft/2019-09/schema", "dependencies": {"a": ["b"]}}""", "parameters.dependencies", "draft 2019-09")]
    [TestCase("""{"properties": {"x": {"items": {"dependencies": {"a": ["b"]}}}}}""", "parameters.properties.x.items.dependencies", "draft 2020-12")]
    public void Draft_07_dependencies_under_a_later_draft_are_refused_saying_what_to_use(string schema, string field, string draft)
    {
        var errors = Parse(schema);
        Assert.That(errors.Entries.Keys, Is.EqualTo(new[] { field }), errors.Summary);
        var message = errors.Entries[field].Single();
        Assert.That(message, Does.Contain($"ignored under {draft}"));
        Assert.That(message, Does.Contain("\"dependentRequired\"").And.Contain("\"dependentSchemas\"").And.Contain("draft-07"));
    }

    [Test]
    public void A_remote_reference_inside_refused_dependencies_is_refused_too() =>
        Assert.That(Parse("""{"dependencies": {"a": {"$ref": "R"}}}""".Replace("\"R\"", $"\"{Remote}\"", StringComparison.Ordinal)).Entries.Keys,
            Is.EquivalentTo(new[] { "parameters.dependencies", "parameters.dependencies.a.$ref" }));

    [Test]
    public void A_property_named_dependencies_is_no_keyword_and_is_accepted() =>
        Assert.That(Parse("""{"type": "object", "properties": {"dependencies": {"type": "array"}}, "required": ["dependencies"]}""").Summary, Is.Empty);

    [Test]
    public void Draft_07_dependencies_under_a_draft_07_schema_are_accepted_and_enforced_in_both_forms()
    {
        const string Schema = """
            {"$schema": "http://json-schema.org/draft-07/schema#", "type": "object",
             "dependencies": {"user": ["password"], "proxy": {"required": ["port"]}}}
            """;
        Assert.That(Parse(Schema).Summary, Is.Empty);

        var built = SchemaChecks.Parse(JsonDocument.Parse(Schema).RootElement, "parameters", new FieldErrors())!;
        Assert.That(SchemaChecks.Validate(built, JsonDocument.Parse("""{"user": "a", "password": "b"}""").RootElement), Is.Empty);
        var missingPassword = SchemaChecks.Validate(built, JsonDocument.Parse("""{"user": "a"}""").RootElement);
        Assert.That(missingPassword, Is.EqualTo(new[] { new ArgumentError("$.password", "dependencies", "'password' is required when 'user' is present.") }));
        var missingPort = SchemaChecks.Validate(built, JsonDocument.Parse("""{"proxy": "p"}""").RootElement);
        Assert.That(missingPort.Select(e => (e.Path, e.Keyword)), Is.EqualTo(new[] { ("$.port", "required") }));
    }

    [Test]
    public void A_value_matching_no_anyOf_alternative_is_one_anyOf_error_at_its_path_with_each_alternatives_reason()
    {
        var errors = Validate("""{"type": "object", "properties": {"a": {"anyOf": [{"type": "integer"}, {"type": "string", "minLength": 3}]}}}""", """{"a": true}""");
        Assert.That(errors, Has.Count.EqualTo(1), string.Join(" | ", errors));
        Assert.That(errors[0].Path, Is.EqualTo("$.a"));
        Assert.That(errors[0].Keyword, Is.EqualTo("anyOf"));
        Assert.That(errors[0].Message, Does.StartWith("matches none of the anyOf alternatives").And.Contain("#1:").And.Contain("#2:").And.Contain("integer"));
    }

    [Test]
    public void A_value_matching_no_oneOf_alternative_says_none()
    {
        var errors = Validate("""{"oneOf": [{"type": "integer"}, {"type": "string"}]}""", "true");
        Assert.That(errors.Select(e => (e.Path, e.Keyword)), Is.EqualTo(new[] { ("$", "oneOf") }));
        Assert.That(errors[0].Message, Does.StartWith("matches none of the oneOf alternatives"));
    }

    [Test]
    public void A_value_matching_several_oneOf_alternatives_says_which()
    {
        var errors = Validate("""{"oneOf": [{"type": "integer"}, {"type": "number"}]}""", "3");
        Assert.That(errors.Select(e => (e.Path, e.Keyword)), Is.EqualTo(new[] { ("$", "oneOf") }));
        Assert.That(errors[0].Message, Does.StartWith("matches more than one of the oneOf alternatives (#1, #2)"));
    }

    [Test]
    public void A_local_reference_is_followed()
    {
        var errors = Validate("""{"$defs": {"name": {"type": "string"}}, "properties": {"a": {"$ref": "#/$defs/name"}}}""", """{"a": 1}""");
        Assert.That(errors, Is.EqualTo(new[] { new ArgumentError("$.a", "type", "must be a string.") }));
    }

    [Test]
    public void Without_schema_keyword_a_schema_is_draft_2020_12()
    {
        // In draft 7 the array form of "items" is a tuple; in 2020-12 that is "prefixItems", which draft 7 ignores.
        var errors = Validate("""{"prefixItems": [{"type": "integer"}]}""", """["x"]""");
        Assert.That(errors.Select(e => (e.Path, e.Keyword)), Is.EqualTo(new[] { ("$[0]", "type") }));
    }

    [Test]
    public void A_stored_draft_7_tuple_without_schema_keyword_is_still_read_as_a_tuple()
    {
        // Registered before 2020-12 was the default: the array form of "items" cannot be read as 2020-12.
        var errors = Validate("""{"type": "array", "items": [{"type": "integer"}], "additionalItems": false}""", "[1, 2]");
        Assert.That(errors.Select(e => (e.Path, e.Keyword)), Is.EqualTo(new[] { ("$[1]", "additionalItems") }));
    }

    [TestCase("""{"const": 1}""", "123456789012345678901234567890", "$")]
    [TestCase("""{"properties": {"n": {"enum": [1, 2]}}}""", """{"n": -123456789012345678901234567890}""", "$.n")]
    public void An_integer_beyond_64_bits_is_refused_by_name_not_a_crash(string schema, string instance, string path)
    {
        var errors = Validate(schema, instance);
        Assert.That(errors.Select(e => e.Path), Is.EqualTo(new[] { path }), string.Join(" | ", errors));
        Assert.That(errors[0].Message, Is.EqualTo(JsonNumbers.OutOfRange).Or.Contain("must be one of").Or.Contain("exactly"));
    }

    [Test]
    public void An_integer_beyond_64_bits_is_compared_with_bounds()
    {
        var errors = Validate("""{"type": "integer", "maximum": 10}""", "123456789012345678901234567890");
        Assert.That(errors.Select(e => (e.Path, e.Keyword)), Is.EqualTo(new[] { ("$", "maximum") }));
    }

    [TestCase("/files/0/name", "$.files[0].name")]
    [TestCase("", "$")]
    [TestCase("/1", "$[1]")]
    [TestCase("/a~1b/c~0d", "$.a/b.c~d")]
    public void A_json_pointer_becomes_the_path_clients_see(string location, string path) =>
        Assert.That(SchemaChecks.PathOf(location), Is.EqualTo(path));
}
