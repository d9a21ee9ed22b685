using System.Globalization;
using System.Text.Json.Nodes;

namespace Orchestrator.Pipelines;

/// <summary>Thrown for an expression or template that cannot be parsed; the message says where and why.</summary>
public sealed class ExpressionException(string message) : Exception(message);

/// <summary>
/// A path into the run's data: <c>nodes.fetch.output.body.items[0].id</c> or <c>inputs.region</c>. Property names
/// and array indices only — nothing is evaluated, called or reflected on.
/// </summary>
public sealed class DataPath
{
    private DataPath(string text, IReadOnlyList<object> segments)
    {
        Text = text;
        Segments = segments;
    }

    public string Text { get; }

    /// <summary>Property names (string) and array indices (int), from the root.</summary>
    public IReadOnlyList<object> Segments { get; }

    public string Root => (string)Segments[0];

    /// <summary>For a <c>nodes.X…</c> path, the node it reads from.</summary>
    public string? NodeId => Root == "nodes" && Segments.Count > 1 ? Segments[1] as string : null;

    public static DataPath Parse(string text)
    {
        var segments = new List<object>();
        var i = 0;
        while (i < text.Length)
        {
            if (text[i] == '[')
            {
                var close = text.IndexOf(']', i);
                if (close < 0 || !int.TryParse(text.AsSpan(i + 1, close - i - 1), NumberStyles.None, CultureInfo.InvariantCulture, out var index))
                {
                    throw new ExpressionException($"'{text}': '[' must hold an array index, like [0].");
                }

                segments.Add(index);
                i = close + 1;
                if (i < text.Length && text[i] == '.')
                {
                    i++;
                }

                continue;
            }

            var start = i;
            while (i < text.Length && (char.IsAsciiLetterOrDigit(text[i]) || text[i] is '_' or '-'))
            {
                i++;
            }

            if (i == start)
            {
                throw new ExpressionException($"'{text}': unexpected '{text[i]}' at position {i + 1}; a path is names and [indices] joined by dots.");
            }

            segments.Add(text[start..i]);
            if (i < text.Length && text[i] == '.')
            {
                i++;
                if (i == text.Length)
                {
                    throw new ExpressionException($"'{text}': a path cannot end with '.'.");
                }
            }
            else if (i < text.Length && text[i] != '[')
            {
                throw new ExpressionException($"'{text}': unexpected '{text[i]}' at position {i + 1}.");
            }
        }

        if (segments.Count == 0 || segments[0] is not ("nodes" or "inputs" or "run"))
        {
            throw new ExpressionException($"'{text}': a path starts with nodes.<id>, inputs or run.");
        }

        if (segments[0] is "nodes" && (segments.Count < 3 || segments[1] is not string || segments[2] is not ("output" or "status")))
        {
            throw new ExpressionException($"'{text}': a node path is nodes.<id>.output… or nodes.<id>.status.");
        }

        return new DataPath(text, segments);
    }

    /// <summary>The value at this path, or <c>found = false</c> when any step is missing.</summary>
    public JsonNode? Evaluate(JsonNode? root, out bool found)
    {
        var current = root;
        foreach (var segment in Segments)
        {
            switch (segment)
            {
                case string name when current is JsonObject obj && obj.TryGetPropertyValue(name, out var child):
                    current = child;
                    break;
                case int index when current is JsonArray array && index < array.Count:
                    current = array[index];
                    break;
                default:
                    found = false;
                    return null;
            }
        }

        found = true;
        return current;
    }
}
