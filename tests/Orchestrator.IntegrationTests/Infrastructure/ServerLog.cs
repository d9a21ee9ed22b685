using System.Text.RegularExpressions;

namespace Orchestrator.IntegrationTests.Infrastructure;

/// <summary>
/// Reads a server's console output for what the tests forbid in handled conditions: failures and stack traces.
/// </summary>
/// <remarks>
/// The console formatter pads every line of an exception with its own indentation, so a test that looks for lines
/// starting with <c>"   at "</c> finds none even when a trace is there; and a frame only names its file
/// (<c>" in …:line n"</c>) when the assembly ships its symbols, which EF Core, Npgsql, Quartz and Polly frames do not.
/// A trace is recognised here by its text alone, whatever the indentation: a frame (<c>at</c> and a dotted method
/// name) or an exception's own line (<c>Some.Namespace.SomethingException: message</c>, also as an inner exception
/// after <c>---></c>). <see cref="StackTraceDetectionTests"/> shows that it finds the trace in real server output.
/// </remarks>
public static partial class ServerLog
{
    /// <summary>The lines that belong to a stack trace: frames and exception headers.</summary>
    public static IReadOnlyList<string> StackTraceLines(string output) =>
        [.. Lines(output).Where(l => Frame().IsMatch(l) || ExceptionHeader().IsMatch(l))];

    /// <summary>The entries logged at Error or Critical (the console formatter's <c>fail:</c> and <c>crit:</c>).</summary>
    public static IReadOnlyList<string> FailureLines(string output) =>
        [.. Lines(output).Where(l => l.StartsWith("fail:", StringComparison.Ordinal) || l.StartsWith("crit:", StringComparison.Ordinal))];

    /// <summary>Asserts that <paramref name="output"/> holds no failure and no stack trace, naming what produced it.</summary>
    public static void AssertNoFailureOrTrace(string output, string what)
    {
        Assert.That(FailureLines(output), Is.Empty, $"{what} logged a failure:\n{output}");
        Assert.That(StackTraceLines(output), Is.Empty, $"{what} logged a stack trace:\n{output}");
    }

    /// <summary>
    /// The entries logged at Information or above, each with its message lines (the console formatter starts an entry
    /// with <c>info:</c>, <c>warn:</c>, <c>fail:</c> or <c>crit:</c> and indents what follows; <c>dbug:</c> entries are left out).
    /// </summary>
    public static IReadOnlyList<string> EntriesAtInformationOrAbove(string output)
    {
        var entries = new List<string>();
        System.Text.StringBuilder? current = null;
        foreach (var line in Lines(output))
        {
            var startsEntry = line.Length > 5 && line[4] == ':' && line[..4] is "trce" or "dbug" or "info" or "warn" or "fail" or "crit";
            if (startsEntry)
            {
                if (current is not null)
                {
                    entries.Add(current.ToString());
                }

                current = line[..4] is "trce" or "dbug" ? null : new System.Text.StringBuilder(line);
            }
            else
            {
                current?.Append('\n').Append(line);
            }
        }

        if (current is not null)
        {
            entries.Add(current.ToString());
        }

        return entries;
    }

    private static IEnumerable<string> Lines(string output) => output.Split('\n').Select(l => l.TrimEnd('\r'));

    // "at Namespace.Type.Method(…)", "at Npgsql.Internal.NpgsqlConnector.<ReadMessage>g__ReadMessageLong|233_0(…)":
    // a dotted name right after "at ", which an ordinary sentence ("retrying at 09:30") does not have.
    [GeneratedRegex(@"^\s*at [\w`<>$|\[\],]+(\.[\w`<>$|\[\],]+)+")]
    private static partial Regex Frame();

    // "Npgsql.PostgresException (0x80004005): 23505: …", " ---> System.TimeoutException: …".
    [GeneratedRegex(@"^\s*(---> )?([A-Za-z_]\w*\.)*[A-Za-z_]\w*Exception( \(0x[0-9A-Fa-f]+\))?:")]
    private static partial Regex ExceptionHeader();
}
