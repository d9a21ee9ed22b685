using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Data;
using Orchestrator.Deadlines;
using Orchestrator.IntegrationTests.Infrastructure;
using Orchestrator.Runs;

namespace Orchestrator.IntegrationTests.Deadlines;

/// <summary>
/// A backlog larger than one check judges (<c>Orchestrator:Deadlines:MaxDueTimesPerCheck</c>, 5 here) is judged oldest
/// first over the next checks, and no due time is passed over: before, one check took an unordered handful of the
/// ledger's rows and marked the whole window checked. On PostgreSQL, with the server's own check an hour apart so the
/// test runs the checker itself.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class DeadlineBacklogTests : ServerWithPeerFixture
{
    private const int Cap = 5;

    protected override string DatabaseName => "deadlinebacklog";

    protected override IReadOnlyDictionary<string, string?> Settings => new Dictionary<string, string?>
    {
        ["Orchestrator__Deadlines__CheckSeconds"] = "3600",
        ["Orchestrator__Deadlines__MaxDueTimesPerCheck"] = Cap.ToString(System.Globalization.CultureInfo.InvariantCulture),
    };

    protected override async Task StartedAsync()
    {
        await Admin.PostForJsonAsync("/api/channels", new { name = "backlog-ops", kind = "webhook", webhook = new { url = Peer.BaseUrl + "/backlog-ops" } }, HttpStatusCode.Created);
    }

    private IServiceProvider Services => ((InProcessServer)Server).Services;

    private async Task CheckAsync()
    {
        await using var scope = Services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<DeadlineChecker>().CheckAsync(CancellationToken.None);
    }

    private async Task<List<DateTimeOffset>> BreachedAsync(string id)
    {
        var page = await Admin.GetFromJsonAsync<JsonElement>($"/api/deadlines?scheduleId={id}&kind=start&pageSize=100");
        return [.. page.GetProperty("items").EnumerateArray().Select(b => b.GetProperty("occurrence").GetDateTimeOffset()).Order()];
    }

    [Test]
    public async Task A_backlog_larger_than_one_check_is_judged_oldest_first_over_the_next_checks_and_none_is_passed_over()
    {
        const string id = "default.backlog";
        await Admin.CreateScheduleAsync(new
        {
            name = "backlog",
            action = new { type = "noop", config = new { } },
            trigger = new { cron = "0 0 3 1 1 ? 2099" },
            deadline = new { startWithinSeconds = 1, channel = "backlog-ops" },
        });

        // Twelve due times half an hour ago, each started 5 s late, written to the ledger in a shuffled order; the watch
        // is moved back to just before them, as for a checker that was stopped while they came.
        var first = RunLedger.KeyTime(TimeProvider.System.GetUtcNow().AddMinutes(-30));
        var due = Enumerable.Range(0, 12).Select(i => first.AddSeconds(i)).ToList();
        await using (var scope = Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>();
            var watch = await db.Set<DeadlineWatch>().SingleAsync(w => w.TargetId == id);
            watch.WatchedSince = watch.StartCheckedThrough = watch.SucceedCheckedThrough = watch.SilenceSince = first.AddSeconds(-1);
            foreach (var at in due.OrderBy(_ => Random.Shared.Next()))
            {
                db.Runs.Add(new RunRecord
                {
                    Id = Guid.CreateVersion7(),
                    ScheduleId = id,
                    ProjectId = "default",
                    ActionType = "noop",
                    Status = RunStatus.Succeeded,
                    TriggeredBy = RunTrigger.Schedule,
                    ScheduledFireTime = at,
                    StartedAt = at.AddSeconds(5),
                    FinishedAt = at.AddSeconds(6),
                    Attempt = 1,
                    IdempotencyKey = $"backlog-test-{at.ToUnixTimeSeconds()}",
                });
            }

            await db.SaveChangesAsync();
        }

        // Each check judges the next five, oldest first, and the last one the rest.
        await CheckAsync();
        Assert.That(await BreachedAsync(id), Is.EqualTo(due.Take(Cap)), "the first check: the five oldest");
        await CheckAsync();
        Assert.That(await BreachedAsync(id), Is.EqualTo(due.Take(2 * Cap)), "the second check: the next five");
        await CheckAsync();
        await CheckAsync();
        Assert.That(await BreachedAsync(id), Is.EqualTo(due), "every due time breached once, none passed over");
    }
}
