using System.Diagnostics;
using System.Globalization;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Orchestrator.Actions;
using Orchestrator.Actions.CallApi;

namespace Orchestrator.Tools;

/// <summary>
/// Runs an operator-defined tool. A <c>command</c> tool is a process started from an argv array, never through a
/// shell: each <c>{{args.x}}</c> fills exactly one argv element, so "; rm -rf /" is just an argument. It runs in the
/// project's root with a cleared environment, a timeout, and captured, truncated output. An <c>http</c> tool is a
/// request template sent through the call_api executor (same outbound policy and secrets).
/// </summary>
public sealed partial class ToolInvoker(HttpActionExecutor http)
{
    public const int MaxOutputChars = 64 * 1024;
    public const int DefaultTimeoutSeconds = 60;

    public async Task<ActionOutcome> InvokeAsync(ToolDefinition tool, string projectRoot, JsonElement arguments, string idempotencyKey, CancellationToken cancellationToken)
    {
        using var config = JsonDocument.Parse(tool.ConfigJson);
        return tool.Kind switch
        {
            ToolKind.Command => await RunCommandAsync(config.RootElement, projectRoot, arguments, idempotencyKey, cancellationToken),
            ToolKind.Http => await http.ExecuteAsync(FillHttpTemplate(config.RootElement, arguments), idempotencyKey, cancellationToken),
            _ => throw new ActionFailedException($"Tool '{tool.Name}' of kind {tool.Kind} cannot be invoked."),
        };
    }

    private static async Task<ActionOutcome> RunCommandAsync(JsonElement config, string root, JsonElement arguments, string idempotencyKey, CancellationToken cancellationToken)
    {
        var info = new ProcessStartInfo
        {
            WorkingDirectory = root,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        var argv = config.GetProperty("argv").EnumerateArray().Select(a => Fill(a.GetString()!, arguments, Uri.EscapeDataString, raw: true)).ToList();
        info.FileName = argv[0];
        foreach (var argument in argv.Skip(1))
        {
            info.ArgumentList.Add(argument);
        }

        // Nothing of the server's environment (connection strings, secrets) leaks into a tool; only what it needs to run.
        info.Environment.Clear();
        info.Environment["PATH"] = Environment.GetEnvironmentVariable("PATH") ?? "/usr/local/bin:/usr/bin:/bin";
        info.Environment["HOME"] = root;
        info.Environment["LANG"] = "C.UTF-8";
        info.Environment["ORCHESTRATOR_IDEMPOTENCY_KEY"] = idempotencyKey;

        var timeout = TimeSpan.FromSeconds(config.TryGetProperty("timeoutSeconds", out var t) && t.TryGetInt32(out var s) ? Math.Clamp(s, 1, 3600) : DefaultTimeoutSeconds);
        var clock = Stopwatch.StartNew();
        using var process = new Process { StartInfo = info };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new ActionFailedException($"Could not start '{argv[0]}': {ex.Message}");
        }

        process.StandardInput.Close();
        var stdout = ReadCappedAsync(process.StandardOutput);
        var stderr = ReadCappedAsync(process.StandardError);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(timeout);
        try
        {
            await process.WaitForExitAsync(limit.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync(CancellationToken.None);
            if (cancellationToken.IsCancellationRequested)
            {
                throw;
            }

            throw new ActionFailedException($"'{argv[0]}' timed out after {timeout.TotalSeconds:0} s and was killed.",
                Result(-1, await stdout, await stderr, clock.Elapsed));
        }

        var result = Result(process.ExitCode, await stdout, await stderr, clock.Elapsed);
        return process.ExitCode == 0
            ? new ActionOutcome(true, result)
            : new ActionOutcome(false, result, $"'{argv[0]}' exited with code {process.ExitCode}.");
    }

    private static JsonObject Result(int exitCode, (string Text, bool Truncated) stdout, (string Text, bool Truncated) stderr, TimeSpan elapsed) => new()
    {
        ["exitCode"] = exitCode,
        ["stdout"] = stdout.Text,
        ["stderr"] = stderr.Text,
        ["truncated"] = stdout.Truncated || stderr.Truncated,
        ["durationMs"] = (long)elapsed.TotalMilliseconds,
    };

    private static async Task<(string Text, bool Truncated)> ReadCappedAsync(StreamReader reader)
    {
        var text = new StringBuilder();
        var buffer = new char[8192];
        var truncated = false;
        int read;
        while ((read = await reader.ReadAsync(buffer)) > 0)
        {
            var room = MaxOutputChars - text.Length;
            if (room > 0)
            {
                text.Append(buffer, 0, Math.Min(room, read));
            }

            // Keep draining past the cap, or a chatty process would block on a full pipe.
            truncated |= read > room;
        }

        return (text.ToString(), truncated);
    }

    private static JsonElement FillHttpTemplate(JsonElement config, JsonElement arguments)
    {
        var filled = JsonNode.Parse(config.GetRawText())!.AsObject();
        filled["url"] = Fill(config.GetProperty("url").GetString()!, arguments, Uri.EscapeDataString, raw: false);
        if (config.TryGetProperty("headers", out var headers))
        {
            var h = new JsonObject();
            foreach (var header in headers.EnumerateObject())
            {
                h[header.Name] = Fill(header.Value.GetString()!, arguments, v => v.Replace("\r", "", StringComparison.Ordinal).Replace("\n", "", StringComparison.Ordinal), raw: true);
            }

            filled["headers"] = h;
        }

        if (config.TryGetProperty("body", out var body) && body.ValueKind == JsonValueKind.String)
        {
            filled["body"] = Fill(body.GetString()!, arguments, v => v, raw: true);
        }

        return JsonDocument.Parse(filled.ToJsonString()).RootElement.Clone();
    }

    /// <summary>Replaces each <c>{{args.x}}</c> with the argument's text (encoded for URLs when asked); a missing argument is an error.</summary>
    private static string Fill(string template, JsonElement arguments, Func<string, string> encode, bool raw) => Placeholder().Replace(template, m =>
    {
        if (arguments.ValueKind != JsonValueKind.Object || !arguments.TryGetProperty(m.Groups[1].Value, out var value) || value.ValueKind is JsonValueKind.Null)
        {
            throw new ActionFailedException($"Argument '{m.Groups[1].Value}' is used by the tool's template but was not given.");
        }

        var text = value.ValueKind switch
        {
            JsonValueKind.String => value.GetString()!,
            JsonValueKind.Number => value.GetRawText(),
            JsonValueKind.True => "true",
            JsonValueKind.False => "false",
            _ => value.GetRawText(),
        };
        return raw ? text : encode(text);
    });

    [GeneratedRegex(@"\{\{\s*args\.([A-Za-z0-9_]+)\s*\}\}", RegexOptions.CultureInvariant)]
    private static partial Regex Placeholder();
}
