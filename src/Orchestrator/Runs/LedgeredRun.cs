namespace Orchestrator.Runs;

/// <summary>
/// A job whose firings the run ledger records (every action job): <see cref="RunLedgerMiddleware"/> claims the
/// firing's ledger row before the job runs, lets it run only when the ledger says so, and completes the row after.
/// </summary>
public interface ILedgeredJob
{
    /// <summary>The action type recorded on the run row.</summary>
    string ActionType { get; }

    /// <summary>
    /// Whether a firing stopped by a shutdown is handed back to Quartz for recovery (its run recorded interrupted,
    /// then taken over by the recovered firing as its next attempt) rather than only recorded interrupted. Only a job
    /// that resumes where it stopped may say so: any other would run its action again.
    /// </summary>
    bool ResumesAfterShutdown { get; }
}

/// <summary>What a ledgered job's action produced, for the ledger to record.</summary>
/// <param name="Result">The action's JSON result.</param>
public sealed record RunResult(bool Succeeded, string Result, string? Error);

/// <summary>
/// The run a firing was admitted as, handed from <see cref="RunLedgerMiddleware"/> to the job, and the job's
/// <see cref="RunResult"/> handed back.
/// </summary>
/// <remarks>
/// Ambient (an <see cref="AsyncLocal{T}"/> set around the rest of the pipeline) because the middleware is one instance
/// shared by every firing and the execution context carries no per-firing slot for it; Quartz names an AsyncLocal as
/// the place for per-firing middleware state. The value flows into the job's call and nowhere else.
/// </remarks>
public sealed class LedgeredRun
{
    private static readonly AsyncLocal<LedgeredRun?> Ambient = new();

    private LedgeredRun(RunRecord run) => Run = run;

    /// <summary>The ledger row this firing runs as: its id, attempt and idempotency key.</summary>
    public RunRecord Run { get; }

    /// <summary>What the job reported, or <see langword="null"/> when it reported nothing.</summary>
    public RunResult? Result { get; private set; }

    /// <summary>The run of the firing executing on this flow.</summary>
    /// <exception cref="InvalidOperationException">Outside a firing the ledger admitted.</exception>
    public static LedgeredRun Current => Ambient.Value
        ?? throw new InvalidOperationException("No ledger run on this flow: a ledgered job runs only inside RunLedgerMiddleware.");

    public void Report(RunResult result) => Result = result;

    /// <summary>Makes <paramref name="run"/> the current run until the returned scope is disposed.</summary>
    internal static Scope Enter(RunRecord run, out LedgeredRun entered)
    {
        var previous = Ambient.Value;
        entered = new LedgeredRun(run);
        Ambient.Value = entered;
        return new Scope(previous);
    }

    internal readonly struct Scope(LedgeredRun? previous) : IDisposable
    {
        public void Dispose() => Ambient.Value = previous;
    }
}
