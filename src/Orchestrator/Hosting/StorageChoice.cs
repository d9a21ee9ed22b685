using Microsoft.Data.Sqlite;

namespace Orchestrator.Hosting;

/// <summary>
/// The settings resolved against the content root: which database, which connection string,
/// whether this node clusters, where workspaces may live. Made once at start-up from validated options.
/// </summary>
public sealed record StorageChoice(
    bool IsPostgres,
    string ConnectionString,
    bool Clustered,
    bool MigrateOnStart,
    string DataDirectory,
    IReadOnlyList<string> WorkspaceRoots)
{
    public static StorageChoice Resolve(OrchestratorOptions options, string contentRoot)
    {
        var dataDirectory = options.DataDirectory is { } configured
            ? Path.GetFullPath(configured, contentRoot)
            : DefaultDataDirectory() ?? throw new InvalidOperationException("No per-user data directory; the options validator refuses this.");
        var isPostgres = string.Equals(options.Database.Provider, DatabaseProviders.Postgres, StringComparison.OrdinalIgnoreCase);

        string connectionString;
        if (isPostgres)
        {
            // Resolved here, once, so EF Core and Quartz's store get the same string and so share one pool.
            connectionString = PostgresConnectionDefaults.Apply(options.Database.ConnectionString!, options.Scheduler.MaxConcurrency);
        }
        else if (string.IsNullOrWhiteSpace(options.Database.ConnectionString))
        {
            connectionString = new SqliteConnectionStringBuilder
            {
                DataSource = Path.Combine(dataDirectory, "orchestrator.db"),
                // Quartz and EF Core share the file; a writer waits for the other rather than failing with SQLITE_BUSY.
                DefaultTimeout = 30,
                Pooling = true,
            }.ToString();
        }
        else
        {
            connectionString = options.Database.ConnectionString;
        }

        var roots = options.Workspaces.Roots.Count == 0
            ? [Path.Combine(dataDirectory, "workspaces")]
            : options.Workspaces.Roots.Select(r => Path.GetFullPath(r, contentRoot)).ToList();

        return new StorageChoice(
            isPostgres,
            connectionString,
            Clustered: isPostgres && options.Cluster.Enabled != false,
            MigrateOnStart: options.Database.MigrateOnStart ?? !isPostgres,
            dataDirectory,
            roots.Select(r => Path.TrimEndingDirectorySeparator(r)).ToList());
    }

    /// <summary>
    /// The data directory when none is configured: the account's local application data (<c>$XDG_DATA_HOME</c> or
    /// <c>~/.local/share</c> on Linux, <c>~/Library/Application Support</c> on macOS, <c>%LOCALAPPDATA%</c> on Windows)
    /// + <c>orchestrator</c>; null when the account has none. Services set theirs explicitly (deploy/).
    /// </summary>
    public static string? DefaultDataDirectory()
    {
        var local = Environment.GetFolderPath(Environment.SpecialFolder.LocalApplicationData, Environment.SpecialFolderOption.DoNotVerify);
        return string.IsNullOrEmpty(local) ? null : Path.Combine(local, OperatingSystem.IsWindows() ? "Orchestrator" : "orchestrator");
    }

    /// <summary>
    /// Where the data is, in words for the console: the SQLite file, or the PostgreSQL host and database with the
    /// effective pool settings (never a password).
    /// </summary>
    public string DescribeDatabase()
    {
        if (!IsPostgres)
        {
            return $"SQLite file {new SqliteConnectionStringBuilder(ConnectionString).DataSource}";
        }

        var postgres = new Npgsql.NpgsqlConnectionStringBuilder(ConnectionString);
        return $"PostgreSQL database '{postgres.Database}' on {postgres.Host}:{postgres.Port} ({PostgresConnectionDefaults.Describe(postgres)})";
    }
}
