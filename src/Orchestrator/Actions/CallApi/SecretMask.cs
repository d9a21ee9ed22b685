using System.Text.Encodings.Web;
using System.Text.Json;

namespace Orchestrator.Actions.CallApi;

/// <summary>
/// Masks what a peer can echo back of the secret values a call sent, before anything is recorded (a run's result, a
/// node's output, an error). Not only the whole value: a peer (or a length cap) can cut it, and JSON or URL encoding
/// changes how it is spelled. So each secret is looked for as it was sent, JSON-escaped and URL-encoded, and masked
/// where any <see cref="FragmentLength"/> consecutive characters of it appear, and where a text ends with a beginning
/// of it at least <see cref="MinimumLength"/> long (a value cut off at the end). Values shorter than
/// <see cref="MinimumLength"/> are not looked for: masking them would mask ordinary text.
/// </summary>
public static class SecretMask
{
    public const string Mask = "***";

    /// <summary>The shortest secret value masked at all, and the shortest cut-off beginning of one masked at a text's end.</summary>
    public const int MinimumLength = 4;

    /// <summary>A run of this many characters of a secret is masked wherever it appears (shorter secrets: the whole value).</summary>
    public const int FragmentLength = 8;

    private static readonly JsonSerializerOptions RelaxedJson = new() { Encoder = JavaScriptEncoder.UnsafeRelaxedJsonEscaping };

    /// <summary>The longest spelling of any of the secrets: how much more than a cap to read so a value at the cut is seen whole.</summary>
    public static int LongestForm(IEnumerable<string> secrets) => Forms(secrets).Select(f => f.Length).DefaultIfEmpty(0).Max();

    public static string Redact(string text, IEnumerable<string> secrets)
    {
        var forms = Forms(secrets);
        if (forms.Count == 0 || text.Length == 0)
        {
            return text;
        }

        var masked = new bool[text.Length];
        foreach (var form in forms)
        {
            MarkFragments(text, form, masked);
            MarkCutOffBeginning(text, form, masked);
        }

        if (!masked.Contains(true))
        {
            return text;
        }

        // Each run of masked characters becomes one mask, so the record does not even tell how long a value was.
        var result = new System.Text.StringBuilder(text.Length);
        for (var i = 0; i < text.Length; i++)
        {
            if (!masked[i])
            {
                result.Append(text[i]);
            }
            else if (i == 0 || !masked[i - 1])
            {
                result.Append(Mask);
            }
        }

        return result.ToString();
    }

    /// <summary>Each value as sent, JSON-escaped (strict and relaxed) and URL-encoded; only those long enough to mask.</summary>
    private static List<string> Forms(IEnumerable<string> secrets)
    {
        var forms = new HashSet<string>(StringComparer.Ordinal);
        foreach (var secret in secrets.Where(s => s.Length >= MinimumLength))
        {
            forms.Add(secret);
            forms.Add(JsonSerializer.Serialize(secret)[1..^1]);
            forms.Add(JsonSerializer.Serialize(secret, RelaxedJson)[1..^1]);
            forms.Add(Uri.EscapeDataString(secret));
        }

        return [.. forms];
    }

    private static void MarkFragments(string text, string form, bool[] masked)
    {
        if (form.Length <= FragmentLength)
        {
            for (var at = text.IndexOf(form, StringComparison.Ordinal); at >= 0; at = text.IndexOf(form, at + 1, StringComparison.Ordinal))
            {
                Array.Fill(masked, true, at, form.Length);
            }

            return;
        }

        // Every window of FragmentLength characters that occurs in the secret: a text window equal to one is part of a
        // fragment, and the union of such windows is every fragment of FragmentLength or more characters, whole.
        var windows = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i + FragmentLength <= form.Length; i++)
        {
            windows.Add(form.Substring(i, FragmentLength));
        }

        var lookup = windows.GetAlternateLookup<ReadOnlySpan<char>>();
        for (var i = 0; i + FragmentLength <= text.Length; i++)
        {
            if (lookup.Contains(text.AsSpan(i, FragmentLength)))
            {
                Array.Fill(masked, true, i, FragmentLength);
            }
        }
    }

    private static void MarkCutOffBeginning(string text, string form, bool[] masked)
    {
        for (var length = Math.Min(form.Length - 1, text.Length); length >= MinimumLength; length--)
        {
            if (text.AsSpan(text.Length - length).SequenceEqual(form.AsSpan(0, length)))
            {
                Array.Fill(masked, true, text.Length - length, length);
                return;
            }
        }
    }
}
