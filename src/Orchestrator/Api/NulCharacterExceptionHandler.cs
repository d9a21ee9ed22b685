using Microsoft.AspNetCore.Diagnostics;
using Npgsql;

namespace Orchestrator.Api;

/// <summary>
/// PostgreSQL text cannot hold U+0000: a NUL that reaches a query or an insert (a filter in the query string, a name that
/// is looked up) fails there with SQLSTATE 22021. Validation refuses NUL by field where it matters; anything it does not
/// reach is still the caller's bad input, so it is a 400 problem that says what to remove, not a 500.
/// </summary>
internal sealed class NulCharacterExceptionHandler(IProblemDetailsService problems) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        if (!IsNulRefused(exception))
        {
            return false;
        }

        context.Response.StatusCode = StatusCodes.Status400BadRequest;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            Exception = exception,
            ProblemDetails =
            {
                Status = StatusCodes.Status400BadRequest,
                Title = "The request could not be read.",
                Detail = "A text value of this request (in its body, path or query) contains a NUL character (U+0000), which is not accepted; remove it.",
            },
        });
    }

    private static bool IsNulRefused(Exception? exception)
    {
        for (; exception is not null; exception = exception.InnerException)
        {
            if (exception is PostgresException { SqlState: PostgresErrorCodes.CharacterNotInRepertoire } postgres
                && postgres.MessageText.Contains("0x00", StringComparison.Ordinal))
            {
                return true;
            }
        }

        return false;
    }
}
