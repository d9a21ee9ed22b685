namespace Orchestrator.IntegrationTests.Infrastructure;

/// <summary>Environment for a server node on a fixture's PostgreSQL database, with fast cluster check-ins.</summary>
public static class PostgresNode
{
    public static Dictionary<string, string?> Environment(string connectionString, IReadOnlyDictionary<string, string?>? extra = null)
    {
        var environment = new Dictionary<string, string?>
        {
            ["Orchestrator__Database__Provider"] = "Postgres",
            ["Orchestrator__Database__ConnectionString"] = connectionString,
            ["Orchestrator__Database__MigrateOnStart"] = "true",
            ["Orchestrator__Cluster__CheckinInterval"] = "00:00:01",
            ["Orchestrator__Cluster__CheckinMisfireThreshold"] = "00:00:02",
        };
        foreach (var (key, value) in extra ?? new Dictionary<string, string?>())
        {
            environment[key] = value;
        }

        return environment;
    }
}
