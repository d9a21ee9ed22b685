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

    /// <summary>Structural checks NJsonSchema's parser lets through (unknown types, non-array 'required', bad regexes…).</summary>
    public static void CheckSchema(JsonElement schema, string field, FieldErrors errors, int depth = 0)
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
            switch (property.Name)
            {
                case "type":
                    var types = value.ValueKind == JsonValueKind.Array ? value.EnumerateArray().ToList() : [value];
                    if (types.Count == 0 || types.Any(t => t.ValueKind != JsonValueKind.String || !Types.Contains(t.GetString()!)))
                    {
                        errors.Add(at, $"must be one of {string.Join(", ", Types)} (or an array of them).");
                    }

                    break;
                case "properties" or "patternProperties" or "definitions" or "$defs":
                    if (value.ValueKind != JsonValueKind.Object)
                    {
                        errors.Add(at, "must be an object of schemas.");
                        break;
                    }

                    foreach (var child in value.EnumerateObject())
                    {
                        CheckSchema(child.Value, $"{at}.{child.Name}", errors, depth + 1);
                    }

                    break;
                case "items" or "additionalProperties" or "not" or "contains" or "propertyNames" or "if" or "then" or "else":
                    if (value.ValueKind == JsonValueKind.Object)
                    {
                        CheckSchema(value, at, errors, depth + 1);
                    }
                    else if (value.ValueKind != JsonValueKind.True && value.ValueKind != JsonValueKind.False &&
                             !(property.Name == "items" && value.ValueKind == JsonValueKind.Array))
                    {
                        errors.Add(at, "must be a schema (an object) or a boolean.");
                    }

                    break;
                case "allOf" or "anyOf" or "oneOf":
                    if (value.ValueKind != JsonValueKind.Array || value.GetArrayLength() == 0)
                    {
                        errors.Add(at, "must be a non-empty array of schemas.");
                        break;
                    }

                    var i = 0;
                    foreach (var item in value.EnumerateArray())
                    {
                        CheckSchema(item, $"{at}[{i++}]", errors, depth + 1);
                    }

                    break;
                case "required":
                    if (value.ValueKind != JsonValueKind.Array || value.EnumerateArray().Any(r => r.ValueKind != JsonValueKind.String))
                    {
                        errors.Add(at, "must be an array of property names.");
                    }

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
                case "$ref":
                    if (value.ValueKind != JsonValueKind.String || !value.GetString()!.StartsWith("#/", StringComparison.Ordinal))
                    {
                        // Remote references would make validation fetch URLs.
                        errors.Add(at, "must be a local reference ('#/…'); remote references are refused.");
                    }

                    break;
            }
        }
    }

    public static async Task<JsonSchema?> ParseAsync(JsonElement schema, string field, FieldErrors errors)
    {
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
        [.. Flatten(schema.Validate(arguments.GetRawText())).Select(e => new ArgumentError(PathOf(e), Keyword(e.Kind), Message(e)))];

    private static IEnumerable<ValidationError> Flatten(IEnumerable<ValidationError> errors)
    {
        foreach (var error in errors)
        {
            if (error is ChildSchemaValidationError child && child.Errors.Count > 0)
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

    /// <summary>"#/files[0].name" and "#/files.0.name" both become "$.files[0].name".</summary>
    private static string PathOf(ValidationError error)
    {
        var path = (error.Path ?? "#").TrimStart('#').TrimStart('/').Replace('/', '.');
        path = Regex.Replace(path, @"\.(\d+)(?=\.|$)", "[$1]");
        return path.Length == 0 ? "$" : "$." + path;
    }

    private static string Keyword(ValidationErrorKind kind) => kind switch
    {
        ValidationErrorKind.PropertyRequired => "required",
        ValidationErrorKind.NoAdditionalPropertiesAllowed => "additionalProperties",
        ValidationErrorKind.NotInEnumeration => "enum",
        ValidationErrorKind.StringTooLong => "maxLength",
        ValidationErrorKind.StringTooShort => "minLength",
        ValidationErrorKind.NumberTooBig => "maximum",
        ValidationErrorKind.NumberTooSmall => "minimum",
        ValidationErrorKind.TooManyItems => "maxItems",
        ValidationErrorKind.TooFewItems => "minItems",
        ValidationErrorKind.PatternMismatch => "pattern",
        ValidationErrorKind.ItemsNotUnique => "uniqueItems",
        _ when kind.ToString().EndsWith("Expected", StringComparison.Ordinal) => "type",
        _ => kind.ToString(),
    };

    private static string Message(ValidationError error) => error.Kind switch
    {
        ValidationErrorKind.PropertyRequired => $"'{error.Property}' is required.",
        ValidationErrorKind.NoAdditionalPropertiesAllowed => $"'{error.Property}' is not a parameter of this tool.",
        ValidationErrorKind.NotInEnumeration => "is not one of the allowed values.",
        ValidationErrorKind.StringTooLong => $"is longer than {error.Schema?.MaxLength} characters.",
        ValidationErrorKind.StringTooShort => $"is shorter than {error.Schema?.MinLength} characters.",
        ValidationErrorKind.NumberTooBig => $"is larger than {error.Schema?.Maximum}.",
        ValidationErrorKind.NumberTooSmall => $"is smaller than {error.Schema?.Minimum}.",
        ValidationErrorKind.TooManyItems => $"has more than {error.Schema?.MaxItems} items.",
        ValidationErrorKind.TooFewItems => $"has fewer than {error.Schema?.MinItems} items.",
        ValidationErrorKind.PatternMismatch => $"does not match the pattern {error.Schema?.Pattern}.",
        var k when k.ToString().EndsWith("Expected", StringComparison.Ordinal) => $"must be of type {k.ToString()[..^"Expected".Length].ToLowerInvariant()}.",
        _ => error.Kind.ToString(),
    };

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
