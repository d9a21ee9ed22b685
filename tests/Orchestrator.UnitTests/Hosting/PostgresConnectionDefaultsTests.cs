using Npgsql;
using Orchestrator.Hosting;

namespace Orchestrator.UnitTests.Hosting;

public sealed class PostgresConnectionDefaultsTests
{
    private const string Given = "Host=db;Port=5433;Database=orchestrator;Username=orchestrator;Password=s3cret";

    [Test]
    public void Defaults_are_applied_where_the_operator_set_nothing()
    {
        var applied = new NpgsqlConnectionStringBuilder(PostgresConnectionDefaults.Apply(Given, maxConcurrency: 10));

        Assert.Multiple(() =>
        {
            Assert.That(applied.NoResetOnClose, Is.True);
            Assert.That(applied.MaxAutoPrepare, Is.EqualTo(64));
            Assert.That(applied.AutoPrepareMinUsages, Is.EqualTo(2));
            Assert.That(applied.MaxPoolSize, Is.EqualTo(100), "10 workers + 3 + 20 is below Npgsql's default, which stays");
            Assert.That(applied.Host, Is.EqualTo("db"));
            Assert.That(applied.Port, Is.EqualTo(5433));
            Assert.That(applied.Database, Is.EqualTo("orchestrator"));
            Assert.That(applied.Username, Is.EqualTo("orchestrator"));
            Assert.That(applied.Password, Is.EqualTo("s3cret"), "the operator's credentials are passed on untouched");
        });
    }

    [Test]
    public void The_pool_grows_with_the_thread_pool()
    {
        var applied = new NpgsqlConnectionStringBuilder(PostgresConnectionDefaults.Apply(Given, maxConcurrency: 200));
        Assert.That(applied.MaxPoolSize, Is.EqualTo(200 + 3 + 20));
    }

    [Test]
    public void An_explicit_no_reset_on_close_false_is_kept()
    {
        var applied = new NpgsqlConnectionStringBuilder(PostgresConnectionDefaults.Apply(Given + ";No Reset On Close=false", 10));
        Assert.That(applied.NoResetOnClose, Is.False);
        Assert.That(applied.MaxAutoPrepare, Is.EqualTo(64), "the other defaults still apply");
    }

    [TestCase("No Reset On Close=false")]
    [TestCase("NoResetOnClose=false")]
    [TestCase("no reset on close=False")]
    public void An_explicit_no_reset_on_close_is_kept_in_any_spelling(string setting)
    {
        var applied = new NpgsqlConnectionStringBuilder(PostgresConnectionDefaults.Apply($"{Given};{setting}", 10));
        Assert.That(applied.NoResetOnClose, Is.False);
    }

    [TestCase("Max Auto Prepare=0")]
    [TestCase("MaxAutoPrepare=0")]
    public void An_explicit_max_auto_prepare_is_kept(string setting)
    {
        var applied = new NpgsqlConnectionStringBuilder(PostgresConnectionDefaults.Apply($"{Given};{setting}", 10));
        Assert.That(applied.MaxAutoPrepare, Is.Zero, "0 turns auto-preparation off, e.g. behind PgBouncer");
    }

    [Test]
    public void An_explicit_auto_prepare_min_usages_is_kept()
    {
        var applied = new NpgsqlConnectionStringBuilder(PostgresConnectionDefaults.Apply(Given + ";Auto Prepare Min Usages=5", 10));
        Assert.That(applied.AutoPrepareMinUsages, Is.EqualTo(5));
    }

    [TestCase("Maximum Pool Size=7")]
    [TestCase("MaxPoolSize=7")]
    public void An_explicit_pool_size_is_kept_even_below_the_thread_pool(string setting)
    {
        var applied = new NpgsqlConnectionStringBuilder(PostgresConnectionDefaults.Apply($"{Given};{setting}", 200));
        Assert.That(applied.MaxPoolSize, Is.EqualTo(7));
    }

    [Test]
    public void An_explicit_value_equal_to_npgsqls_default_is_kept()
    {
        // 100 is also Npgsql's default: written out, it is the operator's choice and must not be raised for 200 workers.
        var applied = new NpgsqlConnectionStringBuilder(PostgresConnectionDefaults.Apply(Given + ";Maximum Pool Size=100", 200));
        Assert.That(applied.MaxPoolSize, Is.EqualTo(100));
    }

    [Test]
    public void The_storage_choice_hands_the_applied_string_to_ef_core_and_quartz_and_describes_it_without_the_password()
    {
        var options = new OrchestratorOptions { DataDirectory = "/tmp/orchestrator-unit" };
        options.Database.Provider = DatabaseProviders.Postgres;
        options.Database.ConnectionString = Given + ";Max Auto Prepare=8";
        options.Scheduler.MaxConcurrency = 150;

        var storage = StorageChoice.Resolve(options, "/tmp");
        var applied = new NpgsqlConnectionStringBuilder(storage.ConnectionString);
        var described = storage.DescribeDatabase();

        Assert.Multiple(() =>
        {
            Assert.That(applied.NoResetOnClose, Is.True);
            Assert.That(applied.MaxAutoPrepare, Is.EqualTo(8));
            Assert.That(applied.MaxPoolSize, Is.EqualTo(173));
            Assert.That(described, Is.EqualTo(
                "PostgreSQL database 'orchestrator' on db:5433 " +
                "(No Reset On Close=True, Max Auto Prepare=8, Auto Prepare Min Usages=2, Maximum Pool Size=173)"));
            Assert.That(described, Does.Not.Contain("s3cret"));
        });
    }

    [Test]
    public void Sqlite_connection_strings_are_not_touched()
    {
        var options = new OrchestratorOptions { DataDirectory = "/tmp/orchestrator-unit" };
        options.Database.ConnectionString = "Data Source=/tmp/x.db;Default Timeout=5";

        Assert.That(StorageChoice.Resolve(options, "/tmp").ConnectionString, Is.EqualTo("Data Source=/tmp/x.db;Default Timeout=5"));
    }
}
