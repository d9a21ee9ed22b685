using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.EntityFrameworkCore;
using Orchestrator.Actions;
using Orchestrator.Data;
using Orchestrator.Hosting;
using Orchestrator.Runs;
using Orchestrator.Security;
using Quartz;
using Quartz.Extensibility;

namespace Orchestrator.Schedules;

public sealed record BackfillRequest(string? From, string? To);

public static class ScheduleEndpoints
{
    public const int MaxPreviewCount = 100;

    public static IServiceCollection AddSchedules(this IServiceCollection services)
    {
        services.AddScoped<ScheduleValidator>();
        services.AddScoped<ScheduleReader>();
        return services;
    }

    public static IEndpointRouteBuilder MapSchedules(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/schedules").WithTags("Schedules").RequireAuthorization(Policies.Viewer);
        group.MapGet("/", ListSchedules).WithName("ListSchedules").WithSummary("List schedules (filters project, actionType, state; paging).");
        group.MapPost("/", CreateSchedule).WithName("CreateSchedule").WithSummary("Create a schedule: a Quartz job and its trigger.").RequireAuthorization(Policies.Admin);
        group.MapPost("/preview", Preview).WithName("PreviewTrigger").WithSummary("Next fire times and a description of a trigger; nothing is saved.");
        group.MapGet("/{id}", GetSchedule).WithName("GetSchedule").WithSummary("One schedule with its state and next fire time.");
        group.MapPut("/{id}", ReplaceSchedule).WithName("ReplaceSchedule").WithSummary("Replace a schedule's definition; its run history is kept, an unchanged trigger keeps its timing, and an omitted 'enabled' keeps the paused/active state.").RequireAuthorization(Policies.Admin);
        group.MapDelete("/{id}", DeleteSchedule).WithName("DeleteSchedule").WithSummary("Delete a schedule; its run history is kept until retention purges it.").RequireAuthorization(Policies.Admin);
        group.MapPost("/{id}/pause", PauseSchedule).WithName("PauseSchedule").WithSummary("Stop firing until resumed.").RequireAuthorization(Policies.Operator);
        group.MapPost("/{id}/resume", ResumeSchedule).WithName("ResumeSchedule").WithSummary("Resume firing; missed times follow the misfire policy.").RequireAuthorization(Policies.Operator);
        group.MapPost("/{id}/run", RunNow).WithName("RunScheduleNow").WithSummary("Run now; returns the (pending) run.").RequireAuthorization(Policies.Operator);
        group.MapPost("/{id}/backfill", Backfill).WithName("BackfillSchedule").WithSummary("Run every fire time of the schedule in [from, to).").RequireAuthorization(Policies.Operator);
        group.MapGet("/{id}/runs", ListScheduleRuns).WithName("ListScheduleRuns").WithSummary("Run history of one schedule.");
        group.MapGet("/{id}/misfires", ListMisfires).WithName("ListScheduleMisfires").WithSummary("Fire times this schedule missed, from Quartz's misfire history.");
        return app;
    }

    public static async Task<Results<Created<JsonObject>, ProblemHttpResult>> CreateSchedule(
        ScheduleRequest request, ScheduleValidator validator, ActionCatalog actions, ISchedulerFactory schedulers, ScheduleReader reader, TimeProvider time, CancellationToken ct)
    {
        var (spec, errors) = await validator.ValidateAsync(request, null, null, ct);
        if (spec is null)
        {
            return errors.ToProblem();
        }

        var scheduler = await schedulers.GetScheduler(ct);
        var key = new JobKey(spec.Name, spec.Project);
        if (await scheduler.Exists(key, ct))
        {
            return ApiProblems.Conflict($"A schedule named '{spec.Name}' already exists in project '{spec.Project}'.");
        }

        actions.TryGet(spec.ActionType, out var action);
        var now = time.GetUtcNow();
        var job = ScheduleMapping.BuildJob(spec, action!, ScheduleMapping.Document(spec, request, now));
        var trigger = ScheduleMapping.BuildTrigger(spec, now);
        try
        {
            await scheduler.ScheduleJob(job, [trigger], new ScheduleJobOptions { Paused = !spec.Enabled }, ct);
        }
        catch (ObjectAlreadyExistsException)
        {
            return ApiProblems.Conflict($"A schedule named '{spec.Name}' already exists in project '{spec.Project}'.");
        }
        catch (SchedulerException ex) when (IsNeverFires(ex))
        {
            return NeverFiresProblem();
        }

        return TypedResults.Created($"/api/schedules/{spec.Id}", (await reader.ReadAsync(key, ct))!);
    }

