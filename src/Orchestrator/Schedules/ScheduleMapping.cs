using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Actions;
using Quartz;

namespace Orchestrator.Schedules;

/// <summary>A validated schedule becomes one durable Quartz job (class by action type) and one trigger.</summary>
public static class ScheduleMapping
{
    public static IJobDetail BuildJob(ScheduleSpec spec, ActionDefinition action, JsonObject document)
    {
        var builder = JobBuilder.Create().OfType(action.JobType)
            .WithIdentity(spec.Name, spec.Project)
            .WithDescription(spec.Description)
            // Durable: a one-time schedule that has fired stays visible (and re-runnable) until deleted.
            .StoreDurably()
            // Every job asks to be recovered: a firing on a node that dies is re-run elsewhere, and the ledger decides whether the action runs again.
            .RequestRecovery()
            .DisallowConcurrentExecution(spec.ForbidConcurrency)
            .UsingJobData(JobDataKeys.Schedule, document.ToJsonString())
            .UsingJobData(JobDataKeys.ActionType, spec.ActionType)
            .UsingJobData(JobDataKeys.Config, spec.Config.GetRawText());
        if (spec.Timeout is { } timeout)
        {
            builder.UsingJobData(JobDataKeys.TimeoutSeconds, ((int)timeout.TotalSeconds).ToString(CultureInfo.InvariantCulture));
        }

        return builder.Build();
    }

    public static ITrigger BuildTrigger(ScheduleSpec spec, DateTimeOffset now)
    {
        var builder = TriggerBuilder.Create()
            .WithIdentity(spec.Name, spec.Project)
            .ForJob(spec.Name, spec.Project);
        Configure(builder, spec.Trigger, spec.Misfire, now);
        if (spec.MisfireThreshold is { } threshold)
        {
            builder.WithMisfireThreshold(threshold);
        }

        if (spec.Retry is { } retry)
        {
            builder.WithRetryPolicy(retry.ToQuartz());
        }

        // Without an explicit group a schedule is in its action type's group, so an operator can cap, say, all
        // call_api work cluster-wide with Scheduler:ExecutionLimits:call_api and no per-schedule change.
        builder.WithExecutionGroup(spec.ExecutionGroup ?? spec.ActionType);

        return builder.Build();
    }

    /// <summary>A trigger for preview only: same schedule, no job.</summary>
    public static ITrigger BuildPreviewTrigger(TriggerSpec trigger, DateTimeOffset now)
    {
        var builder = TriggerBuilder.Create().WithIdentity("preview", "preview");
        Configure(builder, trigger, MisfirePolicy.FireOnce, now);
        return builder.Build();
    }

    public static IReadOnlyList<DateTimeOffset> NextFireTimes(ITrigger trigger, int count, DateTimeOffset after)
    {
        var times = new List<DateTimeOffset>(count);
        var cursor = after.AddTicks(-1);
        while (times.Count < count && trigger.GetFireTimeAfter(cursor) is { } next)
        {
            if (trigger.EndTimeUtc is { } end && next > end)
            {
                break;
            }

            times.Add(next);
            cursor = next;
        }

        return times;
    }

