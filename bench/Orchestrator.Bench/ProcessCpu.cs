using System.Globalization;
using Npgsql;

/// <summary>
/// CPU time a process has used so far, from <c>/proc/&lt;pid&gt;/stat</c> (utime + stime): a count of work done, which
/// does not depend on how busy the machine is the way wall-clock rates do. Linux only; elsewhere (or for a process
/// that is gone) it reads nothing.
/// </summary>
internal static class ProcessCpu
{
    /// <summary>
    /// The unit of utime and stime: USER_HZ, which Linux fixes at 100 for user space on every architecture it exposes
    /// to it (sysconf(_SC_CLK_TCK)), whatever the kernel's own tick rate.
    /// </summary>
    private const double TicksPerSecond = 100;

    /// <summary>The CPU time <paramref name="pid"/> has used (user + system, all its threads), or null when it cannot be read.</summary>
    public static TimeSpan? Of(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // The command name (field 2) is in parentheses and may hold spaces: the fields are counted after its end.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            // After the name, field 3 (state) is index 0, so utime (14) is 11 and stime (15) is 12.
            var ticks = long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
            return TimeSpan.FromSeconds(ticks / TicksPerSecond);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or FormatException or IndexOutOfRangeException or ArgumentOutOfRangeException)
        {
            return null;
        }
    }

    /// <summary>
    /// CPU time used so far by each backend of the database <paramref name="connection"/> is on, other than this
    /// connection's own, keyed by pid; empty when PostgreSQL does not run on this machine (no such pids here).
    /// </summary>
    public static async Task<IReadOnlyDictionary<int, TimeSpan>> BackendsAsync(NpgsqlConnection connection)
    {
        await using var query = new NpgsqlCommand(
            "SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()", connection);
        var pids = new List<int>();
        await using (var reader = await query.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                pids.Add(reader.GetInt32(0));
            }
        }

        var used = new Dictionary<int, TimeSpan>();
        foreach (var pid in pids)
        {
            if (Of(pid) is { } cpu)
            {
                used[pid] = cpu;
            }
        }

        return used;
    }

    /// <summary>
    /// The backends' CPU between two reads, approximately: a backend there at both reads counts its difference, one
    /// that appeared in between counts all it used (its connection's start included), and one that exited in between
    /// is lost from its first read on. Server-wide work done for the database (WAL writer, checkpointer, autovacuum
    /// launcher, the statistics of <c>pg_stat_statements</c>) is not counted. Null when no backend could be read.
    /// </summary>
    public static TimeSpan? BackendsBetween(IReadOnlyDictionary<int, TimeSpan> before, IReadOnlyDictionary<int, TimeSpan> after)
    {
        if (before.Count == 0 && after.Count == 0)
        {
            return null;
        }

        var total = TimeSpan.Zero;
        foreach (var (pid, cpu) in after)
        {
            // A pid PostgreSQL reused for a new backend in between has used less than the old one had: all of it counts.
            total += before.TryGetValue(pid, out var earlier) && earlier <= cpu ? cpu - earlier : cpu;
        }

        return total;
    }
}
