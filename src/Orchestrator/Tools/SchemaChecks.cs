using System.Text.Json;
using System.Text.RegularExpressions;
using NJsonSchema;
using NJsonSchema.Validation;
using Orchestrator.Hosting;

namespace Orchestrator.Tools;

/// <summary>One argument problem: where (a JSON path from <c>$</c>), which schema keyword, and what to do about it.</summary>
public sealed record ArgumentError(string Path, string Keyword, string Message);

/// <summary>
/// Checks that a tool's schema is itself a usable JSON Schema, and validates arguments against it, reporting
/// every error with its path and keyword rather than "invalid parameters".
/// </summary>
public static class SchemaChecks
{
    private static readonly HashSet<string> Types = ["object", "array", "string", "number", "integer", "boolean", "null"];

    private static readonly string[] NonNegativeIntegers = ["minLength", "maxLength", "minItems", "maxItems", "minProperties", "maxProperties"];

    // Keywords whose values are instance data, not schemas: a "$ref" inside them is just data and is never resolved.
    private static readonly HashSet<string> DataKeywords = ["enum", "const", "default", "examples"];

    // Keywords whose values map names to schemas (or, for dependencies, to property lists): their keys are names
    // chosen by the author, so a property called "default" there is a schema, not data.
    private static readonly HashSet<string> NameMaps = ["properties", "patternProperties", "definitions", "$defs", "dependencies", "dependentSchemas", "dependentRequired"];

    /// <summary>
    /// Everything NJsonSchema's parser lets through that must not reach it: a <c>$ref</c> that is not local anywhere
    /// in the document (it would make parsing fetch a URL), and structural mistakes (unknown types, non-array
    /// 'required', bad regexes…) in every subschema.
    /// </summary>
    public static void CheckSchema(JsonElement schema, string field, FieldErrors errors)
    {
        // The reference scan walks the whole tree rather than the keywords the structural check knows: a keyword
        // this code does not list (or a future draft adds) must not become a way to smuggle a remote reference in.
        CheckReferences(schema, field, inNameMap: false, errors, depth: 0);
        CheckStructure(schema, field, errors, depth: 0);
    }

    private static void CheckReferences(JsonElement node, string at, bool inNameMap, FieldErrors errors, int depth)
    {
        if (depth > 64)
        {
            // CheckStructure reports the depth; this only has to stop.
            return;
        }

        if (node.ValueKind == JsonValueKind.Array)
        {
            var i = 0;
            foreach (var item in node.EnumerateArray())
            {
                CheckReferences(item, $"{at}[{i++}]", inNameMap: false, errors, depth + 1);
            }

            return;
        }

        if (node.ValueKind != JsonValueKind.Object)
        {
            return;
        }

        foreach (var property in node.EnumerateObject())
        {
            var path = $"{at}.{property.Name}";
            if (property.Name == "$ref" && property.Value.ValueKind != JsonValueKind.Object && !IsLocalReference(property.Value))
            {
                errors.Add(path, "must be a local reference ('#/…'); remote references are refused.");
                continue;
            }

            if (!inNameMap && DataKeywords.Contains(property.Name))
            {
                continue;
            }

            CheckReferences(property.Value, path, inNameMap: !inNameMap && NameMaps.Contains(property.Name), errors, depth + 1);
        }
    }

    private static bool IsLocalReference(JsonElement value) =>
        value.ValueKind == JsonValueKind.String && value.GetString()!.StartsWith("#/", StringComparison.Ordinal);

    /// <summary>Keywords NJsonSchema accepts but does not validate, with what to write instead.</summary>
    private static readonly Dictionary<string, string> Unenforced = new(StringComparer.Ordinal)
    {
        ["const"] = "use \"enum\" with the one value.",
        ["contains"] = "describe every item with \"items\" instead.",
        ["propertyNames"] = "list the properties under \"properties\" with \"additionalProperties\": false, or use \"patternProperties\".",
        ["if"] = "express the alternatives with \"anyOf\" or \"oneOf\".",
        ["then"] = "express the alternatives with \"anyOf\" or \"oneOf\".",
        ["else"] = "express the alternatives with \"anyOf\" or \"oneOf\".",
        ["prefixItems"] = "use the array form of \"items\" (one schema per position).",
        ["unevaluatedItems"] = "use \"additionalItems\" with the array form of \"items\".",
        ["unevaluatedProperties"] = "use \"additionalProperties\".",
        ["dependencies"] = "express the combinations with \"anyOf\"/\"oneOf\" and \"required\".",
        ["dependentRequired"] = "express the combinations with \"anyOf\"/\"oneOf\" and \"required\".",
        ["dependentSchemas"] = "express the combinations with \"anyOf\"/\"oneOf\".",
    };

