using System.Buffers;
using System.IO.Pipelines;
using System.Text;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;
using Microsoft.AspNetCore.Http.Metadata;

namespace Orchestrator.Api;

/// <summary>
/// What every <c>/api</c> request goes through besides its handler: the caller is authenticated before anything else
/// is said about the request (not even 404, 405 or 415), responses are not cached, and a route that takes a JSON body
/// is told in the product's words when the body is missing or is not an object.
/// </summary>
public static class ApiRequestConventions
{
    public const string ApiPrefix = "/api";

    /// <summary>
    /// Routing picks a "415 Unsupported Media Type" endpoint by Content-Type before authorization runs, so a caller with
    /// no key (or too small a role) learned about the content type first. Without that policy the route's own endpoint
    /// is selected, authorization answers 401/403 first, and the body binder still answers 415 for a non-JSON body.
    /// Called after routing is registered (WebApplication.CreateBuilder registers it).
    /// </summary>
    public static IServiceCollection RemoveContentTypeEndpointSelection(this IServiceCollection services)
    {
        foreach (var descriptor in services.Where(d => d.ServiceType == typeof(MatcherPolicy) && d.ImplementationType?.Name == "AcceptsMatcherPolicy").ToList())
        {
            services.Remove(descriptor);
        }

        return services;
    }