    private static void Configure(TriggerBuilder<IJob> builder, TriggerSpec trigger, MisfirePolicy misfire, DateTimeOffset now)
    {
        // Fire times on whole seconds: the ledger keys runs per second (see RunLedger.KeyTime).
        var start = CeilingToSecond(trigger is OnceTriggerSpec once ? once.At : trigger.StartAt ?? now);
        builder.StartAt(start);
        switch (trigger)
        {
            case CronTriggerSpec cron:
                builder.WithCronSchedule(cron.Expression, x =>
                {
                    x.InTimeZone(cron.TimeZone);
                    _ = misfire switch
                    {
                        MisfirePolicy.CatchUp => x.WithMisfireInstruction(CronTriggerMisfireInstruction.IgnoreMisfires),
                        MisfirePolicy.Skip => x.WithMisfireInstruction(CronTriggerMisfireInstruction.DoNothing),
                        _ => x.WithMisfireInstruction(CronTriggerMisfireInstruction.FireAndProceed),
                    };
                });
                break;
            case OnceTriggerSpec:
                builder.WithSimpleSchedule(x =>
                {
                    x.WithRepeatCount(0);
                    _ = misfire switch
                    {
                        MisfirePolicy.CatchUp => x.WithMisfireInstruction(SimpleTriggerMisfireInstruction.IgnoreMisfires),
                        MisfirePolicy.Skip => x.WithMisfireInstruction(SimpleTriggerMisfireInstruction.NextWithRemainingCount),
                        _ => x.WithMisfireInstruction(SimpleTriggerMisfireInstruction.FireNow),
                    };
                });
                break;
            case IntervalTriggerSpec interval:
                builder.WithSimpleSchedule(x =>
                {
                    x.WithInterval(interval.Interval);
                    if (interval.MaxRuns is { } max)
                    {
                        x.WithRepeatCount(max - 1);
                    }
                    else
                    {
                        x.RepeatForever();
                    }

                    _ = misfire switch
                    {
                        MisfirePolicy.CatchUp => x.WithMisfireInstruction(SimpleTriggerMisfireInstruction.IgnoreMisfires),
                        MisfirePolicy.Skip => x.WithMisfireInstruction(SimpleTriggerMisfireInstruction.NextWithRemainingCount),
                        _ => x.WithMisfireInstruction(SimpleTriggerMisfireInstruction.NowWithRemainingCount),
                    };
                });
                break;
            case CalendarTriggerSpec calendar:
                builder.WithCalendarIntervalSchedule(x =>
                {
                    x.WithInterval(calendar.Every, calendar.Unit)
                        .InTimeZone(calendar.TimeZone)
                        // "Every day at 09:00" stays 09:00 across a DST change.
                        .PreserveHourOfDayAcrossDaylightSavings(true)
                        .SkipDayIfHourDoesNotExist(false);
                    _ = misfire switch
                    {
                        MisfirePolicy.CatchUp => x.WithMisfireInstruction(CalendarIntervalTriggerMisfireInstruction.IgnoreMisfires),
                        MisfirePolicy.Skip => x.WithMisfireInstruction(CalendarIntervalTriggerMisfireInstruction.DoNothing),
                        _ => x.WithMisfireInstruction(CalendarIntervalTriggerMisfireInstruction.FireAndProceed),
                    };
                });
                break;
        }

        var end = trigger.EndAt;
        if (trigger.MaxRuns is { } maxRuns && trigger is CronTriggerSpec or CalendarTriggerSpec)
        {
            // Quartz counts repeats only for simple triggers; for the others the Nth fire time is computable, so end just after it.
            var probe = TriggerBuilder.Create();
            Configure(probe, trigger with { MaxRuns = null, EndAt = null }, misfire, now);
            var times = NextFireTimes(probe.Build(), maxRuns + 1, start);
            if (times.Count > maxRuns)
            {
                var last = times[maxRuns - 1];
                var cap = last + TimeSpan.FromTicks(Math.Min(TimeSpan.TicksPerSecond, (times[maxRuns] - last).Ticks / 2));
                end = end is null || cap < end ? cap : end;
            }
        }

        if (end is not null)
        {
            builder.EndAt(end);
        }
    }

    private static DateTimeOffset CeilingToSecond(DateTimeOffset time)
    {
        var remainder = time.UtcTicks % TimeSpan.TicksPerSecond;
        return remainder == 0 ? time.ToUniversalTime() : new DateTimeOffset(time.UtcTicks - remainder + TimeSpan.TicksPerSecond, TimeSpan.Zero);
    }

    /// <summary>The normalized schedule document kept in the job and returned by the API.</summary>
    public static JsonObject Document(ScheduleSpec spec, ScheduleRequest request) => new()
    {
        ["id"] = spec.Id,
        ["name"] = spec.Name,
        ["project"] = spec.Project,
        ["description"] = spec.Description,
        ["action"] = new JsonObject { ["type"] = spec.ActionType, ["config"] = JsonNode.Parse(spec.Config.GetRawText()) },
        ["trigger"] = JsonSerializer.SerializeToNode(request.Trigger, ScheduleJson.Options),
        ["triggerDescription"] = TriggerDescription.Describe(spec.Trigger),
        ["misfire"] = new JsonObject
        {
            ["policy"] = spec.Misfire switch { MisfirePolicy.CatchUp => "catch_up", MisfirePolicy.Skip => "skip", _ => "fire_once" },
            ["thresholdSeconds"] = spec.MisfireThreshold is { } t ? (int)t.TotalSeconds : null,
        },
        ["concurrency"] = spec.ForbidConcurrency ? "forbid" : "allow",
        ["retry"] = spec.Retry is { } r
            ? new JsonObject
            {
                ["maxAttempts"] = r.MaxAttempts,
                ["backoff"] = r.Exponential ? "exponential" : "fixed",
                ["initialDelaySeconds"] = (int)r.InitialDelay.TotalSeconds,
                ["maxDelaySeconds"] = r.MaxDelay is { } md ? (int)md.TotalSeconds : null,
            }
            : null,
        ["timeoutSeconds"] = spec.Timeout is { } to ? (int)to.TotalSeconds : null,
        ["executionGroup"] = spec.ExecutionGroup,
    };
}

public static class ScheduleJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };
}
