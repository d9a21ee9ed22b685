using System.Text;
using System.Text.Json;

namespace Orchestrator.Cli;

/// <summary>A table column: its header and the dotted path of the value in each item (<c>lastRun.status</c>).</summary>
public sealed record Column(string Header, string Path);

/// <summary>
/// Renders the server's JSON for a terminal: a list (or a page's <c>items</c>) as a table of the given columns, with the
/// page position under it; one object as <c>field: value</c> lines of its scalar fields, nested objects by dotted name.
/// Values the server leaves out or sends as null print empty, so the table survives fields the API adds or renames.
/// </summary>
public static class CliTable
{
    private const int MaxCellWidth = 60;

    public static string Render(JsonElement value, IReadOnlyList<Column> columns)
    {
        if (value.ValueKind == JsonValueKind.Array)
        {
            return Table(value, columns);
        }

        if (value.ValueKind == JsonValueKind.Object && value.TryGetProperty("items", out var items) && items.ValueKind == JsonValueKind.Array)
        {
            var table = Table(items, columns);
            if (value.TryGetProperty("nextCursor", out var next) && next.ValueKind == JsonValueKind.String)
            {
                // Cursor-paged lists (the audit log): how to ask for the next page.
                return table + $"more: --cursor {next.GetString()}{Environment.NewLine}";
            }

            return value.TryGetProperty("total", out var total) && value.TryGetProperty("page", out var page) && value.TryGetProperty("pageSize", out var size)
                ? table + $"page {page} (page size {size}), {total} in all{Environment.NewLine}"
                : table;
        }

        return value.ValueKind == JsonValueKind.Object ? Fields(value) : value.ToString() + Environment.NewLine;
    }

    public static string Cell(JsonElement item, string path)
    {
        var current = item;
        foreach (var part in path.Split('.'))
        {
            if (current.ValueKind != JsonValueKind.Object || !current.TryGetProperty(part, out current))
            {
                return "";
            }
        }

        return Shorten(Scalar(current));
    }

    private static string Table(JsonElement items, IReadOnlyList<Column> columns)
    {
        if (columns.Count == 0)
        {
            columns = Derived(items);
        }

        var rows = items.EnumerateArray().Select(item => columns.Select(c => Cell(item, c.Path)).ToArray()).ToList();
        if (rows.Count == 0)
        {
            return "(none)" + Environment.NewLine;
        }

        var widths = columns.Select((c, i) => Math.Max(c.Header.Length, rows.Max(r => r[i].Length))).ToArray();
        var text = new StringBuilder();
        Line(text, [.. columns.Select(c => c.Header)], widths);
        foreach (var row in rows)
        {
            Line(text, row, widths);
        }

        return text.ToString();
    }

    /// <summary>
    /// For lists whose fields this client does not fix in advance: the first item's scalar fields, in the server's order
    /// (objects and arrays are left to <c>get</c> and <c>--json</c>).
    /// </summary>
    private static Column[] Derived(JsonElement items)
    {
        var first = items.EnumerateArray().FirstOrDefault();
        return first.ValueKind != JsonValueKind.Object ? []
            : [.. first.EnumerateObject()
                .Where(p => p.Value.ValueKind is not (JsonValueKind.Object or JsonValueKind.Array))
                .Select(p => new Column(Header(p.Name), p.Name))];
    }

    /// <summary><c>createdAt</c> → <c>CREATED AT</c>.</summary>
    private static string Header(string name)
    {
        var text = new StringBuilder();
        foreach (var c in name)
        {
            if (char.IsUpper(c) && text.Length > 0)
            {
                text.Append(' ');
            }

            text.Append(char.ToUpperInvariant(c));
        }

        return text.ToString();
    }

    private static void Line(StringBuilder text, string[] cells, int[] widths)
    {
        var line = string.Join("  ", cells.Select((cell, i) => cell.PadRight(widths[i])));
        text.Append(line.TrimEnd()).Append(Environment.NewLine);
    }

    private static string Fields(JsonElement value)
    {
        var fields = new List<(string Name, string Value)>();
        Collect(value, "", fields);
        var width = fields.Count == 0 ? 0 : fields.Max(f => f.Name.Length);
        var text = new StringBuilder();
        foreach (var (name, cell) in fields)
        {
            text.Append($"{(name + ":").PadRight(width + 1)} {cell}".TrimEnd()).Append(Environment.NewLine);
        }

        return text.ToString();
    }

    /// <summary>Scalars by their dotted name; objects two levels deep; arrays and deeper objects as compact JSON.</summary>
    private static void Collect(JsonElement value, string prefix, List<(string, string)> fields)
    {
        foreach (var property in value.EnumerateObject())
        {
            var name = prefix + property.Name;
            if (property.Value.ValueKind == JsonValueKind.Object && !prefix.Contains('.', StringComparison.Ordinal) && property.Value.EnumerateObject().Any())
            {
                Collect(property.Value, name + ".", fields);
            }
            else
            {
                fields.Add((name, Shorten(Scalar(property.Value), 200)));
            }
        }
    }

    private static string Scalar(JsonElement value) => value.ValueKind switch
    {
        JsonValueKind.Null or JsonValueKind.Undefined => "",
        JsonValueKind.String => value.GetString() ?? "",
        JsonValueKind.True => "true",
        JsonValueKind.False => "false",
        _ => value.GetRawText(),
    };

    /// <summary>One line per row: control characters (a newline in an error message) become spaces, long text is cut.</summary>
    private static string Shorten(string text, int max = MaxCellWidth)
    {
        var flat = new string([.. text.Select(c => char.IsControl(c) ? ' ' : c)]);
        return flat.Length <= max ? flat : flat[..(max - 1)] + "…";
    }
}
