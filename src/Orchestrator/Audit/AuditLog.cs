using System.Security.Claims;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Actions;
using Orchestrator.Data;

namespace Orchestrator.Audit;

/// <summary>
/// Who is making the changes of this scope, when it is not (only) the HTTP caller: a tool. Set by the tool surface
/// before it calls a service, so the service's audit entry says the change came through a tool and, in a run, which
/// schedule's run made it.
/// </summary>
public sealed class AuditScope
{
    public ActionInvocation? ToolRun { get; private set; }

    public bool ByTool { get; private set; }

    /// <summary>The surface a server-side use case stands for (<c>apply</c>, <c>cli</c>), when no header says it.</summary>
    public string? Surface { get; private set; }

    /// <summary>Who acts when no request or tool says it: the operator at the server's own console (<c>local</c>).</summary>
    public string? Actor { get; private set; }

    /// <summary>
    /// The changes of this scope are made for <paramref name="surface"/> (one of <see cref="AuditLog.Sources"/>): apply,
    /// the CLI; by <paramref name="actor"/> when no API key stands behind them (a command run on the server itself).
    /// </summary>
    public void MarkSurface(string surface, string? actor = null)
    {
        Surface = surface;
        Actor = actor ?? Actor;
    }

    /// <summary>
    /// Entries held back while <see cref="Holding"/>: apply writes step by step and undoes the steps done when a later
    /// one is refused, so its entries are kept until it has succeeded (<see cref="AuditLog.ReleaseAsync"/>) or dropped
    /// with the undo (<see cref="Drop"/>): the log never shows a change that was undone.
    /// </summary>
    public List<AuditEntry> Held { get; } = [];

    public bool Holding { get; private set; }

    public void Hold() => Holding = true;

    public void Drop()
    {
        Held.Clear();
        Holding = false;
    }

    /// <summary>The changes of this scope are made by a tool, inside <paramref name="run"/>.</summary>
    public void MarkTool(ActionInvocation run)
    {
        ByTool = true;
        ToolRun = run;
    }
}

/// <summary>
/// The one way changes are recorded in the audit log. Services call it next to the change they make:
/// <see cref="Add"/> when the change is saved by the same <see cref="OrchestratorDbContext"/> (one transaction), or
/// <see cref="RecordAsync"/> when the change lives elsewhere (Quartz's tables, the file system) and is already made.
/// The actor, source and client address come from the request (the API key's claims, the
/// <see cref="ClientHeader"/> header, the connection) or from the <see cref="AuditScope"/>; a change with neither is
/// the server's own ("system"). Before and after are the resource as the API shows it, with secrets redacted.
/// </summary>
public sealed class AuditLog(OrchestratorDbContext db, AuditScope scope, IHttpContextAccessor http, TimeProvider time)
{
    /// <summary>Sent by the dashboard, the CLI and apply so the log says where a change came from; absent means api.</summary>
    public const string ClientHeader = "X-Orchestrator-Client";

    public static readonly IReadOnlyList<string> Sources = ["api", "dashboard", "cli", "apply", "tool", "system"];

    /// <summary>The actor of changes no caller made: the server's own work.</summary>
    public const string SystemActor = "system";

    /// <summary>Adds the entry to the context's unit of work: it is saved by the caller's next SaveChanges, with the change.</summary>
    public void Add(AuditChange change)
    {
        if (scope.Holding)
        {
            scope.Held.Add(Entry(change));
            return;
        }

        db.Set<AuditEntry>().Add(Entry(change));
    }

    /// <summary>Writes the entries held back while the scope was holding (apply, once everything it did stands).</summary>
    public async Task ReleaseAsync(CancellationToken cancellationToken)
    {
        var held = scope.Held.ToList();
        scope.Drop();
        if (held.Count > 0)
        {
            db.Set<AuditEntry>().AddRange(held);
            await db.SaveChangesAsync(cancellationToken);
        }
    }

    /// <summary>Records a change that is already made outside this context (Quartz, files): saved at once.</summary>
    public async Task RecordAsync(AuditChange change, CancellationToken cancellationToken)
    {
        Add(change);
        await db.SaveChangesAsync(cancellationToken);
    }

    /// <summary>Records several changes already made (a bulk pause): one save, so the log has all of them or none.</summary>
    public async Task RecordAsync(IEnumerable<AuditChange> changes, CancellationToken cancellationToken)
    {
        foreach (var change in changes)
        {
            Add(change);
        }

        await db.SaveChangesAsync(cancellationToken);
    }

