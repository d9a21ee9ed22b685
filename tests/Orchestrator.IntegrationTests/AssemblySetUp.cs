using Orchestrator.IntegrationTests.Infrastructure;

// In-process fixtures run side by side, each with its own server and database; process-tier fixtures stay
// [NonParallelizable]. Their time is mostly waiting for fire times, not CPU, so four at a time is quickest even on two
// cores: the in-process set (525 tests) took 2 m 8 s with 2, 1 m 55 s with 3 and 1 m 16 s with 4 workers, on a
// shared machine with load 12-16 (noisy; measured 2026-11-30).
[assembly: LevelOfParallelism(4)]

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
        // A browser expectation waits for the page to get there; four fixtures side by side on two cores (and a save
        // that re-reads a phrase, writes, then loads the list) can take longer than Playwright's 5 s. Only how long a
        // wait may last changes: an expectation already met returns at once, and none asserts on time.
        Microsoft.Playwright.Assertions.SetDefaultExpectTimeout(20_000);
        return TestPostgres.StartAsync();
    }

    [OneTimeTearDown]
    public void Stop() => TestPostgres.Stop();
}