    public static async Task<Results<Ok<JsonObject>, ProblemHttpResult>> ReplaceSchedule(
        string id, ScheduleRequest request, ScheduleValidator validator, ActionCatalog actions, ISchedulerFactory schedulers, ScheduleReader reader, TimeProvider time, CancellationToken ct)
    {
        var key = ScheduleIds.Parse(id);
        var scheduler = await schedulers.GetScheduler(ct);
        if (!await scheduler.Exists(key, ct))
        {
            return ApiProblems.NotFound("schedule", id);
        }

        var (spec, errors) = await validator.ValidateAsync(request, key.Name, key.Group, ct);
        if (spec is null)
        {
            return errors.ToProblem();
        }

        actions.TryGet(spec.ActionType, out var action);
        var now = time.GetUtcNow();
        var triggerKey = new TriggerKey(key.Name, key.Group);
        var existing = await scheduler.GetTrigger(triggerKey, ct);
        var paused = existing is not null && await scheduler.GetTriggerState(triggerKey, ct) == TriggerState.Paused;
        // A replace that leaves 'enabled' out keeps the schedule paused or active as it is.
        var options = new ScheduleJobOptions { Replace = true, Paused = request.Enabled is { } enabled ? !enabled : paused };
        var stored = await scheduler.GetJobDetail(key, ct);
        var previousTrigger = stored?.JobDataMap.GetString(JobDataKeys.Schedule) is { } json ? JsonNode.Parse(json)?["trigger"]?.ToJsonString() : null;
        var sameTrigger = previousTrigger == JsonSerializer.SerializeToNode(request.Trigger, ScheduleJson.Options)?.ToJsonString();
        // An unchanged trigger goes on from where it started, so its description keeps that start's weekday and time.
        var document = ScheduleMapping.Document(spec, request, sameTrigger && existing is not null ? existing.StartTimeUtc : now);
        var job = ScheduleMapping.BuildJob(spec, action!, document);
        try
        {
            if (!sameTrigger)
            {
                await scheduler.ScheduleJob(job, [ScheduleMapping.BuildTrigger(spec, now)], options, ct);
            }
            else if (existing is not null)
            {
                // Same trigger spec: the schedule goes on where it was (next fire time, previous fire time, runs left).
                await scheduler.ScheduleJob(job, [ScheduleMapping.ContinueTrigger(existing, spec)], options, ct);
            }
            else
            {
                // Same trigger spec and the trigger has completed (a one-time schedule that ran, or maxRuns reached):
                // replacing the definition must not make it fire again.
                await scheduler.AddJob(job, AddJobOptions.Replacing, ct);
            }
        }
        catch (SchedulerException ex) when (IsNeverFires(ex))
        {
            // Quartz refuses before it stores anything, so the schedule is as it was.
            return NeverFiresProblem();
        }

        return TypedResults.Ok((await reader.ReadAsync(key, ct))!);
    }

    /// <summary>
    /// Quartz's refusal of a trigger with no fire time left. The validator checks the same trigger first, so this is the
    /// last line (a trigger built differently on a replace), answered as the bad input it is rather than a 500.
    /// </summary>
    private static bool IsNeverFires(SchedulerException ex) =>
        ex is not ObjectAlreadyExistsException && ex.Message.Contains("will never fire", StringComparison.Ordinal);

    private static ProblemHttpResult NeverFiresProblem()
    {
        var errors = new FieldErrors();
        errors.Add("trigger", ScheduleValidator.NeverFires);
        return errors.ToProblem();
    }

    public static async Task<Ok<PagedList<JsonObject>>> ListSchedules(
        ScheduleReader reader, string? project, string? actionType, string? state, int? page, int? pageSize, CancellationToken ct)
    {
        var paging = Paging.From(page, pageSize);
        var (items, total) = await reader.ListAsync(project, actionType, state, paging, ct);
        return TypedResults.Ok(new PagedList<JsonObject>(items, paging.Number, paging.Size, total));
    }

