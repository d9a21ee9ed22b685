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
            services.AddDbContext<OrchestratorDbContext, PostgresOrchestratorDbContext>(o => o.UseNpgsql(storage.ConnectionString));
        }
        else
        {
            services.AddDbContext<OrchestratorDbContext, SqliteOrchestratorDbContext>(o => o.UseSqlite(storage.ConnectionString));
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
