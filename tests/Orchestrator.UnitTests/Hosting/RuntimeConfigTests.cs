using System.Text.Json;
using Orchestrator.Hosting;

namespace Orchestrator.UnitTests.Hosting;

/// <summary>
/// The runtime options the server's build writes into <c>Orchestrator.runtimeconfig.json</c>, which the runtime reads
/// at start (the SDK copies the referenced server's file beside the tests).
/// </summary>
public sealed class RuntimeConfigTests
{
    [Test]
    public void Idle_thread_pool_workers_park_without_spinning()
    {
        // Spinning idle workers were ~45% of the server's CPU per firing on a two-core node (bench/README.md, CPU per firing).
        var directory = Path.GetDirectoryName(typeof(SchedulerHosting).Assembly.Location)!;
        using var config = JsonDocument.Parse(File.ReadAllText(Path.Combine(directory, "Orchestrator.runtimeconfig.json")));
        var properties = config.RootElement.GetProperty("runtimeOptions").GetProperty("configProperties");

        Assert.That(properties.TryGetProperty("System.Threading.ThreadPool.UnfairSemaphoreSpinLimit", out var limit), Is.True,
            "the spin limit is set in the server's runtimeconfig");
        Assert.That(limit.GetInt32(), Is.Zero);
    }
}
