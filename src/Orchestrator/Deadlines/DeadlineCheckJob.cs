using Quartz;

namespace Orchestrator.Deadlines;

/// <summary>
/// Runs <see cref="DeadlineChecker"/> every <c>Orchestrator:Deadlines:CheckSeconds</c>. A clustered Quartz job in the
/// server's own group that never runs twice at once, so one node checks at a time; the breach table's unique key keeps
/// alerts single even if two checks overlap (a node thought dead that is still finishing one).
/// </summary>
[DisallowConcurrentExecution]
public sealed class DeadlineCheckJob(DeadlineChecker checker) : IJob
{
    public static readonly JobKey Key = new("deadline-check", "_system");

    public async ValueTask Execute(IJobExecutionContext context, CancellationToken cancellationToken)
    {
        var report = await checker.CheckAsync(cancellationToken);
        context.Result = report.Found + report.Recovered + report.Sent + report.Failed == 0
            ? JobRunReport.Skipped("nothing missed, recovered or to send")
            : JobRunReport.Succeeded($"{report.Found} breach(es) found, {report.Recovered} recovered, {report.Sent} message(s) sent, {report.Failed} failed to send")
                .With("found", report.Found).With("recovered", report.Recovered).With("sent", report.Sent).With("failed", report.Failed);
    }
}

/// <summary><c>Orchestrator:Deadlines</c>: how often the deadlines are checked.</summary>
public sealed class DeadlineOptions
{
    public const string SectionName = "Orchestrator:Deadlines";

    /// <summary>Seconds between two checks; an alert comes at most this late after its deadline.</summary>
    public int CheckSeconds { get; set; } = 5;

    /// <summary>
    /// The most due times (or pipeline runs) one check judges per schedule or pipeline, oldest first; a backlog larger
    /// than this (a checker that was stopped, a schedule every second) is judged over the next checks, none skipped.
    /// </summary>
    public int MaxDueTimesPerCheck { get; set; } = 1000;
}
