using System.Diagnostics;

namespace Orchestrator.Cluster;

/// <summary>
/// Named places where a test can make this node die abruptly (SIGKILL to itself), to prove crash recovery
/// deterministically. Armed with <c>Orchestrator:FaultPoints:Crash</c> = point name; start-up refuses it
/// outside the Development and Testing environments.
/// </summary>
public sealed class FaultPoints
{
    /// <summary>After the ledger says running, before the action starts.</summary>
    public const string BeforeAction = "before-action";

    /// <summary>After the action succeeded and the ledger recorded it, before Quartz records completion.</summary>
    public const string AfterSuccess = "after-success";

    public static readonly IReadOnlyList<string> All = [BeforeAction, AfterSuccess];

    private readonly string? armed;

    public FaultPoints(string? armed) => this.armed = armed;

    public void Hit(string point)
    {
        if (armed == point)
        {
            Console.Error.WriteLine($"Fault point '{point}' reached: killing this process.");
            Console.Error.Flush();
            Process.GetCurrentProcess().Kill();
        }
    }
}
