using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Orchestrator.Definitions;

/// <summary>A definition file that cannot be read: the file, the document's index in it (from 0) and why.</summary>
public sealed class DefinitionFileException(string file, int? document, string reason)
    : Exception(document is { } index ? $"{file}, document {index}: {reason}" : $"{file}: {reason}")
{
    public string File { get; } = file;

    public int? Document { get; } = document;

    public string Reason { get; } = reason;
}

/// <summary>
/// Definition documents on disk and in request bodies: one resource per document, YAML (several documents per file,
/// separated by <c>---</c>) or JSON (one object, or an array of them). Read into the JSON objects apply takes, written
/// back as one YAML file per resource. The CLI's <c>apply -f &lt;dir&gt;</c> and <c>export</c> call
/// <see cref="ReadDirectory"/> and <see cref="WriteDirectory"/>.
/// </summary>
public static partial class DefinitionFiles
{
    private static readonly string[] Extensions = [".yaml", ".yml", ".json"];

    /// <summary>YAML 1.1 readers take these for booleans: quoted on the way out so any reader sees the string.</summary>
    private static readonly string[] YamlOneOneBooleans = ["yes", "no", "on", "off", "y", "n"];

    /// <summary>
    /// Every document of every <c>*.yaml</c>, <c>*.yml</c> and <c>*.json</c> file under <paramref name="dir"/> (its
    /// subdirectories too), files in ordinal order of their relative path. A file that cannot be read throws
    /// <see cref="DefinitionFileException"/> naming it and the document.
    /// </summary>
    public static IReadOnlyList<JsonObject> ReadDirectory(string dir)
    {
        if (!Directory.Exists(dir))
        {
            throw new DefinitionFileException(dir, null, "is not a directory.");
        }

        var documents = new List<JsonObject>();
        var files = Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories)
            .Where(f => Extensions.Contains(Path.GetExtension(f), StringComparer.OrdinalIgnoreCase))
            .Select(f => Path.GetRelativePath(dir, f))
            .Order(StringComparer.Ordinal);
        foreach (var relative in files)
        {
            var text = File.ReadAllText(Path.Combine(dir, relative));
            documents.AddRange(Path.GetExtension(relative).Equals(".json", StringComparison.OrdinalIgnoreCase)
                ? ParseJson(text, relative)
                : ParseYaml(text, relative));
        }

