using Orchestrator.IntegrationTests.Infrastructure;

// In-process fixtures run side by side, each with its own server and database; process-tier fixtures stay
// [NonParallelizable]. Three at a time suits the two-core CI machine (measured against 2 and 4: see the note).
[assembly: LevelOfParallelism(3)]

namespace Orchestrator.IntegrationTests;

/// <summary>
/// Starts (or connects to) PostgreSQL once for the whole assembly. It lives in the root namespace because a
/// SetUpFixture only covers the namespace it is declared in and those below it.
/// </summary>
[SetUpFixture]
public sealed class AssemblySetUp
{
    [OneTimeSetUp]
    public Task StartAsync()
    {
        // Server processes run with TZ set to the session zone (ServerProcess); in-process servers share this process's
        // local zone, so it gets the same one, and code that leans on the local zone shows up on both tiers.
        Environment.SetEnvironmentVariable("TZ", TestPostgres.SessionTimeZone);
        TimeZoneInfo.ClearCachedData();
        return TestPostgres.StartAsync();
    }

    [OneTimeTearDown]
    public void Stop() => TestPostgres.Stop();
}
