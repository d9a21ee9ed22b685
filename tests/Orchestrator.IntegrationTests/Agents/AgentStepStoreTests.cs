using System.Net.Http.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Agents;
using Orchestrator.Data;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Agents;

/// <summary>
/// The step table's one-command write on PostgreSQL: all of it or none (a failing statement after a succeeded one leaves
/// nothing behind), and a new step is inserted, never written over, so two nodes cannot both record step N.
/// </summary>
[TestFixture]
[NonParallelizable]
public sealed class AgentStepStoreTests
{
    private InProcessServer server = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        server = InProcessServer.Start(PostgresNode.Environment(await TestPostgres.CreateDatabaseAsync("agentstore")));
        await server.WaitUntilReadyAsync();
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        if (server is not null)
        {
            await server.DisposeAsync();
        }
    }

    private static AgentStep Step(string runKey, int number, AgentStepStatus status, string projectId = "default", int attempt = 1) => new()
    {
        RunKey = runKey,
        Number = number,
        RunId = Guid.NewGuid(),
        ProjectId = projectId,
        Kind = AgentStepKind.Tool,
        ToolName = "files.list",
        Status = status,
        Attempt = attempt,
        IdempotencyKey = $"{runKey}-step-{number}",
        StartedAt = TimeProvider.System.GetUtcNow(),
        Content = "{}",
    };

    private Task<List<AgentStep>> StoredAsync(string runKey) => StoredAsync(server, runKey);

    internal static async Task<List<AgentStep>> StoredAsync(InProcessServer on, string runKey)
    {
        await using var scope = on.Services.CreateAsyncScope();
        return await scope.ServiceProvider.GetRequiredService<AgentStepStore>().LoadAsync(runKey, CancellationToken.None);
    }

    private Task WriteAsync(IReadOnlyCollection<AgentStep> added, IReadOnlyCollection<AgentStep> changed) => WriteAsync(server, added, changed);

    private static async Task WriteAsync(InProcessServer on, IReadOnlyCollection<AgentStep> added, IReadOnlyCollection<AgentStep> changed)
    {
        await using var scope = on.Services.CreateAsyncScope();
        await scope.ServiceProvider.GetRequiredService<AgentStepStore>().WriteAsync(added, changed, Guid.NewGuid(), AgentUsage.None, CancellationToken.None);
    }

    [Test]
    public async Task A_step_s_end_and_the_next_step_s_start_are_stored_together_or_not_at_all()
    {
        var runKey = "store-" + Guid.NewGuid().ToString("N");
        await WriteAsync([Step(runKey, 1, AgentStepStatus.Running)], []);

        // Step 1's end with a project id the column cannot hold: the statement after step 2's insert fails.
        var finished = Step(runKey, 1, AgentStepStatus.Succeeded, projectId: new string('p', 200));
        Assert.ThrowsAsync(Is.InstanceOf<Exception>(), () => WriteAsync([Step(runKey, 2, AgentStepStatus.Running)], [finished]));
        Assert.That((await StoredAsync(runKey)).Select(s => $"{s.Number}:{s.Status}"), Is.EqualTo(new[] { "1:Running" }), "step 2's insert was rolled back with it");

        // The same write, valid: both are there.
        await WriteAsync([Step(runKey, 2, AgentStepStatus.Running)], [Step(runKey, 1, AgentStepStatus.Succeeded)]);
        Assert.That((await StoredAsync(runKey)).Select(s => $"{s.Number}:{s.Status}"), Is.EqualTo(new[] { "1:Succeeded", "2:Running" }));
    }

    [Test]
    public async Task A_new_step_whose_number_is_taken_is_refused_and_the_stored_one_is_kept()
    {
        var runKey = "store-" + Guid.NewGuid().ToString("N");
        await WriteAsync([Step(runKey, 1, AgentStepStatus.Succeeded)], []);

        // Another node that thinks step 1 is its own new step.
        Assert.ThrowsAsync(Is.InstanceOf<DbUpdateException>().Or.InstanceOf<Npgsql.PostgresException>(),
            () => WriteAsync([Step(runKey, 1, AgentStepStatus.Running)], []));
        var stored = await StoredAsync(runKey);
        Assert.That(stored.Select(s => $"{s.Number}:{s.Status}"), Is.EqualTo(new[] { "1:Succeeded" }));

        await using var scope = server.Services.CreateAsyncScope();
        var db = scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>();
        Assert.That(await db.AgentSteps.CountAsync(s => s.RunKey == runKey), Is.EqualTo(1));
    }

    [Test]
    public Task A_node_that_was_taken_over_does_not_write_its_older_attempt_over_the_survivor_s_newer_one() => OlderAttemptIsNotWrittenOverAsync(server);

    /// <summary>
    /// When the loop already ends on an error (here the model refuses the turn), the writes in its finally block — the
    /// failed step's flush and the close — can fail too (here the database refuses any failed step); that second
    /// failure is logged and the run records the model's error, not the database's.
    /// </summary>
    [Test]
    public async Task A_failing_end_of_loop_write_does_not_replace_the_error_that_ended_the_run()
    {
        await using var model = await ScriptedChatServer.StartAsync();
        model.Enqueue(ScriptedChatServer.Reply.Error(400));
        var database = await TestPostgres.CreateDatabaseAsync("agentflush");
        await using var agents = InProcessServer.Start(PostgresNode.Environment(database, new Dictionary<string, string?>
        {
            ["Orchestrator__Outbound__AllowedHosts__0"] = "127.0.0.1",
            ["Orchestrator__Secrets__model-key"] = "sk-flush",
            ["Orchestrator__Agents__Models__default__Endpoint"] = model.Endpoint,
            ["Orchestrator__Agents__Models__default__Model"] = "scripted-1",
            ["Orchestrator__Agents__Models__default__ApiKeySecret"] = "model-key",
        }));
        await agents.WaitUntilReadyAsync();
        await using (var connection = new Npgsql.NpgsqlConnection(database))
        {
            await connection.OpenAsync();
            await using var refuse = new Npgsql.NpgsqlCommand(
                """
                CREATE FUNCTION refuse_failed_step() RETURNS trigger LANGUAGE plpgsql AS $$
                BEGIN RAISE EXCEPTION 'failed steps are refused by the test'; END $$;
                CREATE TRIGGER refuse_failed_step BEFORE INSERT OR UPDATE ON agent_steps FOR EACH ROW
                WHEN (NEW.status = 'Failed') EXECUTE FUNCTION refuse_failed_step();
                """, connection);
            await refuse.ExecuteNonQueryAsync();
        }

        using var admin = agents.CreateClient(agents.PrintedAdminKey);
        await admin.CreateScheduleAsync(new
        {
            name = "refused-model",
            action = new { type = "run_task", config = new { agent = new { goal = "Answer.", model = "default" } } },
            trigger = new { at = TimeProvider.System.GetUtcNow().AddYears(5).ToString("O", System.Globalization.CultureInfo.InvariantCulture) },
        });
        var runId = (await admin.PostForJsonAsync("/api/schedules/default.refused-model/run", null, System.Net.HttpStatusCode.Accepted)).GetProperty("id").GetString();
        var run = await Poll.UntilAsync(() => admin.GetFromJsonAsync<System.Text.Json.JsonElement>($"/api/runs/{runId}"),
            r => r.Status() is "succeeded" or "failed" or "cancelled", TimeSpan.FromSeconds(30), "the agent run to finish");

        Assert.That(run.Status(), Is.EqualTo("failed"), run.ToString());
        Assert.That(run.GetProperty("error").GetString(), Does.Contain("model 'default' failed").And.Not.Contain("refused by the test"), run.ToString());
        Assert.That(agents.Output, Does.Contain("refused by the test"), "the end-of-loop write's failure is logged, not lost");
    }

    /// <summary>The same on any store: shared with the embedded SQLite test (<see cref="AgentEmbeddedStoreTests"/>).</summary>
    internal static async Task OlderAttemptIsNotWrittenOverAsync(InProcessServer server)
    {
        var runKey = "store-" + Guid.NewGuid().ToString("N");
        await WriteAsync(server, [Step(runKey, 1, AgentStepStatus.Running)], []);

        // The surviving node ran step 1 again (attempt 2) and finished it.
        var survivor = Step(runKey, 1, AgentStepStatus.Succeeded, attempt: 2);
        survivor.Content = "{\"by\":\"survivor\"}";
        await WriteAsync(server, [], [survivor]);

        // The node that was taken over reaches its finally block and flushes its attempt 1 of step 1 as failed.
        var stale = Step(runKey, 1, AgentStepStatus.Failed, attempt: 1);
        stale.Content = "{\"by\":\"stale\"}";
        stale.Error = "cut off";
        await WriteAsync(server, [], [stale]);

        var stored = (await StoredAsync(server, runKey)).Single();
        Assert.That((stored.Attempt, stored.Status, stored.Content, stored.Error), Is.EqualTo((2, AgentStepStatus.Succeeded, "{\"by\":\"survivor\"}", (string?)null)));

        // The same attempt still updates its own row, and a newer one still replaces it.
        await WriteAsync(server, [], [Step(runKey, 1, AgentStepStatus.Failed, attempt: 2)]);
        Assert.That((await StoredAsync(server, runKey)).Single().Status, Is.EqualTo(AgentStepStatus.Failed));
        await WriteAsync(server, [], [Step(runKey, 1, AgentStepStatus.Running, attempt: 3)]);
        Assert.That((await StoredAsync(server, runKey)).Single().Attempt, Is.EqualTo(3));
    }
}
