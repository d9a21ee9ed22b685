using System.Globalization;
using System.Text.Json;
using Json.Schema;
using Orchestrator.Api;

namespace Orchestrator.Tools;

/// <summary>One argument problem: where (a JSON path from <c>$</c>), which schema keyword, and what to do about it.</summary>
public sealed record ArgumentError(string Path, string Keyword, string Message);

/// <summary>A built JSON Schema together with the document it was built from, which the error messages quote.</summary>
public sealed record CheckedSchema(JsonSchema Schema, JsonElement Document);

/// <summary>
/// Checks that a schema is itself a valid JSON Schema (draft 2020-12 unless its <c>$schema</c> names another draft),
/// and validates instances against it, reporting every error with its path and keyword rather than "invalid parameters".
/// </summary>
public static class SchemaChecks
{
    private const string Draft202012 = "https://json-schema.org/draft/2020-12/schema";
    private const string Draft201909 = "https://json-schema.org/draft/2019-09/schema";
    private const string Draft07 = "http://json-schema.org/draft-07/schema";

    // Keywords whose values are instance data, not schemas: a "$ref" inside them is just data and is never resolved.
    private static readonly HashSet<string> DataKeywords = ["enum", "const", "default", "examples"];

    // Keywords whose values map names to schemas (or, for dependencies, to property lists): their keys are names
    // chosen by the author, so a property called "default" there is a schema, not data.
    private static readonly HashSet<string> NameMaps = ["properties", "patternProperties", "definitions", "$defs", "dependencies", "dependentSchemas", "dependentRequired"];

    private static readonly EvaluationOptions Evaluation = new() { OutputFormat = OutputFormat.Hierarchical, RequireFormatValidation = true };

    /// <summary>
    /// Refuses what must never reach the validator: a <c>$ref</c> or <c>$dynamicRef</c> that is not local anywhere in
    /// the document (resolving it would mean fetching a URL), a <c>$schema</c> naming a dialect this server does not
    /// carry, and draft-07's <c>dependencies</c> in a later draft, which the validator would silently ignore.
    /// </summary>
    public static void CheckBeforeBuilding(JsonElement schema, string field, FieldErrors errors)
    {
        // "dependencies" is draft-07's; 2019-09 split it into dependentRequired and dependentSchemas, and JsonSchema.Net
        // evaluates it only under a draft-07 "$schema". Anywhere else a schema holding it would accept what its author
        // meant to refuse, so it is refused where it stands. (The root's dialect decides for the whole document.)
        var declared = schema.ValueKind == JsonValueKind.Object && schema.TryGetProperty("$schema", out var root) && root.ValueKind == JsonValueKind.String
            ? root.GetString()!.TrimEnd('#')
            : Draft202012;
        var ignoredDependenciesUnder = declared switch
        {
            Draft07 => null,
            Draft201909 => "draft 2019-09",
            _ => "draft 2020-12",
        };

        // The scan walks the whole tree rather than the keywords a draft defines: an unknown keyword must not become a
        // way to smuggle a remote reference in.
        // A pointer is followed from the document's root unless a subschema starts a resource of its own ("$id").
        var nestedResources = schema.GetRawText().Split("\"$id\"").Length - 1 > (schema.ValueKind == JsonValueKind.Object && schema.TryGetProperty("$id", out _) ? 1 : 0);
        CheckKeywords(schema, nestedResources ? null : schema, field, inNameMap: false, ignoredDependenciesUnder, errors, depth: 0);
        if (schema.ValueKind == JsonValueKind.Object && schema.TryGetProperty("$schema", out var dialect) && MetaSchemaFor(dialect) is null)
        {
            errors.Add($"{field}.$schema", $"must be \"{Draft202012}\" (the default when omitted), or the draft-07 or 2019-09 meta-schema URI.");
        }
    }

