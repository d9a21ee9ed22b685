using System.Text.Json;
using NJsonSchema;
using NJsonSchema.Validation;
using Orchestrator.Hosting;
using Orchestrator.Tools;

namespace Orchestrator.UnitTests.Tools;

public sealed class SchemaChecksTests
{
    private const string Remote = "http://169.254.169.254/schema.json";

    private static FieldErrors Check(string schema)
    {
        var errors = new FieldErrors();
        SchemaChecks.CheckSchema(JsonDocument.Parse(schema).RootElement, "parameters", errors);
        return errors;
    }

    // One case per place a schema can hold a subschema (or something NJsonSchema still reads): each remote
    // reference must be refused before NJsonSchema sees the document, because parsing it would fetch the URL.
    [TestCase("""{"$ref": "R"}""", "parameters.$ref")]
    [TestCase("""{"properties": {"a": {"$ref": "R"}}}""", "parameters.properties.a.$ref")]
    [TestCase("""{"items": {"$ref": "R"}}""", "parameters.items.$ref")]
    [TestCase("""{"items": [{"type": "string"}, {"$ref": "R"}]}""", "parameters.items[1].$ref")]
    [TestCase("""{"prefixItems": [{"$ref": "R"}]}""", "parameters.prefixItems[0].$ref")]
    [TestCase("""{"items": [{"type": "string"}], "additionalItems": {"$ref": "R"}}""", "parameters.additionalItems.$ref")]
    [TestCase("""{"unevaluatedItems": {"$ref": "R"}}""", "parameters.unevaluatedItems.$ref")]
    [TestCase("""{"unevaluatedProperties": {"$ref": "R"}}""", "parameters.unevaluatedProperties.$ref")]
    [TestCase("""{"dependencies": {"a": {"$ref": "R"}}}""", "parameters.dependencies.a.$ref")]
    [TestCase("""{"dependentSchemas": {"a": {"$ref": "R"}}}""", "parameters.dependentSchemas.a.$ref")]
    [TestCase("""{"patternProperties": {"^x": {"$ref": "R"}}}""", "parameters.patternProperties.^x.$ref")]
    [TestCase("""{"definitions": {"d": {"$ref": "R"}}}""", "parameters.definitions.d.$ref")]
    [TestCase("""{"$defs": {"d": {"$ref": "R"}}}""", "parameters.$defs.d.$ref")]
    [TestCase("""{"additionalProperties": {"$ref": "R"}}""", "parameters.additionalProperties.$ref")]
    [TestCase("""{"anyOf": [{"$ref": "R"}]}""", "parameters.anyOf[0].$ref")]
    [TestCase("""{"allOf": [{"type": "object"}, {"$ref": "R"}]}""", "parameters.allOf[1].$ref")]
    [TestCase("""{"oneOf": [{"$ref": "R"}]}""", "parameters.oneOf[0].$ref")]
    [TestCase("""{"not": {"$ref": "R"}}""", "parameters.not.$ref")]
    [TestCase("""{"contains": {"$ref": "R"}}""", "parameters.contains.$ref")]
    [TestCase("""{"propertyNames": {"$ref": "R"}}""", "parameters.propertyNames.$ref")]
    [TestCase("""{"if": {"$ref": "R"}, "then": {}, "else": {}}""", "parameters.if.$ref")]
    [TestCase("""{"if": {}, "then": {"$ref": "R"}}""", "parameters.then.$ref")]
    [TestCase("""{"if": {}, "else": {"$ref": "R"}}""", "parameters.else.$ref")]
    [TestCase("""{"x-vendor": {"nested": [{"$ref": "R"}]}}""", "parameters.x-vendor.nested[0].$ref")]
    [TestCase("""{"properties": {"default": {"$ref": "R"}}}""", "parameters.properties.default.$ref")]
    [TestCase("""{"properties": {"a": {"items": [{"properties": {"b": {"$ref": "R"}}}]}}}""", "parameters.properties.a.items[0].properties.b.$ref")]
    [TestCase("""{"$ref": "other.json#/definitions/x"}""", "parameters.$ref")]
    [TestCase("""{"$ref": 5}""", "parameters.$ref")]
    public void A_remote_reference_anywhere_in_the_schema_is_refused(string schema, string field)
    {
        var errors = Check(schema.Replace("\"R\"", $"\"{Remote}\"", StringComparison.Ordinal));
        Assert.That(errors.Entries.Keys, Does.Contain(field), errors.Summary);
        Assert.That(errors.Entries[field].Single(), Does.Contain("remote references are refused"));
    }

