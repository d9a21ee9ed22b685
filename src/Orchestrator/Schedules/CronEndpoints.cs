using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using Orchestrator.Api;
using Orchestrator.Security;

namespace Orchestrator.Schedules;

public sealed record CronDescribeRequest(string? Expression, string? TimeZone, int? Count);

public sealed record CronParseRequest(string? Text, string? TimeZone, int? Count);

/// <summary>A cron expression in words, with its next fire times.</summary>
public sealed record CronDescription(string Expression, string TimeZone, string Description, IReadOnlyList<DateTimeOffset> NextFireTimes);

/// <summary>
/// A phrase read as a schedule trigger. <see cref="Expression"/> repeats the trigger's cron for clients written before
/// the parser answered other trigger forms, and is left out when the reading is not a cron.
/// </summary>
public sealed record CronPhraseReading(
    string Text,
    string Reading,
    TriggerView Trigger,
    IReadOnlyList<CronAlternativeReading> Alternatives,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Expression,
    string TimeZone,
    string Description,
    IReadOnlyList<DateTimeOffset> NextFireTimes);

/// <summary>Another reading of the same phrase, offered when it would pass as a schedule's trigger.</summary>
public sealed record CronAlternativeReading(string Reading, TriggerView Trigger, string Description);

/// <summary>Authoring helpers: describe a cron expression in words with its next fire times, and turn an English phrase into a schedule trigger.</summary>
public static class CronEndpoints
{
    public const int MaxTextLength = 300;

    public static IEndpointRouteBuilder MapCronHelpers(this IEndpointRouteBuilder app)
    {
        var group = app.MapGroup("/api/cron").WithTags("Cron").RequireAuthorization(Policies.Viewer);
        group.MapPost("/describe", Describe).WithName("DescribeCron").WithSummary("{expression, timeZone, count}: a description in words and the next fire times.")
            .ProducesValidationProblem(StatusCodes.Status422UnprocessableEntity).ProducesProblem(StatusCodes.Status400BadRequest);
        group.MapPost("/parse", Parse).WithName("ParseCronPhrase")
            .WithSummary("{text, timeZone, count}: an English phrase ('every weekday at 9:30', 'every 90 minutes', 'every other monday at 10', 'tomorrow at 9') as a schedule trigger (cron, interval, calendar interval or one-time), the reading chosen, the other readings, its description and next fire times.")
            .ProducesValidationProblem(StatusCodes.Status422UnprocessableEntity).ProducesProblem(StatusCodes.Status400BadRequest);
        return app;
    }

    public static Results<Ok<CronDescription>, ProblemHttpResult> Describe(CronDescribeRequest request, ScheduleValidator validator, TimeProvider time)
    {
        var errors = new FieldErrors();
        if (string.IsNullOrWhiteSpace(request.Expression))
        {
            errors.Add("expression", "is required: a Quartz cron expression with seconds, e.g. '0 30 9 ? * MON-FRI'.");
            return errors.ToProblem();
        }

        var trigger = new TriggerRequest(request.Expression, request.TimeZone ?? "UTC", null, null, null, null, null, null, null, null);
        var explained = Explain(trigger, request.Count, "expression", validator, time);
        return explained.Succeeded
            ? TypedResults.Ok(new CronDescription(request.Expression, request.TimeZone ?? "UTC", explained.Value.Description, explained.Value.NextFireTimes))
            : explained.Problem.ToProblemResult();
    }

    public static Results<Ok<CronPhraseReading>, ProblemHttpResult> Parse(CronParseRequest request, ScheduleValidator validator, TimeProvider time)
    {
        var errors = new FieldErrors();
        if (string.IsNullOrWhiteSpace(request.Text))
        {
            errors.Add("text", $"is required: a phrase of at most {MaxTextLength} characters, e.g. 'every weekday at 9:30'.");
            return errors.ToProblem();
        }

        if (request.Text.Length > MaxTextLength)
        {
            errors.Add("text", $"is too long: {request.Text.Length} characters; a phrase has at most {MaxTextLength}, e.g. 'every weekday at 9:30'.");
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
        var alternatives = new List<CronAlternativeReading>();
        foreach (var alternative in result.Alternatives)
        {
            if (validator.ValidateTrigger(alternative.Trigger, "trigger", MisfirePolicy.FireOnce, new FieldErrors()) is { } checkedAlternative)
            {
                alternatives.Add(new CronAlternativeReading(alternative.Reading, TriggerView.From(alternative.Trigger)!, TriggerDescription.Describe(checkedAlternative, time.GetUtcNow())));
            }
        }

        var explained = Explain(answer.Trigger, request.Count, "text", validator, time);
        return explained.Succeeded
            ? TypedResults.Ok(new CronPhraseReading(
                request.Text, answer.Reading, TriggerView.From(answer.Trigger)!, alternatives, answer.Trigger.Cron,
                answer.Trigger.TimeZone ?? zone.Id, explained.Value.Description, explained.Value.NextFireTimes))
            : explained.Problem.ToProblemResult();
    }

    /// <summary>Validates the trigger as a schedule's would be (so the zone and "never fires" checks are the same) and previews it.</summary>
    private static Outcome<TriggerPreview> Explain(TriggerRequest trigger, int? count, string field, ScheduleValidator validator, TimeProvider time)
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
            return errors.ToProblemDetails();
        }

        var now = time.GetUtcNow();
        return new TriggerPreview(TriggerDescription.Describe(spec, now), ScheduleMapping.NextFireTimes(ScheduleMapping.BuildPreviewTrigger(spec, now), n, now));
    }
}