    /// <summary>Marks every /api response <c>Cache-Control: no-store</c>: it carries data only a key may read.</summary>
    public static IApplicationBuilder UseApiNoStore(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        if (context.Request.Path.StartsWithSegments(ApiPrefix))
        {
            context.Response.Headers.CacheControl = "no-store";
        }

        await next(context);
    });

    /// <summary>
    /// After authentication, before authorization: an /api request without a valid key is challenged (401) whatever
    /// it asked for, so a route that does not exist (404), a method it does not have (405) or a body it cannot read
    /// says nothing to a caller who is not signed in.
    /// </summary>
    public static IApplicationBuilder UseApiAuthenticationFirst(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        if (context.Request.Path.StartsWithSegments(ApiPrefix)
            && context.User.Identity?.IsAuthenticated != true
            && context.GetEndpoint()?.Metadata.GetMetadata<IAllowAnonymous>() is null)
        {
            await context.ChallengeAsync();
            return;
        }

        await next(context);
    });

    /// <summary>
    /// After authorization: a query-string name or value with a control character (U+0000–U+001F, U+007F; <c>%00</c>
    /// decoded) is refused with a 400 problem naming the parameter, before any handler or database sees it. PostgreSQL
    /// refused a NUL only by accident and SQLite not at all; no filter, id or paging value has a use for one.
    /// </summary>
    public static IApplicationBuilder UseApiQueryWithoutControlCharacters(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        if (context.Request.Path.StartsWithSegments(ApiPrefix) && context.Request.QueryString.HasValue
            && (RepeatedIn(context.Request.Query) ?? ControlCharacterIn(context.Request.Query)) is { } refused)
        {
            var (name, character) = refused;
            var reason = character is null
                ? "is given more than once; no query parameter takes several values, and the binder would join them into one that matches nothing. Give it once."
                : $"contains {(character == '\0' ? "a NUL character" : "a control character")} (U+{(int)character:X4}), which is not accepted in a query value; remove it.";
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
            {
                HttpContext = context,
                ProblemDetails = new HttpValidationProblemDetails(new Dictionary<string, string[]> { [name] = [reason] })
                {
                    Status = StatusCodes.Status400BadRequest,
                    Title = "The request could not be read.",
                    Detail = $"The query parameter '{name}' {reason}",
                },
            });
            return;
        }

        await next(context);
    });

    /// <summary>
    /// After authorization: a paging parameter (<c>page</c>, <c>pageSize</c>, <c>cursor</c>) the route does not read is
    /// a 422 naming it and what the route pages by, on every /api route, whatever the other values say. The route's
    /// <see cref="PagingRule"/> (none: not paged) says what it reads, and the OpenAPI document is written from the same
    /// rule. Ignored, such a value gave an answer the client took for what it asked (a cursor answered the first page).
    /// </summary>
    public static IApplicationBuilder UseApiPagingParameters(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        if (context.Request.Path.StartsWithSegments(ApiPrefix) && context.Request.QueryString.HasValue && context.GetEndpoint() is { } endpoint)
        {
            var errors = new FieldErrors();
            foreach (var (name, reason) in PagingRule.Unread(endpoint.Metadata.GetMetadata<PagingRule>(), context.Request.Query))
            {
                errors.Add(name, reason);
            }

            if (errors.Any)
            {
                context.Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
                await context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
                {
                    HttpContext = context,
                    ProblemDetails = errors.ToProblemDetails(),
                });
                return;
            }
        }

        await next(context);
    });

    /// <summary>
    /// After the paging rule: a query parameter the route does not read at all is a 422 naming it and listing the ones
    /// the route reads (<see cref="QueryParameterRule"/>, from the route's own description), like a paging parameter it
    /// does not read. Ignored, <c>?limit=5</c> answered the default page and a typo <c>?stat=paused</c> answered everything.
    /// </summary>
    public static IApplicationBuilder UseApiKnownQueryParameters(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        if (context.Request.Path.StartsWithSegments(ApiPrefix) && context.Request.QueryString.HasValue && context.GetEndpoint() is RouteEndpoint endpoint
            && context.RequestServices.GetRequiredService<QueryParameterRule>().Reads(endpoint, context.Request.Method) is { } reads)
        {
            var errors = new FieldErrors();
            foreach (var name in context.Request.Query.Keys.Where(name => !reads.Contains(name, StringComparer.OrdinalIgnoreCase)))
            {
                errors.Add(Printable(name), QueryParameterRule.Refusal(Printable(name), reads));
            }

            if (errors.Any)
            {
                context.Response.StatusCode = StatusCodes.Status422UnprocessableEntity;
                await context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
                {
                    HttpContext = context,
                    ProblemDetails = errors.ToProblemDetails(),
                });
                return;
            }
        }

        await next(context);
    });

    /// <summary>The first parameter whose name or value holds a control character (the name shown without it), or null.</summary>
    private static bool IsControl(char c) => c < 0x20 || c == 0x7F;

    private static string Printable(string name) => new([.. name.Select(c => IsControl(c) ? '\uFFFD' : c)]);

    /// <summary>A query parameter given more than once (names compared as the binder does, ignoring case).</summary>
    private static (string Name, char? Character)? RepeatedIn(IQueryCollection query) =>
        query.FirstOrDefault(p => p.Value.Count > 1) is { Key: { } name } ? (Printable(name), null) : null;

    private static (string Name, char? Character)? ControlCharacterIn(IQueryCollection query)
    {
        static bool Refused(char c) => IsControl(c);
        foreach (var (name, values) in query)
        {
            var printable = Printable(name);
            foreach (var text in values.Prepend(name))
            {
                foreach (var c in text ?? "")
                {
                    if (Refused(c))
                    {
                        return (printable, c);
                    }
                }
            }
        }

        return null;
    }

    /// <summary>
    /// After authorization: a route whose handler takes a JSON body gets a 400 problem saying "a JSON object body is
    /// required" when the body is empty, blank or <c>null</c>, instead of the binder's "Implicit body inferred for
    /// parameter …". Other bodies go to the binder, which names the JSON path of what it cannot read. Only the start of
    /// the body is looked at; it is rewound for the binder. A route that takes no body (requeue, run now, resume,
    /// cancel, delete) refuses one with properties as every body refuses an unknown property (see
    /// <see cref="UnexpectedBodyAsync"/>): ignored, <c>{"reason": "…"}</c> sent to resume was lost without a word.
    /// </summary>
    public static IApplicationBuilder UseJsonObjectBodies(this IApplicationBuilder app) => app.Use(async (context, next) =>
    {
        var endpoint = context.GetEndpoint();
        var accepts = endpoint?.Metadata.GetMetadata<IAcceptsMetadata>();
        if (endpoint is not null && accepts is null && context.Request.Path.StartsWithSegments(ApiPrefix) && TakesNoBody(endpoint, context.Request.Method)
            && await UnexpectedBodyAsync(context.Request, context.RequestAborted) is { } unexpected)
        {
            var (field, reason) = unexpected;
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
            {
                HttpContext = context,
                ProblemDetails = new HttpValidationProblemDetails(new Dictionary<string, string[]> { [field] = [reason] })
                {
                    Status = StatusCodes.Status400BadRequest,
                    Title = "The request could not be read.",
                    Detail = field == "body" ? $"The body is refused: {reason}" : $"The body is not valid for this request at '$.{field}': {reason}",
                },
            });
            return;
        }

        if (accepts is { RequestType: not null, IsOptional: false }
            && accepts.ContentTypes.Any(t => t.Contains("json", StringComparison.OrdinalIgnoreCase))
            && (context.Request.ContentType is null || context.Request.HasJsonContentType())
            && await MissingBodyAsync(context.Request, context.RequestAborted) is { } got)
        {
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            await context.RequestServices.GetRequiredService<IProblemDetailsService>().WriteAsync(new ProblemDetailsContext
            {
                HttpContext = context,
                ProblemDetails = new HttpValidationProblemDetails(new Dictionary<string, string[]> { ["body"] = [$"A JSON object body is required; {got}."] })
                {
                    Status = StatusCodes.Status400BadRequest,
                    Title = "The request could not be read.",
                    Detail = $"A JSON object body is required; {got}.",
                },
            });
            return;
        }

        await next(context);
    });

    /// <summary>
    /// Whether the request goes to a handler that takes no body at all, with a method that may carry one: no body
    /// parameter (no accepts metadata, checked by the caller) and, unless it deletes, nothing that could read the body
    /// itself (a file upload takes <see cref="HttpRequest"/> and writes whatever it is sent; a delete reads the raw
    /// path from the context, never a body).
    /// </summary>
    private static bool TakesNoBody(Endpoint endpoint, string method) =>
        endpoint.Metadata.GetMetadata<System.Reflection.MethodInfo>() is { } handler
        && !HttpMethods.IsGet(method) && !HttpMethods.IsHead(method) && !HttpMethods.IsOptions(method)
        && (HttpMethods.IsDelete(method) || !handler.GetParameters().Any(p => p.ParameterType == typeof(HttpRequest) || p.ParameterType == typeof(HttpContext)
            || p.ParameterType == typeof(Stream) || p.ParameterType == typeof(PipeReader)));

    /// <summary>
    /// For a route that takes no body: null when the body is absent, blank, <c>null</c> or <c>{}</c> (what a client that
    /// always sends a JSON body sends); otherwise the field and reason to refuse it with: each property is unknown (the
    /// first named, the rest listed), and anything else is not the empty object this route takes. The body is read up
    /// to 64 KiB (Kestrel bounds it anyway), and is not needed afterwards.
    /// </summary>
    private static async Task<(string Field, string Reason)?> UnexpectedBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.ContentLength == 0 || (request.ContentLength is null && !request.Headers.TransferEncoding.Any(v => v?.Length > 0)))
        {
            return null;
        }

        using var buffer = new MemoryStream();
        var chunk = new byte[8192];
        int read;
        while ((read = await request.Body.ReadAsync(chunk, cancellationToken)) > 0 && buffer.Length <= 64 * 1024)
        {
            buffer.Write(chunk, 0, read);
        }

        var text = Encoding.UTF8.GetString(buffer.GetBuffer(), 0, (int)buffer.Length).Trim();
        if (text.Length == 0 || text == "null")
        {
            return null;
        }

        const string takes = "this operation takes no body; send none, or an empty object {}.";
        try
        {
            using var document = System.Text.Json.JsonDocument.Parse(text);
            if (document.RootElement.ValueKind != System.Text.Json.JsonValueKind.Object)
            {
                return ("body", "it is not a JSON object; " + takes);
            }

            var names = document.RootElement.EnumerateObject().Select(p => p.Name).ToList();
            if (names.Count == 0)
            {
                return null;
            }

            var shown = names[0].Length <= 40 ? names[0] : names[0][..40] + "…";
            return (shown, $"'{shown}' is not a known property of the request body: {takes}"
                + (names.Count > 1 ? $" It also has {names.Count - 1} other propert{(names.Count == 2 ? "y" : "ies")}." : ""));
        }
        catch (System.Text.Json.JsonException)
        {
            return ("body", "it is not JSON; " + takes);
        }
    }

    /// <summary>
    /// "the body is empty" or "the body is null" when the body holds no JSON object for certain, else null. Reads at
    /// most the first non-blank bytes and leaves the body readable from the start.
    /// </summary>
    private static async Task<string?> MissingBodyAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (request.ContentLength == 0)
        {
            return "the body is empty";
        }

        request.EnableBuffering();
        var buffer = new byte[256];
        var text = new List<byte>();
        try
        {
            int read;
            while ((read = await request.Body.ReadAsync(buffer, cancellationToken)) > 0)
            {
                foreach (var b in buffer.AsSpan(0, read))
                {
                    if (b is not ((byte)' ' or (byte)'\t' or (byte)'\r' or (byte)'\n'))
                    {
                        text.Add(b);
                    }

                    // Anything longer than "null" is for the binder to judge.
                    if (text.Count > 4 || (text.Count > 0 && text[0] != (byte)'n'))
                    {
                        return null;
                    }
                }
            }

            return text.Count == 0 ? "the body is empty" : text.SequenceEqual("null"u8.ToArray()) ? "the body is null" : null;
        }
        finally
        {
            request.Body.Position = 0;
        }
    }
}

