using Orchestrator.Data;
using Orchestrator.Projects;
using Orchestrator.Security;

namespace Orchestrator.Hosting;

public static class StartupPreparation
{
    /// <summary>Schema first (migrate or verify), then the first admin key and the default project — before Quartz starts.</summary>
    public static async Task PrepareDatabaseAsync(this WebApplication app, StorageChoice storage, CancellationToken cancellationToken)
    {
        var initializer = app.Services.GetRequiredService<DatabaseInitializer>();
        if (storage.MigrateOnStart)
        {
            await initializer.MigrateAsync(cancellationToken);
        }
        else
        {
            await initializer.EnsureUpToDateAsync(cancellationToken);
        }

        await app.Services.GetRequiredService<AdminKeyBootstrap>().RunAsync(cancellationToken);
        await using var scope = app.Services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<DefaultProjectSeeder>().EnsureAsync(cancellationToken);
    }
}
