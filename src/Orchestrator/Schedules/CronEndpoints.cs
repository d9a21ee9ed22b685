using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Http.HttpResults;
using Orchestrator.Hosting;
using Orchestrator.Security;

namespace Orchestrator.Schedules;

public sealed record CronDescribeRequest(string? Expression, string? TimeZone, int? Count);

public sealed record CronParseRequest(string? Text, string? TimeZone, int? Count);

/// <summary>Authoring helpers: describe a cron expression in words with its next fire times, and turn an English phrase into one.</summary>
public static class CronEndpoints
{
    public const int MaxTextLength = 300;

    public static IEndpointRouteBuilder MapCronHelpers(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/cron").WithTags("Cron").RequireAuthorization(Policies.Viewer);
        group.MapPost("/describe", Describe).WithName("DescribeCron").WithSummary("{expression, timeZone, count}: a description in words and the next fire times.");
        group.MapPost("/parse", Parse).WithName("ParseCronPhrase")
            .WithSummary("{text, timeZone, count}: an English phrase ('every weekday at 9:30') as a Quartz cron expression, its description and next fire times.");
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

        return Explain(request.Expression, request.TimeZone, request.Count, "expression", validator, time, new JsonObject());
    }

    public static Results<Ok<JsonObject>, ProblemHttpResult> Parse(CronParseRequest request, ScheduleValidator validator, TimeProvider time)
    {
        var errors = new FieldErrors();
        if (string.IsNullOrWhiteSpace(request.Text) || request.Text.Length > MaxTextLength)
        {
            errors.Add("text", $"is required: a phrase of at most {MaxTextLength} characters, e.g. 'every weekday at 9:30'.");
            return errors.ToProblem();
        }

        var result = CronPhrases.Parse(request.Text);
        if (result.Cron is null)
        {
            errors.Add("text", $"'{request.Text}': {result.Problem} Try: {string.Join("; ", result.Suggestions.Select(s => $"'{s}'"))}.");
            var problem = (HttpValidationProblemDetails)errors.ToProblem().ProblemDetails;
            problem.Extensions["unplaced"] = result.Unplaced;
            problem.Extensions["suggestions"] = result.Suggestions;
            return TypedResults.Problem(problem);
        }

        return Explain(result.Cron, request.TimeZone, request.Count, "text", validator, time, new JsonObject { ["text"] = request.Text });
    }

    /// <summary>Validates the expression as a schedule's trigger would be (so the zone and "never fires" checks are the same) and previews it.</summary>
    private static Results<Ok<JsonObject>, ProblemHttpResult> Explain(string expression, string? timeZone, int? count, string field, ScheduleValidator validator, TimeProvider time, JsonObject answer)
    {
        var errors = new FieldErrors();
        var n = count ?? 5;
        if (n is < 1 or > ScheduleEndpoints.MaxPreviewCount)
        {
            errors.Add("count", $"must be between 1 and {ScheduleEndpoints.MaxPreviewCount}.");
        }

        var checkedErrors = new FieldErrors();
        var spec = validator.ValidateTrigger(new TriggerRequest(expression, timeZone ?? "UTC", null, null, null, null, null, null, null, null), "trigger", MisfirePolicy.FireOnce, checkedErrors);
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

        answer["expression"] = expression;
        answer["timeZone"] = timeZone ?? "UTC";
        answer["description"] = TriggerDescription.Describe(spec);
        answer["nextFireTimes"] = times;
        return TypedResults.Ok(answer);
    }
}