/// <summary>
/// Kestrel answers a request it cannot parse (a NUL in the path as <c>%00</c>, a malformed request line or header,
/// headers too large or too slow) itself, before any middleware, with an empty body and <c>Connection: close</c>.
/// This connection middleware gives such an answer an RFC 9457 problem body and <c>Cache-Control: no-store</c>: it
/// watches what the connection writes and rewrites a write only when it is exactly such a head (HTTP/1.x, status
/// 4xx/5xx, <c>Content-Length: 0</c>, <c>Connection: close</c>, without the header every application answer carries)
/// and the request being answered is not a HEAD (whose answer must not carry a body). Anything else passes through
/// untouched: the application's responses, and TLS or HTTP/2 bytes (the middleware sits below TLS, so on an HTTPS
/// listener it only ever sees ciphertext and Kestrel's answers keep their empty body).
/// </summary>
public static class KestrelErrorBodies
{
    private static readonly byte[] ContentLengthZero = "\r\nContent-Length: 0\r\n"u8.ToArray();
    private static readonly byte[] ConnectionClose = "\r\nConnection: close\r\n"u8.ToArray();

    // Every answer the application writes passes UseSecurityHeaders, which sets this header; Kestrel's own answers to
    // requests it could not parse never reach the application, so they lack it. That tells them apart on any request of
    // a kept-alive connection, not only its first.
    private static readonly byte[] AppResponseMarker = "\r\nX-Content-Type-Options: nosniff\r\n"u8.ToArray();

