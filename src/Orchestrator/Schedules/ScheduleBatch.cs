using Microsoft.AspNetCore.Mvc;
using Orchestrator.Actions;
using Orchestrator.Api;
using Orchestrator.Audit;
using Orchestrator.Data;
using Orchestrator.Projects;
using Orchestrator.Security;
using Quartz;

namespace Orchestrator.Schedules;

/// <summary>The body of <c>POST /api/schedules/batch</c>: up to <see cref="ScheduleBatchService.MaxItems"/> schedules, each as <c>POST /api/schedules</c> takes it.</summary>
public sealed record ScheduleBatchRequest(List<ScheduleRequest?>? Items);

/// <summary>What a batch created: the ids, in the order of the request's items.</summary>
public sealed record ScheduleBatchResult(int Created, IReadOnlyList<string> Ids);

/// <summary>
/// Creates many schedules in one request, all or nothing: every item is validated (and checked against the key's
/// scope, the names already taken and the batch's other items) before anything is stored, and one refusal names
/// every item's every error as <c>items[i].field</c> and stores nothing: a name already taken is reported with the
/// field errors, not in a second round after they are fixed (422 when there are field errors, else 409). Quartz then stores the batch's jobs and triggers in one transaction
/// (<see cref="IScheduler.ScheduleJobs(IReadOnlyDictionary{IJobDetail, IReadOnlyCollection{ITrigger}}, ScheduleJobOptions, CancellationToken)"/>)
/// — two when the batch mixes enabled and disabled schedules (Quartz's <c>Paused</c> option is per call); if the
/// second fails, the first is deleted again. One audit entry per schedule, saved together.
/// </summary>
public sealed class ScheduleBatchService(
    ISchedulerFactory schedulers,
    ActionCatalog actions,
    ScheduleValidator validator,
    ProjectScope scope,
    ScopedKeyLimits limits,
    ScheduleListQuery listing,
    AuditLog audit,
    OrchestratorDbContext db,
    TimeProvider time)
{
    /// <summary>
    /// The most schedules one request creates: a bound on the request's body, its single transaction and its audit
    /// save (measured: 1,000 take about a second or two on PostgreSQL); more go in further requests.
    /// </summary>
    public const int MaxItems = 1000;

    public async Task<Outcome<ScheduleBatchResult>> CreateAsync(ScheduleBatchRequest request, CancellationToken ct)
    {
        var errors = new FieldErrors();
        var items = request.Items ?? [];
        if (items.Count == 0)
        {
            errors.Add("items", $"is required: 1 to {MaxItems} schedules.");
            return errors.ToProblemDetails();
        }

        if (items.Count > MaxItems)
        {
            errors.Add("items", $"holds {items.Count} schedules; at most {MaxItems} per request: send the rest in further requests.");
            return errors.ToProblemDetails();
        }

        var specs = new List<(ScheduleSpec Spec, ScheduleRequest Request)>(items.Count);
        // Every item whose id is known, even one refused for another field, so a taken or repeated name is named too.
        var seen = new Dictionary<JobKey, int>();
        for (var i = 0; i < items.Count; i++)
        {
            if (items[i] is not { } item)
            {
                errors.Add($"items[{i}]", "is required: a schedule.");
                continue;
            }

            // Before validation, which would otherwise tell a scoped key what exists in a project it cannot see.
            if (scope.RefuseOutside(item.Project ?? Project.DefaultId) is { } outside)
            {
                return Named(outside, i);
            }

            if (await limits.CheckScheduleAsync(item, ct) is { } limited)
            {
                return Named(limited, i);
            }

            var (spec, itemErrors) = await validator.ValidateAsync(item, null, null, ct);
            foreach (var (field, reasons) in itemErrors.Entries)
            {
                foreach (var reason in reasons)
                {
                    errors.Add($"items[{i}].{field}", reason);
                }
            }

            var key = spec is not null ? new JobKey(spec.Name, spec.Project)
                : itemErrors.Entries.ContainsKey("name") || itemErrors.Entries.ContainsKey("project") || string.IsNullOrEmpty(item.Name) ? null
                : new JobKey(item.Name, item.Project ?? Project.DefaultId);
            if (key is null)
            {
                continue;
            }

            if (seen.TryGetValue(key, out var first))
            {
                errors.Add($"items[{i}].name", $"'{ScheduleIds.Of(key)}' is also items[{first}]; each schedule once per batch.");
                continue;
            }

            seen[key] = i;
            if (spec is not null)
            {
                specs.Add((spec, item));
            }
        }

        // Asked in the same round as the field checks: fixing those and sending again must not turn up new refusals.
        var taken = await listing.ExistingAsync(seen.Keys, ct);
        var fieldErrors = errors.Any;
        foreach (var key in taken.OrderBy(k => seen[k]))
        {
            errors.Add($"items[{seen[key]}].name", $"'{ScheduleIds.Of(key)}' already exists; each schedule of a batch must be new (PUT /api/schedules/{{id}} changes one).");
        }

        if (errors.Any)
        {
            var problem = errors.ToProblemDetails();
            // Field errors make the batch invalid (422); names taken alone are a conflict with what is stored (409).
            problem.Status = fieldErrors ? StatusCodes.Status422UnprocessableEntity : StatusCodes.Status409Conflict;
            problem.Title = fieldErrors ? "The batch is not valid; nothing was created." : "Schedules of the batch already exist; nothing was created.";
            problem.Detail = $"{errors.Overview()} Nothing was created.";
            return problem;
        }

        var now = time.GetUtcNow();
        var built = specs.Select(s =>
        {
            actions.TryGet(s.Spec.ActionType, out var action);
            var document = ScheduleMapping.Document(s.Spec, s.Request, now);
            return (s.Spec, Document: document, Job: ScheduleMapping.BuildJob(s.Spec, action!, document, createdAt: now), Trigger: ScheduleMapping.BuildTrigger(s.Spec, now));
        }).ToList();

        var scheduler = await schedulers.GetScheduler(ct);
        var stored = new List<JobKey>();
        try
        {
            foreach (var enabled in new[] { true, false })
            {
                var part = built.Where(b => b.Spec.Enabled == enabled)
                    .ToDictionary(b => b.Job, b => (IReadOnlyCollection<ITrigger>)[b.Trigger]);
                if (part.Count == 0)
                {
                    continue;
                }

                await scheduler.ScheduleJobs(part, new ScheduleJobOptions { Paused = !enabled }, ct);
                stored.AddRange(part.Keys.Select(j => j.Key));
            }
        }
        catch (SchedulerException ex)
        {
            // All or nothing: what the first call stored goes again.
            if (stored.Count > 0)
            {
                await scheduler.DeleteJobs(stored, CancellationToken.None);
            }

            if (ex is ObjectAlreadyExistsException)
            {
                return Problems.Conflict($"A schedule of the batch was created meanwhile ({ex.Message}); nothing was created.");
            }

            if (ex.Message.Contains("will never fire", StringComparison.Ordinal))
            {
                errors.Add("items", $"{ScheduleValidator.NeverFires} ({ex.Message}) Nothing was created.");
                return errors.ToProblemDetails();
            }

            throw;
        }

        // The deadline checker looks only at watched schedules (it cannot search Quartz's job data).
        await Deadlines.DeadlineWatches.WatchAllAsync(db, Deadlines.DeadlineBreach.Schedule, [.. built.Where(b => b.Spec.Deadline is not null).Select(b => b.Spec.Id)], now, ct);
        // Created disabled: paused from its creation (an interval left by a deleted schedule of the same id goes first).
        await SchedulePauses.ForgetAsync(db, [.. built.Select(b => b.Spec.Id)], ct);
        await SchedulePauses.OpenAsync(db, [.. built.Where(b => !b.Spec.Enabled).Select(b => b.Spec.Id)], now, null, audit.ActorName(), audit.SourceName(), ct);
        await audit.RecordAsync(
            built.Select(b => new AuditChange("schedule.create", "schedule", b.Spec.Id, b.Spec.Project, null, ScheduleResponse.From(
                b.Document, b.Spec.Enabled, b.Spec.Enabled ? "active" : "paused", b.Spec.Enabled ? b.Trigger.NextFireTimeUtc : null, null, null))),
            ct);
        return new ScheduleBatchResult(built.Count, [.. built.Select(b => b.Spec.Id)]);
    }

    /// <summary>A refusal of one item (scope, limits), its detail naming the item.</summary>
    private static ProblemDetails Named(ProblemDetails problem, int index)
    {
        problem.Detail = $"items[{index}]: {problem.Detail}";
        return problem;
    }
}
