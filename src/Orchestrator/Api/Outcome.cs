using System.Diagnostics.CodeAnalysis;
using Microsoft.AspNetCore.Http.HttpResults;
using Microsoft.AspNetCore.Mvc;

namespace Orchestrator.Api;

/// <summary>
/// What an application service returns: a value, or the RFC 9457 problem that refused the operation. Services are
/// called by the endpoints, the built-in tools and (later) the CLI, so the refusal is a <see cref="ProblemDetails"/>
/// each surface can show in its own way, rather than an HTTP result only an endpoint can send.
/// </summary>
public readonly record struct Outcome<T>
{
    private Outcome(T? value, ProblemDetails? problem)
    {
        Value = value;
        Problem = problem;
    }

    public T? Value { get; }

    public ProblemDetails? Problem { get; }

    [MemberNotNullWhen(true, nameof(Value))]
    [MemberNotNullWhen(false, nameof(Problem))]
    public bool Succeeded => Problem is null;

    public static implicit operator Outcome<T>(T value) => new(value, null);

    public static implicit operator Outcome<T>(ProblemDetails problem) => new(default, problem);

    /// <summary>The same refusal as an outcome of another type, for a use case that stops on a step's problem.</summary>
    public Outcome<TOther> Refusal<TOther>() =>
        Problem ?? throw new InvalidOperationException("A succeeded outcome has no refusal to pass on.");
}

/// <summary>Turns a service outcome into a typed endpoint result.</summary>
public static class OutcomeResults
{
    public static ProblemHttpResult ToProblemResult(this ProblemDetails problem) => TypedResults.Problem(problem);
}
