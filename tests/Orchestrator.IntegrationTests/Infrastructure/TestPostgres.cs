using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Npgsql;

namespace Orchestrator.IntegrationTests.Infrastructure;

/// <summary>
/// The real PostgreSQL every database test runs against, once per test run. <c>.ci/run</c> starts a private
/// instance and passes its connection string in <c>ORCHESTRATOR_TEST_POSTGRES</c>; without it this fixture
/// starts one itself from the PostgreSQL binaries on the machine. Each fixture gets a database of its own.
/// Under <c>CI=true</c> an unreachable server fails the tests instead of skipping them.
/// </summary>
public static class TestPostgres
{
    public const string EnvironmentVariable = "ORCHESTRATOR_TEST_POSTGRES";

    // A zone with a 45-minute offset and DST: any code that leans on the session or local zone shows up.
    public const string SessionTimeZone = "Pacific/Chatham";

    private static string? adminConnectionString;
    private static string? unavailableReason;
    private static string? ownDataDirectory;
    private static string? pgCtl;

    public static string AdminConnectionString =>
        adminConnectionString ?? throw new InvalidOperationException("PostgreSQL is not available: " + unavailableReason);

    public static async Task StartAsync()
    {
        var configured = Environment.GetEnvironmentVariable(EnvironmentVariable);
        try
        {
            adminConnectionString = string.IsNullOrWhiteSpace(configured) ? StartPrivateInstance() : configured;
            await using var connection = new NpgsqlConnection(adminConnectionString);
            await connection.OpenAsync();
        }
        catch (Exception ex) when (ex is NpgsqlException or InvalidOperationException or IOException or System.ComponentModel.Win32Exception)
        {
            adminConnectionString = null;
            unavailableReason = ex.Message;
        }
    }

    public static void Stop()
    {
        if (ownDataDirectory is not null && pgCtl is not null)
        {
            RunAsPostgresUser(pgCtl, $"-D {ownDataDirectory}/data -m immediate stop");
        }
    }

    /// <summary>Creates an empty database for one fixture and returns its connection string.</summary>
    public static async Task<string> CreateDatabaseAsync(string prefix)
    {
        RequireAvailable();
        var name = $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 13, 63)].ToLowerInvariant();
        await using (var connection = new NpgsqlConnection(AdminConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand($"CREATE DATABASE \"{name}\"", connection);
            await command.ExecuteNonQueryAsync();
        }

        return new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = name, Timezone = SessionTimeZone }.ConnectionString;
    }

    /// <summary>
    /// Creates an empty database whose collation is the ICU locale given (from template0, which any locale may be
    /// copied from), for code whose order must not depend on the byte-order collation the test server defaults to.
    /// </summary>
    public static async Task<string> CreateDatabaseAsync(string prefix, string icuLocale)
    {
        RequireAvailable();
        var name = $"{prefix}_{Guid.NewGuid():N}"[..Math.Min(prefix.Length + 13, 63)].ToLowerInvariant();
        await using (var connection = new NpgsqlConnection(AdminConnectionString))
        {
            await connection.OpenAsync();
            await using var command = new NpgsqlCommand(
                $"CREATE DATABASE \"{name}\" LOCALE_PROVIDER icu ICU_LOCALE '{icuLocale.Replace("'", "''", StringComparison.Ordinal)}' TEMPLATE template0", connection);
            await command.ExecuteNonQueryAsync();
        }

        return new NpgsqlConnectionStringBuilder(AdminConnectionString) { Database = name, Timezone = SessionTimeZone }.ConnectionString;
    }

    public static void RequireAvailable()
    {
        if (adminConnectionString is not null)
        {
            return;
        }

        var message = $"PostgreSQL is not reachable ({unavailableReason}). Set {EnvironmentVariable} or install PostgreSQL.";
        if (string.Equals(Environment.GetEnvironmentVariable("CI"), "true", StringComparison.OrdinalIgnoreCase))
        {
            Assert.Fail(message);
        }

        Assert.Ignore(message);
    }

    private static string StartPrivateInstance()
    {
        var bin = Directory.Exists("/usr/lib/postgresql")
            ? Directory.GetDirectories("/usr/lib/postgresql").Select(d => Path.Combine(d, "bin")).Where(d => File.Exists(Path.Combine(d, "initdb"))).OrderDescending().FirstOrDefault()
            : null;
        if (bin is null)
        {
            throw new InvalidOperationException("no PostgreSQL binaries under /usr/lib/postgresql/*/bin");
        }

        ownDataDirectory = Path.Combine(Path.GetTempPath(), $"orchestrator-pg-{Environment.ProcessId}");
        Directory.CreateDirectory(ownDataDirectory);
        var port = FreePort();
        pgCtl = Path.Combine(bin, "pg_ctl");
        if (Environment.UserName == "root")
        {
            // initdb and postgres refuse to run as root.
            Run("chown", ["postgres", ownDataDirectory]);
        }

        RunAsPostgresUser(Path.Combine(bin, "initdb"), $"-D {ownDataDirectory}/data -U postgres --auth=trust -E UTF8");
        RunAsPostgresUser(pgCtl, $"-D {ownDataDirectory}/data -w -l {ownDataDirectory}/log -o \"-p {port} -k {ownDataDirectory} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=300 -c shared_preload_libraries=pg_stat_statements\" start");
        return $"Host=127.0.0.1;Port={port};Username=postgres;Database=postgres";
    }

    private static void RunAsPostgresUser(string executable, string arguments)
    {
        if (Environment.UserName == "root")
        {
            // An argument list, not a string: .NET's string parsing knows double quotes only, so a single-quoted
            // command would reach su split at its spaces.
            Run("su", ["postgres", "-c", $"{executable} {arguments}"]);
        }
        else
        {
            Run("sh", ["-c", $"{executable} {arguments}"]);
        }
    }

    private static void Run(string executable, IEnumerable<string> arguments)
    {
        var info = new ProcessStartInfo(executable) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            info.ArgumentList.Add(argument);
        }

        using var process = Process.Start(info)!;
        var stderr = process.StandardError.ReadToEndAsync();
        _ = process.StandardOutput.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{executable} {string.Join(' ', arguments)} exited {process.ExitCode}: {stderr.Result}");
        }
    }

    public static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