    private static void CheckKeywords(JsonElement node, JsonElement? root, string at, bool inNameMap, string? ignoredDependenciesUnder, FieldErrors errors, int depth)
    {
        if (depth > 64)
        {
            errors.Add(at, "nests deeper than 64 levels.");
            return;
        }

        if (node.ValueKind == JsonValueKind.Array)
        {
            var i = 0;
            foreach (var item in node.EnumerateArray())
            {
                CheckKeywords(item, root, $"{at}[{i++}]", inNameMap: false, ignoredDependenciesUnder, errors, depth + 1);
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
            if (!inNameMap && property.Name is "$ref" or "$dynamicRef" && !IsLocalReference(property.Value))
            {
                errors.Add(path, "must be a local reference ('#/…'); remote references are refused.");
                continue;
            }

            if (!inNameMap && property.Name == "$ref" && root is { } document && property.Value.GetString()!.StartsWith("#/", StringComparison.Ordinal)
                && At(document, Uri.UnescapeDataString(property.Value.GetString()![1..])) is null)
            {
                errors.Add(path, $"points at nothing in this schema: there is no {property.Value.GetString()}.");
                continue;
            }

            if (!inNameMap && DataKeywords.Contains(property.Name))
            {
                continue;
            }

            if (!inNameMap && property.Name == "dependencies" && ignoredDependenciesUnder is not null)
            {
                errors.Add(path, $"is draft-07's keyword and would be ignored under {ignoredDependenciesUnder}: use \"dependentRequired\" (property names) "
                    + $"or \"dependentSchemas\" (a schema), or declare \"$schema\": \"{Draft07}#\".");
                // Walked all the same: a remote reference inside is refused by name too, for what it is.
            }

            CheckKeywords(property.Value, root, path, inNameMap: !inNameMap && NameMaps.Contains(property.Name), ignoredDependenciesUnder, errors, depth + 1);
        }
    }

    private static bool IsLocalReference(JsonElement value) =>
        value.ValueKind == JsonValueKind.String && value.GetString()!.StartsWith('#');

    private static JsonSchema? MetaSchemaFor(JsonElement dialect) => dialect.ValueKind != JsonValueKind.String ? null : dialect.GetString()!.TrimEnd('#') switch
    {
        Draft202012 => MetaSchemas.Draft202012,
        Draft201909 => MetaSchemas.Draft201909,
        Draft07 => MetaSchemas.Draft7,
        _ => null,
    };

    /// <summary>
    /// Builds <paramref name="schema"/> after checking it against its meta-schema; every problem is reported under
    /// <paramref name="field"/> at the place in the schema where it is, and null is returned.
    /// </summary>
    public static CheckedSchema? Parse(JsonElement schema, string field, FieldErrors errors)
    {
        foreach (var (path, _) in JsonNumbers.OutOfRangeIntegers(schema, field))
        {
            errors.Add(path, JsonNumbers.OutOfRange);
        }

        if (schema.ValueKind is not JsonValueKind.Object and not JsonValueKind.True and not JsonValueKind.False)
        {
            errors.Add(field, "must be a JSON Schema object.");
            return null;
        }

        CheckBeforeBuilding(schema, field, errors);
        if (errors.Any)
        {
            return null;
        }

        var metaSchema = schema.ValueKind == JsonValueKind.Object && schema.TryGetProperty("$schema", out var dialect) ? MetaSchemaFor(dialect)! : MetaSchemas.Draft202012;
        var metaErrors = Collect(metaSchema.Evaluate(schema, Evaluation), schema: null, schema);
        foreach (var error in metaErrors.DistinctBy(e => e.Path))
        {
            var at = error.Path == "$" ? field : field + error.Path[1..];
            errors.Add(at, at.EndsWith(".type", StringComparison.Ordinal) && error.Keyword is "anyOf" or "enum" or "type"
                ? "must be one of object, array, string, number, integer, boolean, null (or an array of them)."
                : $"is not valid JSON Schema here ({error.Keyword}): {error.Message}");
        }

        if (errors.Any)
        {
            return null;
        }

        try
        {
            return Build(schema);
        }
        catch (Exception ex) when (ex is JsonSchemaException or RefResolutionException or ArgumentException or FormatException or InvalidOperationException)
        {
            // What the meta-schema cannot see, such as a reference that a nested "$id" leads nowhere.
            errors.Add(field, $"is not a usable JSON Schema: {ex.Message}");
            return null;
        }
    }

    /// <summary>Builds a schema this server wrote or already checked; a schema without <c>$schema</c> is draft 2020-12.</summary>
    public static CheckedSchema Build(JsonElement schema)
    {
        // The built schema reads the document it came from: a copy of its own outlives the request that carried it.
        var document = schema.Clone();
        try
        {
            return new(Build(document, Dialect.Draft202012), document);
        }
        catch (JsonSchemaException) when (!(document.ValueKind == JsonValueKind.Object && document.TryGetProperty("$schema", out _)))
        {
            // A tool registered while draft 7 was the default may use its forms (the array form of "items"), which
            // 2020-12 cannot read: such a stored schema is read as the draft it was written for.
            return new(Build(document, Dialect.Draft07), document);
        }
    }

    // A registry of its own per schema: two tools may use the same "$id" and must not see each other's definitions.
    private static JsonSchema Build(JsonElement document, Dialect dialect) =>
        JsonSchema.Build(document, new BuildOptions { Dialect = dialect, SchemaRegistry = new SchemaRegistry() });

    public static CheckedSchema Build(string schema) => Build(JsonSerializer.Deserialize<JsonElement>(schema));

    /// <summary>Every way <paramref name="instance"/> fails <paramref name="schema"/>, with paths from <c>$</c>.</summary>
    public static IReadOnlyList<ArgumentError> Validate(CheckedSchema schema, JsonElement instance)
    {
        EvaluationResults results;
        try
        {
            results = schema.Schema.Evaluate(instance, Evaluation);
        }
        catch (Exception ex) when (ex is FormatException or OverflowException or InvalidCastException && JsonNumbers.OutOfRangeIntegers(instance, "$").Any())
        {
            // A few comparisons (const, enum, multipleOf) convert numbers to decimal, which an integer beyond 64 bits
            // can overflow: each such number is refused by name rather than answered with a 500.
            return [.. JsonNumbers.OutOfRangeIntegers(instance, "$").Select(n => new ArgumentError(n.Path, n.Negative ? "minimum" : "maximum", JsonNumbers.OutOfRange))];
        }

        return [.. Collect(results, schema.Document, instance).Distinct()];
    }

    /// <summary>What an evaluation is checked against: the schema document (null for the meta-schema) and the instance.</summary>
    private sealed record Evaluated(JsonElement? Schema, JsonElement Instance);

    private static List<ArgumentError> Collect(EvaluationResults root, JsonElement? schema, JsonElement instance) =>
        Collect(root, "", schema, new Evaluated(schema, instance));

    /// <summary>
    /// The errors under a failed evaluation node. Alternatives (anyOf, oneOf) become one error at the value saying none
    /// (or several) matched, with each alternative's reason; a passing "not" is an error of its own; everything else
    /// (allOf, properties, items, $ref, if/then/else…) is replaced by its parts, which say more.
    /// </summary>
    /// <param name="location">The node's instance location. JsonSchema.Net 8.0.5 numbers the items "items" checks after
    /// "prefixItems" from 0 rather than from the first position "items" covers, so locations are rebuilt here.</param>
    /// <param name="schemaNode">The subschema the node ran, followed down the evaluation path (the library's schema
    /// locations are wrong below "items"), or null where it cannot be followed.</param>
    private static List<ArgumentError> Collect(EvaluationResults node, string location, JsonElement? schemaNode, Evaluated context)
    {
        var found = new List<ArgumentError>();
        if (node.IsValid)
        {
            return found;
        }

        var path = PathOf(location);
        foreach (var (keyword, message) in node.Errors ?? new Dictionary<string, string>())
        {
            if (keyword.Length == 0)
            {
                // A false schema: the keyword that applied it is the one the author wrote.
                var applier = ApplyingKeyword(node);
                found.Add(new ArgumentError(path, applier, FalseSchemaMessage(applier, path)));
            }
            else
            {
                found.AddRange(Explain(path, keyword, message, schemaNode, At(context.Instance, location)));
            }
        }

        var children = node.Details ?? [];
        foreach (var group in children.GroupBy(c => RelativeSegments(node.EvaluationPath.ToString(), c.EvaluationPath.ToString()).FirstOrDefault() ?? ""))
        {
            var branches = group.ToList();
            switch (group.Key)
            {
                case "anyOf" when branches.All(b => !b.IsValid):
                    found.Add(new ArgumentError(path, "anyOf", $"matches none of the anyOf alternatives{Reasons(node, branches, location, schemaNode, context)}."));
                    break;
                case "oneOf" when branches.Count(b => b.IsValid) > 1:
                    var matching = branches.Select((b, i) => (b, Number: i + 1)).Where(x => x.b.IsValid).Select(x => $"#{x.Number}");
                    found.Add(new ArgumentError(path, "oneOf", $"matches more than one of the oneOf alternatives ({string.Join(", ", matching)}); it must match exactly one."));
                    break;
                case "oneOf" when branches.All(b => !b.IsValid):
                    found.Add(new ArgumentError(path, "oneOf", $"matches none of the oneOf alternatives{Reasons(node, branches, location, schemaNode, context)}; it must match exactly one."));
                    break;
                case "not" when branches.Any(b => b.IsValid):
                    found.Add(new ArgumentError(path, "not", "matches the schema under 'not', which it must not."));
                    break;
                case "anyOf" or "oneOf" or "not" or "if" or "contains":
                    // Passed as a whole, or only chooses (if) or counts (contains): a failing branch is no error of its own.
                    break;
                default:
                    foreach (var branch in branches)
                    {
                        found.AddRange(CollectChild(node, branch, location, schemaNode, context));
                    }

                    break;
            }
        }

        return found;
    }

    private static List<ArgumentError> CollectChild(EvaluationResults parent, EvaluationResults child, string location, JsonElement? schemaNode, Evaluated context)
    {
        var segments = RelativeSegments(parent.EvaluationPath.ToString(), child.EvaluationPath.ToString());
        var relative = RelativeSegments(parent.InstanceLocation.ToString(), child.InstanceLocation.ToString());
        if (segments.FirstOrDefault() == "items" && relative.Count > 0 && int.TryParse(relative[0], NumberStyles.None, CultureInfo.InvariantCulture, out var index)
            && schemaNode is { ValueKind: JsonValueKind.Object } parentSchema && parentSchema.TryGetProperty("prefixItems", out var prefix) && prefix.ValueKind == JsonValueKind.Array)
        {
            relative[0] = (index + prefix.GetArrayLength()).ToString(CultureInfo.InvariantCulture);
        }

        var childLocation = location + string.Concat(relative.Select(r => "/" + r.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal)));
        return Collect(child, childLocation, Follow(schemaNode, segments, context.Schema), context);
    }

