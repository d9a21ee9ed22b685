using System.Text.Json;

namespace Orchestrator.Api;

/// <summary>Every string value of a JSON document with its field path, for checks that read templates wherever they are.</summary>
public static class JsonStrings
{
    /// <summary>(<c>prefix.a.b[0]</c>, text) for each string in <paramref name="element"/>, in document order.</summary>
    public static IEnumerable<(string Path, string Text)> WithPaths(JsonElement element, string path)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.String:
                yield return (path, element.GetString()!);
                break;
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    foreach (var inner in WithPaths(property.Value, $"{path}.{property.Name}"))
                    {
                        yield return inner;
                    }
                }

                break;
            case JsonValueKind.Array:
                var i = 0;
                foreach (var item in element.EnumerateArray())
                {
                    foreach (var inner in WithPaths(item, $"{path}[{i++}]"))
                    {
                        yield return inner;
                    }
                }

                break;
        }
    }
}
