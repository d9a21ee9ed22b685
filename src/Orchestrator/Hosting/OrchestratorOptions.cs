namespace Orchestrator.Hosting;

/// <summary>The <c>Orchestrator</c> settings section: everything an operator can configure.</summary>
public sealed class OrchestratorOptions
{
    public const string SectionName = "Orchestrator";

    /// <summary>
    /// Where the embedded database and default workspaces live; relative paths are under the content root. Unset, a
    /// per-user directory outside any source tree (<see cref="StorageChoice.DefaultDataDirectory"/>), so cleaning a
    /// checkout (<c>git clean -fdx</c>) cannot delete the keys and schedules.
    /// </summary>
    public string? DataDirectory { get; set; }

    public DatabaseOptions Database { get; set; } = new();

    public ClusterOptions Cluster { get; set; } = new();

    public SchedulerOptions Scheduler { get; set; } = new();

    public WorkspacesOptions Workspaces { get; set; } = new();

    public OutboundOptions Outbound { get; set; } = new();

    public RunsOptions Runs { get; set; } = new();

    public Audit.AuditOptions Audit { get; set; } = new();

    public ToolsOptions Tools { get; set; } = new();

    public PipelinesOptions Pipelines { get; set; } = new();

    public EncryptionOptions Encryption { get; set; } = new();

    /// <summary>The models agent tasks may use and the caps on what one agent run may spend (<see cref="AgentsOptions"/>).</summary>
    public AgentsOptions Agents { get; set; } = new();

    /// <summary>Where <c>/metrics</c> answers (<see cref="Telemetry.MetricsOptions"/>).</summary>
    public Telemetry.MetricsOptions Metrics { get; set; } = new();

    /// <summary>The console log format (<see cref="Telemetry.LoggingOptions"/>).</summary>
    public Telemetry.LoggingOptions Logging { get; set; } = new();

    /// <summary>Values header templates may reference as <c>{{secret:NAME}}</c>; never logged or returned.</summary>
    public Dictionary<string, string> Secrets { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Development/Testing only: a fault point at which this node kills itself (see <c>FaultPoints</c>).</summary>
    public FaultPointOptions FaultPoints { get; set; } = new();
}

public sealed class OutboundOptions
{
    /// <summary>Hosts (names or IP literals, or <c>*.example.com</c>) that may be called even on loopback, link-local or private addresses.</summary>
    public List<string> AllowedHosts { get; set; } = [];

    /// <summary>When true, only <see cref="AllowedHosts"/> may be called at all.</summary>
    public bool RestrictToAllowedHosts { get; set; }

    /// <summary>The per-host circuit breaker of call_api, http tools and webhooks.</summary>
    public CircuitBreakerOptions CircuitBreaker { get; set; } = new();
}

/// <summary>
/// A host's breaker opens when at least <see cref="MinimumThroughput"/> calls in <see cref="SamplingDuration"/> saw
/// <see cref="FailureRatio"/> or more failures (errors, timeouts, 5xx, 408, 429), and stays open for <see cref="BreakDuration"/>.
/// </summary>
public sealed class CircuitBreakerOptions
{
    public double FailureRatio { get; set; } = 0.5;

    public int MinimumThroughput { get; set; } = 10;

    public TimeSpan SamplingDuration { get; set; } = TimeSpan.FromSeconds(30);

    public TimeSpan BreakDuration { get; set; } = TimeSpan.FromSeconds(15);
}

public sealed class EncryptionOptions
{
    /// <summary>Base64 of 32 random bytes, the same on every node: encrypts channel secrets at rest. Unset means they are stored as they are.</summary>
    public string? Key { get; set; }

    /// <summary>Keys that sealed values before the current one, still accepted for reading (rotation).</summary>
    public List<string> PreviousKeys { get; set; } = [];
}

public sealed class PipelinesOptions
{
    /// <summary>Largest pipeline accepted, in nodes (edges may be up to four times this).</summary>
    public int MaxNodes { get; set; } = 2000;

    /// <summary>Upper bound for a pipeline's <c>maxParallelism</c>.</summary>
    public int MaxParallelism { get; set; } = 64;

    /// <summary>How deep sub-pipelines may nest.</summary>
    public int MaxDepth { get; set; } = 5;
}

public sealed class ToolsOptions
{
    /// <summary>Built-in tools switched off on this node (e.g. <c>shell.run</c>); they are listed as disabled and refuse to run.</summary>
    public List<string> DisabledBuiltins { get; set; } = [];

