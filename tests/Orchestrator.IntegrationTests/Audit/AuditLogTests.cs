using System.Globalization;
using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Audit;
using Orchestrator.Data;
using Orchestrator.IntegrationTests.Infrastructure;
using Orchestrator.Runs;
using Orchestrator.Security;
using Quartz;

namespace Orchestrator.IntegrationTests.Audit;

/// <summary>
/// The audit log (issue 14 item 6): every change through the API, a tool or the dashboard is recorded once, by whom,
/// from where, with before/after and no secret; refusals record nothing; the log filters, pages and is purged only by
/// retention.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class AuditLogTests
{
    private const string ChannelPassword = "hunter2-mail-password";
    private const string WebhookToken = "whk-literal-token-7731";
    private const string CallApiToken = "call-api-literal-token-4242";

    private InProcessServer server = null!;
    private HttpClient admin = null!;
    private HttpClient operatorClient = null!;
    private Guid operatorKeyId;
    private string workspaces = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        workspaces = Directory.CreateTempSubdirectory("orchestrator-audit-ws-").FullName;
        var database = await TestPostgres.CreateDatabaseAsync("audit");
        server = InProcessServer.Start(PostgresNode.Environment(database, new Dictionary<string, string?> { ["Orchestrator__Workspaces__Roots__0"] = workspaces }));
        await server.WaitUntilReadyAsync();
        admin = server.CreateClient(server.PrintedAdminKey);
        await using var scope = server.Services.CreateAsyncScope();
        var (key, plain) = await scope.ServiceProvider.GetRequiredService<ApiKeyStore>().CreateAsync("audit-operator", ApiRole.Operator, CancellationToken.None);
        operatorKeyId = key.Id;
        operatorClient = server.CreateClient(plain);
        await admin.PostForJsonAsync("/api/projects", new { id = "aud", name = "Audit", rootPath = Path.Combine(workspaces, "aud") }, HttpStatusCode.Created);
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        admin?.Dispose();
        operatorClient?.Dispose();
        if (server is not null)
        {
            await server.DisposeAsync();
        }
    }

    private async Task<JsonElement> PageAsync(string query, HttpStatusCode expected = HttpStatusCode.OK)
    {
        var response = await admin.GetAsync("/api/audit?" + query);
        var text = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(expected), text);
        return JsonDocument.Parse(text).RootElement.Clone();
    }

    private async Task<List<JsonElement>> EntriesAsync(string query) =>
        [.. (await PageAsync(query + "&pageSize=200")).GetProperty("items").EnumerateArray()];

    /// <summary>The one entry of <paramref name="action"/> on <paramref name="resource"/> (type:id).</summary>
    private async Task<JsonElement> OneAsync(string resource, string action)
    {
        var entries = await EntriesAsync($"resource={Uri.EscapeDataString(resource)}&action={action}");
        Assert.That(entries, Has.Count.EqualTo(1), $"{action} on {resource}: {string.Join("\n", entries)}");
        return entries[0];
    }

    private static void AssertByBootstrapAdmin(JsonElement entry)
    {
        Assert.That(entry.GetProperty("actor").GetProperty("name").GetString(), Is.EqualTo(ApiKeyStore.BootstrapKeyName), entry.ToString());
        Assert.That(entry.GetProperty("actor").GetProperty("keyId").ValueKind, Is.EqualTo(JsonValueKind.String), entry.ToString());
        Assert.That(entry.GetProperty("source").GetString(), Is.EqualTo("api"));
    }

    private static string Tomorrow() => TimeProvider.System.GetUtcNow().AddDays(1).ToString("O", CultureInfo.InvariantCulture);

    [Test]
    public async Task Schedule_changes_are_recorded_once_each_with_the_key_before_after_and_no_header_secret()
    {
        var schedule = new
        {
            name = "audited",
            project = "aud",
            action = new { type = "call_api", config = new { url = "https://api.example.com/hook", headers = new { Authorization = $"Bearer {CallApiToken}" } } },
            trigger = new { cron = "0 0 3 * * ?" },
        };
        await admin.CreateScheduleAsync(schedule);
        await admin.PutAsync("/api/schedules/aud.audited", ApiClient.Json(schedule with { trigger = new { cron = "0 0 4 * * ?" } }));
        await operatorClient.PostForJsonAsync("/api/schedules/aud.audited/pause", new { reason = "vendor outage" }, HttpStatusCode.OK);
        await operatorClient.PostForJsonAsync("/api/schedules/aud.audited/resume", null, HttpStatusCode.OK);
        await operatorClient.PostForJsonAsync("/api/schedules/aud.audited/run", null, HttpStatusCode.Accepted);
        Assert.That((await admin.DeleteAsync("/api/schedules/aud.audited")).StatusCode, Is.EqualTo(HttpStatusCode.NoContent));

        var created = await OneAsync("schedule:aud.audited", "schedule.create");
        AssertByBootstrapAdmin(created);
        Assert.That(created.GetProperty("project").GetString(), Is.EqualTo("aud"));
        Assert.That(created.GetProperty("before").ValueKind, Is.EqualTo(JsonValueKind.Null));
        Assert.That(created.GetProperty("after").GetProperty("action").GetProperty("config").GetProperty("headers").GetProperty("Authorization").GetString(),
            Is.EqualTo(AuditRedaction.Mask));

        var updated = await OneAsync("schedule:aud.audited", "schedule.update");
        Assert.That(updated.GetProperty("before").GetProperty("trigger").GetProperty("cron").GetString(), Is.EqualTo("0 0 3 * * ?"));
        Assert.That(updated.GetProperty("after").GetProperty("trigger").GetProperty("cron").GetString(), Is.EqualTo("0 0 4 * * ?"));

        var paused = await OneAsync("schedule:aud.audited", "schedule.pause");
        Assert.That(paused.GetProperty("actor").GetProperty("name").GetString(), Is.EqualTo("audit-operator"));
        Assert.That(paused.GetProperty("actor").GetProperty("keyId").GetGuid(), Is.EqualTo(operatorKeyId));
        Assert.That(paused.GetProperty("reason").GetString(), Is.EqualTo("vendor outage"));
        Assert.That(paused.GetProperty("before").GetProperty("state").GetString(), Is.EqualTo("active"));
        Assert.That(paused.GetProperty("after").GetProperty("state").GetString(), Is.EqualTo("paused"));
        Assert.That(paused.GetProperty("after").GetProperty("pausedReason").GetString(), Is.EqualTo("vendor outage"));
        Assert.That(paused.GetProperty("clientAddress").ValueKind, Is.Not.EqualTo(JsonValueKind.Undefined));

        var resumed = await OneAsync("schedule:aud.audited", "schedule.resume");
        Assert.That(resumed.GetProperty("after").GetProperty("state").GetString(), Is.EqualTo("active"));
        var ran = await OneAsync("schedule:aud.audited", "schedule.run");
        Assert.That(ran.GetProperty("after").GetProperty("triggeredBy").GetString(), Is.EqualTo("manual"), ran.ToString());
        var deleted = await OneAsync("schedule:aud.audited", "schedule.delete");
        Assert.That(deleted.GetProperty("after").ValueKind, Is.EqualTo(JsonValueKind.Null));
        Assert.That(deleted.GetProperty("before").GetProperty("name").GetString(), Is.EqualTo("audited"));

        var all = await EntriesAsync("resource=schedule:aud.audited");
        Assert.That(all.Select(e => e.GetProperty("action").GetString()),
            Is.EqualTo(new[] { "schedule.delete", "schedule.run", "schedule.resume", "schedule.pause", "schedule.update", "schedule.create" }), "once each, newest first");
        Assert.That(string.Join("\n", all), Does.Not.Contain(CallApiToken));
    }

    [Test]
    public async Task Channel_changes_are_recorded_without_their_secrets()
    {
        await admin.PostForJsonAsync("/api/channels", new
        {
            name = "audit-mail",
            kind = "email",
            email = new { host = "smtp.example.com", port = 587, username = "bot", password = ChannelPassword, from = "a@example.com", to = new[] { "b@example.com" } },
        }, HttpStatusCode.Created);
        await admin.PostForJsonAsync("/api/channels", new
        {
            name = "audit-hook",
            kind = "webhook",
            webhook = new { url = "https://hooks.example.com/x", headers = new Dictionary<string, string> { ["X-Token"] = WebhookToken } },
        }, HttpStatusCode.Created);
        var replace = await admin.PutAsync("/api/channels/audit-hook", ApiClient.Json(new
        {
            name = "audit-hook",
            kind = "webhook",
            webhook = new { url = "https://hooks.example.com/y", headers = new Dictionary<string, string> { ["X-Token"] = WebhookToken + "-2" } },
        }));
        Assert.That(replace.StatusCode, Is.EqualTo(HttpStatusCode.OK), await replace.Content.ReadAsStringAsync());
        Assert.That((await admin.DeleteAsync("/api/channels/audit-mail")).StatusCode, Is.EqualTo(HttpStatusCode.NoContent));

        var mail = await OneAsync("channel:audit-mail", "channel.create");
        AssertByBootstrapAdmin(mail);
        Assert.That(mail.GetProperty("after").GetProperty("settings").GetProperty("hasPassword").GetBoolean(), Is.True);
        var updated = await OneAsync("channel:audit-hook", "channel.update");
        Assert.That(updated.GetProperty("before").GetProperty("settings").GetProperty("url").GetString(), Is.EqualTo("https://hooks.example.com/x"));
        Assert.That(updated.GetProperty("after").GetProperty("settings").GetProperty("url").GetString(), Is.EqualTo("https://hooks.example.com/y"));
        await OneAsync("channel:audit-hook", "channel.create");
        var deleted = await OneAsync("channel:audit-mail", "channel.delete");
        Assert.That(deleted.GetProperty("before").GetProperty("name").GetString(), Is.EqualTo("audit-mail"));

        var text = string.Join("\n", await EntriesAsync("resource=channel"));
        Assert.That(text, Does.Not.Contain(ChannelPassword).And.Not.Contain(WebhookToken));
        await using var scope = server.Services.CreateAsyncScope();
        var stored = await scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>().Set<AuditEntry>().Where(e => e.ResourceType == "channel")
            .Select(e => (e.Before ?? "") + (e.After ?? "")).ToListAsync();
        Assert.That(string.Concat(stored), Does.Not.Contain(ChannelPassword).And.Not.Contain(WebhookToken), "not in the table either");
    }

    [Test]
    public async Task Project_file_tool_and_pipeline_changes_are_recorded()
    {
        await admin.PostForJsonAsync("/api/projects", new { id = "aud-p", name = "P", rootPath = Path.Combine(workspaces, "aud-p") }, HttpStatusCode.Created);
        var renamed = await admin.PutAsync("/api/projects/aud-p", ApiClient.Json(new { name = "P2", rootPath = Path.Combine(workspaces, "aud-p") }));
        Assert.That(renamed.StatusCode, Is.EqualTo(HttpStatusCode.OK), await renamed.Content.ReadAsStringAsync());
        var put = await admin.PutAsync("/api/projects/aud-p/files/notes/a.txt", new StringContent("hello"));
        Assert.That(put.IsSuccessStatusCode, Is.True, await put.Content.ReadAsStringAsync());
        Assert.That((await admin.DeleteAsync("/api/projects/aud-p/files/notes/a.txt")).IsSuccessStatusCode, Is.True);

        await admin.PostForJsonAsync("/api/tools", new
        {
            name = "audit-echo",
            kind = "command",
            parameters = new { type = "object", properties = new { text = new { type = "string" } } },
            config = new { argv = new[] { "echo", "{{args.text}}" } },
        }, HttpStatusCode.Created);
        Assert.That((await admin.DeleteAsync("/api/tools/audit-echo")).StatusCode, Is.EqualTo(HttpStatusCode.NoContent));

        var nodes = new[] { new { id = "a", type = "action", action = new { type = "noop", config = new { } } } };
        await admin.PostForJsonAsync("/api/pipelines", new { id = "audit-pipe", name = "v1", project = "aud-p", nodes }, HttpStatusCode.Created);
        var replaced = await admin.PutAsync("/api/pipelines/audit-pipe", ApiClient.Json(new { id = "audit-pipe", name = "v2", project = "aud-p", nodes }));
        Assert.That(replaced.StatusCode, Is.EqualTo(HttpStatusCode.OK), await replaced.Content.ReadAsStringAsync());
        Assert.That((await admin.DeleteAsync("/api/pipelines/audit-pipe")).IsSuccessStatusCode, Is.True);
        Assert.That((await admin.DeleteAsync("/api/projects/aud-p")).StatusCode, Is.EqualTo(HttpStatusCode.NoContent));

        AssertByBootstrapAdmin(await OneAsync("project:aud-p", "project.create"));
        var projectUpdate = await OneAsync("project:aud-p", "project.update");
        Assert.That(projectUpdate.GetProperty("before").GetProperty("name").GetString(), Is.EqualTo("P"));
        Assert.That(projectUpdate.GetProperty("after").GetProperty("name").GetString(), Is.EqualTo("P2"));
        await OneAsync("project:aud-p", "project.delete");
        var written = await OneAsync("file:aud-p/notes/a.txt", "file.write");
        Assert.That(written.GetProperty("project").GetString(), Is.EqualTo("aud-p"));
        Assert.That(written.GetProperty("after").GetProperty("size").GetInt64(), Is.EqualTo(5));
        await OneAsync("file:aud-p/notes/a.txt", "file.delete");
        await OneAsync("tool:audit-echo", "tool.create");
        await OneAsync("tool:audit-echo", "tool.delete");
        await OneAsync("pipeline:audit-pipe", "pipeline.create");
        var pipelineUpdate = await OneAsync("pipeline:audit-pipe", "pipeline.update");
        Assert.That(pipelineUpdate.GetProperty("before").GetProperty("name").GetString(), Is.EqualTo("v1"));
        Assert.That(pipelineUpdate.GetProperty("after").GetProperty("name").GetString(), Is.EqualTo("v2"));
        await OneAsync("pipeline:audit-pipe", "pipeline.delete");
    }

    [Test]
    public async Task A_change_made_by_a_runs_schedules_tool_records_the_tool_and_the_schedule()
    {
        await admin.CreateScheduleAsync(new { name = "tool-victim", project = "aud", action = new { type = "noop", config = new { } }, trigger = new { intervalSeconds = 3600 } });
        await admin.CreateScheduleAsync(new
        {
            name = "tool-pauser",
            project = "aud",
            action = new { type = "run_task", config = new { tool = "schedules.pause", arguments = new { name = "tool-victim", reason = "paused by the nightly task" } } },
            trigger = new { at = TimeProvider.System.GetUtcNow().AddSeconds(1).ToString("O", CultureInfo.InvariantCulture) },
        });
        var runs = await Poll.UntilAsync(() => admin.RunsAsync("aud.tool-pauser"), r => r.Count == 1 && r[0].Status() is "succeeded" or "failed", TimeSpan.FromSeconds(30), "the pauser run");
        Assert.That(runs[0].Status(), Is.EqualTo("succeeded"), runs[0].ToString());

        var paused = await OneAsync("schedule:aud.tool-victim", "schedule.pause");
        Assert.That(paused.GetProperty("source").GetString(), Is.EqualTo("tool"));
        Assert.That(paused.GetProperty("actor").GetProperty("name").GetString(), Is.EqualTo("schedule:aud.tool-pauser"));
        Assert.That(paused.GetProperty("actor").GetProperty("keyId").ValueKind, Is.EqualTo(JsonValueKind.Null));
        Assert.That(paused.GetProperty("reason").GetString(), Is.EqualTo("paused by the nightly task"));
        var schedule = await admin.GetFromJsonAsync<JsonElement>("/api/schedules/aud.tool-victim");
        Assert.That(schedule.GetProperty("pausedBy").GetString(), Is.EqualTo("schedule:aud.tool-pauser"));

        // The same tool invoked through the API: the key is the actor, the source is still the tool.
        var invoked = await admin.PostForJsonAsync("/api/tools/schedules.resume/invoke", new { project = "aud", arguments = new { name = "tool-victim" } }, HttpStatusCode.OK);
        Assert.That(invoked.GetProperty("succeeded").GetBoolean(), Is.True, invoked.ToString());
        var resumed = await OneAsync("schedule:aud.tool-victim", "schedule.resume");
        Assert.That(resumed.GetProperty("source").GetString(), Is.EqualTo("tool"));
        Assert.That(resumed.GetProperty("actor").GetProperty("name").GetString(), Is.EqualTo(ApiKeyStore.BootstrapKeyName));
    }

    [Test]
    public async Task The_client_header_names_the_source()
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/channels")
        {
            Content = ApiClient.Json(new { name = "from-dashboard", kind = "webhook", webhook = new { url = "https://hooks.example.com/d" } }),
        };
        request.Headers.Add(AuditLog.ClientHeader, "dashboard");
        Assert.That((await admin.SendAsync(request)).StatusCode, Is.EqualTo(HttpStatusCode.Created));
        using var forged = new HttpRequestMessage(HttpMethod.Post, "/api/channels")
        {
            Content = ApiClient.Json(new { name = "from-elsewhere", kind = "webhook", webhook = new { url = "https://hooks.example.com/e" } }),
        };
        forged.Headers.Add(AuditLog.ClientHeader, "system");
        Assert.That((await admin.SendAsync(forged)).StatusCode, Is.EqualTo(HttpStatusCode.Created));

        Assert.That((await OneAsync("channel:from-dashboard", "channel.create")).GetProperty("source").GetString(), Is.EqualTo("dashboard"));
        Assert.That((await OneAsync("channel:from-elsewhere", "channel.create")).GetProperty("source").GetString(), Is.EqualTo("api"), "only known surfaces are believed");
    }

    [Test]
    public async Task Key_create_and_revoke_are_recorded_without_the_key()
    {
        var created = await admin.PostForJsonAsync("/api/keys", new { name = "audited-key", role = "viewer", projects = new[] { "aud" } }, HttpStatusCode.Created);
        var id = created.GetProperty("id").GetString()!;
        var plain = created.GetProperty("key").GetString()!;
        Assert.That((await admin.DeleteAsync($"/api/keys/{id}")).StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        // Revoking one already revoked changes nothing, so records nothing.
        Assert.That((await admin.DeleteAsync($"/api/keys/{id}")).StatusCode, Is.EqualTo(HttpStatusCode.NoContent));

        var create = await OneAsync($"key:{id}", "key.create");
        AssertByBootstrapAdmin(create);
        Assert.That(create.GetProperty("after").GetProperty("name").GetString(), Is.EqualTo("audited-key"));
        Assert.That(create.GetProperty("after").GetProperty("role").GetString(), Is.EqualTo("viewer"));
        var revoke = await OneAsync($"key:{id}", "key.revoke");
        Assert.That(revoke.GetProperty("before").GetProperty("revokedAt").ValueKind, Is.EqualTo(JsonValueKind.Null));
        Assert.That(revoke.GetProperty("after").GetProperty("revokedAt").ValueKind, Is.EqualTo(JsonValueKind.String));
        var secretPart = plain[(plain.LastIndexOf('_') + 1)..];
        Assert.That(create.ToString() + revoke, Does.Not.Contain(secretPart), "the key's secret is never in the log");
    }

    [Test]
    public async Task A_pause_of_a_paused_schedule_or_a_resume_of_a_running_one_changes_and_records_nothing()
    {
        await admin.CreateScheduleAsync(new { name = "twice", project = "aud", action = new { type = "noop", config = new { } }, trigger = new { cron = "0 0 3 * * ?" } });
        await admin.PostForJsonAsync("/api/schedules/aud.twice/resume", null, HttpStatusCode.OK);
        await admin.PostForJsonAsync("/api/schedules/aud.twice/pause", new { reason = "first" }, HttpStatusCode.OK);
        var second = await admin.PostForJsonAsync("/api/schedules/aud.twice/pause", new { reason = "second" }, HttpStatusCode.OK);
        Assert.That(second.GetProperty("pausedReason").GetString(), Is.EqualTo("first"), "Quartz keeps the pause it has");

        var entries = await EntriesAsync("resource=schedule:aud.twice");
        Assert.That(entries.Select(e => e.GetProperty("action").GetString()), Is.EqualTo(new[] { "schedule.pause", "schedule.create" }));
        Assert.That(entries[0].GetProperty("reason").GetString(), Is.EqualTo("first"));

        // A null or blank id in a bulk request is a 422 on ids, not a 500, and nothing changes.
        var problem = await ApiAssertions.AssertProblemAsync(
            await operatorClient.PostAsync("/api/schedules/resume", ApiClient.Json(new { ids = new[] { "aud.twice", null, " " } })), HttpStatusCode.UnprocessableEntity);
        Assert.That(problem.GetProperty("errors").GetProperty("ids")[0].GetString(), Does.Contain("entries 1, 2 are empty"));
        Assert.That((await admin.GetFromJsonAsync<JsonElement>("/api/schedules/aud.twice")).GetProperty("state").GetString(), Is.EqualTo("paused"));
    }

    [Test]
    public async Task A_refused_change_records_nothing()
    {
        var before = (await EntriesAsync("project=aud")).Count;
        var refused = await admin.PostAsync("/api/schedules", ApiClient.Json(new
        {
            name = "bad",
            project = "aud",
            action = new { type = "call_api", config = new { url = "https://api.example.com/hook" } },
            trigger = new { cron = "not a cron" },
        }));
        await ApiAssertions.AssertProblemAsync(refused, HttpStatusCode.UnprocessableEntity);
        var tooLong = await operatorClient.PostAsync("/api/schedules/aud.nothing/pause", ApiClient.Json(new { reason = new string('x', 251) }));
        await ApiAssertions.AssertProblemAsync(tooLong, HttpStatusCode.UnprocessableEntity);
        await ApiAssertions.AssertProblemAsync(await admin.DeleteAsync("/api/channels/no-such-channel"), HttpStatusCode.NotFound);
        var badChannel = await admin.PostAsync("/api/channels", ApiClient.Json(new { name = "Bad Name", kind = "webhook", webhook = new { url = "https://x.example.com" } }));
        await ApiAssertions.AssertProblemAsync(badChannel, HttpStatusCode.UnprocessableEntity);

        Assert.That((await EntriesAsync("project=aud")).Count, Is.EqualTo(before));
        Assert.That(await EntriesAsync("resource=schedule:aud.bad"), Is.Empty);
        Assert.That(await EntriesAsync("resource=channel:no-such-channel"), Is.Empty);
    }

    [Test]
    public async Task Filters_and_cursor_paging_walk_the_log_newest_first_without_repeats()
    {
        for (var i = 0; i < 7; i++)
        {
            await admin.PostForJsonAsync("/api/channels", new { name = $"page-{i}", kind = "webhook", webhook = new { url = $"https://hooks.example.com/{i}" } }, HttpStatusCode.Created);
        }

        var seen = new List<long>();
        string? cursor = null;
        var pages = 0;
        do
        {
            var page = await PageAsync($"action=channel.create&resource=channel&pageSize=3{(cursor is null ? "" : "&cursor=" + cursor)}");
            var items = page.GetProperty("items").EnumerateArray().ToList();
            Assert.That(items, Has.Count.LessThanOrEqualTo(3));
            seen.AddRange(items.Select(e => e.GetProperty("id").GetInt64()));
            cursor = page.GetProperty("nextCursor").GetString();
            pages++;
        }
        while (cursor is not null && pages < 20);

        var pageEntries = await EntriesAsync("action=channel.create");
        Assert.That(seen, Is.EqualTo(pageEntries.Select(e => e.GetProperty("id").GetInt64())), "the pages together are the whole filtered log, once each");
        Assert.That(seen, Is.Ordered.Descending);
        Assert.That(seen.Distinct().Count(), Is.EqualTo(seen.Count));
        Assert.That(pageEntries.Count(e => e.GetProperty("resourceId").GetString()!.StartsWith("page-", StringComparison.Ordinal)), Is.EqualTo(7));

        Assert.That(await EntriesAsync("action=channel.*&resource=channel:page-3"), Has.Count.EqualTo(1));
        Assert.That((await EntriesAsync($"actor={ApiKeyStore.BootstrapKeyName}&resource=channel:page-3")), Has.Count.EqualTo(1));
        Assert.That(await EntriesAsync("actor=audit-operator&resource=channel:page-3"), Is.Empty);
        var future = TimeProvider.System.GetUtcNow().AddHours(1).ToString("O", CultureInfo.InvariantCulture);
        Assert.That(await EntriesAsync($"from={Uri.EscapeDataString(future)}"), Is.Empty);
        Assert.That(await EntriesAsync($"to={Uri.EscapeDataString(future)}&resource=channel:page-3"), Has.Count.EqualTo(1));

        var bad = await PageAsync("from=yesterday&cursor=abc", HttpStatusCode.UnprocessableEntity);
        Assert.That(bad.GetProperty("errors").TryGetProperty("from", out _), Is.True, bad.ToString());
        Assert.That(bad.GetProperty("errors").TryGetProperty("cursor", out _), Is.True, bad.ToString());
    }

    [Test]
    public async Task The_audit_log_is_for_admins_only()
    {
        var response = await operatorClient.GetAsync("/api/audit");
        await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.Forbidden);
    }

    [Test]
    public async Task Housekeeping_purges_entries_past_the_retention_and_keeps_the_rest()
    {
        var now = TimeProvider.System.GetUtcNow();
        await using (var scope = server.Services.CreateAsyncScope())
        {
            var db = scope.ServiceProvider.GetRequiredService<OrchestratorDbContext>();
            db.Set<AuditEntry>().Add(new AuditEntry { At = now.AddDays(-400), Actor = "system", Source = "system", Action = "schedule.pause", ResourceType = "retention", ResourceId = "old" });
            db.Set<AuditEntry>().Add(new AuditEntry { At = now.AddDays(-300), Actor = "system", Source = "system", Action = "schedule.pause", ResourceType = "retention", ResourceId = "recent" });
            await db.SaveChangesAsync();
        }

        var scheduler = await server.Services.GetRequiredService<ISchedulerFactory>().GetScheduler();
        await scheduler.TriggerJob(RunHousekeepingJob.Key);
        var left = await Poll.UntilAsync(() => EntriesAsync("resource=retention"), e => e.Count == 1, TimeSpan.FromSeconds(30), "the purge of the 400-day-old entry");
        Assert.That(left[0].GetProperty("resourceId").GetString(), Is.EqualTo("recent"));
    }
}