    /// <summary>The subschema at <paramref name="segments"/> (an evaluation path) below <paramref name="schema"/>, through local references.</summary>
    private static JsonElement? Follow(JsonElement? schema, List<string> segments, JsonElement? document)
    {
        var current = schema;
        for (var i = 0; i < segments.Count && current is { } node; i++)
        {
            var segment = segments[i];
            if (segment is "$ref" or "$dynamicRef")
            {
                current = document is { } root && node.ValueKind == JsonValueKind.Object && node.TryGetProperty(segment, out var reference)
                    && reference.ValueKind == JsonValueKind.String && reference.GetString()!.StartsWith("#/", StringComparison.Ordinal)
                    ? At(root, Uri.UnescapeDataString(reference.GetString()![1..]))
                    : null;
                continue;
            }

            // The library names an "items" check "items/items".
            if (segment == "items" && i + 1 < segments.Count && segments[i + 1] == "items")
            {
                i++;
            }

            current = Step(node, segment);
        }

        return current;
    }

    private static List<string> RelativeSegments(string parent, string child)
    {
        var relative = child.StartsWith(parent, StringComparison.Ordinal) ? child[parent.Length..] : child;
        return [.. relative.Split('/', StringSplitOptions.RemoveEmptyEntries).Select(Unescape)];
    }

