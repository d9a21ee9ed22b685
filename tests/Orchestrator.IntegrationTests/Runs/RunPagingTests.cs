using System.Net.Http.Json;
using System.Text.Json;
using Npgsql;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Runs;

[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class RunPagingTests
{
    [Test]
    public async Task Paging_runs_that_share_a_fire_time_returns_every_run_exactly_once()
    {
        // Ordered by scheduledFireTime alone, rows tied on one fire time came back in a different order for each
        // page: of 6,916 runs, 32 were never returned and 32 twice. Ledger rows of many schedules on one fire time
        // (every schedule due at 09:00), and a few more on other times around them.
        var database = await TestPostgres.CreateDatabaseAsync("runpaging");
        await using var server = InProcessServer.Start(PostgresNode.Environment(database));
        await server.WaitUntilReadyAsync();
        using var api = server.CreateClient(server.PrintedAdminKey);

        var tied = new DateTimeOffset(2026, 11, 30, 9, 0, 0, TimeSpan.Zero);
        var expected = new HashSet<Guid>();
        await using (var connection = new NpgsqlConnection(database))
        {
            await connection.OpenAsync();
            for (var i = 0; i < 260; i++)
            {
                var id = Guid.NewGuid();
                expected.Add(id);
                await using var insert = new NpgsqlCommand(
                    "INSERT INTO runs (id, schedule_id, project_id, action_type, status, triggered_by, scheduled_fire_time, started_at, finished_at, attempt, idempotency_key, version) " +
                    "VALUES (@id, @schedule, 'default', 'noop', 'Succeeded', 'Schedule', @fire, @fire, @fire, 1, @key, 0)", connection);
                insert.Parameters.AddWithValue("id", id);
                insert.Parameters.AddWithValue("schedule", $"default.s{i % 250}");
                insert.Parameters.AddWithValue("fire", i < 250 ? tied : tied.AddMinutes(i < 255 ? i - 256 : i - 254));
                insert.Parameters.AddWithValue("key", $"paging-{i}");
                await insert.ExecuteNonQueryAsync();
            }
        }

        foreach (var pageSize in new[] { 7, 50 })
        {
            var seen = new List<Guid>();
            for (var page = 1; ; page++)
            {
                var body = await api.GetFromJsonAsync<JsonElement>($"/api/runs?page={page}&pageSize={pageSize}");
                var items = body.GetProperty("items").EnumerateArray().Select(r => r.GetProperty("id").GetGuid()).ToList();
                Assert.That(body.GetProperty("total").GetInt32(), Is.EqualTo(expected.Count));
                if (items.Count == 0)
                {
                    break;
                }

                seen.AddRange(items);
            }

            Assert.That(seen.GroupBy(g => g).Where(g => g.Count() > 1).Select(g => g.Key), Is.Empty, $"pageSize {pageSize}: no run is returned twice");
            Assert.That(expected.Except(seen), Is.Empty, $"pageSize {pageSize}: no run is skipped");
            Assert.That(seen, Has.Count.EqualTo(expected.Count));
        }
    }

    [Test]
    public async Task Sorted_by_creation_a_backfill_of_old_fire_times_comes_first_and_paging_stays_exact()
    {
        // A backfill written now for fire times a month ago sank under every newer scheduled run in the dashboard.
        var database = await TestPostgres.CreateDatabaseAsync("runsort");
        await using var server = InProcessServer.Start(PostgresNode.Environment(database));
        await server.WaitUntilReadyAsync();
        using var api = server.CreateClient(server.PrintedAdminKey);

        // Written in this order (UUIDv7 ids carry the write time), each for an OLDER fire time than the one before.
        var written = new DateTimeOffset(2026, 11, 30, 12, 0, 0, TimeSpan.Zero);
        var order = new List<Guid>();
        await using (var connection = new NpgsqlConnection(database))
        {
            await connection.OpenAsync();
            for (var i = 0; i < 23; i++)
            {
                var id = Guid.CreateVersion7(written.AddMilliseconds(i * 10));
                order.Add(id);
                await using var insert = new NpgsqlCommand(
                    "INSERT INTO runs (id, schedule_id, project_id, action_type, status, triggered_by, scheduled_fire_time, started_at, finished_at, attempt, idempotency_key, version) " +
                    "VALUES (@id, 'default.sorted', 'default', 'noop', 'Succeeded', 'Backfill', @fire, @fire, @fire, 1, @key, 0)", connection);
                insert.Parameters.AddWithValue("id", id);
                insert.Parameters.AddWithValue("fire", written.AddDays(-i));
                insert.Parameters.AddWithValue("key", $"sorted-{i}");
                await insert.ExecuteNonQueryAsync();
            }
        }

        async Task<List<Guid>> ReadAllAsync(string sort)
        {
            var seen = new List<Guid>();
            for (var page = 1; page < 10; page++)
            {
                var body = await api.GetFromJsonAsync<JsonElement>($"/api/runs?page={page}&pageSize=5{sort}");
                seen.AddRange(body.GetProperty("items").EnumerateArray().Select(r => r.GetProperty("id").GetGuid()));
            }

            return seen;
        }

        Assert.That(await ReadAllAsync("&sort=created"), Is.EqualTo(order.AsEnumerable().Reverse().ToList()), "newest written first, each once");
        Assert.That(await ReadAllAsync(""), Is.EqualTo(order), "by scheduled fire time, the default, unchanged");
        Assert.That(await ReadAllAsync("&sort=scheduled"), Is.EqualTo(order));

        var refused = await api.GetAsync("/api/runs?sort=finished");
        var problem = await ApiAssertions.AssertProblemAsync(refused, System.Net.HttpStatusCode.UnprocessableEntity);
        Assert.That(problem.GetProperty("errors").GetProperty("sort")[0].GetString(), Does.Contain("'finished' is not a run order"));
    }
}
