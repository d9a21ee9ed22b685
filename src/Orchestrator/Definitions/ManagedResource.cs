using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using Microsoft.EntityFrameworkCore.Metadata.Builders;
using Orchestrator.Api;
using Orchestrator.Data;

namespace Orchestrator.Definitions;

/// <summary>
/// A definition that <c>POST /api/apply</c> owns: its source of truth is a document in someone's repository, so an API
/// edit would be silently undone by the next apply. One row per (kind, name), schedules by their id.
/// </summary>
public sealed class ManagedResource
{
    public const int MaxNameLength = 200;

    public required string Kind { get; set; }

    public required string Name { get; set; }

    public DateTimeOffset AppliedAt { get; set; }

    /// <summary>
    /// For channels: the <c>{{secret:NAME}}</c> references the document gave for its write-only fields, as a JSON object
    /// keyed by field path. The values themselves are sealed in the channel; export and the plan show these instead.
    /// </summary>
    public string? SecretReferences { get; set; }
}

internal sealed class ManagedResourceConfiguration : IEntityTypeConfiguration<ManagedResource>
{
    public void Configure(EntityTypeBuilder<ManagedResource> builder)
    {
        builder.ToTable("managed_resources");
        builder.HasKey(m => new { m.Kind, m.Name });
        builder.Property(m => m.Kind).HasMaxLength(20);
        builder.Property(m => m.Name).HasMaxLength(ManagedResource.MaxNameLength);
    }
}

/// <summary>The resource kinds a definition document may name, in the order apply creates them.</summary>
public static class DefinitionKinds
{
    public const string Project = "project";
    public const string Channel = "channel";
    public const string Tool = "tool";
    public const string Pipeline = "pipeline";
    public const string Schedule = "schedule";

    /// <summary>Dependency order: a schedule may use all the others, a pipeline tools and channels, everything a project.</summary>
    public static readonly IReadOnlyList<string> All = [Project, Channel, Tool, Pipeline, Schedule];

    /// <summary>The position of <paramref name="kind"/> in <see cref="All"/>.</summary>
    public static int Order(string kind) => All.ToList().IndexOf(kind);
}

/// <summary>
/// The check every service makes before an API replace or delete: a managed resource is refused (409) unless the caller
/// forces it, and the refusal says who owns it and how to override.
/// </summary>
public static class ManagedMarks
{
    public static async Task<ProblemDetails?> RefuseUnlessForcedAsync(OrchestratorDbContext db, string kind, string name, bool force, CancellationToken ct)
    {
        if (force || !await db.Set<ManagedResource>().AnyAsync(m => m.Kind == kind && m.Name == name, ct))
        {
            return null;
        }

        var problem = Problems.Conflict(
            $"The {kind} '{name}' is managed by apply (POST /api/apply): change its definition document and apply it, or add ?force=true " +
            "to change it here anyway (the next apply puts the document's version back).");
        problem.Extensions["managed"] = true;
        return problem;
    }

    /// <summary>Forgets the mark of a deleted resource, so a new one of the same name starts unmanaged.</summary>
    public static Task ForgetAsync(OrchestratorDbContext db, string kind, string name, CancellationToken ct) =>
        db.Set<ManagedResource>().Where(m => m.Kind == kind && m.Name == name).ExecuteDeleteAsync(ct);

    public static async Task<HashSet<string>> ManagedNamesAsync(OrchestratorDbContext db, string kind, CancellationToken ct) =>
        [.. await db.Set<ManagedResource>().AsNoTracking().Where(m => m.Kind == kind).Select(m => m.Name).ToListAsync(ct)];

    /// <summary>Which of <paramref name="names"/> are managed: read by key, so one schedule's read does not read every mark.</summary>
    public static async Task<HashSet<string>> ManagedNamesAsync(OrchestratorDbContext db, string kind, IReadOnlyCollection<string> names, CancellationToken ct)
    {
        var list = names.ToList();
        return [.. await db.Set<ManagedResource>().AsNoTracking().Where(m => m.Kind == kind && list.Contains(m.Name)).Select(m => m.Name).ToListAsync(ct)];
    }
}