    private static string Reasons(EvaluationResults parent, List<EvaluationResults> branches, string location, JsonElement? schemaNode, Evaluated context)
    {
        var reasons = branches.Select((branch, i) =>
            $"#{i + 1}: " + string.Join("; ", CollectChild(parent, branch, location, schemaNode, context).Take(3).Select(e => $"{e.Path} {e.Message.TrimEnd('.')}")));
        return " (" + string.Join(" | ", reasons) + ")";
    }

    /// <summary>The keyword that applied a false schema: "additionalProperties" for ".../additionalProperties", "prefixItems" for ".../prefixItems/0".</summary>
    private static string ApplyingKeyword(EvaluationResults node)
    {
        var segments = node.EvaluationPath.ToString().Split('/', StringSplitOptions.RemoveEmptyEntries).Select(Unescape).ToList();
        if (segments.Count >= 2 && segments[^2] is "properties" or "patternProperties" or "dependentSchemas" or "$defs" or "prefixItems" or "allOf" or "anyOf" or "oneOf")
        {
            return segments[^2];
        }

        return segments.Count == 0 ? "schema" : segments[^1];
    }

    private static string FalseSchemaMessage(string keyword, string path) => keyword switch
    {
        "additionalProperties" or "unevaluatedProperties" => $"'{LastName(path)}' is not a known property; remove it or check its spelling.",
        "items" or "unevaluatedItems" or "additionalItems" => "is an item beyond the positions the array allows.",
        _ => $"is not allowed here (the schema under '{keyword}' is false).",
    };

