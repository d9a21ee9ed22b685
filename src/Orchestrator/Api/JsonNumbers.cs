using System.Text.Json;

namespace Orchestrator.Api;

/// <summary>
/// Integers beyond 64 bits. Bounds checks compare them fine, but the comparisons that convert a number to decimal
/// (const, enum, multipleOf) cannot: where a schema check fails on one, each such number is refused by name instead
/// of a 500. Where no schema check reads a number (a call_api body), it is left alone.
/// </summary>
public static class JsonNumbers
{
    public const string OutOfRange = "is an integer outside the range this server accepts (-9223372036854775808 to 9223372036854775807).";

    /// <summary>
    /// Paths (<c>prefix.a.b[0]</c>) of every integer literal in <paramref name="element"/> that does not fit in 64 bits,
    /// and whether it is below the range (negative) rather than above it.
    /// </summary>
    public static IEnumerable<(string Path, bool Negative)> OutOfRangeIntegers(JsonElement element, string path)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Number when !element.TryGetInt64(out _) && IsIntegerLiteral(element.GetRawText()):
                yield return (path, element.GetRawText().StartsWith('-'));
                break;
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    foreach (var inner in OutOfRangeIntegers(property.Value, $"{path}.{property.Name}"))
                    {
                        yield return inner;
                    }
                }

                break;
            case JsonValueKind.Array:
                var i = 0;
                foreach (var item in element.EnumerateArray())
                {
                    foreach (var inner in OutOfRangeIntegers(item, $"{path}[{i++}]"))
                    {
                        yield return inner;
                    }
                }

                break;
        }
    }

    // A literal with a fraction or an exponent is read as a double, which the schema checks handle (1e400 is "too large").
    private static bool IsIntegerLiteral(string raw) => !raw.AsSpan().ContainsAny('.', 'e', 'E');
}
