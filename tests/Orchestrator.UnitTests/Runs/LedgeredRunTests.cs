using Orchestrator.Runs;

namespace Orchestrator.UnitTests.Runs;

/// <summary>How the ledger middleware hands a firing's run to the job and takes the job's result back.</summary>
public sealed class LedgeredRunTests
{
    private static RunRecord Run() => new() { Id = Guid.NewGuid(), ScheduleId = "default.s", ActionType = "noop", IdempotencyKey = "run-1", Attempt = 2 };

    [Test]
    public void A_job_outside_the_ledger_middleware_has_no_run_and_is_told_so()
    {
        var ex = Assert.Throws<InvalidOperationException>(() => _ = LedgeredRun.Current);
        Assert.That(ex!.Message, Does.Contain("RunLedgerMiddleware"));
    }

    [Test]
    public async Task The_job_awaited_inside_sees_the_admitted_run_and_its_report_reaches_the_middleware()
    {
        var run = Run();
        LedgeredRun admitted;
        using (LedgeredRun.Enter(run, out admitted))
        {
            // As the job does, in the flow the middleware awaits.
            await Task.Run(async () =>
            {
                await Task.Yield();
                Assert.That(LedgeredRun.Current.Run, Is.SameAs(run));
                LedgeredRun.Current.Report(new RunResult(true, "{}", null));
            });
        }

        Assert.That(admitted.Result, Is.EqualTo(new RunResult(true, "{}", null)));
        Assert.Throws<InvalidOperationException>(() => _ = LedgeredRun.Current, "the run is not current after the firing");
    }

    [Test]
    public async Task Two_firings_at_once_each_see_their_own_run()
    {
        var (first, second) = (Run(), Run());
        var seen = await Task.WhenAll(Firing(first), Firing(second));
        Assert.That(seen, Is.EqualTo(new[] { first.Id, second.Id }));

        static async Task<Guid> Firing(RunRecord run)
        {
            using (LedgeredRun.Enter(run, out _))
            {
                await Task.Delay(20);
                return LedgeredRun.Current.Run.Id;
            }
        }
    }
}
