using System.Text.Json;
using NJsonSchema;
using NJsonSchema.Validation;

namespace Orchestrator.Hosting;

/// <summary>
/// Integers a JSON Schema check cannot take. NJsonSchema reads documents through Newtonsoft.Json, which turns an
/// integer beyond 64 bits into a BigInteger that its number checks cannot convert (an InvalidCastException, a 500):
/// when that happens, each such number is refused by name instead. Where no number check applies (a call_api body),
/// such a number is left alone.
/// </summary>
public static class JsonNumbers
{
    public const string OutOfRange = "is an integer outside the range this server accepts (-9223372036854775808 to 9223372036854775807).";

    /// <summary>
    /// Validates <paramref name="document"/>; false when the validator could not, because of an integer beyond 64 bits
    /// (then <see cref="OutOfRangeIntegers"/> names them).
    /// </summary>
    public static bool TryValidate(JsonSchema schema, JsonElement document, out ICollection<ValidationError> errors)
    {
        try
        {
            errors = schema.Validate(document.GetRawText());
            return true;
        }
        catch (Exception ex) when (ex is InvalidCastException or OverflowException && OutOfRangeIntegers(document, "$").Any())
        {
            errors = [];
            return false;
        }
    }

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
