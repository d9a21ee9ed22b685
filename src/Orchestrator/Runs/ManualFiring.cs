using Microsoft.AspNetCore.Mvc;
using Quartz;

namespace Orchestrator.Runs;

/// <summary>
/// Schedules the one-shot firing of a manual run (run now, requeue) whose pending row the ledger has already committed,
/// and says the same thing when the scheduler refuses it, wherever the run was asked for.
/// </summary>
public static class ManualFiring
{
    /// <summary>
    /// Stores <paramref name="trigger"/>; null when Quartz took it. When the scheduler refuses it, no firing will claim
    /// the pending <paramref name="run"/>, so it is completed as failed — not deleted, so a trigger stored after all finds
    /// the run finished and does not run it — and the answer is a 503 saying <paramref name="notDone"/> and that nothing runs.
    /// Not cancelled with the request: the pending row is committed, so its firing goes in whether or not the client waits.
    /// </summary>
    /// <param name="notDone">What was not done, as the start of a sentence: "Schedule 'a.b' was not run".</param>
    public static async Task<ProblemDetails?> ScheduleAsync(IScheduler scheduler, ITrigger trigger, RunLedger ledger, RunRecord run, string notDone)
    {
        try
        {
            await scheduler.ScheduleJob(trigger, new ScheduleJobOptions(), CancellationToken.None);
            return null;
        }
        catch (SchedulerException ex)
        {
            await ledger.CompleteAsync(run, RunStatus.Failed, null, $"not scheduled: the scheduler refused the firing ({ex.Message}).");
            return SchedulerUnavailable($"{notDone}: the scheduler could not schedule its firing. Run {run.Id} is recorded as failed "
                + "and nothing runs; try again once the scheduler is available.");
        }
    }

    /// <summary>The 503 of a firing the scheduler refused.</summary>
    private static ProblemDetails SchedulerUnavailable(string detail) => new()
    {
        Status = StatusCodes.Status503ServiceUnavailable,
        Title = "The scheduler is unavailable",
        Detail = detail,
    };
}
