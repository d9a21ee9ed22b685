using Orchestrator.Actions;
using Orchestrator.Tools;

namespace Orchestrator.UnitTests.Tools;

public sealed class ProcessRunnerNulTests
{
    // Refused before any process starts: the operating system would end the argument at the NUL ("a\0b" ran as "a").
    [Test]
    public void A_NUL_in_an_argument_is_refused_not_cut_short()
    {
        var request = new ProcessRequest(["printf", "%s", "a\0b"], Path.GetTempPath(), Path.GetTempPath(), new Dictionary<string, string>(), TimeSpan.FromSeconds(5));
        var failure = Assert.ThrowsAsync<ActionFailedException>(() => ProcessRunner.RunAsync(request, CancellationToken.None));
        Assert.That(failure!.Message, Does.Contain("argv[2]").And.Contain("NUL"));
    }

    [Test]
    public void A_NUL_in_an_environment_value_is_refused_not_cut_short()
    {
        var request = new ProcessRequest(["true"], Path.GetTempPath(), Path.GetTempPath(), new Dictionary<string, string> { ["LANG"] = "C\0x" }, TimeSpan.FromSeconds(5));
        var failure = Assert.ThrowsAsync<ActionFailedException>(() => ProcessRunner.RunAsync(request, CancellationToken.None));
        Assert.That(failure!.Message, Does.Contain("LANG").And.Contain("NUL"));
    }
}
