using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Http.HttpResults;
using Orchestrator.Agents;
using Orchestrator.Api;
using Orchestrator.Security;

namespace Orchestrator.Schedules;

public sealed record CronDescribeRequest(string? Expression, string? TimeZone, int? Count);

/// <summary>
/// A phrase to read. With <see cref="UseModel"/> a phrase the deterministic parser cannot place is handed to a
/// configured model (<see cref="Model"/>, else the one named <c>default</c>, else the only one), whose answer Quartz
/// still validates as a trigger.
/// </summary>
public sealed record CronParseRequest(string? Text, string? TimeZone, int? Count, bool? UseModel = null, string? Model = null);

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
    IReadOnlyList<DateTimeOffset> NextFireTimes,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingNull)] string? Model = null);

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
            .WithSummary("{text, timeZone, count, useModel, model}: an English phrase ('every weekday at 9:30', 'every 90 minutes', 'every other monday at 10', 'tomorrow at 9') as a schedule trigger (cron, interval, calendar interval or one-time), the reading chosen, the other readings, its description and next fire times. With useModel, a phrase the parser cannot place is read by a configured model; Quartz validates its answer.")
            .ProducesValidationProblem(StatusCodes.Status422UnprocessableEntity).ProducesProblem(StatusCodes.Status400BadRequest)
            .ProducesProblem(StatusCodes.Status502BadGateway);
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

    public static async Task<Results<Ok<CronPhraseReading>, ProblemHttpResult>> Parse(
        CronParseRequest request, ScheduleValidator validator, ModelPhraseReader modelReader, TimeProvider time, CancellationToken cancellationToken)
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

        // The model is chosen (and refused) before anything is read, so a bad name is reported even for a phrase the
        // parser places on its own.
        string? model = null;
        if (request.UseModel == true)
        {
            model = request.Model ?? modelReader.DefaultModel();
            if (model is null)
            {
                errors.Add("model", "is required with useModel when the server has no model named 'default' and not exactly one model configured under Orchestrator:Agents:Models (GET /api/models lists them).");
                return errors.ToProblem();
            }

            if (!modelReader.IsConfigured(model))
            {
                errors.Add("model", $"'{model}' is not a configured model; GET /api/models lists them.");
                return errors.ToProblem();
            }
        }
        else if (request.Model is not null)
        {
            errors.Add("model", "is only read with \"useModel\": true.");
            return errors.ToProblem();
        }

        var result = CronPhrases.Parse(request.Text, zone, time.GetUtcNow());
        if (result.Answer is not { } answer)
        {
            if (model is not null)
            {
                return await ParseWithModelAsync(request, zone, model, result.Problem ?? "no reading", validator, modelReader, time, cancellationToken);
            }

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

    /// <summary>
    /// The model's reading of a phrase the parser refused, checked like any trigger: an expression Quartz refuses, or
    /// one that never fires, is a 422 naming the model and what was wrong; the endpoint failing is a 502.
    /// </summary>
    private static async Task<Results<Ok<CronPhraseReading>, ProblemHttpResult>> ParseWithModelAsync(
        CronParseRequest request, TimeZoneInfo zone, string model, string parserProblem, ScheduleValidator validator, ModelPhraseReader modelReader,
        TimeProvider time, CancellationToken cancellationToken)
    {
        var errors = new FieldErrors();
        ModelPhraseAnswer answer;
        try
        {
            answer = await modelReader.ReadAsync(model, request.Text!, cancellationToken);
        }
        catch (Exception ex) when (ex is ModelPhraseException or ModelUnavailableException)
        {
            return TypedResults.Problem(ex.Message, statusCode: StatusCodes.Status502BadGateway, title: "The model could not read the phrase");
        }

        var zoneId = zone.Id;
        if (answer.TimeZone is { } named && request.TimeZone is null)
        {
            var modelZone = ScheduleValidator.ParseZone(named, "timeZone", new FieldErrors());
            if (modelZone is null)
            {
                errors.Add("text", $"'{request.Text}': model '{model}' placed it in time zone '{Bounded(named)}', which this server does not know.");
                return errors.ToProblem();
            }

            zoneId = modelZone.Id;
        }

        var trigger = new TriggerRequest(answer.Cron, zoneId, null, null, null, null, null, null, null, null);
        var explained = Explain(trigger, request.Count, "text", validator, time);
        if (!explained.Succeeded)
        {
            var reasons = explained.Problem is HttpValidationProblemDetails validation
                ? string.Join(" ", validation.Errors.SelectMany(e => e.Value))
                : explained.Problem.Detail;
            errors.Add("text", $"'{request.Text}': the parser could not place it ({parserProblem.TrimEnd('.')}), and model '{model}' answered '{Bounded(answer.Cron)}', which is not a usable trigger: {reasons}");
            return errors.ToProblem();
        }

        var reading = answer.Reading ?? explained.Value.Description;
        return TypedResults.Ok(new CronPhraseReading(
            request.Text!, reading, TriggerView.From(trigger)!, [], answer.Cron, zoneId, explained.Value.Description, explained.Value.NextFireTimes, model));
    }

    private static string Bounded(string text) => text.Length <= 120 ? text : text[..120] + "…";

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