        return documents;
    }

    /// <summary>
    /// Writes one YAML file per document, <c>&lt;kind&gt;s/&lt;name&gt;.yaml</c> (a schedule's name is its id,
    /// <c>project.name</c>, since names repeat across projects); returns the paths written, relative to <paramref name="dir"/>.
    /// Files already there for other resources are left alone.
    /// </summary>
    public static IReadOnlyList<string> WriteDirectory(string dir, IEnumerable<JsonObject> documents)
    {
        var written = new List<string>();
        foreach (var document in documents)
        {
            var kind = document["kind"]?.GetValue<string>() ?? throw new ArgumentException("A document without a kind cannot be written.", nameof(documents));
            var relative = Path.Combine($"{kind}s", $"{FileName(document)}.yaml");
            var path = Path.Combine(dir, relative);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.WriteAllText(path, ToYaml([document]));
            written.Add(relative);
        }

        return written;
    }

    /// <summary>The name a document is known by: <c>id</c> for projects and pipelines, <c>project.name</c> for schedules, else <c>name</c>.</summary>
    public static string FileName(JsonObject document) => document["kind"]?.GetValue<string>() switch
    {
        DefinitionKinds.Project or DefinitionKinds.Pipeline => Text(document, "id"),
        DefinitionKinds.Schedule => $"{(document["project"] is JsonValue p ? p.GetValue<string>() : Projects.Project.DefaultId)}.{Text(document, "name")}",
        _ => Text(document, "name"),
    };

    /// <summary>JSON text: one document object, or an array of them.</summary>
    public static IReadOnlyList<JsonObject> ParseJson(string text, string source)
    {
        JsonNode? root;
        try
        {
            root = JsonNode.Parse(text, documentOptions: new JsonDocumentOptions { AllowDuplicateProperties = false });
        }
        catch (JsonException ex)
        {
            throw new DefinitionFileException(source, null, $"is not valid JSON: {ex.Message}");
        }

        return root switch
        {
            JsonObject single => [single],
            JsonArray many => [.. many.Select((node, i) => node as JsonObject ?? throw new DefinitionFileException(source, i, "must be a JSON object."))],
            _ => throw new DefinitionFileException(source, null, "must hold a JSON object (one document) or an array of them."),
        };
    }

    /// <summary>YAML text: one or more documents separated by <c>---</c>, each a mapping; empty documents are skipped.</summary>
    public static IReadOnlyList<JsonObject> ParseYaml(string text, string source)
    {
        var stream = new YamlStream();
        try
        {
            stream.Load(new StringReader(text));
        }
        catch (YamlException ex)
        {
            throw new DefinitionFileException(source, null, $"is not valid YAML (line {ex.Start.Line}, column {ex.Start.Column}): {ex.InnerException?.Message ?? ex.Message}");
        }

        var documents = new List<JsonObject>();
        for (var i = 0; i < stream.Documents.Count; i++)
        {
            switch (ToJson(stream.Documents[i].RootNode))
            {
                case JsonObject document:
                    documents.Add(document);
                    break;
                case null:
                    break;
                default:
                    throw new DefinitionFileException(source, i, "must be a mapping (kind: …, name: …).");
            }
        }

        return documents;
    }

    /// <summary>The documents as one YAML text, separated by <c>---</c>; strings that would read back as another type are quoted.</summary>
    public static string ToYaml(IEnumerable<JsonObject> documents)
    {
        var builder = new StringBuilder();
        foreach (var document in documents)
        {
            var stream = new YamlStream(new YamlDocument(ToYaml(document)));
            using var writer = new StringWriter(CultureInfo.InvariantCulture);
            stream.Save(writer, assignAnchors: false);
            // YamlStream ends each document with "..."; a plain "---" between documents is what people write.
            var yaml = writer.ToString().TrimEnd();
            if (yaml.EndsWith("...", StringComparison.Ordinal))
            {
                yaml = yaml[..^3].TrimEnd();
            }

            builder.Append("---\n").Append(yaml.ReplaceLineEndings("\n")).Append('\n');
        }

        return builder.ToString();
    }

    private static JsonNode? ToJson(YamlNode node) => node switch
    {
        YamlMappingNode mapping => new JsonObject(mapping.Children.Select(c => KeyValuePair.Create(KeyOf(c.Key), ToJson(c.Value)))),
        YamlSequenceNode sequence => new JsonArray([.. sequence.Children.Select(ToJson)]),
        YamlScalarNode scalar => Scalar(scalar),
        _ => throw new InvalidOperationException($"Unexpected YAML node {node.NodeType}."),
    };

    private static string KeyOf(YamlNode key) =>
        key is YamlScalarNode { Value: { } text } ? text : throw new YamlException(key.Start, key.End, "A mapping key must be a plain string.");

    /// <summary>
    /// YAML 1.2's core schema for plain scalars: null, booleans, integers and floats by their spelling; any quoted or
    /// block scalar is a string. So <c>"1"</c> stays a string and <c>1</c> is a number, as in JSON.
    /// </summary>
    private static JsonNode? Scalar(YamlScalarNode scalar)
    {
        var text = scalar.Value ?? "";
        if (scalar.Style != ScalarStyle.Plain)
        {
            return JsonValue.Create(text);
        }

        return text switch
        {
            "" or "~" or "null" or "Null" or "NULL" => null,
            "true" or "True" or "TRUE" => JsonValue.Create(true),
            "false" or "False" or "FALSE" => JsonValue.Create(false),
            _ when JsonNumberPattern().IsMatch(text) => JsonNode.Parse(text),
            _ => JsonValue.Create(text),
        };
    }

    private static YamlNode ToYaml(JsonNode? node) => node switch
    {
        JsonObject obj => new YamlMappingNode(obj.Select(p => KeyValuePair.Create<YamlNode, YamlNode>(new YamlScalarNode(p.Key), ToYaml(p.Value)))),
        JsonArray array => new YamlSequenceNode(array.Select(ToYaml)),
        null => new YamlScalarNode("null") { Style = ScalarStyle.Plain },
        JsonValue value when value.GetValueKind() == JsonValueKind.String => StringScalar(value.GetValue<string>()),
        JsonValue value => new YamlScalarNode(value.ToJsonString()) { Style = ScalarStyle.Plain },
        _ => throw new InvalidOperationException($"Unexpected JSON node {node.GetValueKind()}."),
    };

    private static YamlScalarNode StringScalar(string text)
    {
        // A string the reader would take for another type, or one with leading/trailing blanks, is written quoted;
        // the emitter quotes the rest itself where plain YAML cannot hold them.
        var readsAsOther = text.Length == 0 || text is "~" || NumberPattern().IsMatch(text)
            || text.Equals("null", StringComparison.OrdinalIgnoreCase) || text.Equals("true", StringComparison.OrdinalIgnoreCase)
            || text.Equals("false", StringComparison.OrdinalIgnoreCase) || text.Trim() != text
            || YamlOneOneBooleans.Contains(text, StringComparer.OrdinalIgnoreCase);
        return new YamlScalarNode(text) { Style = readsAsOther || text.Contains('\n', StringComparison.Ordinal) ? ScalarStyle.DoubleQuoted : ScalarStyle.Any };
    }

    private static string Text(JsonObject document, string property) =>
        document[property] is JsonValue value && value.GetValueKind() == JsonValueKind.String ? value.GetValue<string>() : "unnamed";

    [GeneratedRegex(@"^-?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][-+]?[0-9]+)?$", RegexOptions.CultureInvariant)]
    private static partial Regex JsonNumberPattern();

    /// <summary>Anything a YAML reader (this one or another) might take for a number: quoted when it is a string.</summary>
    [GeneratedRegex(@"^([-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9]*)?)([eE][-+]?[0-9]+)?|0[xXoO][0-9a-fA-F_]+|[-+]?\.(inf|Inf|INF|nan|NaN|NAN))$", RegexOptions.CultureInvariant)]
    private static partial Regex NumberPattern();
}
