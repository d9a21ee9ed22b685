using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace Orchestrator.Api;

/// <summary>RFC 9457 problem responses used by every endpoint group.</summary>
public static class ApiProblems
{
    public static ProblemHttpResult NotFound(string resource, string id) =>
        TypedResults.Problem(statusCode: StatusCodes.Status404NotFound, title: "Not found", detail: $"No {resource} with id '{id}'.");

    public static ProblemHttpResult Conflict(string detail) =>
        TypedResults.Problem(statusCode: StatusCodes.Status409Conflict, title: "Conflict", detail: detail);
}

/// <summary>The same refusals as <see cref="ApiProblems"/>, as problem details an application service returns.</summary>
public static class Problems
{
    public static ProblemDetails NotFound(string resource, string id) =>
        new() { Status = StatusCodes.Status404NotFound, Title = "Not found", Detail = $"No {resource} with id '{id}'." };

    public static ProblemDetails Conflict(string detail) =>
        new() { Status = StatusCodes.Status409Conflict, Title = "Conflict", Detail = detail };

    /// <summary>
    /// A conflict caused by one field's value (a name or id already taken): the same 409, with an <c>errors</c> map
    /// naming the field, so a form puts the message beside that input as it does a 422's.
    /// </summary>
    public static ProblemDetails Conflict(string detail, string field) =>
        new HttpValidationProblemDetails(new Dictionary<string, string[]> { [field] = [detail] })
        {
            Status = StatusCodes.Status409Conflict, Title = "Conflict", Detail = detail,
        };
}

/// <summary>Collects field errors, then becomes a 422 validation problem naming each field and its reason.</summary>
public sealed class FieldErrors
{
    private readonly Dictionary<string, List<string>> errors = new(StringComparer.Ordinal);

    public bool Any => errors.Count > 0;

    public IReadOnlyDictionary<string, List<string>> Entries => errors;

    /// <summary>The errors as one line, for a failure recorded where no problem response is sent (a run's error).</summary>
    public string Summary => string.Join(" ", errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}"));

    /// <summary>How many reasons there are over all fields.</summary>
    public int Count => errors.Values.Sum(e => e.Count);

    /// <summary>
    /// The errors for a person to read when there may be many (a batch of a thousand items): how many, the first
    /// <paramref name="shown"/> as "field: reason", and how many more; <c>errors</c> holds them all.
    /// </summary>
    public string Overview(int shown = 3)
    {
        var all = errors.SelectMany(e => e.Value.Select(reason => $"{e.Key}: {reason.TrimEnd('.')}")).ToList();
        var first = string.Join("; ", all.Take(shown));
        return all.Count <= shown
            ? $"{all.Count} {(all.Count == 1 ? "problem" : "problems")}: {first}."
            : $"{all.Count} problems: {first}; and {all.Count - shown} more (see errors).";
    }

    public void Add(string field, string reason)
    {
        if (!errors.TryGetValue(field, out var list))
        {
            errors[field] = list = [];
        }

        list.Add(reason);
    }

    public ProblemHttpResult ToProblem() => TypedResults.Problem(ToProblemDetails());

    /// <summary>The 422 validation problem as details, for an application service's refusal.</summary>
    public HttpValidationProblemDetails ToProblemDetails() =>
        new(errors.ToDictionary(e => e.Key, e => e.Value.ToArray()))
        {
            Status = StatusCodes.Status422UnprocessableEntity,
            Title = "The request is not valid.",
            Detail = Summary,
        };
}
