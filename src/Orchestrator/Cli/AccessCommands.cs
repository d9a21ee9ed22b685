using System.CommandLine;
using System.Text.Json;
using Orchestrator.Security;
using static Orchestrator.Cli.RouteText;

namespace Orchestrator.Cli;

/// <summary>
/// <c>keys list|create|revoke</c> over <c>/api/keys</c> and <c>audit</c> over <c>/api/audit</c> (admin routes, SPEC §4).
/// <c>keys create</c> without a server is the local bootstrap on the database (<see cref="Hosting.ServerCommand"/>), so
/// the command and its options are kept here for the parser to read either way.
/// </summary>
public sealed class AccessCommands
{
    /// <summary>Leaves out what was not given, rather than sending nulls the route would have to read as "not given".</summary>
    private static readonly Column[] KeyColumns =
    [
        new("ID", "id"), new("NAME", "name"), new("ROLE", "role"), new("STATUS", "status"), new("PROJECTS", "projects"),
        new("CREATED", "createdAt"), new("EXPIRES", "expiresAt"), new("LAST USED", "lastUsedAt"),
    ];

    private static readonly Column[] AuditColumns =
    [
        new("AT", "at"), new("ACTOR", "actor.name"), new("ACTION", "action"), new("TYPE", "resourceType"), new("RESOURCE", "resourceId"),
        new("PROJECT", "project"), new("REASON", "reason"),
    ];

    private static readonly JsonSerializerOptions Body = new(JsonSerializerOptions.Web) { DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull };

    public AccessCommands(RemoteOptions options)
    {
        Options = options;
        Keys = new Command("keys", "API keys: list, create, revoke on a running server; 'keys create' without --server writes to the local database.");
        options.AddTo(Keys);
        var (page, pageSize) = Paging.Options();
        Keys.Add(new Command("list", "List keys, newest first (never their secret).") { page, pageSize }.WithRemoteAction(options, async (session, parsed, ct) =>
        {
            await session.PrintAsync(await session.GetAsync(WithQuery("api/keys", ("page", parsed.GetValue(page)), ("pageSize", parsed.GetValue(pageSize))), ct), KeyColumns);
            return CliExitCodes.Ok;
        }));

        Create = new Command("create", "Create a key and print it once. Without --server (or ORCHESTRATOR_SERVER) it is made in the configured database, which is how the first admin key of a service is made.")
        {
            Role, Name, Projects, ExpiresAt,
        };
        Create.WithRemoteAction(options, CreateRemotelyAsync);
        Keys.Add(Create);

        var id = new Argument<string>("id") { Description = "The key's id (from 'keys list')." };
        Keys.Add(new Command("revoke", "Revoke a key: requests with it are refused from then on.") { id }.WithRemoteAction(options, async (session, parsed, ct) =>
        {
            await session.SendAsync(HttpMethod.Delete, $"api/keys/{Segment(parsed.GetValue(id)!)}", null, ct);
            await session.SayAsync($"Revoked key {parsed.GetValue(id)}.");
            return CliExitCodes.Ok;
        }));

        Audit = BuildAudit(options);
    }

    public RemoteOptions Options { get; }

    public Command Keys { get; }

    public Command Create { get; }

    public Command Audit { get; }

    public Option<string> Role { get; } = new("--role") { Description = "admin, operator or viewer.", Required = true, HelpName = "role" };

    public Option<string?> Name { get; } = new("--name") { Description = "A name for the key (default: the role and the time).", HelpName = "name" };

    public Option<string[]> Projects { get; } = new("--project") { Description = "Limit the key to this project (repeat for more; remote only).", HelpName = "project" };

    /// <summary>Sent as written: the server reads the instant and says what is wrong with it (<c>expiresAt</c>).</summary>
    public Option<string?> ExpiresAt { get; } = new("--expires-at") { Description = "When the key stops working, an ISO-8601 instant with offset (remote only).", HelpName = "time" };

    /// <summary>The arguments <see cref="KeyCommands"/> reads, for the local bootstrap.</summary>
    public IReadOnlyList<string> LocalArguments(ParseResult parsed) =>
        parsed.GetValue(Name) is { } name ? ["--role", parsed.GetValue(Role)!, "--name", name] : ["--role", parsed.GetValue(Role)!];

    /// <summary>Why this <c>keys create</c> cannot run on the local database, or null when it can.</summary>
    public string? LocalRefusal(ParseResult parsed) =>
        parsed.GetValue(Projects) is { Length: > 0 } || parsed.GetValue(ExpiresAt) is not null
            ? "--project and --expires-at need a server (--server or ORCHESTRATOR_SERVER); the local bootstrap makes unrestricted keys."
            : KeyCommands.CheckArguments(LocalArguments(parsed));

    private async Task<int> CreateRemotelyAsync(RemoteSession session, ParseResult parsed, CancellationToken ct)
    {
        if (KeyCommands.CheckArguments(LocalArguments(parsed)) is { } refused)
        {
            throw await session.EndAsync(CliExitCodes.Usage, $"error: {refused}");
        }

        var role = parsed.GetValue(Role)!.ToLowerInvariant();
        var name = parsed.GetValue(Name) ?? $"{role}-{TimeProvider.System.GetUtcNow():yyyyMMddHHmmss}-{Guid.NewGuid().ToString("N")[..6]}";
        var projects = parsed.GetValue(Projects) is { Length: > 0 } given ? given : null;
        var body = JsonSerializer.Serialize(new { name, role, projects, expiresAt = parsed.GetValue(ExpiresAt) }, Body);
        var created = await session.SendAsync(HttpMethod.Post, "api/keys", body, ct);
        await session.SayAsync($"Created {role} key '{name}'. Its secret is shown once:");
        await session.PrintAsync(created, []);
        return CliExitCodes.Ok;
    }

    private static Command BuildAudit(RemoteOptions options)
    {
        var actor = new Option<string?>("--actor") { Description = "Only entries by this key or user." };
        var resource = new Option<string?>("--resource") { Description = "Only entries about this resource." };
        var action = new Option<string?>("--action") { Description = "Only this action (create, update, delete, pause, …)." };
        var project = new Option<string?>("--project") { Description = "Only entries of this project." };
        var from = new Option<string?>("--from") { Description = "At or after this time (ISO-8601)." };
        var to = new Option<string?>("--to") { Description = "Before this time (ISO-8601)." };
        var cursor = new Option<string?>("--cursor") { Description = "The next (older) page: the cursor the previous page printed." };
        var pageSize = new Option<int?>("--page-size") { Description = "Entries per page." };
        var audit = new Command("audit", "The audit log of a running server, newest first: who changed what, when.") { actor, resource, action, project, from, to, cursor, pageSize };
        options.AddTo(audit);
        return audit.WithRemoteAction(options, async (session, parsed, ct) =>
        {
            await session.PrintAsync(await session.GetAsync(WithQuery("api/audit", ("actor", parsed.GetValue(actor)), ("resource", parsed.GetValue(resource)),
                ("action", parsed.GetValue(action)), ("project", parsed.GetValue(project)), ("from", parsed.GetValue(from)), ("to", parsed.GetValue(to)),
                ("cursor", parsed.GetValue(cursor)), ("pageSize", parsed.GetValue(pageSize))), ct), AuditColumns);
            return CliExitCodes.Ok;
        });
    }
}
