using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Design;
using Orchestrator.Hosting;

namespace Orchestrator.Data;

public static class DataServiceCollectionExtensions
{
    public static IServiceCollection AddOrchestratorData(this IServiceCollection services, StorageChoice storage)
    {
        if (storage.IsPostgres)
        {
            // Pooled: every job firing resolves a context, and construction shows up at hundreds of firings per second.
            services.AddDbContextPool<PostgresOrchestratorDbContext>(o => o.UseNpgsql(storage.ConnectionString));
            services.AddScoped<OrchestratorDbContext>(sp => sp.GetRequiredService<PostgresOrchestratorDbContext>());
        }
        else
        {
            services.AddDbContextPool<SqliteOrchestratorDbContext>(o => o.UseSqlite(storage.ConnectionString));
            services.AddScoped<OrchestratorDbContext>(sp => sp.GetRequiredService<SqliteOrchestratorDbContext>());
        }

        services.AddSingleton<DatabaseInitializer>();
        return services;
    }
}

/// <summary>Used by <c>dotnet ef migrations add</c> only; the connection string is never opened.</summary>
internal sealed class PostgresDesignTimeFactory : IDesignTimeDbContextFactory<PostgresOrchestratorDbContext>
{
    public PostgresOrchestratorDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<PostgresOrchestratorDbContext>().UseNpgsql("Host=localhost;Database=design_time").Options);
}

/// <summary>Used by <c>dotnet ef migrations add</c> only.</summary>
internal sealed class SqliteDesignTimeFactory : IDesignTimeDbContextFactory<SqliteOrchestratorDbContext>
{
    public SqliteOrchestratorDbContext CreateDbContext(string[] args) =>
        new(new DbContextOptionsBuilder<SqliteOrchestratorDbContext>().UseSqlite("Data Source=design_time.db").Options);
}