    public ShellOptions Shell { get; set; } = new();
}

public sealed class ShellOptions
{
    /// <summary>
    /// The only environment variables a <c>shell.run</c> process gets from the server's environment, and the only
    /// names its <c>env</c> argument may set. Everything else (connection strings, secrets) stays out.
    /// </summary>
    public List<string> EnvironmentAllowlist { get; set; } = ["PATH", "LANG", "LC_ALL", "TZ"];

    /// <summary>Upper bound for a <c>shell.run</c> timeout, in seconds.</summary>
    public int MaxTimeoutSeconds { get; set; } = 3600;
}

public sealed class RunsOptions
{
    /// <summary>Finished runs older than this are purged by the housekeeping job.</summary>
    public TimeSpan Retention { get; set; } = TimeSpan.FromDays(30);

    /// <summary>How often the housekeeping job runs.</summary>
    public TimeSpan HousekeepingInterval { get; set; } = TimeSpan.FromHours(1);
}

public sealed class FaultPointOptions
{
    public string? Crash { get; set; }
}

public sealed class DatabaseOptions
{
    /// <summary><c>Sqlite</c> (default) or <c>Postgres</c>. Kept as a string so a wrong value gets our message, not the binder's.</summary>
    public string Provider { get; set; } = DatabaseProviders.Sqlite;

    /// <summary>Required for Postgres; for Sqlite defaults to <c>{DataDirectory}/orchestrator.db</c>.</summary>
    public string? ConnectionString { get; set; }

    /// <summary>Let Quartz create the tables it is missing at start (create-only, never alters or drops).</summary>
    public bool ProvisionSchema { get; set; } = true;

    /// <summary>Apply EF Core migrations at start. Unset means: yes on Sqlite, no on Postgres (run <c>Orchestrator migrate</c> as a deploy step).</summary>
    public bool? MigrateOnStart { get; set; }

    /// <summary>Quartz table prefix.</summary>
    public string TablePrefix { get; set; } = "qrtz_";

    /// <summary>
    /// PostgreSQL: how long building one schedule list index may wait for a lock or for older transactions to end
    /// before it gives up (the build holds an advisory lock meanwhile) and is tried again after <see cref="ListIndexRetryInterval"/>.
    /// </summary>
    public TimeSpan ListIndexLockTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>PostgreSQL: how long after a schedule list index could not be built it is tried again.</summary>
    public TimeSpan ListIndexRetryInterval { get; set; } = TimeSpan.FromMinutes(5);
}

public static class DatabaseProviders
{
    public const string Sqlite = "Sqlite";
    public const string Postgres = "Postgres";
    public static readonly IReadOnlyList<string> All = [Sqlite, Postgres];
}

public sealed class ClusterOptions
{
    /// <summary>Unset means: clustered on Postgres, single node on Sqlite. Clustering on Sqlite is refused.</summary>
    public bool? Enabled { get; set; }

    /// <summary>Fixed scheduler instance id; unset means a unique id is generated per process.</summary>
    public string? InstanceId { get; set; }

    /// <summary>
    /// How often this node checks in (and looks for dead nodes). Quartz writes a node off once a check-in of another
    /// node sees it silent for this interval plus <see cref="CheckinMisfireThreshold"/>, and recovers a
    /// <c>concurrency: forbid</c> firing one check-in after that; a killed node's firing is recovered within about
    /// 2 × interval + threshold (3 × interval + threshold for forbid): 7–8 s with the defaults.
    /// </summary>
    public TimeSpan CheckinInterval { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>How long past a missed check-in the other nodes wait before recovering this node's work: the stall (GC, a slow database) a live node survives.</summary>
    public TimeSpan CheckinMisfireThreshold { get; set; } = TimeSpan.FromSeconds(5);
}

public sealed class SchedulerOptions
{
    /// <summary>Maximum jobs this node runs at once (Quartz's thread pool size).</summary>
    public int MaxConcurrency { get; set; } = 10;

    /// <summary>On shutdown, how long running jobs get to finish before they are interrupted.</summary>
    public TimeSpan ShutdownTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Cluster-wide concurrency caps per execution group (a schedule's <c>executionGroup</c>), e.g. <c>reports: 2</c>.</summary>
    public Dictionary<string, int> ExecutionLimits { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The <c>jitterSeconds</c> of a schedule saved without one (0: on its nominal fire times).</summary>
    public int DefaultJitterSeconds { get; set; }
}

public sealed class WorkspacesOptions
{
    /// <summary>Directories a project root must be inside. Unset means <c>{DataDirectory}/workspaces</c>.</summary>
    public List<string> Roots { get; set; } = [];
}
