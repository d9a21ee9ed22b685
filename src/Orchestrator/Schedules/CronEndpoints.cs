using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using Orchestrator.Hosting;
using Orchestrator.Security;

namespace Orchestrator.Schedules;

public sealed record CronDescribeRequest(string? Expression, string? TimeZone, int? Count);

public sealed record CronParseRequest(string? Text, string? TimeZone, int? Count);

/// <summary>Authoring helpers: describe a cron expression in words with its next fire times, and turn an English phrase into a schedule trigger.</summary>
public static class CronEndpoints
{
    public const int MaxTextLength = 300;

    public static IEndpointRouteBuilder MapCronHelpers(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/cron").WithTags("Cron").RequireAuthorization(Policies.Viewer);
        group.MapPost("/describe", Describe).WithName("DescribeCron").WithSummary("{expression, timeZone, count}: a description in words and the next fire times.");
        group.MapPost("/parse", Parse).WithName("ParseCronPhrase")
            .WithSummary("{text, timeZone, count}: an English phrase ('every weekday at 9:30', 'every 90 minutes', 'every other monday at 10', 'tomorrow at 9') as a schedule trigger (cron, interval, calendar interval or one-time), the reading chosen, the other readings, its description and next fire times.");
        return app;
    }

    public static Results<Ok<JsonObject>, ProblemHttpResult> Describe(CronDescribeRequest request, ScheduleValidator validator, TimeProvider time)
    {
        var errors = new FieldErrors();
        if (string.IsNullOrWhiteSpace(request.Expression))
        {
            errors.Add("expression", "is required: a Quartz cron expression with seconds, e.g. '0 30 9 ? * MON-FRI'.");
            return errors.ToProblem();
        }

        var trigger = new TriggerRequest(request.Expression, request.TimeZone ?? "UTC", null, null, null, null, null, null, null, null);
        return Explain(trigger, request.TimeZone ?? "UTC", request.Count, "expression", validator, time, new JsonObject());
    }

    public static Results<Ok<JsonObject>, ProblemHttpResult> Parse(CronParseRequest request, ScheduleValidator validator, TimeProvider time)
    {
        var errors = new FieldErrors();
        if (string.IsNullOrWhiteSpace(request.Text) || request.Text.Length > MaxTextLength)
        {
            errors.Add("text", $"is required: a phrase of at most {MaxTextLength} characters, e.g. 'every weekday at 9:30'.");
            return errors.ToProblem();
        }

        var zone = ScheduleValidator.ParseZone(request.TimeZone, "timeZone", errors);
        if (zone is null)
        {
            return errors.ToProblem();
        }

        var result = CronPhrases.Parse(request.Text, zone, time.GetUtcNow());
        if (result.Answer is not { } answer)
        {
            errors.Add("text", $"'{request.Text}': {result.Problem} Try: {string.Join("; ", result.Suggestions.Select(s => $"'{s}'"))}.");
            var problem = (HttpValidationProblemDetails)errors.ToProblem().ProblemDetails;
            problem.Extensions["unplaced"] = result.Unplaced;
            problem.Extensions["suggestions"] = result.Suggestions;
            return TypedResults.Problem(problem);
        }

        // Every reading is checked as a schedule's trigger would be (Quartz parses it and it must fire); an alternative
        // that does not pass is left out rather than offered.
        var alternatives = new JsonArray();
        foreach (var alternative in result.Alternatives)
        {
            if (validator.ValidateTrigger(alternative.Trigger, "trigger", MisfirePolicy.FireOnce, new FieldErrors()) is { } checkedAlternative)
            {
                alternatives.Add(new JsonObject
                {
                    ["reading"] = alternative.Reading,
                    ["trigger"] = JsonSerializer.SerializeToNode(alternative.Trigger, ScheduleJson.Options),
                    ["description"] = TriggerDescription.Describe(checkedAlternative, time.GetUtcNow()),
                });
            }
        }

        var reply = new JsonObject
        {
            ["text"] = request.Text,
            ["reading"] = answer.Reading,
            ["trigger"] = JsonSerializer.SerializeToNode(answer.Trigger, ScheduleJson.Options),
            ["alternatives"] = alternatives,
        };
        return Explain(answer.Trigger, answer.Trigger.TimeZone ?? zone.Id, request.Count, "text", validator, time, reply);
    }

    /// <summary>Validates the trigger as a schedule's would be (so the zone and "never fires" checks are the same) and previews it.</summary>
    private static Results<Ok<JsonObject>, ProblemHttpResult> Explain(TriggerRequest trigger, string timeZone, int? count, string field, ScheduleValidator validator, TimeProvider time, JsonObject answer)
    {
        var errors = new FieldErrors();
        var n = count ?? 5;
        if (n is < 1 or > ScheduleService.MaxPreviewCount)
        {
            errors.Add("count", $"must be between 1 and {ScheduleService.MaxPreviewCount}.");
        }

        var checkedErrors = new FieldErrors();
        var spec = validator.ValidateTrigger(trigger, "trigger", MisfirePolicy.FireOnce, checkedErrors);
        foreach (var (key, reasons) in checkedErrors.Entries)
        {
            foreach (var reason in reasons)
            {
                errors.Add(key == "trigger.timeZone" ? "timeZone" : field, reason);
            }
        }

        if (spec is null || errors.Any)
        {
            return errors.ToProblem();
        }

        var now = time.GetUtcNow();
        var times = new JsonArray();
        foreach (var t in ScheduleMapping.NextFireTimes(ScheduleMapping.BuildPreviewTrigger(spec, now), n, now))
        {
            times.Add(t);
        }

        if (trigger.Cron is not null)
        {
            // Clients written before the parser answered other trigger forms read the cron here.
            answer["expression"] = trigger.Cron;
        }

        answer["timeZone"] = timeZone;
        answer["description"] = TriggerDescription.Describe(spec, now);
        answer["nextFireTimes"] = times;
        return TypedResults.Ok(answer);
    }
}