    private static void CheckStructure(JsonElement schema, string field, FieldErrors errors, int depth)
    {
        if (depth > 32)
        {
            errors.Add(field, "nests deeper than 32 levels.");
            return;
        }

        if (schema.ValueKind != JsonValueKind.Object)
        {
            errors.Add(field, "must be a JSON Schema object.");
            return;
        }

        foreach (var property in schema.EnumerateObject())
        {
            var at = $"{field}.{property.Name}";
            var value = property.Value;
            if (Unenforced.TryGetValue(property.Name, out var instead))
            {
                // NJsonSchema parses these but never checks them: a schema relying on one would accept anything there.
                errors.Add(at, $"is not enforced by this server's validator, so it is refused rather than silently ignored; {instead}");
            }

            switch (property.Name)
            {
                case "type":
                    var types = value.ValueKind == JsonValueKind.Array ? value.EnumerateArray().ToList() : [value];
                    if (types.Count == 0 || types.Any(t => t.ValueKind != JsonValueKind.String || !Types.Contains(t.GetString()!)))
                    {
                        errors.Add(at, $"must be one of {string.Join(", ", Types)} (or an array of them).");
                    }

                    break;
                case "properties" or "patternProperties" or "definitions" or "$defs" or "dependentSchemas":
                    if (value.ValueKind != JsonValueKind.Object)
                    {
                        errors.Add(at, "must be an object of schemas.");
                        break;
                    }

                    foreach (var child in value.EnumerateObject())
                    {
                        CheckSubschema(child.Value, $"{at}.{child.Name}", errors, depth, allowBoolean: false);
                    }

                    break;
                case "dependencies":
                    if (value.ValueKind != JsonValueKind.Object)
                    {
                        errors.Add(at, "must be an object of schemas or property-name arrays.");
                        break;
                    }

                    foreach (var child in value.EnumerateObject())
                    {
                        if (child.Value.ValueKind == JsonValueKind.Array)
                        {
                            CheckNameArray(child.Value, $"{at}.{child.Name}", errors);
                        }
                        else
                        {
                            CheckSubschema(child.Value, $"{at}.{child.Name}", errors, depth, allowBoolean: false);
                        }
                    }

                    break;
                case "dependentRequired":
                    if (value.ValueKind != JsonValueKind.Object)
                    {
                        errors.Add(at, "must be an object of property-name arrays.");
                        break;
                    }

                    foreach (var child in value.EnumerateObject())
                    {
                        CheckNameArray(child.Value, $"{at}.{child.Name}", errors);
                    }

                    break;
                case "items" when value.ValueKind == JsonValueKind.Array:
                    // The tuple form (draft 7): one schema per position.
                    CheckSchemaArray(value, at, errors, depth, allowEmpty: true);
                    break;
                case "prefixItems":
                    CheckSchemaArray(value, at, errors, depth, allowEmpty: true);
                    break;
                case "items" or "additionalItems" or "unevaluatedItems" or "additionalProperties" or "unevaluatedProperties"
                    or "not" or "contains" or "propertyNames" or "if" or "then" or "else":
                    CheckSubschema(value, at, errors, depth);
                    break;
                case "allOf" or "anyOf" or "oneOf":
                    CheckSchemaArray(value, at, errors, depth, allowEmpty: false);
                    break;
                case "required":
                    CheckNameArray(value, at, errors);
                    break;
                case "enum":
                    if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() == 0)
                    {
                        errors.Add(at, "must be a non-empty array.");
                    }

                    break;
                case "pattern":
                    if (value.ValueKind != JsonValueKind.String || !IsRegex(value.GetString()!))
                    {
                        errors.Add(at, "must be a valid regular expression.");
                    }

                    break;
                case "minimum" or "maximum" or "exclusiveMinimum" or "exclusiveMaximum" or "multipleOf":
                    if (value.ValueKind != JsonValueKind.Number)
                    {
                        errors.Add(at, "must be a number.");
                    }

                    break;
                case var n when NonNegativeIntegers.Contains(n):
                    if (value.ValueKind != JsonValueKind.Number || !value.TryGetInt32(out var count) || count < 0)
                    {
                        errors.Add(at, "must be a non-negative integer.");
                    }

                    break;
            }
        }
    }

    /// <summary>
    /// A keyword whose value is one schema. NJsonSchema reads true/false (match anything / nothing) only where a
    /// single schema keyword stands alone (additionalProperties, items…); inside maps and arrays it fails to parse them.
    /// </summary>
    private static void CheckSubschema(JsonElement value, string at, FieldErrors errors, int depth, bool allowBoolean = true)
    {
        if (value.ValueKind == JsonValueKind.Object)
        {
            CheckStructure(value, at, errors, depth + 1);
        }
        else if (!allowBoolean)
        {
            errors.Add(at, "must be a JSON Schema object.");
        }
        else if (value.ValueKind is not JsonValueKind.True and not JsonValueKind.False)
        {
            errors.Add(at, "must be a schema (an object) or a boolean.");
        }
    }

    private static void CheckSchemaArray(JsonElement value, string at, FieldErrors errors, int depth, bool allowEmpty)
    {
        if (value.ValueKind != JsonValueKind.Array || (!allowEmpty && value.GetArrayLength() == 0))
        {
            errors.Add(at, allowEmpty ? "must be an array of schemas." : "must be a non-empty array of schemas.");
            return;
        }

        var i = 0;
        foreach (var item in value.EnumerateArray())
        {
            CheckSubschema(item, $"{at}[{i++}]", errors, depth, allowBoolean: false);
        }
    }

    private static void CheckNameArray(JsonElement value, string at, FieldErrors errors)
    {
        if (value.ValueKind != JsonValueKind.Array || value.EnumerateArray().Any(r => r.ValueKind != JsonValueKind.String))
        {
            errors.Add(at, "must be an array of property names.");
        }
    }

    public static async Task<JsonSchema?> ParseAsync(JsonElement schema, string field, FieldErrors errors)
    {
        foreach (var (path, _) in JsonNumbers.OutOfRangeIntegers(schema, field))
        {
            errors.Add(path, JsonNumbers.OutOfRange);
        }

        CheckSchema(schema, field, errors);
        if (errors.Any)
        {
            return null;
        }

        try
        {
            return await JsonSchema.FromJsonAsync(schema.GetRawText());
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException or NotSupportedException or ArgumentException or Newtonsoft.Json.JsonException)
        {
            errors.Add(field, $"is not a usable JSON Schema: {ex.Message}");
            return null;
        }
    }

    public static IReadOnlyList<ArgumentError> Validate(JsonSchema schema, JsonElement arguments) =>
        JsonNumbers.TryValidate(schema, arguments, out var errors)
            ? [.. Flatten(errors).Select(e => new ArgumentError(PathOf(e.Path), Keyword(e.Kind), Message(e)))]
            : [.. JsonNumbers.OutOfRangeIntegers(arguments, "$").Select(n => new ArgumentError(n.Path, n.Negative ? "minimum" : "maximum", JsonNumbers.OutOfRange))];

    /// <summary>
    /// Errors with children are replaced by their children (an allOf or an item says more through its parts), except
    /// where the children are alternatives: for anyOf, oneOf and a list of types each alternative failed for its own
    /// reason, so the useful report is one error at the value saying none (or several) matched.
    /// </summary>
    private static IEnumerable<ValidationError> Flatten(IEnumerable<ValidationError> errors)
    {
        foreach (var error in errors)
        {
            if (error is ChildSchemaValidationError child && child.Errors.Count > 0 && !IsAlternatives(error.Kind))
            {
                foreach (var inner in Flatten(child.Errors.SelectMany(e => e.Value)))
                {
                    yield return inner;
                }
            }
            else
            {
                yield return error;
            }
        }
    }

    private static bool IsAlternatives(ValidationErrorKind kind) => kind is ValidationErrorKind.NotAnyOf or ValidationErrorKind.NotOneOf or ValidationErrorKind.NoTypeValidates;

    /// <summary>"#/files[0].name", "#/files.0.name" and "#/[1]" become "$.files[0].name", "$.files[0].name" and "$[1]".</summary>
    internal static string PathOf(string? errorPath)
    {
        var path = (errorPath ?? "#").TrimStart('#').TrimStart('/').Replace('/', '.');
        path = Regex.Replace(path, @"\.(\d+)(?=\.|\[|$)", "[$1]");
        path = Regex.Replace(path, @"^(\d+)(?=\.|\[|$)", "[$1]");
        return path.Length == 0 ? "$" : path.StartsWith('[') ? "$" + path : "$." + path;
    }

    /// <summary>The JSON Schema keyword that failed, so a client can react to it without parsing messages.</summary>
    internal static string Keyword(ValidationErrorKind kind) => kind switch
    {
        ValidationErrorKind.StringExpected or ValidationErrorKind.NumberExpected or ValidationErrorKind.IntegerExpected or ValidationErrorKind.BooleanExpected
            or ValidationErrorKind.ObjectExpected or ValidationErrorKind.ArrayExpected or ValidationErrorKind.NullExpected or ValidationErrorKind.NoTypeValidates => "type",
        ValidationErrorKind.PropertyRequired => "required",
        ValidationErrorKind.NoAdditionalPropertiesAllowed or ValidationErrorKind.AdditionalPropertiesNotValid => "additionalProperties",
        ValidationErrorKind.NotInEnumeration => "enum",
        ValidationErrorKind.StringTooLong => "maxLength",
        ValidationErrorKind.StringTooShort => "minLength",
        ValidationErrorKind.NumberTooBig or ValidationErrorKind.IntegerTooBig => "maximum",
        ValidationErrorKind.NumberTooSmall => "minimum",
        ValidationErrorKind.TooManyItems => "maxItems",
        ValidationErrorKind.TooFewItems => "minItems",
        ValidationErrorKind.TooManyProperties => "maxProperties",
        ValidationErrorKind.TooFewProperties => "minProperties",
        ValidationErrorKind.PatternMismatch => "pattern",
        ValidationErrorKind.ItemsNotUnique => "uniqueItems",
        ValidationErrorKind.ArrayItemNotValid => "items",
        ValidationErrorKind.TooManyItemsInTuple or ValidationErrorKind.AdditionalItemNotValid => "additionalItems",
        ValidationErrorKind.NotAnyOf => "anyOf",
        ValidationErrorKind.NotAllOf => "allOf",
        ValidationErrorKind.NotOneOf => "oneOf",
        ValidationErrorKind.ExcludedSchemaValidates => "not",
        ValidationErrorKind.NumberNotMultipleOf or ValidationErrorKind.IntegerNotMultipleOf => "multipleOf",
        ValidationErrorKind.DateTimeExpected or ValidationErrorKind.DateExpected or ValidationErrorKind.TimeExpected or ValidationErrorKind.TimeSpanExpected
            or ValidationErrorKind.UriExpected or ValidationErrorKind.IpV4Expected or ValidationErrorKind.IpV6Expected or ValidationErrorKind.GuidExpected
            or ValidationErrorKind.UuidExpected or ValidationErrorKind.EmailExpected or ValidationErrorKind.HostnameExpected or ValidationErrorKind.Base64Expected => "format",
        _ => "schema",
    };

    internal static string Message(ValidationError error) => error.Kind switch
    {
        ValidationErrorKind.PropertyRequired => $"'{error.Property}' is required.",
        ValidationErrorKind.NoAdditionalPropertiesAllowed => $"'{error.Property}' is not a parameter of this tool.",
        ValidationErrorKind.AdditionalPropertiesNotValid => $"'{error.Property}' does not match the schema for additional properties.",
        ValidationErrorKind.NotInEnumeration => $"is not one of the allowed values: {AllowedValues(error.Schema)}.",
        ValidationErrorKind.StringTooLong => $"is longer than {error.Schema?.MaxLength} characters.",
        ValidationErrorKind.StringTooShort => $"is shorter than {error.Schema?.MinLength} characters.",
        ValidationErrorKind.NumberTooBig or ValidationErrorKind.IntegerTooBig => error.Schema is { ExclusiveMaximum: { } exclusive }
            ? $"must be less than {exclusive}." : error.Schema is { IsExclusiveMaximum: true } ? $"must be less than {error.Schema.Maximum}." : $"is larger than {error.Schema?.Maximum}.",
        ValidationErrorKind.NumberTooSmall => error.Schema is { ExclusiveMinimum: { } exclusive }
            ? $"must be greater than {exclusive}." : error.Schema is { IsExclusiveMinimum: true } ? $"must be greater than {error.Schema.Minimum}." : $"is smaller than {error.Schema?.Minimum}.",
        ValidationErrorKind.TooManyItems => $"has more than {error.Schema?.MaxItems} items.",
        ValidationErrorKind.TooFewItems => $"has fewer than {error.Schema?.MinItems} items.",
        ValidationErrorKind.TooManyProperties => $"has more than {error.Schema?.MaxProperties} properties.",
        ValidationErrorKind.TooFewProperties => $"has fewer than {error.Schema?.MinProperties} properties.",
        ValidationErrorKind.PatternMismatch => $"does not match the pattern {error.Schema?.Pattern}.",
        ValidationErrorKind.ItemsNotUnique => "has duplicate items; each item must be unique.",
        ValidationErrorKind.ArrayItemNotValid => "has an item that does not match the items schema.",
        ValidationErrorKind.TooManyItemsInTuple => "is an item beyond the positions the tuple allows.",
        ValidationErrorKind.AdditionalItemNotValid => "is an item beyond the tuple that does not match the additionalItems schema.",
        ValidationErrorKind.NotAnyOf => $"matches none of the anyOf alternatives{AlternativeReasons(error)}.",
        ValidationErrorKind.NotAllOf => "does not match every schema in allOf.",
        ValidationErrorKind.NotOneOf when error is ChildSchemaValidationError child && child.Errors.Count(e => e.Value.Count == 0) > 1 =>
            $"matches more than one of the oneOf alternatives ({string.Join(", ", MatchingAlternatives(child))}); it must match exactly one.",
        ValidationErrorKind.NotOneOf => $"matches none of the oneOf alternatives{AlternativeReasons(error)}; it must match exactly one.",
        ValidationErrorKind.NoTypeValidates => $"must be of type {string.Join(" or ", TypeNames(error.Schema?.Type ?? JsonObjectType.None))}.",
        ValidationErrorKind.ExcludedSchemaValidates => "matches the schema under 'not', which it must not.",
        ValidationErrorKind.NumberNotMultipleOf or ValidationErrorKind.IntegerNotMultipleOf => $"must be a multiple of {error.Schema?.MultipleOf}.",
        ValidationErrorKind.DateTimeExpected => "must be a valid date-time (RFC 3339, e.g. 2026-01-31T09:30:00Z).",
        ValidationErrorKind.DateExpected => "must be a valid date (e.g. 2026-01-31).",
        ValidationErrorKind.TimeExpected => "must be a valid time (e.g. 09:30:00).",
        ValidationErrorKind.TimeSpanExpected => "must be a valid time span (e.g. 01:30:00).",
        ValidationErrorKind.UriExpected => "must be a valid absolute URI.",
        ValidationErrorKind.IpV4Expected => "must be a valid IPv4 address (e.g. 192.0.2.10).",
        ValidationErrorKind.IpV6Expected => "must be a valid IPv6 address (e.g. 2001:db8::1).",
        ValidationErrorKind.GuidExpected or ValidationErrorKind.UuidExpected => "must be a valid UUID (e.g. 3f2504e0-4f89-41d3-9a0c-0305e82c3301).",
        ValidationErrorKind.EmailExpected => "must be a valid email address.",
        ValidationErrorKind.HostnameExpected => "must be a valid hostname.",
        ValidationErrorKind.Base64Expected => "must be valid base64.",
        var k when Keyword(k) == "type" => $"must be of type {k.ToString()[..^"Expected".Length].ToLowerInvariant()}.",
        _ => $"does not match the schema ({error.Kind}).",
    };

    private static string AllowedValues(JsonSchema? schema)
    {
        var values = schema?.Enumeration.Select(v => v is null ? "null" : Newtonsoft.Json.JsonConvert.SerializeObject(v)).ToList() ?? [];
        return values.Count <= 10 ? string.Join(", ", values) : string.Join(", ", values.Take(10)) + $" (and {values.Count - 10} more)";
    }

    /// <summary>Why each alternative failed, briefly, so the caller can pick the one they meant and fix it.</summary>
    private static string AlternativeReasons(ValidationError error)
    {
        if (error is not ChildSchemaValidationError child || child.Errors.Count == 0)
        {
            return "";
        }

        var reasons = child.Errors.Select((alternative, i) =>
            $"#{i + 1}: " + string.Join("; ", Flatten(alternative.Value).Take(3).Select(e => $"{PathOf(e.Path)} {Message(e).TrimEnd('.')}")));
        return " (" + string.Join(" | ", reasons) + ")";
    }

    private static IEnumerable<string> MatchingAlternatives(ChildSchemaValidationError child) =>
        child.Errors.Select((alternative, i) => (alternative.Value.Count, Number: i + 1)).Where(a => a.Count == 0).Select(a => $"#{a.Number}");

    private static IEnumerable<string> TypeNames(JsonObjectType type) =>
        Enum.GetValues<JsonObjectType>().Where(t => t != JsonObjectType.None && type.HasFlag(t)).Select(t => t.ToString().ToLowerInvariant());

    private static bool IsRegex(string pattern)
    {
        try
        {
            _ = new Regex(pattern, RegexOptions.None, TimeSpan.FromMilliseconds(100));
            return true;
        }
        catch (ArgumentException)
        {
            return false;
        }
    }
}