    [TestCase("""{"enum": [{"$ref": "R"}]}""")]
    [TestCase("""{"default": {"$ref": "R"}}""")]
    [TestCase("""{"examples": [{"$ref": "R"}]}""")]
    [TestCase("""{"properties": {"a": {"default": {"$ref": "R"}}}}""")]
    [TestCase("""{"definitions": {"d": {"type": "string"}}, "properties": {"a": {"$ref": "#/definitions/d"}}}""")]
    public void Data_that_looks_like_a_reference_and_local_references_are_accepted(string schema) =>
        Assert.That(Check(schema.Replace("\"R\"", $"\"{Remote}\"", StringComparison.Ordinal)).Summary, Is.Empty);

    // Each of these was probed against NJsonSchema: it parses them and then accepts any value, so a tool author
    // relying on one would get no validation at all.
    [TestCase("""{"const": 1}""", "parameters.const", "enum")]
    [TestCase("""{"type": "array", "contains": {"type": "string"}}""", "parameters.contains", "items")]
    [TestCase("""{"propertyNames": {"maxLength": 1}}""", "parameters.propertyNames", "patternProperties")]
    [TestCase("""{"if": {"type": "integer"}, "then": {"minimum": 5}}""", "parameters.if", "anyOf")]
    [TestCase("""{"properties": {"a": {"if": {}, "else": {}}}}""", "parameters.properties.a.else", "anyOf")]
    [TestCase("""{"prefixItems": [{"type": "string"}]}""", "parameters.prefixItems", "items")]
    [TestCase("""{"unevaluatedProperties": false}""", "parameters.unevaluatedProperties", "additionalProperties")]
    [TestCase("""{"unevaluatedItems": false}""", "parameters.unevaluatedItems", "additionalItems")]
    [TestCase("""{"dependencies": {"a": ["b"]}}""", "parameters.dependencies", "required")]
    [TestCase("""{"dependentRequired": {"a": ["b"]}}""", "parameters.dependentRequired", "required")]
    [TestCase("""{"dependentSchemas": {"a": {"required": ["b"]}}}""", "parameters.dependentSchemas", "anyOf")]
    public void A_keyword_the_validator_would_ignore_is_refused_with_what_to_write_instead(string schema, string field, string suggestion)
    {
        var errors = Check(schema);
        Assert.That(errors.Entries.Keys, Does.Contain(field), errors.Summary);
        Assert.That(errors.Entries[field].Single(), Does.Contain("not enforced").And.Contain(suggestion));
    }

    [Test]
    public void Data_named_like_an_ignored_keyword_is_not_refused() =>
        Assert.That(Check("""{"properties": {"const": {"type": "string"}, "if": {"enum": [{"contains": 1}]}}}""").Summary, Is.Empty);

    [TestCase("""{"items": [{"type": "strnig"}]}""", "parameters.items[0].type")]
    [TestCase("""{"prefixItems": [{"pattern": "([a-"}]}""", "parameters.prefixItems[0].pattern")]
    [TestCase("""{"additionalItems": {"minItems": -1}}""", "parameters.additionalItems.minItems")]
    [TestCase("""{"additionalItems": 3}""", "parameters.additionalItems")]
    [TestCase("""{"dependencies": {"a": {"required": "b"}}}""", "parameters.dependencies.a.required")]
    [TestCase("""{"dependencies": {"a": [1]}}""", "parameters.dependencies.a")]
    [TestCase("""{"dependentSchemas": {"a": {"type": "float"}}}""", "parameters.dependentSchemas.a.type")]
    [TestCase("""{"dependentRequired": {"a": "b"}}""", "parameters.dependentRequired.a")]
    [TestCase("""{"unevaluatedProperties": {"maxLength": "x"}}""", "parameters.unevaluatedProperties.maxLength")]
    [TestCase("""{"anyOf": [true]}""", "parameters.anyOf[0]")]
    [TestCase("""{"properties": {"a": false}}""", "parameters.properties.a")]
    public void Structural_mistakes_in_every_kind_of_subschema_are_reported_where_they_are(string schema, string field)
    {
        var errors = Check(schema);
        Assert.That(errors.Entries.Keys, Does.Contain(field), errors.Summary);
    }

    private static async Task<IReadOnlyList<ArgumentError>> ValidateAsync(string schema, string arguments) =>
        SchemaChecks.Validate(await JsonSchema.FromJsonAsync(schema), JsonDocument.Parse(arguments).RootElement);

