using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Definitions;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Definitions;

/// <summary>
/// Definitions as code on real servers and PostgreSQL: the plan (create, update with a diff, delete under prune,
/// unchanged), dry runs, all-or-nothing apply, managed resources, secrets as references only, YAML and JSON bodies,
/// export → apply on a fresh server, and the repository's examples/.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class ApplyTests
{
    private const string HookToken = "hook-value-7c1f9e";

    private readonly List<InProcessServer> servers = [];
    private string workspaces = null!;
    private HttpClient admin = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        workspaces = Directory.CreateTempSubdirectory("orchestrator-apply-ws-").FullName;
        admin = await StartServerAsync("apply");
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        foreach (var server in servers)
        {
            await server.DisposeAsync();
        }
    }

    /// <summary>A fresh server on a database of its own, with the same workspace root and secrets as the others.</summary>
    private async Task<HttpClient> StartServerAsync(string name, string? workspaceRoot = null)
    {
        var database = await TestPostgres.CreateDatabaseAsync(name);
        var server = InProcessServer.Start(PostgresNode.Environment(database, new Dictionary<string, string?>
        {
            ["Orchestrator__Workspaces__Roots__0"] = workspaceRoot ?? workspaces,
            ["Orchestrator__Secrets__hook-token"] = HookToken,
            ["Orchestrator__Secrets__ops-hook-token"] = "ops-value-42ab",
        }));
        servers.Add(server);
        await server.WaitUntilReadyAsync();
        return server.CreateClient(server.PrintedAdminKey);
    }

    private static StringContent Body(object body) => new(JsonSerializer.Serialize(body), Encoding.UTF8, "application/json");

    private static async Task<JsonObject> ApplyAsync(HttpClient http, object body, HttpStatusCode expected = HttpStatusCode.OK)
    {
        var response = await http.PostAsync("/api/apply", Body(body));
        var text = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(expected), text);
        return JsonNode.Parse(text)!.AsObject();
    }

    private static List<(string Kind, string Name, string Action)> Actions(JsonObject plan) =>
        [.. plan["changes"]!.AsArray().Select(c => (c!["kind"]!.GetValue<string>(), c["name"]!.GetValue<string>(), c["action"]!.GetValue<string>()))];

    private static async Task<HttpStatusCode> StatusAsync(HttpClient http, string path) => (await http.GetAsync(path)).StatusCode;

    private static object Project(string id) => new { kind = "project", id, name = $"Project {id}", rootPath = id };

    private static object Tool(string name, string description = "echoes") => new
    {
        kind = "tool",
        name,
        description,
        type = "command",
        parameters = new { type = "object", properties = new { text = new { type = "string" } } },
        config = new { argv = new[] { "echo", "{{args.text}}" } },
    };

    private static object Schedule(string name, string project, object trigger, object? action = null) => new
    {
        kind = "schedule",
        name,
        project,
        action = action ?? new { type = "noop", config = new { } },
        trigger,
    };

    [Test]
    public async Task The_plan_is_create_then_unchanged_then_update_with_a_field_diff_and_a_dry_run_changes_nothing()
    {
        object[] documents = [Project("plan"), Tool("plan-echo"), Schedule("tick", "plan", new { interval = "PT5M" })];

        var dry = await ApplyAsync(admin, new { documents, dryRun = true });
        Assert.That(Actions(dry), Is.EqualTo(new[] { ("project", "plan", "create"), ("tool", "plan-echo", "create"), ("schedule", "plan.tick", "create") }));
        Assert.That(dry["applied"]!.GetValue<bool>(), Is.False);
        Assert.That(await StatusAsync(admin, "/api/projects/plan"), Is.EqualTo(HttpStatusCode.NotFound), "a dry run created the project");
        Assert.That(await StatusAsync(admin, "/api/tools/plan-echo"), Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(await StatusAsync(admin, "/api/schedules/plan.tick"), Is.EqualTo(HttpStatusCode.NotFound));

        var applied = await ApplyAsync(admin, new { documents });
        Assert.That(applied["applied"]!.GetValue<bool>(), Is.True);
        var schedule = JsonNode.Parse(await admin.GetStringAsync("/api/schedules/plan.tick"))!;
        Assert.That(schedule["managed"]!.GetValue<bool>(), Is.True);
        Assert.That(JsonNode.Parse(await admin.GetStringAsync("/api/projects/plan"))!["rootPath"]!.GetValue<string>(), Is.EqualTo(Path.Combine(workspaces, "plan")));

        var again = await ApplyAsync(admin, new { documents });
        Assert.That(Actions(again).Select(a => a.Action), Is.All.EqualTo("unchanged"));

        object[] changed = [Project("plan"), Tool("plan-echo", "echoes twice"), Schedule("tick", "plan", new { interval = "PT10M" })];
        var update = await ApplyAsync(admin, new { documents = changed, dryRun = true });
        Assert.That(Actions(update), Is.EqualTo(new[] { ("project", "plan", "unchanged"), ("tool", "plan-echo", "update"), ("schedule", "plan.tick", "update") }));
        var diff = update["changes"]![2]!["diff"]!.AsArray();
        Assert.That(diff, Has.Count.EqualTo(1));
        Assert.That(diff[0]!["path"]!.GetValue<string>(), Is.EqualTo("trigger.interval"));
        Assert.That(diff[0]!["before"]!.GetValue<string>(), Is.EqualTo("PT5M"));
        Assert.That(diff[0]!["after"]!.GetValue<string>(), Is.EqualTo("PT10M"));
        Assert.That(JsonNode.Parse(await admin.GetStringAsync("/api/schedules/plan.tick"))!["trigger"]!["interval"]!.GetValue<string>(), Is.EqualTo("PT5M"), "a dry run changed the schedule");

        await ApplyAsync(admin, new { documents = changed });
        Assert.That(JsonNode.Parse(await admin.GetStringAsync("/api/schedules/plan.tick"))!["trigger"]!["interval"]!.GetValue<string>(), Is.EqualTo("PT10M"));
        Assert.That(JsonNode.Parse(await admin.GetStringAsync("/api/tools/plan-echo"))!["description"]!.GetValue<string>(), Is.EqualTo("echoes twice"));


        // The audit log says apply made these, whichever client sent the documents.
        var audit = JsonNode.Parse(await admin.GetStringAsync("/api/audit?resource=schedule:plan.tick&pageSize=50"))!["items"]!.AsArray();
        Assert.That(audit.Select(e => e!["action"]!.GetValue<string>()), Is.EqualTo(new[] { "schedule.update", "schedule.create" }), "one entry per applied change, none for the dry runs");
        Assert.That(audit.Select(e => e!["source"]!.GetValue<string>()), Is.All.EqualTo("apply"));
    }

    [Test]
    public async Task A_document_refused_while_planning_changes_nothing_and_the_problem_names_index_kind_name_and_field()
    {
        object[] documents = [Project("atomic"), Tool("atomic-echo"), Schedule("bad", "atomic", new { cron = "0 61 * * * ?" })];

        var response = await admin.PostAsync("/api/apply", Body(new { documents }));
        var problem = await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity);
        var errors = problem.GetProperty("errors");
        Assert.That(errors.TryGetProperty("documents[2].trigger.cron", out var reasons), Is.True, problem.ToString());
        Assert.That(reasons[0].GetString(), Does.StartWith("schedule 'atomic.bad': "));
        Assert.That(await StatusAsync(admin, "/api/projects/atomic"), Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(await StatusAsync(admin, "/api/tools/atomic-echo"), Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task An_unknown_field_or_kind_in_a_document_is_refused_naming_the_document_and_the_field()
    {
        object[] documents =
        [
            new { kind = "project", id = "typo", name = "Typo", rootPath = "typo" },
            new { kind = "schedule", name = "typo", project = "typo", action = new { type = "noop", config = new { } }, triggr = new { interval = "PT5M" } },
            new { kind = "job", name = "what" },
        ];

        var problem = await ApiAssertions.AssertProblemAsync(await admin.PostAsync("/api/apply", Body(new { documents })), HttpStatusCode.UnprocessableEntity);
        var errors = problem.GetProperty("errors");
        Assert.That(errors.GetProperty("documents[1].triggr")[0].GetString(), Does.StartWith("schedule 'typo.typo': ").And.Contain("'triggr'"), problem.ToString());
        Assert.That(errors.GetProperty("documents[2].kind")[0].GetString(), Does.Contain("project, channel, tool, pipeline, schedule"));
        Assert.That(await StatusAsync(admin, "/api/projects/typo"), Is.EqualTo(HttpStatusCode.NotFound));
    }

    [Test]
    public async Task A_document_refused_while_writing_undoes_the_steps_already_done()
    {
        // The schedule's arguments suit the tool as stored (text: string), so planning passes; the documents change the
        // tool to take a number, and the schedule's service refuses the arguments only once that tool is written, after
        // the project was created and the tool replaced: all of it is put back.
        await ApplyAsync(admin, new { documents = new[] { Tool("undo-echo", "first") } });
        var numberTool = new
        {
            kind = "tool",
            name = "undo-echo",
            description = "second",
            type = "command",
            parameters = new { type = "object", properties = new { text = new { type = "integer" } } },
            config = new { argv = new[] { "echo", "{{args.text}}" } },
        };
        object[] documents =
        [
            Project("undo"),
            numberTool,
            Schedule("echoes", "undo", new { interval = "PT1H" }, new { type = "run_task", config = new { tool = "undo-echo", arguments = new { text = "hi" } } }),
        ];
        var plan = await ApplyAsync(admin, new { documents, dryRun = true });
        Assert.That(Actions(plan).Select(a => a.Action), Is.EqualTo(new[] { "create", "update", "create" }), "the refusal must come while writing, not while planning");

        var response = await admin.PostAsync("/api/apply", Body(new { documents }));
        var problem = await ApiAssertions.AssertProblemAsync(response, HttpStatusCode.UnprocessableEntity);
        Assert.That(problem.GetProperty("errors").EnumerateObject().Select(e => e.Name), Has.Some.StartsWith("documents[2].action.config.arguments"), problem.ToString());
        Assert.That(await StatusAsync(admin, "/api/projects/undo"), Is.EqualTo(HttpStatusCode.NotFound), "the project created before the refusal stayed");
        var tool = JsonNode.Parse(await admin.GetStringAsync("/api/tools/undo-echo"))!;
        Assert.That(tool["description"]!.GetValue<string>(), Is.EqualTo("first"));
        Assert.That(tool["version"]!.GetValue<int>(), Is.EqualTo(1));
        Assert.That(await StatusAsync(admin, "/api/schedules/undo.echoes"), Is.EqualTo(HttpStatusCode.NotFound));

        // The audit log shows no step of the undone apply: not the project it created, not the tool it replaced.
        var projectEntries = JsonNode.Parse(await admin.GetStringAsync("/api/audit?resource=project:undo"))!["items"]!.AsArray();
        Assert.That(projectEntries, Is.Empty, projectEntries.ToJsonString());
        var toolEntries = JsonNode.Parse(await admin.GetStringAsync("/api/audit?resource=tool:undo-echo"))!["items"]!.AsArray();
        Assert.That(toolEntries.Select(e => e!["action"]!.GetValue<string>()), Is.EqualTo(new[] { "tool.create" }), "only the first, successful apply");
    }

    [Test]
    public async Task A_managed_resource_refuses_API_edits_and_deletes_unless_forced_while_pause_stays_allowed()
    {
        await ApplyAsync(admin, new { documents = new[] { Project("owned"), Tool("owned-echo"), Schedule("beat", "owned", new { interval = "PT1H" }) } });
        var toolBody = new { name = "owned-echo", kind = "command", parameters = new { type = "object" }, config = new { argv = new[] { "true" } } };

        var refused = await ApiAssertions.AssertProblemAsync(await admin.PutAsync("/api/tools/owned-echo", Body(toolBody)), HttpStatusCode.Conflict);
        Assert.That(refused.GetProperty("detail").GetString(), Does.Contain("managed by apply").And.Contain("?force=true"));
        await ApiAssertions.AssertProblemAsync(await admin.DeleteAsync("/api/schedules/owned.beat"), HttpStatusCode.Conflict);
        await ApiAssertions.AssertProblemAsync(await admin.DeleteAsync("/api/projects/owned"), HttpStatusCode.Conflict);
        Assert.That(await StatusAsync(admin, "/api/schedules/owned.beat"), Is.EqualTo(HttpStatusCode.OK));

        Assert.That((await admin.PostAsync("/api/schedules/owned.beat/pause", null)).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await admin.PutAsync("/api/tools/owned-echo?force=true", Body(toolBody))).StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await admin.DeleteAsync("/api/schedules/owned.beat?force=true")).StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
    }

    [Test]
    public async Task An_existing_resource_made_through_the_API_is_taken_over_only_with_force()
    {
        var created = await admin.PostAsync("/api/tools", Body(new { name = "adopt-echo", kind = "command", parameters = new { type = "object" }, config = new { argv = new[] { "true" } } }));
        Assert.That(created.StatusCode, Is.EqualTo(HttpStatusCode.Created));

        var problem = await ApiAssertions.AssertProblemAsync(await admin.PostAsync("/api/apply", Body(new { documents = new[] { Tool("adopt-echo") } })), HttpStatusCode.UnprocessableEntity);
        Assert.That(problem.GetProperty("errors").GetProperty("documents[0]")[0].GetString(), Does.Contain("force=true"));

        var plan = await ApplyAsync(admin, new { documents = new[] { Tool("adopt-echo") }, force = true });
        Assert.That(Actions(plan), Is.EqualTo(new[] { ("tool", "adopt-echo", "update") }));
        await ApiAssertions.AssertProblemAsync(await admin.DeleteAsync("/api/tools/adopt-echo"), HttpStatusCode.Conflict);
    }

    [Test]
    public async Task A_channel_secret_is_only_ever_a_reference_and_never_comes_back_as_its_value()
    {
        object Channel(string authorization) => new
        {
            kind = "channel",
            name = "alerts",
            type = "webhook",
            webhook = new { url = "https://hooks.example.com/alerts", headers = new Dictionary<string, string> { ["Authorization"] = authorization } },
        };

        var literal = await ApiAssertions.AssertProblemAsync(await admin.PostAsync("/api/apply", Body(new { documents = new[] { Channel("Bearer abc123") } })), HttpStatusCode.UnprocessableEntity);
        Assert.That(literal.GetProperty("errors").GetProperty("documents[0].webhook.headers.Authorization")[0].GetString(), Does.Contain("{{secret:NAME}} reference"));
        var unknown = await ApiAssertions.AssertProblemAsync(await admin.PostAsync("/api/apply", Body(new { documents = new[] { Channel("Bearer {{secret:nope}}") } })), HttpStatusCode.UnprocessableEntity);
        Assert.That(unknown.GetProperty("errors").GetProperty("documents[0].webhook.headers.Authorization")[0].GetString(), Does.Contain("'nope'"));
        Assert.That(await StatusAsync(admin, "/api/channels/alerts"), Is.EqualTo(HttpStatusCode.NotFound));

        var applied = await admin.PostAsync("/api/apply", Body(new { documents = new[] { Channel("Bearer {{secret:hook-token}}") } }));
        var text = await applied.Content.ReadAsStringAsync();
        Assert.That(applied.StatusCode, Is.EqualTo(HttpStatusCode.OK), text);
        Assert.That(text, Does.Not.Contain(HookToken));

        var export = await admin.GetStringAsync("/api/export");
        Assert.That(export, Does.Not.Contain(HookToken));
        var channel = JsonNode.Parse(export)!["documents"]!.AsArray().Single(d => d!["kind"]!.GetValue<string>() == "channel" && d["name"]!.GetValue<string>() == "alerts")!;
        Assert.That(channel["webhook"]!["headers"]!["Authorization"]!.GetValue<string>(), Is.EqualTo("Bearer {{secret:hook-token}}"));
        var again = await ApplyAsync(admin, new { documents = new[] { Channel("Bearer {{secret:hook-token}}") } });
        Assert.That(Actions(again), Is.EqualTo(new[] { ("channel", "alerts", "unchanged") }));
    }

    [Test]
    public async Task A_YAML_body_takes_its_flags_from_the_query_and_export_answers_in_YAML()
    {
        const string yaml = """
            kind: project
            id: yaml
            name: From YAML
            rootPath: yaml
            ---
            kind: schedule
            name: daily
            project: yaml
            action: {type: noop, config: {}}
            trigger:
              cron: 0 0 9 * * ?
              timeZone: Europe/Paris
            """;

        var dry = await admin.PostAsync("/api/apply?dryRun=true", new StringContent(yaml, Encoding.UTF8, "application/yaml"));
        var plan = JsonNode.Parse(await dry.Content.ReadAsStringAsync())!.AsObject();
        Assert.That(dry.StatusCode, Is.EqualTo(HttpStatusCode.OK), plan.ToJsonString());
        Assert.That(Actions(plan), Is.EqualTo(new[] { ("project", "yaml", "create"), ("schedule", "yaml.daily", "create") }));
        Assert.That(await StatusAsync(admin, "/api/projects/yaml"), Is.EqualTo(HttpStatusCode.NotFound));

        var applied = await admin.PostAsync("/api/apply", new StringContent(yaml, Encoding.UTF8, "application/yaml"));
        Assert.That(applied.StatusCode, Is.EqualTo(HttpStatusCode.OK), await applied.Content.ReadAsStringAsync());
        Assert.That(JsonNode.Parse(await admin.GetStringAsync("/api/schedules/yaml.daily"))!["trigger"]!["cron"]!.GetValue<string>(), Is.EqualTo("0 0 9 * * ?"));

        var export = await admin.GetAsync("/api/export?format=yaml");
        Assert.That(export.Content.Headers.ContentType?.MediaType, Is.EqualTo("application/yaml"));
        var documents = DefinitionFiles.ParseYaml(await export.Content.ReadAsStringAsync(), "export");
        Assert.That(documents.Any(d => d["kind"]!.GetValue<string>() == "schedule" && d["name"]!.GetValue<string>() == "daily"), Is.True);

        using var accept = new HttpRequestMessage(HttpMethod.Get, "/api/export");
        accept.Headers.Accept.ParseAdd("application/yaml");
        Assert.That((await admin.SendAsync(accept)).Content.Headers.ContentType?.MediaType, Is.EqualTo("application/yaml"));
    }

    [Test]
    public async Task Export_then_apply_on_a_fresh_server_reproduces_every_definition_and_apply_of_the_export_is_unchanged()
    {
        // A varied set, made through the API.
        async Task PostAsync(string path, object body)
        {
            var response = await admin.PostAsync(path, Body(body));
            Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.Created), path + ": " + await response.Content.ReadAsStringAsync());
        }

        await PostAsync("/api/projects", new { id = "trip", name = "Round trip", rootPath = Path.Combine(workspaces, "trip") });
        await PostAsync("/api/channels", new { name = "trip-hook", kind = "webhook", webhook = new { url = "https://hooks.example.com/trip", format = "slack" } });
        await PostAsync("/api/channels", new { name = "trip-mail", kind = "email", email = new { host = "smtp.example.com", port = 25, security = "none", from = "orchestrator@example.com", to = new[] { "ops@example.com" } } });
        await PostAsync("/api/tools", new { name = "trip-echo", kind = "command", parameters = new { type = "object", properties = new { text = new { type = "string" } } }, config = new { argv = new[] { "echo", "{{args.text}}" } } });
        await PostAsync("/api/pipelines", new
        {
            id = "trip-pipe",
            name = "Trip pipeline",
            project = "trip",
            maxParallelism = 2,
            nodes = new object[]
            {
                new { id = "say", type = "action", action = new { type = "run_task", config = new { tool = "trip-echo", arguments = new { text = "hi" } } }, timeoutSeconds = 30 },
                new { id = "tell", type = "action", action = new { type = "send_notification", config = new { channel = "trip-hook", message = "said {{nodes.say.output.stdout}}" } } },
            },
            edges = new[] { new { from = "say", to = "tell" } },
            deadline = new { succeedWithinSeconds = 600, channel = "trip-hook" },
        });
        await PostAsync("/api/schedules", new
        {
            name = "cron", project = "trip", action = new { type = "execute_pipeline", config = new { pipeline = "trip-pipe" } }, trigger = new { cron = "0 15 3 ? * MON-FRI", timeZone = "America/New_York" }, misfire = new { policy = "skip" },
            deadline = new { startWithinSeconds = 60, succeedWithinSeconds = 900, channel = "trip-mail" }, expectSuccessEvery = 93_600,
        });
        await PostAsync("/api/schedules", new { name = "interval", project = "trip", action = new { type = "noop", config = new { } }, trigger = new { intervalSeconds = 90 }, retry = new { maxAttempts = 2, backoff = "fixed", initialDelaySeconds = 5 }, enabled = false });
        await PostAsync("/api/schedules", new { name = "once", project = "trip", action = new { type = "send_notification", config = new { channel = "trip-mail", message = "once" } }, trigger = new { at = "2098-06-01T12:00:00Z" } });
        await PostAsync("/api/schedules", new { name = "monthly", project = "trip", description = "calendar", action = new { type = "noop", config = new { } }, trigger = new { every = 1, unit = "month", startAt = "2097-01-31T08:00:00Z", timeZone = "Europe/Paris" } });

        var exported = JsonNode.Parse(await admin.GetStringAsync("/api/export"))!["documents"]!.AsArray();
        Assert.That(exported.Select(d => d!["kind"]!.GetValue<string>()), Is.SupersetOf(new[] { "project", "channel", "tool", "pipeline", "schedule" }));
        // Deadlines travel with their schedule and pipeline, the dead man's switch as an ISO-8601 duration.
        var cron = exported.Single(d => d!["kind"]!.GetValue<string>() == "schedule" && d["name"]!.GetValue<string>() == "cron")!;
        Assert.That(cron["deadline"]!.ToJsonString(), Is.EqualTo("""{"startWithinSeconds":60,"succeedWithinSeconds":900,"channel":"trip-mail"}"""));
        Assert.That(cron["expectSuccessEvery"]!.GetValue<string>(), Is.EqualTo("PT26H"));
        var pipe = exported.Single(d => d!["kind"]!.GetValue<string>() == "pipeline" && d["id"]!.GetValue<string>() == "trip-pipe")!;
        Assert.That(pipe["deadline"]!.ToJsonString(), Is.EqualTo("""{"succeedWithinSeconds":600,"channel":"trip-hook"}"""));

        // Through files, as the CLI's export and apply -f would go.
        var dir = Directory.CreateTempSubdirectory("orchestrator-export-").FullName;
        var written = DefinitionFiles.WriteDirectory(dir, exported.Select(d => d!.AsObject()));
        Assert.That(written, Does.Contain(Path.Combine("schedules", "trip.cron.yaml")));
        var read = DefinitionFiles.ReadDirectory(dir);

        var fresh = await StartServerAsync("apply-fresh");
        await ApplyAsync(fresh, new { documents = read });
        var reproduced = JsonNode.Parse(await fresh.GetStringAsync("/api/export"))!["documents"]!.AsArray();
        // The fresh server's own default project is there too, as on the first server.
        Assert.That(reproduced.Select(d => d!.ToJsonString()), Is.EquivalentTo(exported.Select(d => d!.ToJsonString())));

        var same = await ApplyAsync(admin, new { documents = exported, force = true, dryRun = true });
        Assert.That(Actions(same).Where(a => a.Action != "unchanged"), Is.Empty);
    }

    [Test]
    public async Task The_examples_apply_on_a_fresh_server_and_prune_then_deletes_only_managed_resources_the_documents_left_out()
    {
        var examples = Path.Combine(RepositoryRoot(), "examples");
        var documents = DefinitionFiles.ReadDirectory(examples);
        var http = await StartServerAsync("apply-examples");

        var plan = await ApplyAsync(http, new { documents });
        Assert.That(Actions(plan).Select(a => a.Action), Is.All.EqualTo("create"));
        Assert.That(await StatusAsync(http, "/api/projects/reports"), Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await StatusAsync(http, "/api/channels/ops"), Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await StatusAsync(http, "/api/tools/disk-usage"), Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await StatusAsync(http, "/api/pipelines/nightly-report"), Is.EqualTo(HttpStatusCode.OK));
        var schedules = JsonNode.Parse(await http.GetStringAsync("/api/schedules?project=reports"))!["items"]!.AsArray();
        Assert.That(schedules.Select(s => s!["name"]!.GetValue<string>()), Is.EquivalentTo(new[] { "nightly-report", "health-check", "new-year-notice" }));
        Assert.That(schedules.Select(s => s!["managed"]!.GetValue<bool>()), Is.All.True);

        // A tool made through the API is not the documents' to delete; the examples' resources are.
        var byApi = await http.PostAsync("/api/tools", Body(new { name = "by-api", kind = "command", parameters = new { type = "object" }, config = new { argv = new[] { "true" } } }));
        Assert.That(byApi.StatusCode, Is.EqualTo(HttpStatusCode.Created));
        var kept = documents.Where(d => d["kind"]!.GetValue<string>() is "project" or "tool").ToList();

        var withoutPrune = await ApplyAsync(http, new { documents = kept, dryRun = true });
        Assert.That(Actions(withoutPrune).Select(a => a.Action), Is.All.EqualTo("unchanged"));

        var pruned = await ApplyAsync(http, new { documents = kept, prune = true });
        Assert.That(Actions(pruned).Where(a => a.Action == "delete"), Is.EqualTo(new[]
        {
            ("schedule", "reports.health-check", "delete"), ("schedule", "reports.new-year-notice", "delete"), ("schedule", "reports.nightly-report", "delete"),
            ("pipeline", "nightly-report", "delete"), ("channel", "ops", "delete"),
        }));
        Assert.That(await StatusAsync(http, "/api/channels/ops"), Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(await StatusAsync(http, "/api/pipelines/nightly-report"), Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(await StatusAsync(http, "/api/tools/disk-usage"), Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await StatusAsync(http, "/api/tools/by-api"), Is.EqualTo(HttpStatusCode.OK));
    }

    [Test]
    public async Task On_the_embedded_SQLite_default_apply_undoes_a_refused_write_and_applies_the_examples()
    {
        var server = InProcessServer.Start(new Dictionary<string, string?>
        {
            ["Orchestrator__Workspaces__Roots__0"] = workspaces,
            ["Orchestrator__Secrets__ops-hook-token"] = "ops-value-42ab",
        });
        servers.Add(server);
        await server.WaitUntilReadyAsync();
        using var http = server.CreateClient(server.PrintedAdminKey);

        await ApplyAsync(http, new { documents = new[] { Tool("lite-echo", "first") } });
        object[] refused =
        [
            Project("lite"),
            new { kind = "tool", name = "lite-echo", type = "command", parameters = new { type = "object", properties = new { text = new { type = "integer" } } }, config = new { argv = new[] { "echo" } } },
            Schedule("echoes", "lite", new { interval = "PT1H" }, new { type = "run_task", config = new { tool = "lite-echo", arguments = new { text = "hi" } } }),
        ];
        await ApiAssertions.AssertProblemAsync(await http.PostAsync("/api/apply", Body(new { documents = refused })), HttpStatusCode.UnprocessableEntity);
        Assert.That(await StatusAsync(http, "/api/projects/lite"), Is.EqualTo(HttpStatusCode.NotFound));
        Assert.That(JsonNode.Parse(await http.GetStringAsync("/api/tools/lite-echo"))!["version"]!.GetValue<int>(), Is.EqualTo(1));

        var plan = await ApplyAsync(http, new { documents = DefinitionFiles.ReadDirectory(Path.Combine(RepositoryRoot(), "examples")) });
        Assert.That(Actions(plan), Has.Count.EqualTo(7));
        Assert.That(JsonNode.Parse(await http.GetStringAsync("/api/schedules/reports.nightly-report"))!["managed"]!.GetValue<bool>(), Is.True);
    }

    [Test]
    public async Task An_export_applies_on_a_server_with_other_workspace_roots_its_default_project_included()
    {
        // Two servers that share nothing on disk: the export names project roots relative to the workspace root.
        var here = await StartServerAsync("apply-export-here", Directory.CreateTempSubdirectory("orchestrator-ws-here-").FullName);
        var elsewhereRoot = Directory.CreateTempSubdirectory("orchestrator-ws-elsewhere-").FullName;
        var elsewhere = await StartServerAsync("apply-export-elsewhere", elsewhereRoot);
        await ApplyAsync(here, new { documents = new object[] { Project("moved"), Schedule("tick", "moved", new { interval = "PT5M" }) } });

        var documents = JsonNode.Parse(await here.GetStringAsync("/api/export"))!["documents"]!.AsArray();
        var roots = documents.Where(d => d!["kind"]!.GetValue<string>() == "project").Select(d => d!["rootPath"]!.GetValue<string>()).ToList();
        Assert.That(roots, Is.EquivalentTo(new[] { "default", "moved" }), "relative to the workspace root, not this server's directories");

        var plan = await ApplyAsync(elsewhere, new { documents });
        Assert.That(Actions(plan), Does.Contain(("project", "default", "unchanged")).And.Contain(("project", "moved", "create")).And.Contain(("schedule", "moved.tick", "create")));
        Assert.That(JsonNode.Parse(await elsewhere.GetStringAsync("/api/projects/moved"))!["rootPath"]!.GetValue<string>(), Is.EqualTo(Path.Combine(elsewhereRoot, "moved")));
        Assert.That(JsonNode.Parse(await elsewhere.GetStringAsync("/api/projects/default"))!.ToJsonString(), Does.Not.Contain("\"managed\":true"));
        var again = await ApplyAsync(elsewhere, new { documents });
        Assert.That(Actions(again).Select(a => a.Action), Is.All.EqualTo("unchanged"));
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Orchestrator.sln")))
            {
                return dir.FullName;
            }
        }

        throw new InvalidOperationException("The repository root (Orchestrator.sln) was not found above the test binaries.");
    }
}
