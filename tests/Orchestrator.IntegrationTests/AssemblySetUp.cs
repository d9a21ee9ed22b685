using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests;

/// <summary>
/// Starts (or connects to) PostgreSQL once for the whole assembly. It lives in the root namespace because a
/// SetUpFixture only covers the namespace it is declared in and those below it.
/// </summary>
[SetUpFixture]
public sealed class AssemblySetUp
{
    [OneTimeSetUp]
    public Task StartAsync() => TestPostgres.StartAsync();

    [OneTimeTearDown]
    public void Stop() => TestPostgres.Stop();
}