    private static string LastName(string path)
    {
        var dot = path.LastIndexOf('.');
        return dot < 0 ? path : path[(dot + 1)..];
    }

    private static IEnumerable<ArgumentError> Explain(string path, string keyword, string fallback, JsonElement? schema, JsonElement? instance)
    {
        JsonElement? value = schema is { ValueKind: JsonValueKind.Object } s && s.TryGetProperty(keyword, out var v) ? v : null;
        var present = instance is { ValueKind: JsonValueKind.Object } o ? o.EnumerateObject().Select(p => p.Name).ToHashSet(StringComparer.Ordinal) : null;
        switch (keyword)
        {
            case "required" when value is { ValueKind: JsonValueKind.Array } names && present is not null:
                foreach (var name in names.EnumerateArray().Select(n => n.GetString()).OfType<string>().Where(n => !present.Contains(n)))
                {
                    yield return new ArgumentError(Child(path, name), "required", $"'{name}' is required.");
                }

                yield break;
            // Draft-07's "dependencies" fails here only through its property-list form (a schema form fails in the
            // schema's own keywords below it), which says the same as dependentRequired.
            case "dependentRequired" or "dependencies" when value is { ValueKind: JsonValueKind.Object } dependencies && present is not null:
                foreach (var dependency in dependencies.EnumerateObject().Where(d => present.Contains(d.Name) && d.Value.ValueKind == JsonValueKind.Array))
                {
                    foreach (var name in dependency.Value.EnumerateArray().Select(n => n.GetString()).OfType<string>().Where(n => !present.Contains(n)))
                    {
                        yield return new ArgumentError(Child(path, name), keyword, $"'{name}' is required when '{dependency.Name}' is present.");
                    }
                }

                yield break;
        }

        yield return new ArgumentError(path, keyword, Message(keyword, value, fallback));
    }

