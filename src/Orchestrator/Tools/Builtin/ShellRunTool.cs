using System.Text.Json;
using Microsoft.Extensions.Options;
using Orchestrator.Actions;
using Orchestrator.Api;
using Orchestrator.Hosting;
using Orchestrator.Security;

namespace Orchestrator.Tools.Builtin;

/// <summary>
/// Runs a command from an argv array, with no shell in between: <c>["sh", "-c", "…"]</c> is possible, but only when
/// the caller spells out a shell on purpose. Works in the project root (or a directory inside it), with an environment
/// built from an allowlist, a timeout that kills the process tree, and captured, truncated output.
/// </summary>
public sealed class ShellRunTool(IOptionsMonitor<OrchestratorOptions> options) : BuiltinTool
{
    public const int DefaultTimeoutSeconds = 60;

    public override string Name => "shell.run";

    public override string Description => "Run a program from an argv array (no shell) in the project root, with a timeout and an allowlisted environment.";

    /// <summary>Running an arbitrary program is what registering a command tool allows, and that is an admin's call.</summary>
    public override ApiRole RequiredRole => ApiRole.Admin;

    public override string ParametersSchema => """
        {
          "type": "object",
          "additionalProperties": false,
          "required": ["argv"],
          "properties": {
            "argv": { "type": "array", "minItems": 1, "maxItems": 1000, "items": { "type": "string", "maxLength": 32768 } },
            "workingDirectory": { "type": "string", "maxLength": 1024, "description": "Relative to the project root; default the root." },
            "env": { "type": "object", "maxProperties": 100, "additionalProperties": { "type": "string", "maxLength": 32768 } },
            "stdin": { "type": "string", "maxLength": 1048576 },
            "timeoutSeconds": { "type": "integer", "minimum": 1, "maximum": 86400 }
          }
        }
        """;

    public override async ValueTask ValidateAsync(JsonElement arguments, string? projectId, string prefix, IServiceProvider services, FieldErrors errors, CancellationToken cancellationToken)
    {
        var settings = options.CurrentValue.Tools.Shell;
        if (string.IsNullOrWhiteSpace(arguments.GetProperty("argv")[0].GetString()))
        {
            errors.Add($"{prefix}.argv[0]", "must name the program to run.");
        }
        else if (ProcessRunner.ProgramError(arguments.GetProperty("argv")[0].GetString()!) is { } program)
        {
            errors.Add($"{prefix}.argv[0]", program);
        }

        if (arguments.TryGetProperty("argv", out var argv) && argv.EnumerateArray().Any(a => a.GetString()!.Contains('\0', StringComparison.Ordinal)))
        {
            errors.Add($"{prefix}.argv", "must not contain NUL characters.");
        }

        if (arguments.TryGetProperty("env", out var env))
        {
            foreach (var variable in env.EnumerateObject().Where(v => !settings.EnvironmentAllowlist.Contains(v.Name, StringComparer.Ordinal)))
            {
                errors.Add($"{prefix}.env.{variable.Name}", $"is not on the environment allowlist (Orchestrator:Tools:Shell:EnvironmentAllowlist: {string.Join(", ", settings.EnvironmentAllowlist)}).");
            }

            foreach (var variable in env.EnumerateObject().Where(v => v.Value.GetString()!.Contains('\0', StringComparison.Ordinal)))
            {
                errors.Add($"{prefix}.env.{variable.Name}", "must not contain NUL characters (the value would be cut short there).");
            }
        }

        if (arguments.TryGetProperty("timeoutSeconds", out var timeout) && timeout.GetInt32() > settings.MaxTimeoutSeconds)
        {
            errors.Add($"{prefix}.timeoutSeconds", $"must be at most {settings.MaxTimeoutSeconds} (Orchestrator:Tools:Shell:MaxTimeoutSeconds).");
        }

        await ToolPaths.CheckAsync(arguments, "workingDirectory", projectId, prefix, services, errors, cancellationToken);
    }

    public override Task<ActionOutcome> InvokeAsync(ToolContext context, JsonElement arguments, CancellationToken cancellationToken)
    {
        var settings = options.CurrentValue.Tools.Shell;
        var directory = ToolPaths.Resolve(context, OptionalString(arguments, "workingDirectory") ?? "", "workingDirectory");
        if (!Directory.Exists(directory))
        {
            throw new ActionFailedException($"workingDirectory: '{OptionalString(arguments, "workingDirectory")}' is not a directory in the project.");
        }

        var environment = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var name in settings.EnvironmentAllowlist)
        {
            if (Environment.GetEnvironmentVariable(name) is { } value)
            {
                environment[name] = value;
            }
        }

        environment.TryAdd("PATH", "/usr/local/bin:/usr/bin:/bin");
        environment.TryAdd("LANG", "C.UTF-8");
        if (arguments.TryGetProperty("env", out var env))
        {
            foreach (var variable in env.EnumerateObject())
            {
                // Checked at validation; checked again because settings can change between a schedule's creation and its run.
                if (!settings.EnvironmentAllowlist.Contains(variable.Name, StringComparer.Ordinal))
                {
                    throw new ActionFailedException($"env.{variable.Name}: is not on the environment allowlist.");
                }

                environment[variable.Name] = variable.Value.GetString()!;
            }
        }

        environment["HOME"] = context.ProjectRoot;
        environment["ORCHESTRATOR_PROJECT"] = context.ProjectId;
        environment["ORCHESTRATOR_IDEMPOTENCY_KEY"] = context.IdempotencyKey;

        var seconds = arguments.TryGetProperty("timeoutSeconds", out var t) ? Math.Min(t.GetInt32(), settings.MaxTimeoutSeconds) : DefaultTimeoutSeconds;
        var argv = arguments.GetProperty("argv").EnumerateArray().Select(a => a.GetString()!).ToList();
        return ProcessRunner.RunAsync(new ProcessRequest(argv, context.ProjectRoot, directory, environment, TimeSpan.FromSeconds(seconds), OptionalString(arguments, "stdin")), cancellationToken);
    }
}