    public static void Use(Microsoft.AspNetCore.Server.Kestrel.Core.ListenOptions listen) => listen.Use(next => async connection =>
    {
        var original = connection.Transport;
        var output = new Pipe();
        var input = new RequestMethodReader(original.Input);
        connection.Transport = new DuplexPipe(input, output.Writer);
        var pump = PumpAsync(output.Reader, original.Output, input);
        try
        {
            await next(connection);
        }
        finally
        {
            await output.Writer.CompleteAsync();
            await pump;
            // Kestrel completed our pipe, not the socket's: close it the same way once everything written has gone out.
            await original.Output.CompleteAsync();
            connection.Transport = original;
        }
    });

    private static async Task PumpAsync(PipeReader reader, PipeWriter target, RequestMethodReader input)
    {
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync();
                var buffer = result.Buffer;
                var tail = buffer.IsEmpty || input.LatestRequestIsHead ? -1 : ErrorHeadStart(buffer);
                var rewritten = tail < 0 ? null : WithProblemBody(buffer.Slice(tail).ToArray());
                foreach (var segment in rewritten is null ? buffer : buffer.Slice(0, tail))
                {
                    target.Write(segment.Span);
                }

                if (rewritten is not null)
                {
                    target.Write(rewritten);
                }

                reader.AdvanceTo(buffer.End);
                var flushed = buffer.IsEmpty ? default : await target.FlushAsync();
                if (result.IsCompleted || result.IsCanceled || flushed.IsCompleted)
                {
                    break;
                }
            }
        }
        catch (Exception ex) when (ex is IOException or InvalidOperationException or OperationCanceledException or System.Net.Sockets.SocketException)
        {
            // The client went away; there is nobody left to answer.
        }
        finally
        {
            await reader.CompleteAsync();
        }
    }

    /// <summary>
    /// Where a write's last response head starts, when the write ends with a head (a blank line) whose status is 4xx or
    /// 5xx; else -1. A cheap look before any copy. The head may follow earlier responses in the same write (pipelined
    /// requests, or a pump that fell behind), so it is searched for in the write's last 2 KB.
    /// </summary>
    private static int ErrorHeadStart(ReadOnlySequence<byte> buffer)
    {
        if (buffer.Length < 16)
        {
            return -1;
        }

        var window = buffer.Length > 2048 ? buffer.Slice(buffer.Length - 2048) : buffer;
        Span<byte> last = stackalloc byte[4];
        window.Slice(window.Length - 4).CopyTo(last);
        if (!last.SequenceEqual("\r\n\r\n"u8))
        {
            return -1;
        }

        var bytes = window.ToArray();
        var at = bytes.AsSpan().LastIndexOf("HTTP/1."u8);
        if (at < 0 || bytes.Length - at < 16 || bytes[at + 9] is not ((byte)'4' or (byte)'5'))
        {
            return -1;
        }

        return (int)(buffer.Length - window.Length) + at;
    }

    /// <summary>The response head with a problem body, when <paramref name="written"/> is one of Kestrel's empty error answers; otherwise null.</summary>
    internal static byte[]? WithProblemBody(byte[] written)
    {
        var span = written.AsSpan();
        if (!span.StartsWith("HTTP/1."u8) || span.Length < 16 || span[9] is not ((byte)'4' or (byte)'5') || !span.EndsWith("\r\n\r\n"u8)
            || span.IndexOf(ContentLengthZero) < 0 || span.IndexOf(ConnectionClose) < 0 || span[..^4].IndexOf("\r\n\r\n"u8) >= 0
            || span.IndexOf(AppResponseMarker) >= 0)
        {
            return null;
        }

        if (!int.TryParse(span.Slice(9, 3), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var status))
        {
            return null;
        }

        var detail = status switch
        {
            400 => "The request line or a header could not be read: a path with a NUL or control character (such as %00), invalid percent-encoding, or a malformed header.",
            408 => "The request headers did not arrive in time.",
            413 => "The request body is larger than the server accepts.",
            414 => "The request target is longer than the server accepts.",
            431 => "The request headers are larger than the server accepts.",
            _ => "The server could not read the request.",
        };
        var body = System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
        {
            ["type"] = status == 431 ? "https://www.rfc-editor.org/rfc/rfc6585#section-5" : $"https://tools.ietf.org/html/rfc9110#section-15.{(status >= 500 ? 6 : 5)}.{SectionOf(status)}",
            ["title"] = Microsoft.AspNetCore.WebUtilities.ReasonPhrases.GetReasonPhrase(status),
            ["status"] = status,
            ["detail"] = detail,
        });
        var head = Encoding.ASCII.GetString(span[..^2]).Replace(
            "\r\nContent-Length: 0\r\n", $"\r\nContent-Type: application/problem+json\r\nCache-Control: no-store\r\nContent-Length: {body.Length}\r\n", StringComparison.Ordinal);
        return [.. Encoding.ASCII.GetBytes(head + "\r\n"), .. body];
    }

    private static int SectionOf(int status) => status switch
    {
        400 => 1,
        408 => 9,
        413 => 14,
        414 => 15,
        505 => 6,
        _ => 1,
    };

    /// <summary>
    /// Passes the connection's input through untouched, noting whether the latest bytes read start with a HEAD request
    /// line. Kestrel reads a request only after it has answered the one before, so when it rejects a request the latest
    /// read normally starts with that request; an answer to a HEAD never carries a body.
    /// </summary>
    private sealed class RequestMethodReader(PipeReader inner) : PipeReader
    {
        private static readonly byte[] Head = "HEAD "u8.ToArray();
        private volatile bool latestIsHead;

        /// <summary>True when the latest bytes read start with (a prefix of) "HEAD ".</summary>
        public bool LatestRequestIsHead => latestIsHead;

        public override async ValueTask<ReadResult> ReadAsync(CancellationToken cancellationToken = default)
        {
            var result = await inner.ReadAsync(cancellationToken);
            Note(result.Buffer);
            return result;
        }

        public override bool TryRead(out ReadResult result)
        {
            var read = inner.TryRead(out result);
            if (read)
            {
                Note(result.Buffer);
            }

            return read;
        }

        public override void AdvanceTo(SequencePosition consumed) => inner.AdvanceTo(consumed);

        public override void AdvanceTo(SequencePosition consumed, SequencePosition examined) => inner.AdvanceTo(consumed, examined);

        public override void CancelPendingRead() => inner.CancelPendingRead();

        public override void Complete(Exception? exception = null) => inner.Complete(exception);

        public override ValueTask CompleteAsync(Exception? exception = null) => inner.CompleteAsync(exception);

        private void Note(ReadOnlySequence<byte> buffer)
        {
            if (buffer.IsEmpty)
            {
                return;
            }

            Span<byte> start = stackalloc byte[Head.Length];
            var length = (int)Math.Min(buffer.Length, start.Length);
            buffer.Slice(0, length).CopyTo(start);
            latestIsHead = Head.AsSpan().StartsWith(start[..length]);
        }
    }

    private sealed class DuplexPipe(PipeReader input, PipeWriter output) : IDuplexPipe
    {
        public PipeReader Input => input;

        public PipeWriter Output => output;
    }
}
