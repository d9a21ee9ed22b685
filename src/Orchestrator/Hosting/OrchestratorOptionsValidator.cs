using Microsoft.Extensions.Options;

namespace Orchestrator.Hosting;

/// <summary>Checks the settings before anything starts, naming each bad setting and what it accepts.</summary>
public sealed class OrchestratorOptionsValidator : IValidateOptions<OrchestratorOptions>
{
    private const string Prefix = OrchestratorOptions.SectionName + ":";

    public ValidateOptionsResult Validate(string? name, OrchestratorOptions options)
    {
        var failures = Check(options);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    public static List<string> Check(OrchestratorOptions options)
    {
        var failures = new List<string>();
        var db = options.Database;
        var isPostgres = string.Equals(db.Provider, DatabaseProviders.Postgres, StringComparison.OrdinalIgnoreCase);
        var isSqlite = string.Equals(db.Provider, DatabaseProviders.Sqlite, StringComparison.OrdinalIgnoreCase);

        if (!isPostgres && !isSqlite)
        {
            failures.Add($"{Prefix}Database:Provider = '{db.Provider}' is not supported. Accepted values: {string.Join(", ", DatabaseProviders.All)}.");
        }

        if (isPostgres && string.IsNullOrWhiteSpace(db.ConnectionString))
        {
            failures.Add($"{Prefix}Database:ConnectionString is required when {Prefix}Database:Provider is Postgres, e.g. 'Host=db;Database=orchestrator;Username=orchestrator;Password=…'.");
        }

        if (isPostgres && !string.IsNullOrWhiteSpace(db.ConnectionString))
        {
            try
            {
                _ = new Npgsql.NpgsqlConnectionStringBuilder(db.ConnectionString);
            }
            catch (ArgumentException ex)
            {
                // The builder's message names the bad keyword; the connection string itself may hold a password, so it is not echoed.
                failures.Add($"{Prefix}Database:ConnectionString is not a valid PostgreSQL connection string: {ex.Message}");
            }
        }

        if (isSqlite && options.Cluster.Enabled == true)
        {
            failures.Add($"{Prefix}Cluster:Enabled = true needs a shared database with row locks, which the embedded SQLite store is not. " +
                         $"Set {Prefix}Database:Provider = Postgres (with {Prefix}Database:ConnectionString) to run a cluster, or remove {Prefix}Cluster:Enabled to run a single node.");
        }

        if (string.IsNullOrWhiteSpace(db.TablePrefix) || !db.TablePrefix.All(c => char.IsAsciiLetterOrDigit(c) || c == '_'))
        {
            failures.Add($"{Prefix}Database:TablePrefix = '{db.TablePrefix}' must be letters, digits and underscores (default 'qrtz_').");
        }

        var cluster = options.Cluster;
        if (cluster.CheckinInterval < TimeSpan.FromMilliseconds(500) || cluster.CheckinInterval > TimeSpan.FromMinutes(10))
        {
            failures.Add($"{Prefix}Cluster:CheckinInterval = {cluster.CheckinInterval} must be between 00:00:00.5 and 00:10:00 (default 00:00:01).");
        }

        if (cluster.CheckinMisfireThreshold < TimeSpan.FromSeconds(1) || cluster.CheckinMisfireThreshold > TimeSpan.FromHours(1))
        {
            failures.Add($"{Prefix}Cluster:CheckinMisfireThreshold = {cluster.CheckinMisfireThreshold} must be between 00:00:01 and 01:00:00 (default 00:00:05).");
        }

        if (cluster.InstanceId is { } id && (id.Length is 0 or > 200 || id.Any(char.IsControl)))
        {
            failures.Add($"{Prefix}Cluster:InstanceId must be 1–200 printable characters, or unset to generate a unique id per node.");
        }

        if (options.Scheduler.MaxConcurrency is < 1 or > 1000)
        {
            failures.Add($"{Prefix}Scheduler:MaxConcurrency = {options.Scheduler.MaxConcurrency} must be between 1 and 1000.");
        }

        if (options.Scheduler.DefaultJitterSeconds is < 0 or > Schedules.ScheduleJitter.MaxSeconds)
        {
            failures.Add($"{Prefix}Scheduler:DefaultJitterSeconds = {options.Scheduler.DefaultJitterSeconds} must be between 0 and {Schedules.ScheduleJitter.MaxSeconds} (default 0).");
        }

        if (options.Scheduler.ShutdownTimeout < TimeSpan.Zero || options.Scheduler.ShutdownTimeout > TimeSpan.FromHours(1))
        {
            failures.Add($"{Prefix}Scheduler:ShutdownTimeout = {options.Scheduler.ShutdownTimeout} must be between 00:00:00 and 01:00:00.");
        }

        if (options.DataDirectory is not null && string.IsNullOrWhiteSpace(options.DataDirectory))
        {
            failures.Add($"{Prefix}DataDirectory must not be empty; give a directory, or leave it unset for the per-user default.");
        }
        else if (options.DataDirectory is null && StorageChoice.DefaultDataDirectory() is null)
        {
            failures.Add($"{Prefix}DataDirectory is not set and this account has no per-user data directory (HOME or LOCALAPPDATA is unset); set it to a directory.");
        }

        for (var i = 0; i < options.Workspaces.Roots.Count; i++)
        {
            if (string.IsNullOrWhiteSpace(options.Workspaces.Roots[i]))
            {
                failures.Add($"{Prefix}Workspaces:Roots:{i} is empty; give a directory path.");
            }
        }

        foreach (var (group, limit) in options.Scheduler.ExecutionLimits)
        {
            if (limit < 0 || limit > 10_000)
            {
                failures.Add($"{Prefix}Scheduler:ExecutionLimits:{group} = {limit} must be between 0 (never run) and 10000.");
            }
        }

        var breaker = options.Outbound.CircuitBreaker;
        if (!(breaker.FailureRatio > 0 && breaker.FailureRatio <= 1))
        {
            failures.Add($"{Prefix}Outbound:CircuitBreaker:FailureRatio = {breaker.FailureRatio} must be more than 0 and at most 1 (default 0.5).");
        }

        if (breaker.MinimumThroughput < 2)
        {
            failures.Add($"{Prefix}Outbound:CircuitBreaker:MinimumThroughput = {breaker.MinimumThroughput} must be at least 2 (default 10).");
        }

        if (breaker.SamplingDuration < TimeSpan.FromSeconds(1) || breaker.SamplingDuration > TimeSpan.FromDays(1))
        {
            failures.Add($"{Prefix}Outbound:CircuitBreaker:SamplingDuration = {breaker.SamplingDuration} must be between 00:00:01 and 1.00:00:00 (default 00:00:30).");
        }

        if (breaker.BreakDuration < TimeSpan.FromSeconds(1) || breaker.BreakDuration > TimeSpan.FromDays(1))
        {
            failures.Add($"{Prefix}Outbound:CircuitBreaker:BreakDuration = {breaker.BreakDuration} must be between 00:00:01 and 1.00:00:00 (default 00:00:15).");
        }

        if (options.Audit.Check() is { } auditFailure)
        {
            failures.Add(auditFailure);
        }

        if (options.Runs.Retention < TimeSpan.FromHours(1))
        {
            failures.Add($"{Prefix}Runs:Retention = {options.Runs.Retention} must be at least 01:00:00.");
        }

        if (options.Runs.HousekeepingInterval < TimeSpan.FromSeconds(10) || options.Runs.HousekeepingInterval > TimeSpan.FromDays(1))
        {
            failures.Add($"{Prefix}Runs:HousekeepingInterval = {options.Runs.HousekeepingInterval} must be between 00:00:10 and 1.00:00:00.");
        }

        foreach (var disabled in options.Tools.DisabledBuiltins.Where(d => !Orchestrator.Tools.BuiltinToolCatalog.KnownNames.Contains(d)))
        {
            // A misspelt name would leave the tool the operator meant to switch off running.
            failures.Add($"{Prefix}Tools:DisabledBuiltins contains '{disabled}', which is not a built-in tool. Accepted values: {string.Join(", ", Orchestrator.Tools.BuiltinToolCatalog.KnownNames)}.");
        }

        foreach (var variable in options.Tools.Shell.EnvironmentAllowlist.Where(v => string.IsNullOrEmpty(v) || !v.All(c => char.IsAsciiLetterOrDigit(c) || c == '_') || char.IsAsciiDigit(v[0])))
        {
            failures.Add($"{Prefix}Tools:Shell:EnvironmentAllowlist contains '{variable}', which is not an environment variable name (letters, digits and '_', not starting with a digit).");
        }

        if (options.Tools.Shell.MaxTimeoutSeconds is < 1 or > 86_400)
        {
            failures.Add($"{Prefix}Tools:Shell:MaxTimeoutSeconds = {options.Tools.Shell.MaxTimeoutSeconds} must be between 1 and 86400.");
        }

        if (options.Pipelines.MaxNodes is < 1 or > 100_000)
        {
            failures.Add($"{Prefix}Pipelines:MaxNodes = {options.Pipelines.MaxNodes} must be between 1 and 100000.");
        }

        if (options.Pipelines.MaxParallelism is < 1 or > 1000)
        {
            failures.Add($"{Prefix}Pipelines:MaxParallelism = {options.Pipelines.MaxParallelism} must be between 1 and 1000.");
        }

        if (options.Pipelines.MaxDepth is < 1 or > 20)
        {
            failures.Add($"{Prefix}Pipelines:MaxDepth = {options.Pipelines.MaxDepth} must be between 1 and 20.");
        }

        foreach (var (name, key) in new[] { ("Encryption:Key", options.Encryption.Key) }.Concat(options.Encryption.PreviousKeys.Select((k, i) => ($"Encryption:PreviousKeys:{i}", (string?)k))))
        {
            if (key is not null && !IsAesKey(key))
            {
                // The value itself is a secret: it is not echoed.
                failures.Add($"{Prefix}{name} must be the base64 of exactly 32 bytes (e.g. from 'openssl rand -base64 32').");
            }
        }

        failures.AddRange(AgentsOptionsValidator.Check(options));
        failures.AddRange(Orchestrator.Telemetry.TelemetrySettings.Check(options));

        if (options.FaultPoints.Crash is { } point && !Orchestrator.Cluster.FaultPoints.All.Contains(point))
        {
            failures.Add($"{Prefix}FaultPoints:Crash = '{point}' is not a fault point. Accepted values: {string.Join(", ", Orchestrator.Cluster.FaultPoints.All)}.");
        }

        return failures;
    }

    private static bool IsAesKey(string text)
    {
        var buffer = new byte[64];
        return Convert.TryFromBase64String(text, buffer, out var length) && length == 32;
    }

    /// <summary>Fault points kill the process on purpose; a production node must never have one armed.</summary>
    public static string? CheckEnvironment(OrchestratorOptions options, IHostEnvironment environment) =>
        options.FaultPoints.Crash is not null && !environment.IsDevelopment() && !environment.IsEnvironment("Testing")
            ? $"{Prefix}FaultPoints:Crash is set, but fault points are refused outside the Development and Testing environments (this is '{environment.EnvironmentName}')."
            : null;
}
