using Orchestrator.Hosting;

namespace Orchestrator.UnitTests.Hosting;

public sealed class OrchestratorOptionsValidatorTests
{
    [Test]
    public void Defaults_are_valid_and_choose_single_node_sqlite()
    {
        var options = new OrchestratorOptions();
        Assert.That(OrchestratorOptionsValidator.Check(options), Is.Empty);
        var storage = StorageChoice.Resolve(options, "/srv/orchestrator");
        Assert.That(storage.IsPostgres, Is.False);
        Assert.That(storage.Clustered, Is.False);
        Assert.That(storage.MigrateOnStart, Is.True);
        // The per-user data directory, never the content root (a source tree that 'git clean -fdx' empties).
        var perUser = StorageChoice.DefaultDataDirectory()!;
        Assert.That(storage.DataDirectory, Is.EqualTo(perUser));
        Assert.That(storage.ConnectionString, Does.Contain(Path.Combine(perUser, "orchestrator.db")).And.Not.Contain("/srv/orchestrator"));
        Assert.That(storage.WorkspaceRoots, Is.EqualTo(new[] { Path.Combine(perUser, "workspaces") }));
    }

    [Test]
    public void A_relative_data_directory_is_under_the_content_root()
    {
        var storage = StorageChoice.Resolve(new OrchestratorOptions { DataDirectory = "data" }, "/srv/orchestrator");
        Assert.That(storage.ConnectionString, Does.Contain("/srv/orchestrator/data/orchestrator.db"));
        Assert.That(storage.WorkspaceRoots, Is.EqualTo(new[] { "/srv/orchestrator/data/workspaces" }));
    }

    [Test]
    public void Postgres_clusters_and_leaves_migrations_to_the_deploy_step_by_default()
    {
        var options = new OrchestratorOptions { Database = { Provider = "postgres", ConnectionString = "Host=db;Database=o" } };
        Assert.That(OrchestratorOptionsValidator.Check(options), Is.Empty);
        var storage = StorageChoice.Resolve(options, "/srv");
        Assert.That(storage.IsPostgres, Is.True);
        Assert.That(storage.Clustered, Is.True);
        Assert.That(storage.MigrateOnStart, Is.False);
    }

    [Test]
    public void Clustering_can_be_switched_off_on_postgres()
    {
        var options = new OrchestratorOptions { Database = { Provider = "Postgres", ConnectionString = "Host=db" }, Cluster = { Enabled = false } };
        Assert.That(StorageChoice.Resolve(options, "/srv").Clustered, Is.False);
    }

    [TestCase("Oracle", "Orchestrator:Database:Provider")]
    [TestCase("", "Orchestrator:Database:Provider")]
    public void Unknown_provider_names_the_setting_and_the_accepted_values(string provider, string setting)
    {
        var failures = OrchestratorOptionsValidator.Check(new OrchestratorOptions { Database = { Provider = provider } });
        Assert.That(failures, Has.One.Contains(setting).And.Contains("Sqlite, Postgres"));
    }

    [Test]
    public void Clustering_on_sqlite_is_refused_with_the_fix()
    {
        var failures = OrchestratorOptionsValidator.Check(new OrchestratorOptions { Cluster = { Enabled = true } });
        Assert.That(failures, Has.One.Contains("Orchestrator:Cluster:Enabled").And.Contains("Orchestrator:Database:Provider = Postgres"));
    }

    [Test]
    public void Postgres_needs_a_parseable_connection_string_and_the_password_is_not_echoed()
    {
        Assert.That(OrchestratorOptionsValidator.Check(new OrchestratorOptions { Database = { Provider = "Postgres" } }),
            Has.One.Contains("Orchestrator:Database:ConnectionString"));
        var failures = OrchestratorOptionsValidator.Check(new OrchestratorOptions { Database = { Provider = "Postgres", ConnectionString = "Host=db;Password=hunter2;Bogus Keyword=1" } });
        Assert.That(failures, Has.One.Contains("Orchestrator:Database:ConnectionString"));
        Assert.That(string.Join("\n", failures), Does.Not.Contain("hunter2"));
    }

    [Test]
    public void Circuit_breaker_thresholds_are_checked_by_name()
    {
        var options = new OrchestratorOptions();
        options.Outbound.CircuitBreaker.FailureRatio = 0;
        options.Outbound.CircuitBreaker.MinimumThroughput = 1;
        options.Outbound.CircuitBreaker.SamplingDuration = TimeSpan.Zero;
        options.Outbound.CircuitBreaker.BreakDuration = TimeSpan.FromDays(2);
        var failures = OrchestratorOptionsValidator.Check(options);
        foreach (var setting in new[] { "FailureRatio", "MinimumThroughput", "SamplingDuration", "BreakDuration" })
        {
            Assert.That(failures, Has.One.Contains("Orchestrator:Outbound:CircuitBreaker:" + setting));
        }
    }

    [TestCase(0, "Orchestrator:Scheduler:MaxConcurrency")]
    [TestCase(5000, "Orchestrator:Scheduler:MaxConcurrency")]
    public void Thread_pool_size_is_bounded(int size, string setting)
    {
        Assert.That(OrchestratorOptionsValidator.Check(new OrchestratorOptions { Scheduler = { MaxConcurrency = size } }), Has.One.Contains(setting));
    }

    [Test]
    public void Check_in_interval_and_threshold_are_bounded()
    {
        var failures = OrchestratorOptionsValidator.Check(new OrchestratorOptions
        {
            Cluster = { CheckinInterval = TimeSpan.FromMilliseconds(10), CheckinMisfireThreshold = TimeSpan.Zero },
        });
        Assert.That(failures, Has.Count.EqualTo(2));
        Assert.That(failures, Has.One.Contains("Orchestrator:Cluster:CheckinInterval"));
        Assert.That(failures, Has.One.Contains("Orchestrator:Cluster:CheckinMisfireThreshold"));
    }

    [TestCase("qrtz; drop table x")]
    [TestCase("")]
    public void Table_prefix_is_restricted_to_identifier_characters(string prefix)
    {
        Assert.That(OrchestratorOptionsValidator.Check(new OrchestratorOptions { Database = { TablePrefix = prefix } }),
            Has.One.Contains("Orchestrator:Database:TablePrefix"));
    }

    [Test]
    public void Configured_workspace_roots_resolve_against_the_content_root()
    {
        var options = new OrchestratorOptions { Workspaces = { Roots = ["projects", "/abs/ws/"] } };
        Assert.That(StorageChoice.Resolve(options, "/srv").WorkspaceRoots, Is.EqualTo(new[] { "/srv/projects", "/abs/ws" }));
    }
}