    [TestCase("""{"type": "string", "format": "date-time"}""", "\"tomorrow\"", "format", "must be a valid date-time")]
    [TestCase("""{"type": "string", "format": "date"}""", "\"31/01/2026\"", "format", "must be a valid date")]
    [TestCase("""{"type": "string", "format": "email"}""", "\"nobody\"", "format", "must be a valid email address")]
    [TestCase("""{"type": "string", "format": "uri"}""", "\"not a uri\"", "format", "must be a valid absolute URI")]
    [TestCase("""{"type": "string", "format": "ipv4"}""", "\"300.1.1.1\"", "format", "must be a valid IPv4 address")]
    [TestCase("""{"type": "string", "format": "ipv6"}""", "\"::g\"", "format", "must be a valid IPv6 address")]
    [TestCase("""{"type": "string", "format": "guid"}""", "\"xyz\"", "format", "must be a valid UUID")]
    [TestCase("""{"type": "string", "format": "hostname"}""", "\"a b\"", "format", "must be a valid hostname")]
    [TestCase("""{"type": "number", "multipleOf": 3}""", "4", "multipleOf", "must be a multiple of 3")]
    [TestCase("""{"type": "integer", "multipleOf": 5}""", "7", "multipleOf", "must be a multiple of 5")]
    [TestCase("""{"not": {"type": "integer"}}""", "3", "not", "matches the schema under 'not'")]
    [TestCase("""{"type": "number", "exclusiveMaximum": 3}""", "3", "maximum", "must be less than 3")]
    [TestCase("""{"type": "object", "minProperties": 2}""", "{}", "minProperties", "has fewer than 2 properties")]
    [TestCase("""{"type": "array", "uniqueItems": true}""", "[1, 1]", "uniqueItems", "must be unique")]
    [TestCase("""{"type": ["integer", "string"]}""", "true", "type", "must be of type integer or string")]
    [TestCase("""{"enum": ["zip", "tar"]}""", "\"rar\"", "enum", "\"zip\", \"tar\"")]
    public async Task A_failed_keyword_is_named_and_explained(string schema, string arguments, string keyword, string message)
    {
        var errors = await ValidateAsync(schema, arguments);
        Assert.That(errors, Has.Count.EqualTo(1), string.Join(" | ", errors));
        Assert.That(errors[0].Keyword, Is.EqualTo(keyword));
        Assert.That(errors[0].Message, Does.Contain(message));
        Assert.That(errors[0].Path, Is.EqualTo("$"));
    }

    [Test]
    public async Task A_value_matching_no_anyOf_alternative_is_one_anyOf_error_at_its_path_with_each_alternatives_reason()
    {
        var errors = await ValidateAsync("""{"type": "object", "properties": {"a": {"anyOf": [{"type": "integer"}, {"type": "string", "minLength": 3}]}}}""", """{"a": true}""");
        Assert.That(errors, Has.Count.EqualTo(1), string.Join(" | ", errors));
        Assert.That(errors[0].Path, Is.EqualTo("$.a"));
        Assert.That(errors[0].Keyword, Is.EqualTo("anyOf"));
        Assert.That(errors[0].Message, Does.StartWith("matches none of the anyOf alternatives").And.Contain("#1:").And.Contain("#2:").And.Contain("integer"));
    }

    [Test]
    public async Task A_value_matching_no_oneOf_alternative_says_none()
    {
        var errors = await ValidateAsync("""{"oneOf": [{"type": "integer"}, {"type": "string"}]}""", "true");
        Assert.That(errors.Select(e => (e.Path, e.Keyword)), Is.EqualTo(new[] { ("$", "oneOf") }));
        Assert.That(errors[0].Message, Does.StartWith("matches none of the oneOf alternatives"));
    }

    [Test]
    public async Task A_value_matching_several_oneOf_alternatives_says_which()
    {
        var errors = await ValidateAsync("""{"oneOf": [{"type": "integer"}, {"type": "number"}]}""", "3");
        Assert.That(errors.Select(e => (e.Path, e.Keyword)), Is.EqualTo(new[] { ("$", "oneOf") }));
        Assert.That(errors[0].Message, Does.StartWith("matches more than one of the oneOf alternatives (#1, #2)"));
    }

    [Test]
    public async Task An_item_beyond_a_closed_tuple_is_reported_at_its_index()
    {
        var errors = await ValidateAsync("""{"type": "array", "items": [{"type": "integer"}], "additionalItems": false}""", "[1, 2]");
        Assert.That(errors.Select(e => (e.Path, e.Keyword)), Is.EqualTo(new[] { ("$[1]", "additionalItems") }));
    }

    private static readonly HashSet<string> JsonSchemaKeywords =
    [
        "type", "required", "additionalProperties", "enum", "maxLength", "minLength", "maximum", "minimum", "maxItems", "minItems",
        "maxProperties", "minProperties", "pattern", "uniqueItems", "items", "additionalItems", "anyOf", "allOf", "oneOf", "not",
        "multipleOf", "format",
    ];

    [Test]
    public void Every_validation_error_kind_maps_to_a_json_schema_keyword_and_a_message_that_is_not_the_enum_name()
    {
        foreach (var kind in Enum.GetValues<ValidationErrorKind>().Where(k => k != ValidationErrorKind.Unknown))
        {
            Assert.That(JsonSchemaKeywords, Does.Contain(SchemaChecks.Keyword(kind)), kind.ToString());
            var message = SchemaChecks.Message(new ValidationError(kind, "p", "#/p", null, new JsonSchema()));
            Assert.That(message, Does.Not.Contain(kind.ToString()), $"{kind} has a message of its own");
        }
    }
}