    /// <summary>Who is making changes in this scope, as a pause records it (<c>pausedBy</c>): the key's name, the schedule, or system.</summary>
    public string ActorName() => Actor().Name;

    /// <summary>Where the changes of this scope come from (one of <see cref="Sources"/>), as a pause interval records it.</summary>
    public string SourceName() => Source(http.HttpContext);

    private AuditEntry Entry(AuditChange change)
    {
        var (keyId, name) = Actor();
        var context = http.HttpContext;
        return new AuditEntry
        {
            At = time.GetUtcNow(),
            ActorKeyId = keyId,
            Actor = Cut(name, AuditEntry.MaxActorLength)!,
            Source = Source(context),
            ClientAddress = context?.Connection.RemoteIpAddress?.ToString(),
            Action = change.Action,
            ResourceType = change.ResourceType,
            ResourceId = Cut(change.ResourceId, AuditEntry.MaxResourceIdLength)!,
            Project = change.Project,
            Before = AuditRedaction.Serialize(change.Before),
            After = AuditRedaction.Serialize(change.After),
            Reason = Cut(change.Reason, AuditEntry.MaxReasonLength),
        };
    }

    private (Guid? KeyId, string Name) Actor()
    {
        var user = http.HttpContext?.User;
        if (user?.Identity?.IsAuthenticated == true)
        {
            var id = Guid.TryParse(user.FindFirstValue(ClaimTypes.NameIdentifier), out var parsed) ? parsed : (Guid?)null;
            return (id, user.FindFirstValue(ClaimTypes.Name) ?? id?.ToString() ?? "unknown");
        }

        // A run's tool acts for the schedule whose run it is: that schedule's definition is what asked for the change.
        return scope.ToolRun is { } run ? (null, $"schedule:{run.ScheduleId}") : (null, scope.Actor ?? SystemActor);
    }

    private string Source(HttpContext? context)
    {
        if (scope.ByTool)
        {
            return "tool";
        }

        if (scope.Surface is { } surface)
        {
            return surface;
        }

        if (context is null)
        {
            return "system";
        }

        var said = context.Request.Headers[ClientHeader].ToString().Trim().ToLowerInvariant();
        // Only the surfaces that exist are believed; anything else (or nothing) is a plain API call.
        return said is "dashboard" or "cli" or "apply" ? said : "api";
    }

    private static string? Cut(string? text, int max) => text is null || text.Length <= max ? text : text[..max];
}

/// <summary>A change to record: what was done to which resource, and the resource before and after (as the API shows it).</summary>
public sealed record AuditChange(string Action, string ResourceType, string ResourceId, string? Project, object? Before, object? After, string? Reason = null);

/// <summary>
/// Takes secrets out of what the log keeps. The API already leaves out what it never returns (channel secrets, key
/// hashes); what it does return but is secret by nature is masked here: every header value (call_api headers, an HTTP
/// tool's headers), and any property whose name says it holds a secret.
/// </summary>
public static class AuditRedaction
{
    public const string Mask = "***";

    private static readonly HashSet<string> SecretNames = new(StringComparer.OrdinalIgnoreCase)
    {
        "password", "secret", "secrets", "secretsJson", "token", "apiKey", "authorization", "hash", "clientSecret", "accessToken",
    };

    public static string? Serialize(object? value)
    {
        if (value is null)
        {
            return null;
        }

        var node = value as JsonNode ?? JsonSerializer.SerializeToNode(value, value.GetType(), JsonSerializerOptions.Web);
        return node is null ? null : Redact(node.DeepClone()).ToJsonString();
    }

    public static JsonNode Redact(JsonNode node)
    {
        switch (node)
        {
            case JsonObject obj:
                foreach (var (name, child) in obj.ToList())
                {
                    if (child is null)
                    {
                        continue;
                    }

                    if (SecretNames.Contains(name) && child is JsonValue)
                    {
                        obj[name] = Mask;
                    }
                    else if (string.Equals(name, "headers", StringComparison.OrdinalIgnoreCase) && child is JsonObject headers)
                    {
                        foreach (var header in headers.Select(h => h.Key).ToList())
                        {
                            headers[header] = Mask;
                        }
                    }
                    else
                    {
                        Redact(child);
                    }
                }

                break;
            case JsonArray array:
                foreach (var item in array)
                {
                    if (item is not null)
                    {
                        Redact(item);
                    }
                }

                break;
        }

        return node;
    }
}