    private static string Child(string path, string name) => $"{path}.{name}";

    /// <summary>
    /// The error as one sentence naming its field by its whole path, for a text that lists several ("text must be at
    /// most 10 characters long.", "'files[1].name' is required.", "The value must be an object.").
    /// </summary>
    public static string Sentence(ArgumentError error)
    {
        // A path that is empty or not rooted at "$" (an error built by hand, not from the validator) is shown as it is,
        // not cut: cutting "" threw and answered a 500 in place of the sentence.
        var field = error.Path.StartsWith("$.", StringComparison.Ordinal) ? error.Path[2..]
            : error.Path.StartsWith('$') ? error.Path[1..]
            : error.Path;
        // "'name' is required." at $.files[1].name: the sentence already names the field, by its last name only.
        var named = $"'{LastName(error.Path)}'";
        if (error.Message.StartsWith(named, StringComparison.Ordinal))
        {
            return $"'{field}'{error.Message[named.Length..]}";
        }

        return field.Length == 0 ? $"The value {error.Message}" : $"{field} {error.Message}";
    }

    /// <summary>
    /// A plain sentence a person can act on, from the keyword and its value in the schema ("must be at most 10", "must be
    /// one of GET, POST"), the field being the error's key; the library's own when the value is unknown. The keyword
    /// stays in <see cref="ArgumentError.Keyword"/> for programs, out of the sentence ("(keyword: maximum)" read as a
    /// puzzle to an operator filling a form).
    /// </summary>
    internal static string Message(string keyword, JsonElement? value, string fallback)
    {
        var v = value is { } known ? Shown(known) : null;
        var count = value is { ValueKind: JsonValueKind.Number } n && n.TryGetInt64(out var c) ? c : (long?)null;
        return (keyword, v) switch
        {
            ("type", { }) => $"must be {TypeNames(value!.Value)}.",
            ("const", { }) => $"must be exactly {v}.",
            ("enum", { }) => $"must be one of {AllowedValues(value!.Value)}.",
            ("maxLength", { }) => $"must be at most {Counted(count, v, "character")} long.",
            ("minLength", { }) => $"must be at least {Counted(count, v, "character")} long.",
            ("maximum", { }) => $"must be at most {v}.",
            ("minimum", { }) => $"must be at least {v}.",
            ("exclusiveMaximum", { }) => $"must be less than {v}.",
            ("exclusiveMinimum", { }) => $"must be greater than {v}.",
            ("maxItems", { }) => $"must have at most {Counted(count, v, "item")}.",
            ("minItems", { }) => $"must have at least {Counted(count, v, "item")}.",
            ("maxProperties", { }) => $"must have at most {Counted(count, v, "property", "properties")}.",
            ("minProperties", { }) => $"must have at least {Counted(count, v, "property", "properties")}.",
            ("pattern", { }) => $"must match the pattern {value!.Value.GetString()}.",
            ("multipleOf", { }) => $"must be a multiple of {v}.",
            ("uniqueItems", _) => "has duplicate items; each item must be unique.",
            ("contains", _) => $"does not have as many items of the kind the schema asks for as it must ({fallback.TrimEnd('.')}).",
            ("format", { }) => FormatMessage(value!.Value.GetString()),
            _ => fallback.EndsWith('.') ? fallback : fallback + ".",
        };
    }

    /// <summary>A schema value as a sentence shows it: a string as itself (GET, not "GET"), anything else as its JSON.</summary>
    private static string Shown(JsonElement value) => value.ValueKind == JsonValueKind.String ? value.GetString()! : value.GetRawText();

