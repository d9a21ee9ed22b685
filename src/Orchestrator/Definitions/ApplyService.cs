using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using Microsoft.Extensions.Options;
using Orchestrator.Actions;
using Orchestrator.Actions.CallApi;
using Orchestrator.Actions.Notifications;
using Orchestrator.Api;
using Orchestrator.Data;
using Orchestrator.Pipelines;
using Orchestrator.Projects;
using Orchestrator.Schedules;
using Orchestrator.Tools;
using Quartz;

namespace Orchestrator.Definitions;

/// <summary>
/// Definitions as code: plans documents against what is stored and applies the plan through the resource services, so
/// every rule of the API (validation, references, in-use checks) holds. Apply is all or nothing: every document is
/// checked before anything is written, and if a service still refuses a step, the steps already done are undone
/// (stored rows put back as they were, Quartz jobs and triggers restored) before the refusal is answered.
/// </summary>
public sealed class ApplyService(
    OrchestratorDbContext db,
    ProjectService projects,
    ChannelService channels,
    ToolService tools,
    PipelineService pipelines,
    ScheduleService schedules,
    PipelineValidator pipelineValidator,
    ScheduleValidator scheduleValidator,
    ActionCatalog actions,
    ToolRegistry registry,
    WorkspaceRoots roots,
    SecretTemplates secrets,
    ISchedulerFactory schedulers,
    IOptions<Microsoft.AspNetCore.Http.Json.JsonOptions> json,
    Audit.AuditScope audit,
    Audit.AuditLog auditLog,
    TimeProvider time)
{
    public const string Create = "create";
    public const string Update = "update";
    public const string Delete = "delete";
    public const string Unchanged = "unchanged";

    private const int PageSize = 200;

    /// <summary>Every definition stored, as documents in dependency order (built-in tools are the server's, not definitions).</summary>
    public async Task<List<JsonObject>> ExportAsync(CancellationToken ct) =>
        [.. (await CurrentAsync(ct)).Values.OrderBy(c => DefinitionKinds.Order(c.Kind)).ThenBy(c => c.Name, StringComparer.Ordinal).Select(c => Portable(c.Kind, c.Document))];

    /// <summary>
    /// A project whose root lies in the first workspace root is exported with its root relative to it, which apply
    /// places in the first workspace root of whichever server takes it: an export then applies on another server (its
    /// own 'default' project included) instead of naming this server's directories.
    /// </summary>
    private JsonObject Portable(string kind, JsonObject document)
    {
        if (kind != DefinitionKinds.Project || roots.Roots.Count == 0 || document["rootPath"] is not JsonValue value || !value.TryGetValue<string>(out var rootPath))
        {
            return document;
        }

        var relative = Path.GetRelativePath(roots.Roots[0], rootPath);
        if (relative == "." || relative.StartsWith("..", StringComparison.Ordinal) || Path.IsPathFullyQualified(relative))
        {
            return document;
        }

        var copy = document.DeepClone().AsObject();
        copy["rootPath"] = relative.Replace('\\', '/');
        return copy;
    }

    public async Task<Outcome<ApplyResponse>> ApplyAsync(ApplyRequest request, CancellationToken ct)
    {
        // What the services change from here is recorded in the audit log as made by apply, whoever's client sent it.
        audit.MarkSurface("apply");
        // Held until the whole apply stands: entries of steps undone after a later refusal are dropped with them.
        audit.Hold();
        if (request.Documents is null)
        {
            var missing = new FieldErrors();
            missing.Add("documents", "is required: an array of definition documents (kind plus the resource's fields).");
            return missing.ToProblemDetails();
        }

        // Documents refused as they are read (no kind, no name, a second document for one resource) are left out, and the
        // rest are still checked: every refusal comes in one answer, not a second round after the first is fixed.
        var refusals = new List<ApplyRefusal>();
        var desired = ReadDocuments(request.Documents, refusals);
        var current = await CurrentAsync(ct);
        var managed = await db.Set<ManagedResource>().AsNoTracking().ToDictionaryAsync(m => (m.Kind, m.Name), ct);
        var created = desired.Where(d => !current.ContainsKey((d.Kind, d.Name))).Select(d => d.Name).ToHashSet(StringComparer.Ordinal);
        var changes = new List<(PlannedChange Change, Desired? Resource)>();
        foreach (var resource in desired)
        {
            var before = current.GetValueOrDefault((resource.Kind, resource.Name));
            var after = await NormalizeAsync(resource, before, created, refusals, ct);
            if (after is null)
            {
                continue;
            }

            resource.Canonical = after;
            var diff = before is null ? [] : Diff(before.Document, after);
            var action = before is null ? Create : diff.Count == 0 ? Unchanged : Update;
            if (action == Update && !managed.ContainsKey((resource.Kind, resource.Name)) && request.Force != true)
            {
                refusals.Add(resource.Refusal("", $"a {resource.Kind} named '{resource.Name}' exists and apply does not manage it; apply with force=true to take it over."));
            }

            changes.Add((new PlannedChange(resource.Kind, resource.Name, action, resource.Index, diff), resource));
        }

        if (request.Prune == true)
        {
            // Only what apply manages is pruned: a resource made through the API is never deleted for being absent.
            var named = desired.Select(d => (d.Kind, d.Name)).ToHashSet();
            foreach (var kind in DefinitionKinds.All.Reverse())
            {
                foreach (var mark in managed.Values.Where(m => m.Kind == kind && !named.Contains((m.Kind, m.Name)) && current.ContainsKey((m.Kind, m.Name)))
                             .OrderBy(m => m.Name, StringComparer.Ordinal))
                {
                    changes.Add((new PlannedChange(kind, mark.Name, Delete, null, []), null));
                }
            }
        }

        if (refusals.Count > 0)
        {
            return RefusalProblem(refusals);
        }

        if (request.DryRun == true)
        {
            return new ApplyResponse(true, false, [.. changes.Select(c => c.Change)]);
        }

        var undo = new Stack<Func<Task>>();
        try
        {
            foreach (var (change, resource) in changes)
            {
                var refused = change.Action switch
                {
                    Create or Update => await WriteAsync(resource!, change.Action == Create, undo, ct),
                    Delete => await DeleteAsync(change.Kind, change.Name, managed.GetValueOrDefault((change.Kind, change.Name)), undo, ct),
                    _ => null,
                };
                if (refused is not null)
                {
                    await UndoAsync(undo);
                    audit.Drop();
                    return resource is null
                        ? Refused(refused, $"Deleting {change.Kind} '{change.Name}' (prune) was refused, so nothing was applied")
                        : RefusalProblem([.. Fields(refused).Select(f => resource.Refusal(f.Field, f.Reason))]);
                }
            }

            // An unchanged resource made through the API stays the API's unless force takes it over: marking it would
            // make later API edits need force and a later prune delete it, for an apply that changed nothing.
            var taken = changes
                .Where(c => c.Resource is not null && (c.Change.Action != Unchanged || managed.ContainsKey((c.Resource.Kind, c.Resource.Name)) || request.Force == true))
                .Select(c => c.Resource!)
                .ToList();
            await MarkManagedAsync(taken, ct);
            await auditLog.ReleaseAsync(ct);
        }
        catch
        {
            // A failure that is no refusal (the database went away, the request was cancelled) undoes what was done too.
            db.ChangeTracker.Clear();
            await UndoAsync(undo);
            audit.Drop();
            throw;
        }

        return new ApplyResponse(false, true, [.. changes.Select(c => c.Change)]);
    }

    /// <summary>One document, read: its kind, name, position, the request body for its service and, for a channel, its secret references.</summary>
    private sealed class Desired(int index, string kind, string name, JsonObject body)
    {
        public int Index { get; } = index;

        public string Kind { get; } = kind;

        public string Name { get; } = name;

        /// <summary>The create body (the document without <c>kind</c>, <c>type</c> back as <c>kind</c>, secrets resolved).</summary>
        public JsonObject Body { get; } = body;

        public Dictionary<string, string> SecretReferences { get; } = new(StringComparer.Ordinal);

        public JsonObject Canonical { get; set; } = [];

        public object? Request { get; set; }

        public ApplyRefusal Refusal(string field, string reason) => new(Index, Kind, Name, field, reason);
    }

    private sealed record Stored(string Kind, string Name, JsonObject Document);

    private List<Desired> ReadDocuments(JsonArray documents, List<ApplyRefusal> refusals)
    {
        var desired = new List<Desired>();
        var seen = new Dictionary<(string, string), int>();
        for (var i = 0; i < documents.Count; i++)
        {
            if (documents[i] is not JsonObject document)
            {
                refusals.Add(new ApplyRefusal(i, "", "", "", "must be an object: kind plus the resource's fields."));
                continue;
            }

            var kind = document["kind"] is JsonValue k && k.GetValueKind() == JsonValueKind.String ? k.GetValue<string>() : null;
            if (kind is null || !DefinitionKinds.All.Contains(kind))
            {
                refusals.Add(new ApplyRefusal(i, kind ?? "", "", "kind", $"must be one of {string.Join(", ", DefinitionKinds.All)}."));
                continue;
            }

            var nameField = kind is DefinitionKinds.Project or DefinitionKinds.Pipeline ? "id" : "name";
            if (document[nameField] is not JsonValue n || n.GetValueKind() != JsonValueKind.String || n.GetValue<string>().Length == 0)
            {
                refusals.Add(new ApplyRefusal(i, kind, "", nameField, $"is required: the {kind}'s {nameField}."));
                continue;
            }

            if (n.GetValue<string>().Any(char.IsControl) || n.GetValue<string>().Length > ManagedResource.MaxNameLength)
            {
                // Looked up by name before its service judges it: a NUL cannot even be compared by PostgreSQL.
                refusals.Add(new ApplyRefusal(i, kind, "", nameField, $"must be at most {ManagedResource.MaxNameLength} characters, none of them control characters."));
                continue;
            }

            var name = kind == DefinitionKinds.Schedule ? DefinitionFiles.FileName(document) : n.GetValue<string>();
            if (seen.TryGetValue((kind, name), out var first))
            {
                refusals.Add(new ApplyRefusal(i, kind, name, nameField, $"names the same {kind} as document {first}; one document per resource."));
                continue;
            }

            seen[(kind, name)] = i;
            var body = document.DeepClone().AsObject();
            body.Remove("kind");
            if (kind is DefinitionKinds.Channel or DefinitionKinds.Tool && body.TryGetPropertyValue("type", out var type))
            {
                body.Remove("type");
                body["kind"] = type;
            }

            // A relative root makes a project document portable between servers: it lives in the first workspace root.
            if (kind == DefinitionKinds.Project && body["rootPath"] is JsonValue root && root.GetValueKind() == JsonValueKind.String
                && !Path.IsPathFullyQualified(root.GetValue<string>()) && roots.Roots.Count > 0 && !root.GetValue<string>().Contains('\0', StringComparison.Ordinal))
            {
                body["rootPath"] = Path.Combine(roots.Roots[0], root.GetValue<string>());
            }

            var resource = new Desired(i, kind, name, body);
            var refusedBefore = refusals.Count;
            if (kind == DefinitionKinds.Channel)
            {
                ResolveChannelSecrets(resource, refusals);
            }

            var request = Deserialize(resource, refusals);
            // A channel whose secrets were refused is not compared further: its document holds no reference to show.
            resource.Request = refusals.Count > refusedBefore ? null : request;
            desired.Add(resource);
        }

        // Dependency order, document order within a kind.
        return [.. desired.OrderBy(d => DefinitionKinds.Order(d.Kind)).ThenBy(d => d.Index)];
    }

    /// <summary>
    /// A channel's write-only values (webhook header values, the email password) come as <c>{{secret:NAME}}</c>
    /// references to <c>Orchestrator:Secrets</c>, never as the values: a document lives in a repository. The reference is
    /// kept (for the plan and export) and the value put into the body the channel service stores.
    /// </summary>
    private void ResolveChannelSecrets(Desired resource, List<ApplyRefusal> refusals)
    {
        var fields = new List<(string Path, JsonObject Parent, string Key)>();
        if (resource.Body["webhook"]?["headers"] is JsonObject headers)
        {
            fields.AddRange(headers.Select(h => ($"webhook.headers.{h.Key}", headers, h.Key)));
        }

        if (resource.Body["email"] is JsonObject email && email.ContainsKey("password"))
        {
            fields.Add(("email.password", email, "password"));
        }

        foreach (var (path, parent, key) in fields)
        {
            if (parent[key] is not JsonValue v || v.GetValueKind() != JsonValueKind.String)
            {
                refusals.Add(resource.Refusal(path, "must be a string holding a {{secret:NAME}} reference."));
                continue;
            }

            var text = v.GetValue<string>();
            if (SecretTemplates.ReferencedNames(text).Count == 0)
            {
                refusals.Add(resource.Refusal(path, "is a secret and must be given as a {{secret:NAME}} reference to Orchestrator:Secrets, never as the value itself (a definition document is kept in a repository)."));
                continue;
            }

            if (SecretTemplates.ReferenceProblem(text, accepted: true) is { } malformed)
            {
                refusals.Add(resource.Refusal(path, malformed));
                continue;
            }

            if (secrets.UnknownReferences(text).FirstOrDefault() is { } unknown)
            {
                refusals.Add(resource.Refusal(path, SecretTemplates.NotConfigured(unknown)));
                continue;
            }

            resource.SecretReferences[path] = text;
            parent[key] = secrets.Resolve(text, new List<string>());
        }
    }

    /// <summary>The body as the service's request record, read with the API's own rules (unknown or repeated names refused).</summary>
    private object? Deserialize(Desired resource, List<ApplyRefusal> refusals)
    {
        var type = resource.Kind switch
        {
            DefinitionKinds.Project => typeof(ProjectRequest),
            DefinitionKinds.Channel => typeof(ChannelRequest),
            DefinitionKinds.Tool => typeof(ToolRequest),
            DefinitionKinds.Pipeline => typeof(PipelineRequest),
            _ => typeof(ScheduleRequest),
        };
        try
        {
            return resource.Body.Deserialize(type, json.Value.SerializerOptions);
        }
        catch (JsonException ex)
        {
            var field = ex.Path is { Length: > 2 } path ? path[2..] : "";
            // The type names in System.Text.Json's message mean nothing to the author of a document.
            var reason = ex.Message.Split(" Path: ", 2)[0];
            var unmapped = reason.IndexOf(" could not be mapped", StringComparison.Ordinal);
            refusals.Add(resource.Refusal(field, unmapped > 0 ? $"{reason[..unmapped]} is not a field of a {resource.Kind}." : reason));
            return null;
        }
    }

    /// <summary>
    /// The document as the service would store it, in document form (defaults filled in, names normalized), so the plan
    /// compares like with like; null when the document is refused (the refusal added). A reference to a resource the same
    /// documents create is not refused here: it does not exist yet, and the service checks it again when it is written.
    /// </summary>
    private async Task<JsonObject?> NormalizeAsync(Desired resource, Stored? before, HashSet<string> created, List<ApplyRefusal> refusals, CancellationToken ct)
    {
        if (resource.Request is null)
        {
            return null;
        }

        var errors = new FieldErrors();
        JsonObject? normalized = null;
        var now = time.GetUtcNow();
        switch (resource.Request)
        {
            case ProjectRequest project:
                if (!ProjectService.IsSlug(resource.Name))
                {
                    errors.Add("id", "must be 1–63 lowercase letters, digits or hyphens, starting and ending with a letter or digit.");
                }

                var (rootPath, _) = project.RootPath is null ? (null, null) : roots.Check(project.RootPath);
                normalized = DefinitionShapes.Project(new ProjectResponse(resource.Name, project.Name?.Trim() ?? "", rootPath ?? project.RootPath ?? "", now, now));
                break;
            case ChannelRequest channel:
                normalized = NormalizeChannel(resource, channel);
                break;
            case ToolRequest tool:
                if (registry.IsBuiltin(resource.Name))
                {
                    errors.Add("name", $"'{resource.Name}' is a built-in tool; it comes with the server and is not a definition.");
                    break;
                }

                var definition = await ToolRequestRules.BuildAsync(tool, actions, errors, ct);
                if (definition is not null && !errors.Any)
                {
                    definition.Name = resource.Name;
                    normalized = DefinitionShapes.Tool(ToolResponse.From(definition));
                }

                break;
            case PipelineRequest pipeline:
                var (stored, pipelineErrors) = await pipelineValidator.ValidateAsync(pipeline, resource.Name, ct);
                errors = pipelineErrors;
                normalized = stored is null
                    ? null
                    : DefinitionShapes.Pipeline(PipelineResponse.From(
                        new Pipeline { Id = resource.Name, Name = pipeline.Name ?? "", ProjectId = pipeline.Project ?? Project.DefaultId, Description = pipeline.Description },
                        0, stored));
                break;
            case ScheduleRequest schedule:
                var beforeTrigger = before?.Document["trigger"]?.ToJsonString();
                var sameTrigger = beforeTrigger is not null && beforeTrigger == JsonSerializer.SerializeToNode(TriggerView.From(schedule.Trigger), JsonSerializerOptions.Web)?.ToJsonString();
                var (spec, scheduleErrors) = await scheduleValidator.ValidateAsync(schedule, null, null, sameTrigger, ct);
                errors = scheduleErrors;
                if (spec is not null)
                {
                    var enabled = schedule.Enabled ?? (before?.Document["enabled"]?.GetValue<bool>() ?? true);
                    normalized = DefinitionShapes.Schedule(ScheduleResponse.From(ScheduleMapping.Document(spec, schedule, now), enabled, "", null, null, null));
                }

                break;
        }

        // "no channel named 'x'", "no project with id 'x'": the resource is among those these documents create.
        var remaining = errors.Entries
            .SelectMany(e => e.Value.Select(reason => (Field: e.Key, Reason: reason)))
            .Where(e => !(e.Reason.StartsWith("no ", StringComparison.Ordinal) && created.Any(c => e.Reason.Contains($"'{c}'", StringComparison.Ordinal))))
            .ToList();
        refusals.AddRange(remaining.Select(e => resource.Refusal(e.Field, e.Reason)));
        if (remaining.Count > 0)
        {
            return null;
        }

        // A document refused only for a reference to something not created yet is compared as written.
        return normalized ?? WithKind(resource);
    }

    private static JsonObject NormalizeChannel(Desired resource, ChannelRequest channel)
    {
        var document = new JsonObject { ["kind"] = DefinitionKinds.Channel, ["name"] = resource.Name, ["type"] = channel.Kind };
        if (channel.Webhook is { } webhook)
        {
            var settings = new JsonObject { ["url"] = webhook.Url, ["format"] = webhook.Format ?? "json" };
            if (webhook.Headers is { Count: > 0 } headers)
            {
                settings["headers"] = new JsonObject(headers.Keys.Order(StringComparer.Ordinal)
                    .Select(h => KeyValuePair.Create(h, (JsonNode?)resource.SecretReferences[$"webhook.headers.{h}"])));
            }

            document["webhook"] = settings;
        }

        if (channel.Email is { } email)
        {
            var mail = new JsonObject { ["host"] = email.Host, ["port"] = email.Port ?? 587, ["security"] = email.Security ?? "starttls" };
            if (email.Username is not null)
            {
                mail["username"] = email.Username;
            }

            if (resource.SecretReferences.TryGetValue("email.password", out var password))
            {
                mail["password"] = password;
            }

            mail["from"] = email.From;
            mail["to"] = new JsonArray([.. (email.To ?? []).Select(t => (JsonNode?)t)]);
            document["email"] = mail;
        }

        return document;
    }

    private static JsonObject WithKind(Desired resource)
    {
        var document = new JsonObject { ["kind"] = resource.Kind };
        foreach (var (name, value) in resource.Body)
        {
            if (value is not null)
            {
                document[name] = value.DeepClone();
            }
        }

        return document;
    }

    /// <summary>Every stored definition in document form, keyed by (kind, name).</summary>
    private async Task<Dictionary<(string Kind, string Name), Stored>> CurrentAsync(CancellationToken ct)
    {
        var stored = new Dictionary<(string, string), Stored>();
        void Add(string kind, string name, JsonObject document) => stored[(kind, name)] = new Stored(kind, name, document);

        for (var page = 1; ; page++)
        {
            var list = await projects.ListAsync(Paging.From(page, PageSize), ct);
            list.Items.ToList().ForEach(p => Add(DefinitionKinds.Project, p.Id, DefinitionShapes.Project(p)));
            if (page * PageSize >= list.Total)
            {
                break;
            }
        }

        var references = await db.Set<ManagedResource>().AsNoTracking().Where(m => m.Kind == DefinitionKinds.Channel && m.SecretReferences != null)
            .ToDictionaryAsync(m => m.Name, m => JsonSerializer.Deserialize<Dictionary<string, string>>(m.SecretReferences!)!, ct);
        foreach (var channel in await channels.ListAsync(ct))
        {
            Add(DefinitionKinds.Channel, channel.Name, DefinitionShapes.Channel(channel, references.GetValueOrDefault(channel.Name)));
        }

        foreach (var tool in (await tools.ListAsync(ct)).Where(t => !registry.IsBuiltin(t.Name)))
        {
            Add(DefinitionKinds.Tool, tool.Name, DefinitionShapes.Tool(tool));
        }

        for (var page = 1; ; page++)
        {
            var list = (await pipelines.ListAsync(null, Paging.From(page, PageSize), ct)).Value!;
            foreach (var summary in list.Items)
            {
                if ((await pipelines.GetAsync(summary.Id, null, ct)) is { Succeeded: true } pipeline)
                {
                    Add(DefinitionKinds.Pipeline, summary.Id, DefinitionShapes.Pipeline(pipeline.Value));
                }
            }

            if (page * PageSize >= list.Total)
            {
                break;
            }
        }

        for (var page = 1; ; page++)
        {
            var list = await schedules.ListAsync(null, null, null, page, PageSize, ct);
            list.Items.ToList().ForEach(s => Add(DefinitionKinds.Schedule, s.Id, DefinitionShapes.Schedule(s)));
            if (page * PageSize >= list.Total)
            {
                break;
            }
        }

        return stored;
    }

    /// <summary>Creates or replaces one resource through its service, after recording how to put back what was there.</summary>
    private async Task<ProblemDetails?> WriteAsync(Desired resource, bool create, Stack<Func<Task>> undo, CancellationToken ct)
    {
        undo.Push(await SnapshotAsync(resource.Kind, resource.Name, ct));
        ProblemDetails? problem = resource.Request switch
        {
            ProjectRequest p => (create ? await projects.CreateAsync(p, ct) : await projects.ReplaceAsync(resource.Name, p, ct, force: true)).Problem,
            ChannelRequest c => (create ? await channels.CreateAsync(c, ct) : await channels.ReplaceAsync(resource.Name, c, ct, force: true)).Problem,
            ToolRequest t => (create ? await tools.RegisterAsync(t, ct) : await tools.ReplaceAsync(resource.Name, t, ct, force: true)).Problem,
            PipelineRequest p => (create ? await pipelines.CreateAsync(p, ct) : await pipelines.ReplaceAsync(resource.Name, p, ct, force: true)).Problem,
            ScheduleRequest s => (create ? await schedules.CreateAsync(s, ct) : await schedules.ReplaceAsync(resource.Name, s, ct, force: true)).Problem,
            _ => throw new InvalidOperationException($"No service for {resource.Kind}."),
        };
        db.ChangeTracker.Clear();
        return problem;
    }

    private async Task<ProblemDetails?> DeleteAsync(string kind, string name, ManagedResource? mark, Stack<Func<Task>> undo, CancellationToken ct)
    {
        var restore = await SnapshotAsync(kind, name, ct);
        undo.Push(async () =>
        {
            await restore();
            if (mark is not null)
            {
                db.Set<ManagedResource>().Add(mark);
                await db.SaveChangesAsync(CancellationToken.None);
                db.ChangeTracker.Clear();
            }
        });
        var problem = kind switch
        {
            DefinitionKinds.Project => (await projects.DeleteAsync(name, ct, force: true)).Problem,
            DefinitionKinds.Channel => (await channels.DeleteAsync(name, ct, force: true)).Problem,
            DefinitionKinds.Tool => (await tools.DeleteAsync(name, ct, force: true)).Problem,
            DefinitionKinds.Pipeline => (await pipelines.DeleteAsync(name, ct, force: true)).Problem,
            _ => (await schedules.DeleteAsync(name, ct, force: true)).Problem,
        };
        db.ChangeTracker.Clear();
        return problem;
    }

    /// <summary>
    /// What puts one resource back as it is now: its row (or its absence) for the stored kinds, its job, trigger and
    /// paused state for a schedule. Undo runs after a refusal, so it does not stop for the request's cancellation.
    /// </summary>
    private async Task<Func<Task>> SnapshotAsync(string kind, string name, CancellationToken ct)
    {
        switch (kind)
        {
            case DefinitionKinds.Project:
                var project = await db.Projects.AsNoTracking().FirstOrDefaultAsync(p => p.Id == name, ct);
                return () => RestoreRowAsync(db.Projects.Where(p => p.Id == name), project);
            case DefinitionKinds.Channel:
                var channel = await db.Channels.AsNoTracking().FirstOrDefaultAsync(c => c.Name == name, ct);
                return () => RestoreRowAsync(db.Channels.Where(c => c.Name == name), channel);
            case DefinitionKinds.Tool:
                var tool = await db.Tools.AsNoTracking().FirstOrDefaultAsync(t => t.Name == name, ct);
                return () => RestoreRowAsync(db.Tools.Where(t => t.Name == name), tool);
            case DefinitionKinds.Pipeline:
                var pipeline = await db.Pipelines.AsNoTracking().FirstOrDefaultAsync(p => p.Id == name, ct);
                var lastVersion = await db.PipelineVersions.Where(v => v.PipelineId == name).MaxAsync(v => (int?)v.Version, ct) ?? 0;
                return async () =>
                {
                    // Versions are never changed once written: the ones this apply added go, the earlier ones stayed.
                    await db.PipelineVersions.Where(v => v.PipelineId == name && v.Version > lastVersion).ExecuteDeleteAsync(CancellationToken.None);
                    await RestoreRowAsync(db.Pipelines.Where(p => p.Id == name), pipeline);
                };
            default:
                var scheduler = await schedulers.GetScheduler(ct);
                var key = ScheduleIds.Parse(name);
                var job = await scheduler.GetJobDetail(key, ct);
                var triggerKey = new TriggerKey(key.Name, key.Group);
                var trigger = await scheduler.GetTrigger(triggerKey, ct);
                var paused = trigger is not null && await scheduler.GetTriggerState(triggerKey, ct) == TriggerState.Paused;
                var pauses = await SchedulePauses.SnapshotAsync(db, name, ct);
                return async () =>
                {
                    await SchedulePauses.RestoreAsync(db, name, pauses, CancellationToken.None);
                    if (job is null)
                    {
                        // A run-now of the new schedule may complete its trigger mid-delete; the retrying delete survives that.
                        await ScheduleService.DeleteJobAsync(scheduler, key, CancellationToken.None);
                    }
                    else if (trigger is null)
                    {
                        await scheduler.AddJob(job, AddJobOptions.Replacing, CancellationToken.None);
                    }
                    else
                    {
                        await scheduler.ScheduleJob(job, [trigger], new ScheduleJobOptions { Replace = true, Paused = paused }, CancellationToken.None);
                    }
                };
        }
    }

    private async Task RestoreRowAsync<T>(IQueryable<T> row, T? before)
        where T : class
    {
        db.ChangeTracker.Clear();
        await row.ExecuteDeleteAsync(CancellationToken.None);
        if (before is not null)
        {
            db.Set<T>().Add(before);
            await db.SaveChangesAsync(CancellationToken.None);
        }

        db.ChangeTracker.Clear();
    }

    private static async Task UndoAsync(Stack<Func<Task>> undo)
    {
        while (undo.TryPop(out var step))
        {
            await step();
        }
    }

    /// <summary>Marks every applied resource managed, with a channel's secret references (for export and the next plan).</summary>
    private async Task MarkManagedAsync(IReadOnlyList<Desired> desired, CancellationToken ct)
    {
        var now = time.GetUtcNow();
        var marks = db.Set<ManagedResource>();
        var existing = await marks.ToDictionaryAsync(m => (m.Kind, m.Name), ct);
        foreach (var resource in desired)
        {
            var references = resource.SecretReferences.Count > 0 ? JsonSerializer.Serialize(resource.SecretReferences) : null;
            if (existing.TryGetValue((resource.Kind, resource.Name), out var mark))
            {
                mark.AppliedAt = now;
                mark.SecretReferences = references;
            }
            else
            {
                marks.Add(new ManagedResource { Kind = resource.Kind, Name = resource.Name, AppliedAt = now, SecretReferences = references });
            }
        }

        await db.SaveChangesAsync(ct);
        db.ChangeTracker.Clear();
    }

    /// <summary>Field-level differences, object fields by name and arrays by position (a length change is the whole array).</summary>
    public static List<FieldChange> Diff(JsonNode? before, JsonNode? after, string path = "")
    {
        var changes = new List<FieldChange>();
        if (before is JsonObject b && after is JsonObject a)
        {
            foreach (var name in b.Select(p => p.Key).Concat(a.Select(p => p.Key).Where(k => !b.ContainsKey(k))))
            {
                changes.AddRange(Diff(b[name], a[name], path.Length == 0 ? name : $"{path}.{name}"));
            }
        }
        else if (before is JsonArray ba && after is JsonArray aa && ba.Count == aa.Count)
        {
            for (var i = 0; i < ba.Count; i++)
            {
                changes.AddRange(Diff(ba[i], aa[i], $"{path}[{i}]"));
            }
        }
        else if (!JsonNode.DeepEquals(before, after))
        {
            changes.Add(new FieldChange(path, before?.DeepClone(), after?.DeepClone()));
        }

        return changes;
    }

    private static IEnumerable<(string Field, string Reason)> Fields(ProblemDetails problem) =>
        problem is HttpValidationProblemDetails { Errors.Count: > 0 } validation
            ? validation.Errors.SelectMany(e => e.Value.Select(reason => (e.Key, reason)))
            : [("", problem.Detail ?? problem.Title ?? "refused")];

    private static ProblemDetails Refused(ProblemDetails problem, string context)
    {
        problem.Detail = $"{context}: {problem.Detail}";
        return problem;
    }

    /// <summary>A 422 whose <c>errors</c> are keyed <c>documents[i].field</c>, each reason naming the kind and name; the same under <c>refusals</c>.</summary>
    private static HttpValidationProblemDetails RefusalProblem(IReadOnlyList<ApplyRefusal> refusals)
    {
        var errors = new FieldErrors();
        foreach (var r in refusals)
        {
            var key = r.Document is { } i ? $"documents[{i}]" + (r.Field.Length > 0 ? $".{r.Field}" : "") : r.Field;
            errors.Add(key, r.Name.Length > 0 ? $"{r.Kind} '{r.Name}': {r.Reason}" : r.Reason);
        }

        var problem = errors.ToProblemDetails();
        problem.Title = "The definitions were refused; nothing was applied.";
        problem.Detail = $"{errors.Overview()} Nothing was applied.";
        problem.Extensions["refusals"] = refusals;
        return problem;
    }
}
