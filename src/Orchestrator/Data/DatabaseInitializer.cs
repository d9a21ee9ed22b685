using Microsoft.Data.Sqlite;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Infrastructure;
using Microsoft.EntityFrameworkCore.Migrations;
using Orchestrator.Hosting;

namespace Orchestrator.Data;

/// <summary>
/// Brings the application schema up to date (or checks that it is) before the scheduler starts.
/// EF Core takes a database-wide lock while migrating, so several nodes starting at once are safe.
/// </summary>
public sealed partial class DatabaseInitializer(IServiceScopeFactory scopes, StorageChoice storage, ILogger<DatabaseInitializer> logger)
{
    public async Task MigrateAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>();
        if (!storage.IsPostgres)
        {
            await PrepareSqliteFileAsync(cancellationToken);
            await ApplyAsync(db, cancellationToken);
            return;
        }

        // Several nodes (or deploy jobs) may migrate at once. A session advisory lock, held on the very connection
        // EF migrates through, makes the others wait and then find nothing left to do.
        await db.Database.OpenConnectionAsync(cancellationToken);
        try
        {
            await db.Database.ExecuteSqlRawAsync($"SELECT pg_advisory_lock({MigrationLockKey})", cancellationToken);
            await ApplyAsync(db, cancellationToken);
        }
        finally
        {
            await db.Database.ExecuteSqlRawAsync($"SELECT pg_advisory_unlock({MigrationLockKey})", CancellationToken.None);
            await db.Database.CloseConnectionAsync();
        }
    }

    private async Task ApplyAsync(OrchestratorDbContext db, CancellationToken cancellationToken)
    {
        // Creating the history table first keeps EF from logging a failed SELECT against it on a brand-new database.
        await db.GetService<IHistoryRepository>().CreateIfNotExistsAsync(cancellationToken);
        var pending = string.Join(", ", await PendingMigrationsAsync(db, cancellationToken));
        await db.Database.MigrateAsync(cancellationToken);
        LogMigrated(logger, pending.Length == 0 ? "none" : pending);
    }

    /// <summary>Arbitrary, fixed: the advisory lock id every Orchestrator node uses for schema migration.</summary>
    private const long MigrationLockKey = 0x4F52_4348_4D49_47; // "ORCHMIG"

    /// <summary>Throws with the fix in the message when the database is behind this binary.</summary>
    public async Task EnsureUpToDateAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>();
        var pending = await PendingMigrationsAsync(db, cancellationToken);
        if (pending.Count > 0)
        {
            throw new InvalidOperationException(
                $"The database is missing {pending.Count} migration(s) ({string.Join(", ", pending)}). " +
                "Run 'Orchestrator migrate' as a deploy step, or set Orchestrator:Database:MigrateOnStart = true.");
        }
    }

    private static async Task<List<string>> PendingMigrationsAsync(OrchestratorDbContext db, CancellationToken cancellationToken)
    {
        // Asking EF for pending migrations on a brand-new database makes it query a history table that does
        // not exist yet and log that as an error; check for the table first so a first start logs no failure.
        var history = db.GetService<IHistoryRepository>();
        var applied = await history.ExistsAsync(cancellationToken)
            ? (await history.GetAppliedMigrationsAsync(cancellationToken)).Select(m => m.MigrationId).ToHashSet()
            : [];
        return [.. db.Database.GetMigrations().Where(m => !applied.Contains(m))];
    }

    private async Task PrepareSqliteFileAsync(CancellationToken cancellationToken)
    {
        var builder = new SqliteConnectionStringBuilder(storage.ConnectionString);
        var directory = Path.GetDirectoryName(Path.GetFullPath(builder.DataSource));
        if (!string.IsNullOrEmpty(directory))
        {
            Directory.CreateDirectory(directory);
        }

        // WAL lets the dashboard and API read while Quartz writes; it is a property of the file, so setting it once is enough.
        await using var connection = new SqliteConnection(storage.ConnectionString);
        await connection.OpenAsync(cancellationToken);
        await using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA journal_mode=WAL;";
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Database schema is up to date (migrations applied now: {Migrations})")]
    private static partial void LogMigrated(ILogger logger, string migrations);
}