    public static async Task<Results<Ok<JsonObject>, ProblemHttpResult>> GetSchedule(string id, ScheduleReader reader, CancellationToken ct) =>
        await reader.ReadAsync(ScheduleIds.Parse(id), ct) is { } schedule ? TypedResults.Ok(schedule) : ApiProblems.NotFound("schedule", id);

    public static async Task<Results<NoContent, ProblemHttpResult>> DeleteSchedule(string id, ISchedulerFactory schedulers, CancellationToken ct)
    {
        var scheduler = await schedulers.GetScheduler(ct);
        return await scheduler.DeleteJob(ScheduleIds.Parse(id), ct) ? TypedResults.NoContent() : ApiProblems.NotFound("schedule", id);
    }

    public static async Task<Results<Ok<JsonObject>, ProblemHttpResult>> PauseSchedule(string id, ISchedulerFactory schedulers, ScheduleReader reader, CancellationToken ct)
    {
        var key = ScheduleIds.Parse(id);
        var scheduler = await schedulers.GetScheduler(ct);
        return await scheduler.PauseJob(key, ct) ? TypedResults.Ok((await reader.ReadAsync(key, ct))!) : ApiProblems.NotFound("schedule", id);
    }

    public static async Task<Results<Ok<JsonObject>, ProblemHttpResult>> ResumeSchedule(string id, ISchedulerFactory schedulers, ScheduleReader reader, CancellationToken ct)
    {
        var key = ScheduleIds.Parse(id);
        var scheduler = await schedulers.GetScheduler(ct);
        return await scheduler.ResumeJob(key, ct) ? TypedResults.Ok((await reader.ReadAsync(key, ct))!) : ApiProblems.NotFound("schedule", id);
    }

    public static async Task<Results<Accepted<RunResponse>, ProblemHttpResult>> RunNow(string id, ISchedulerFactory schedulers, RunLedger ledger, CancellationToken ct)
    {
        var key = ScheduleIds.Parse(id);
        var scheduler = await schedulers.GetScheduler(ct);
        var job = await scheduler.GetJobDetail(key, ct);
        if (job is null)
        {
            return ApiProblems.NotFound("schedule", id);
        }

        var run = await ledger.CreatePendingAsync(ScheduleIds.Of(key), key.Group, job.JobDataMap.GetString(JobDataKeys.ActionType) ?? "unknown",
            RunTrigger.Manual, job.JobDataMap.GetString(JobDataKeys.Config) ?? "{}", ct);
        // A completed schedule has no trigger left to copy from: its group is then the one its definition names.
        var scheduleTrigger = await scheduler.GetTrigger(new TriggerKey(key.Name, key.Group), ct);
        var definedGroup = JsonNode.Parse(job.JobDataMap.GetString(JobDataKeys.Schedule) ?? "{}")?["executionGroup"]?.GetValue<string>();
        await scheduler.ScheduleJob(
            ScheduleMapping.BuildRunNowTrigger(key, scheduleTrigger, definedGroup ?? job.JobDataMap.GetString(JobDataKeys.ActionType) ?? "unknown",
                new JobDataMap { [JobDataKeys.RunId] = run.Id.ToString() }),
            new ScheduleJobOptions(),
            ct);
        return TypedResults.Accepted($"/api/runs/{run.Id}", RunResponse.From(run));
    }

