using System.Diagnostics;
using System.Text;
using System.Text.Json.Nodes;
using Orchestrator.Actions;
using Orchestrator.Projects;

namespace Orchestrator.Tools;

/// <summary>
/// A process to start from an argv array: no shell, an explicit environment (nothing inherited), a working directory
/// inside <paramref name="ProjectRoot"/> and a time limit.
/// </summary>
public sealed record ProcessRequest(
    IReadOnlyList<string> Argv, string ProjectRoot, string WorkingDirectory, IReadOnlyDictionary<string, string> Environment, TimeSpan Timeout, string? StandardInput = null);

/// <summary>
/// Runs a process for a tool and records exit code, stdout and stderr (each capped), and duration. A process past its
/// time limit, or whose run is cancelled, is killed with its whole process tree.
/// </summary>
public static class ProcessRunner
{
    public const int MaxOutputChars = 64 * 1024;

    /// <summary>How long output is still collected after the process exits, for pipes a background child keeps open.</summary>
    private static readonly TimeSpan DrainGrace = TimeSpan.FromSeconds(2);

    public static async Task<ActionOutcome> RunAsync(ProcessRequest request, CancellationToken cancellationToken)
    {
        // The operating system ends a C string at NUL, so "a\0b" would silently run as "a": refused, never cut short.
        // Callers refuse such input first with a field name; this is the last line for every process this server starts.
        for (var i = 0; i < request.Argv.Count; i++)
        {
            if (request.Argv[i].Contains('\0', StringComparison.Ordinal))
            {
                throw new ActionFailedException($"argv[{i}] contains a NUL character, which a process argument cannot carry; nothing was run.");
            }
        }

        if (request.Environment.FirstOrDefault(v => v.Value.Contains('\0', StringComparison.Ordinal)) is { Key: { } variable })
        {
            throw new ActionFailedException($"The environment variable '{variable}' contains a NUL character, which it cannot carry; nothing was run.");
        }

        var info = new ProcessStartInfo
        {
            FileName = ResolveProgram(request),
            WorkingDirectory = request.WorkingDirectory,
            UseShellExecute = false,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        foreach (var argument in request.Argv.Skip(1))
        {
            info.ArgumentList.Add(argument);
        }

        info.Environment.Clear();
        foreach (var (name, value) in request.Environment)
        {
            info.Environment[name] = value;
        }

        var clock = Stopwatch.StartNew();
        using var process = new Process { StartInfo = info };
        try
        {
            process.Start();
        }
        catch (System.ComponentModel.Win32Exception ex)
        {
            throw new ActionFailedException($"Could not start '{request.Argv[0]}': {ex.Message}");
        }

        var stdout = ReadCappedAsync(process.StandardOutput);
        var stderr = ReadCappedAsync(process.StandardError);
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        limit.CancelAfter(request.Timeout);
        try
        {
            if (request.StandardInput is { } input)
            {
                await process.StandardInput.WriteAsync(input.AsMemory(), limit.Token);
            }

            process.StandardInput.Close();
            await process.WaitForExitAsync(limit.Token);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException)
        {
            // IOException: the process closed its stdin early (e.g. it exited); that is its business, not a failure of ours.
            if (ex is IOException)
            {
                await process.WaitForExitAsync(limit.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            }

            if (!process.HasExited)
            {
                process.Kill(entireProcessTree: true);
                await process.WaitForExitAsync(CancellationToken.None);
                cancellationToken.ThrowIfCancellationRequested();
                throw new ActionFailedException($"'{request.Argv[0]}' timed out after {request.Timeout.TotalSeconds:0} s and was killed.",
                    Result(-1, await Drained(stdout), await Drained(stderr), clock.Elapsed));
            }
        }

        var result = Result(process.ExitCode, await Drained(stdout), await Drained(stderr), clock.Elapsed);
        return process.ExitCode == 0
            ? new ActionOutcome(true, result)
            : new ActionOutcome(false, result, $"'{request.Argv[0]}' exited with code {process.ExitCode}.");
    }

    /// <summary>
    /// Why <paramref name="program"/> (an argv[0]) can never be started, judged from its text alone, or null: a path
    /// must be relative (no leading '/', '~' or drive letter) and stay inside the project ('..' is refused), and a backslash is
    /// not a separator here. The full check, symlinks included, is made when the process starts.
    /// </summary>
    public static string? ProgramError(string program)
    {
        if (program.Contains('\\', StringComparison.Ordinal))
        {
            return $"'{program}' must not contain '\\'; a program is a name looked up on PATH, or a path with '/' inside the project root.";
        }

        if (program.Contains('/', StringComparison.Ordinal) || Path.IsPathRooted(program))
        {
            var (_, error) = WorkspacePathResolver.Resolve(LexicalRoot, WithoutDotSegments(program));
            if (error is not null)
            {
                return $"'{program}' {error} A program with '/' is a path inside the project root (e.g. 'bin/build.sh'); a program elsewhere is named without '/' and looked up on PATH.";
            }
        }

        return null;
    }

    /// <summary>A root that does not exist: only the lexical rules of <see cref="WorkspacePathResolver"/> apply to it.</summary>
    private static readonly string LexicalRoot = Path.Combine(Path.GetTempPath(), "orchestrator-no-such-root-" + Guid.NewGuid().ToString("N"));

    /// <summary>'./build.sh' means 'build.sh'; '.' segments change nothing, while '..' stays for the resolver to refuse.</summary>
    private static string WithoutDotSegments(string path) => string.Join('/', path.Split('/').Where(s => s != "."));

    /// <summary>
    /// The program to start, resolved here rather than by <see cref="Process"/>, which would also look in the server's own
    /// directory and working directory: a bare name is searched on the child's PATH only; a path with '/' is taken
    /// relative to the working directory and must resolve inside the project root through
    /// <see cref="WorkspacePathResolver"/>, so an absolute path ('/bin/cat'), '..' or a symlink leading out is refused.
    /// </summary>
    private static string ResolveProgram(ProcessRequest request)
    {
        var program = request.Argv[0];
        if (ProgramError(program) is { } refused)
        {
            throw new ActionFailedException($"argv[0]: {refused}");
        }

        if (program.Contains('/', StringComparison.Ordinal))
        {
            var directory = Path.GetRelativePath(request.ProjectRoot, request.WorkingDirectory).Replace('\\', '/');
            var relative = WithoutDotSegments(directory == "." ? program : $"{directory}/{program}");
            var (full, error) = WorkspacePathResolver.Resolve(request.ProjectRoot, relative);
            return full ?? throw new ActionFailedException(
                $"argv[0]: '{program}' {error} A program with '/' is a path inside the project root; a program elsewhere is named without '/' and looked up on PATH.");
        }

        var path = request.Environment.TryGetValue("PATH", out var p) ? p : "";
        foreach (var directory in path.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries).Where(Path.IsPathRooted))
        {
            var candidate = Path.Combine(directory, program);
            if (File.Exists(candidate) && (OperatingSystem.IsWindows() || (File.GetUnixFileMode(candidate) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0))
            {
                return candidate;
            }
        }

        throw new ActionFailedException($"'{program}' was not found on the PATH given to the process ({path}).");
    }

    /// <summary>The output read so far once the process is gone; a background child holding the pipe open does not hold up the run.</summary>
    private static async Task<(string Text, bool Truncated)> Drained(Task<(string Text, bool Truncated)> reader)
    {
        if (await Task.WhenAny(reader, Task.Delay(DrainGrace)) == reader)
        {
            return await reader;
        }

        return ("(output still open in a background process; not collected)", true);
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
}