    /// <summary>A schema value as the schema wrote it in JSON, a string with its quotes.</summary>
    private static string Quoted(JsonElement value) => value.GetRawText();

    /// <summary>"1 character", "10 characters".</summary>
    private static string Counted(long? count, string? shown, string one, string? many = null) =>
        $"{shown} {(count == 1 ? one : many ?? one + "s")}";

    private static string FormatMessage(string? format) => format switch
    {
        "date-time" => "must be a valid date-time (RFC 3339, e.g. 2026-01-31T09:30:00Z).",
        "date" => "must be a valid date (e.g. 2026-01-31).",
        "time" => "must be a valid time (RFC 3339, e.g. 09:30:00Z).",
        "duration" => "must be a valid ISO-8601 duration (e.g. PT1H30M).",
        "uri" => "must be a valid absolute URI.",
        "uri-reference" => "must be a valid URI reference.",
        "ipv4" => "must be a valid IPv4 address (e.g. 192.0.2.10).",
        "ipv6" => "must be a valid IPv6 address (e.g. 2001:db8::1).",
        "uuid" => "must be a valid UUID (e.g. 3f2504e0-4f89-41d3-9a0c-0305e82c3301).",
        "email" => "must be a valid email address.",
        "hostname" => "must be a valid hostname.",
        "regex" => "must be a valid regular expression.",
        _ => $"must be a valid {format}.",
    };

    private static string TypeNames(JsonElement type) => type.ValueKind == JsonValueKind.Array
        ? string.Join(" or ", type.EnumerateArray().Select(t => TypeName(t.GetString())))
        : TypeName(type.GetString() ?? type.GetRawText());

    private static string TypeName(string? type) => type switch
    {
        "string" => "a string",
        "integer" => "an integer (a whole number)",
        "number" => "a number",
        "boolean" => "true or false",
        "object" => "an object",
        "array" => "an array",
        "null" => "null",
        _ => $"of type {type}",
    };

    /// <summary>
    /// The allowed values as JSON ("zip", "tar", 3): quoted, because unquoted an empty string, or one holding a comma or a
    /// space, could not be told apart from the separators ("must be one of , a, b c").
    /// </summary>
    private static string AllowedValues(JsonElement values)
    {
        var all = values.ValueKind == JsonValueKind.Array ? values.EnumerateArray().Select(Quoted).ToList() : [Quoted(values)];
        return all.Count <= 10 ? string.Join(", ", all) : string.Join(", ", all.Take(10)) + $" (and {all.Count - 10} more)";
    }

    /// <summary>The value a JSON Pointer names in <paramref name="root"/>, or null.</summary>
    private static JsonElement? At(JsonElement root, string pointer)
    {
        JsonElement? current = root;
        foreach (var segment in pointer.Split('/', StringSplitOptions.RemoveEmptyEntries).Select(Unescape))
        {
            current = current is { } node ? Step(node, segment) : null;
        }

        return current;
    }

    private static JsonElement? Step(JsonElement node, string segment) =>
        node.ValueKind == JsonValueKind.Object && node.TryGetProperty(segment, out var next) ? next
        : node.ValueKind == JsonValueKind.Array && int.TryParse(segment, NumberStyles.None, CultureInfo.InvariantCulture, out var index) && index < node.GetArrayLength() ? node[index]
        : null;

    private static string Unescape(string segment) => segment.Replace("~1", "/", StringComparison.Ordinal).Replace("~0", "~", StringComparison.Ordinal);

    /// <summary>A JSON Pointer ("/files/0/name") as the path clients see ("$.files[0].name").</summary>
    internal static string PathOf(string pointer)
    {
        var path = "$";
        foreach (var segment in pointer.Split('/', StringSplitOptions.RemoveEmptyEntries).Select(Unescape))
        {
            path += segment.Length > 0 && segment.All(char.IsAsciiDigit) ? $"[{segment}]" : $".{segment}";
        }

        return path;
    }
}
