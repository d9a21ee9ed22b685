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
}

/// <summary>Collects field errors, then becomes a 422 validation problem naming each field and its reason.</summary>
public sealed class FieldErrors
{
    private readonly Dictionary<string, List<string>> errors = new(StringComparer.Ordinal);

    public bool Any => errors.Count > 0;

    public IReadOnlyDictionary<string, List<string>> Entries => errors;

    /// <summary>The errors as one line, for a failure recorded where no problem response is sent (a run's error).</summary>
    public string Summary => string.Join(" ", errors.Select(e => $"{e.Key}: {string.Join(" ", e.Value)}"));

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

public sealed record PagedList<T>(IReadOnlyList<T> Items, int Page, int PageSize, int Total);

public readonly record struct Paging(int Number, int Size)
{
    public const int MaxSize = 200;

    public int Skip => (Number - 1) * Size;

    public static Paging From(int? page, int? pageSize) =>
        new(Math.Max(1, page ?? 1), Math.Clamp(pageSize ?? 50, 1, MaxSize));
}
