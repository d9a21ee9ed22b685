using System.Data.Common;
using System.Globalization;
using Npgsql;

namespace Orchestrator.Hosting;

/// <summary>
/// The pool settings a long-lived server wants on PostgreSQL, applied to the operator's connection string wherever the
/// operator did not set the keyword (any spelling Npgsql accepts counts as set; an explicit value is never replaced).
/// EF Core and Quartz's store use the resulting string, so they share one Npgsql pool with these settings.
/// </summary>
public static class PostgresConnectionDefaults
{
    /// <summary>Statements per physical connection Npgsql prepares on its own once they repeat: the firing path's
    /// statements (Quartz's acquire/fire/complete, the ledger's) are a few dozen distinct texts run on every firing.</summary>
    public const int MaxAutoPrepare = 64;

    /// <summary>Uses of one statement text before it is prepared: prepare what repeats, not one-off admin queries.</summary>
    public const int AutoPrepareMinUsages = 2;

    /// <summary>Npgsql's own default pool ceiling; the derived size never goes below it.</summary>
    public const int NpgsqlDefaultMaxPoolSize = 100;

    /// <summary>Quartz's own threads that take a connection besides the workers: the scheduler thread (acquire and
    /// fire), the cluster check-in and the misfire handler.</summary>
    public const int QuartzHousekeepingConnections = 3;

    /// <summary>Room for API requests, the dashboard and the server's background services (housekeeping, agents)
    /// running while every worker is busy.</summary>
    public const int ApiConnections = 20;

    /// <summary>
    /// The connection string with the server's defaults for the keywords the operator left out:
    /// <c>No Reset On Close=true</c> (no <c>DISCARD ALL</c> round trip on every return to the pool: measured as about
    /// 4.3 of 11.6 transactions per firing; the server sets no session state that would need discarding),
    /// <c>Max Auto Prepare</c>/<c>Auto Prepare Min Usages</c> (repeated statements are parsed and planned once per
    /// connection), and <c>Maximum Pool Size</c> from <see cref="MaxPoolSizeFor"/>.
    /// </summary>
    public static string Apply(string connectionString, int maxConcurrency)
    {
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        var explicitKeywords = ExplicitKeywords(builder);
        if (!explicitKeywords.Contains("No Reset On Close"))
        {
            builder.NoResetOnClose = true;
        }

        if (!explicitKeywords.Contains("Max Auto Prepare"))
        {
            builder.MaxAutoPrepare = MaxAutoPrepare;
        }

        if (!explicitKeywords.Contains("Auto Prepare Min Usages"))
        {
            builder.AutoPrepareMinUsages = AutoPrepareMinUsages;
        }

        if (!explicitKeywords.Contains("Maximum Pool Size"))
        {
            builder.MaxPoolSize = MaxPoolSizeFor(maxConcurrency);
        }

        return builder.ConnectionString;
    }

    /// <summary>
    /// The pool ceiling: one connection per Quartz worker (a firing's ledger writes and Quartz's completion use one at a
    /// time) + Quartz's own threads + the API's share, never below Npgsql's default of 100 so a small thread pool does
    /// not shrink what the API had before.
    /// </summary>
    public static int MaxPoolSizeFor(int maxConcurrency) =>
        Math.Max(NpgsqlDefaultMaxPoolSize, maxConcurrency + QuartzHousekeepingConnections + ApiConnections);

    /// <summary>The effective pool settings in words for the start-up log (no password, no host: those are said elsewhere).</summary>
    public static string Describe(NpgsqlConnectionStringBuilder builder) => string.Create(
        CultureInfo.InvariantCulture,
        $"No Reset On Close={builder.NoResetOnClose}, Max Auto Prepare={builder.MaxAutoPrepare}, " +
        $"Auto Prepare Min Usages={builder.AutoPrepareMinUsages}, Maximum Pool Size={builder.MaxPoolSize}");

    /// <summary>
    /// The keywords the operator actually wrote, in Npgsql's canonical spelling. Npgsql's builder answers every keyword
    /// it knows with a value (its default when unset), so the set ones are read from the string it writes back, which
    /// holds only what was given, each under its canonical name whatever synonym was used.
    /// </summary>
    private static HashSet<string> ExplicitKeywords(NpgsqlConnectionStringBuilder builder)
    {
        var written = new DbConnectionStringBuilder { ConnectionString = builder.ConnectionString };
        return written.Keys.Cast<string>().ToHashSet(StringComparer.OrdinalIgnoreCase);
    }
}