    public static async Task<Results<Ok<JsonObject>, ProblemHttpResult>> Backfill(
        string id, BackfillRequest request, ISchedulerFactory schedulers, OrchestratorDbContext db, TimeProvider time, CancellationToken ct)
    {
        var errors = new FieldErrors();
        var from = ScheduleValidator.ParseInstant(request.From, "from", errors);
        var to = ScheduleValidator.ParseInstant(request.To, "to", errors);
        if (request.From is null)
        {
            errors.Add("from", "is required.");
        }

        if (request.To is null)
        {
            errors.Add("to", "is required.");
        }

        if (from is not null && to is not null && to <= from)
        {
            errors.Add("to", "must be after from.");
        }

        if (to is not null && to > time.GetUtcNow())
        {
            errors.Add("to", "must not be in the future; backfill runs fire times that have passed.");
        }

        if (errors.Any)
        {
            return errors.ToProblem();
        }

        var key = ScheduleIds.Parse(id);
        var scheduler = await schedulers.GetScheduler(ct);
        if (!await scheduler.Exists(key, ct))
        {
            return ApiProblems.NotFound("schedule", id);
        }

        try
        {
            var result = await ScheduleBackfill.RunAsync(scheduler, db, key, from!.Value, to!.Value, ct);
            return TypedResults.Ok(new JsonObject
            {
                ["slotsFound"] = result.SlotsFound,
                ["scheduled"] = result.Scheduled,
                ["alreadyScheduled"] = result.AlreadyScheduled,
                ["alreadyRun"] = result.AlreadyRun,
                ["firstSlot"] = result.FirstSlot,
                ["lastSlot"] = result.LastSlot,
            });
        }
        catch (BackfillTooLargeException ex)
        {
            errors.Add("to", ex.Message);
            return errors.ToProblem();
        }
        catch (ArgumentException ex)
        {
            // Quartz's own refusals end with " (Parameter 'options')", which means nothing to the caller.
            errors.Add("from", ex.ParamName is { } name ? ex.Message.Replace($" (Parameter '{name}')", "", StringComparison.Ordinal) : ex.Message);
            return errors.ToProblem();
        }
        catch (SchedulerException ex)
        {
            errors.Add("from", ex.Message);
            return errors.ToProblem();
        }
    }

    public static async Task<Results<Ok<PagedList<RunResponse>>, ProblemHttpResult>> ListScheduleRuns(
        string id, ISchedulerFactory schedulers, RunQueries runs, string? status, int? page, int? pageSize, CancellationToken ct)
    {
        var key = ScheduleIds.Parse(id);
        var scheduleId = ScheduleIds.Of(key);
        var scheduler = await schedulers.GetScheduler(ct);
        if (!await scheduler.Exists(key, ct) && !await runs.AnyOfScheduleAsync(scheduleId, ct))
        {
            return ApiProblems.NotFound("schedule", id);
        }

        var outcome = await runs.ListAsync(new RunQuery(scheduleId, null, status, null, null, page, pageSize), ct);
        return outcome.Succeeded ? TypedResults.Ok(outcome.Value) : TypedResults.Problem(outcome.Problem);
    }

    public static async Task<Results<Ok<JsonArray>, ProblemHttpResult>> ListMisfires(
        string id, ISchedulerFactory schedulers, IExecutionHistoryStore history, int? pageSize, CancellationToken ct)
    {
        var key = ScheduleIds.Parse(id);
        var scheduler = await schedulers.GetScheduler(ct);
        if (!await scheduler.Exists(key, ct))
        {
            return ApiProblems.NotFound("schedule", id);
        }

        var misfires = await history.QueryMisfires(
            new MisfireHistoryQuery { SchedulerName = scheduler.SchedulerName, Job = key, Take = Math.Clamp(pageSize ?? 100, 1, 1000) }, ct);
        var items = new JsonArray();
        foreach (var m in misfires.Items)
        {
            items.Add(new JsonObject
            {
                ["scheduledFireTime"] = m.ScheduledFireTimeUtc,
                ["detectedAt"] = m.MisfiredAtUtc,
                ["node"] = m.SchedulerInstanceId,
                ["reason"] = m.Reason.ToString().ToLowerInvariant(),
            });
        }

        return TypedResults.Ok(items);
    }

    public static async Task<Results<Ok<JsonObject>, ProblemHttpResult>> Preview(PreviewRequest request, ScheduleValidator validator, TimeProvider time)
    {
        var errors = new FieldErrors();
        var count = request.Count ?? 10;
        if (count is < 1 or > MaxPreviewCount)
        {
            errors.Add("count", $"must be between 1 and {MaxPreviewCount}.");
        }

        var spec = validator.ValidateTrigger(request.Trigger, "trigger", MisfirePolicy.FireOnce, errors);
        if (spec is null || errors.Any)
        {
            return errors.ToProblem();
        }

        var now = time.GetUtcNow();
        var trigger = ScheduleMapping.BuildPreviewTrigger(spec, now);
        var times = new JsonArray();
        foreach (var t in ScheduleMapping.NextFireTimes(trigger, count, spec.StartAt ?? now))
        {
            times.Add(t);
        }

        return TypedResults.Ok(new JsonObject { ["description"] = TriggerDescription.Describe(spec, now), ["nextFireTimes"] = times });
    }
}
