using Orchestrator.Data;
using Orchestrator.Projects;
using Orchestrator.Security;

namespace Orchestrator.Hosting;

public static partial class StartupPreparation
{
    /// <summary>Schema first (migrate or verify), then the first admin key and the default project — before Quartz starts.</summary>
    public static async Task<bool> TryPrepareDatabaseAsync(this IServiceProvider services, StorageChoice storage, TextWriter errors)
    {
        try
        {
            await PrepareDatabaseAsync(services, storage, CancellationToken.None);
            return true;
        }
        catch (Exception ex) when (ex is InvalidOperationException or System.Data.Common.DbException)
        {
            await errors.WriteLineAsync($"Start-up failed: {ex.Message}");
            return false;
        }
    }

    private static async Task PrepareDatabaseAsync(IServiceProvider services, StorageChoice storage, CancellationToken cancellationToken)
    {
        // Every start, not only the first (whose admin-key banner also says it): which database this node uses is the first
        // thing to check when keys, schedules or runs seem to be missing.
        var logger = services.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(StartupPreparation).FullName!);
        var database = storage.DescribeDatabase();
        LogDatabase(logger, database, storage.DataDirectory);
        var initializer = services.GetRequiredService<DatabaseInitializer>();
        if (storage.MigrateOnStart)
        {
            await initializer.MigrateAsync(cancellationToken);
        }
        else
        {
            await initializer.EnsureUpToDateAsync(cancellationToken);
        }

        await services.GetRequiredService<AdminKeyBootstrap>().RunAsync(cancellationToken);
        await using var scope = services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<DefaultProjectSeeder>().EnsureAsync(cancellationToken);
    }

    [LoggerMessage(Level = LogLevel.Information, Message = "Database: {Database} (data directory {DataDirectory})")]
    private static partial void LogDatabase(ILogger logger, string database, string dataDirectory);
}
