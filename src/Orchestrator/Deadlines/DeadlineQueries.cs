using Microsoft.AspNetCore.Mvc;
using Microsoft.EntityFrameworkCore;
using Orchestrator.Api;
using Orchestrator.Data;
using Orchestrator.Schedules;
using Orchestrator.Security;

namespace Orchestrator.Deadlines;

/// <summary>The filters of <c>GET /api/deadlines</c>, as given.</summary>
public sealed record DeadlineQuery(string? ScheduleId, string? PipelineId, string? Project, string? Kind, string? State, int? Page, int? PageSize);

/// <summary>
/// One breach as the API shows it: whose (<see cref="ScheduleId"/> or <see cref="PipelineId"/>), which deadline
/// (<c>start</c>, <c>succeed</c>, <c>silence</c>), the occurrence (its nominal time; for silence the window's start),
/// when it was due, found (by which node), alerted, recovered and the recovery announced.
/// </summary>
public sealed record DeadlineBreachResponse(
    long Id,
    string? ScheduleId,
    string? PipelineId,
    string Project,
    string Kind,
    DateTimeOffset Occurrence,
    DateTimeOffset DueAt,
    DateTimeOffset DetectedAt,
    string Node,
    string Channel,
    string Message,
    DateTimeOffset? NotifiedAt,
    DateTimeOffset? RecoveredAt,
    string? RecoveryMessage,
    DateTimeOffset? RecoveryNotifiedAt,
    string? LastSendError)
{
    public string State => RecoveredAt is null ? "open" : "recovered";

    public static DeadlineBreachResponse From(DeadlineBreach b) => new(
        b.Id,
        b.TargetType == DeadlineBreach.Schedule ? b.TargetId : null,
        b.TargetType == DeadlineBreach.Pipeline ? b.TargetId : null,
        b.Project, b.Kind, b.Occurrence, b.DueAt, b.DetectedAt, b.Node, b.Channel, b.Message, b.NotifiedAt, b.RecoveredAt, b.RecoveryMessage,
        b.RecoveryNotifiedAt, b.LastSendError);
}

/// <summary>Reads the breaches, confined to the caller's projects: a scoped key sees its projects' breaches only.</summary>
public sealed class DeadlineQueries(OrchestratorDbContext db, ProjectScope scope, Quartz.ISchedulerFactory schedulers)
{
    /// <summary>
    /// The 404 for a schedule, pipeline or project filter that names nothing the caller may see: one that does not exist
    /// (and has no breaches left from before it was deleted), or one of another project for a scoped key, in the same
    /// words, so an empty page never stands for a typo and the answer does not tell "not yours" from "not there".
    /// </summary>
    private async Task<ProblemDetails?> UnknownFilterAsync(DeadlineQuery query, CancellationToken ct)
    {
        var breaches = db.Set<DeadlineBreach>().AsNoTracking();
        if (!string.IsNullOrEmpty(query.ScheduleId))
        {
            var key = ScheduleIds.Parse(query.ScheduleId);
            var id = ScheduleIds.Of(key);
            if (key.Group.StartsWith(ScheduleService.SystemGroupPrefix, StringComparison.Ordinal) || !scope.Allows(key.Group)
                || !(await (await schedulers.GetScheduler(ct)).Exists(key, ct)
                    || await breaches.AnyAsync(b => b.TargetType == DeadlineBreach.Schedule && b.TargetId == id, ct)))
            {
                return Problems.NotFound("schedule", query.ScheduleId);
            }
        }

        if (!string.IsNullOrEmpty(query.PipelineId))
        {
            var id = query.PipelineId;
            var project = await db.Pipelines.AsNoTracking().Where(p => p.Id == id).Select(p => p.ProjectId).FirstOrDefaultAsync(ct)
                ?? await breaches.Where(b => b.TargetType == DeadlineBreach.Pipeline && b.TargetId == id).Select(b => b.Project).FirstOrDefaultAsync(ct);
            if (project is null || !scope.Allows(project))
            {
                return Problems.NotFound("pipeline", id);
            }
        }

        if (!string.IsNullOrEmpty(query.Project))
        {
            var project = query.Project;
            if (!scope.Allows(project) || !(await db.Projects.AnyAsync(p => p.Id == project, ct) || await breaches.AnyAsync(b => b.Project == project, ct)))
            {
                return Problems.NotFound("project", project);
            }
        }

        return null;
    }

    public async Task<Outcome<PagedList<DeadlineBreachResponse>>> ListAsync(DeadlineQuery query, CancellationToken ct)
    {
        var errors = new FieldErrors();
        if (query.State is not (null or "" or "open" or "recovered"))
        {
            errors.Add("state", $"'{query.State}' is not a state; use 'open' or 'recovered'.");
        }

        if (query.Kind is not (null or "" or DeadlineBreach.Start or DeadlineBreach.Succeed or DeadlineBreach.Silence))
        {
            errors.Add("kind", $"'{query.Kind}' is not a kind; use 'start', 'succeed' or 'silence'.");
        }

        var paging = PagingRule.Standard.Read(query.Page, query.PageSize, errors);

        if (!string.IsNullOrEmpty(query.ScheduleId) && !string.IsNullOrEmpty(query.PipelineId))
        {
            errors.Add("pipelineId", "give scheduleId or pipelineId, not both.");
        }

        if (errors.Any)
        {
            return errors.ToProblemDetails();
        }

        if (await UnknownFilterAsync(query, ct) is { } unknown)
        {
            return unknown;
        }

        var breaches = db.Set<DeadlineBreach>().AsNoTracking();
        if (scope.Projects is { } allowed)
        {
            breaches = breaches.Where(b => allowed.Contains(b.Project));
        }

        if (!string.IsNullOrEmpty(query.ScheduleId))
        {
            // The id as the schedule routes take it: a bare name is in the default project.
            var id = ScheduleIds.Of(ScheduleIds.Parse(query.ScheduleId));
            breaches = breaches.Where(b => b.TargetType == DeadlineBreach.Schedule && b.TargetId == id);
        }

        if (!string.IsNullOrEmpty(query.PipelineId))
        {
            var id = query.PipelineId;
            breaches = breaches.Where(b => b.TargetType == DeadlineBreach.Pipeline && b.TargetId == id);
        }

        if (!string.IsNullOrEmpty(query.Project))
        {
            var project = query.Project;
            breaches = breaches.Where(b => b.Project == project);
        }

        if (!string.IsNullOrEmpty(query.Kind))
        {
            var kind = query.Kind;
            breaches = breaches.Where(b => b.Kind == kind);
        }

        breaches = query.State switch
        {
            "open" => breaches.Where(b => b.RecoveredAt == null),
            "recovered" => breaches.Where(b => b.RecoveredAt != null),
            _ => breaches,
        };

        var total = await breaches.CountAsync(ct);
        // Newest first by id, which is unique and increasing: a page never skips or repeats a breach.
        var rows = await breaches.OrderByDescending(b => b.Id).Skip(paging.Skip).Take(paging.Size).ToListAsync(ct);
        return new PagedList<DeadlineBreachResponse>([.. rows.Select(DeadlineBreachResponse.From)], paging.Number, paging.Size, total);
    }
}
