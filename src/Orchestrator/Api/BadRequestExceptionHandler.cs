using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Diagnostics;
using Microsoft.AspNetCore.Http.Json;
using Microsoft.Extensions.Options;

namespace Orchestrator.Api;

/// <summary>
/// Turns what the binder cannot read (bad JSON, a value of the wrong kind, a number that does not fit its field, a query
/// value that is not a number, a property the request record does not have, an oversized body) into a 400/413 problem that says where and why in the product's words,
/// with an <c>errors</c> map keyed by the field (<c>timeoutSeconds</c>, <c>trigger.intervalSeconds</c>, <c>page</c>),
/// the same shape as the 422s. Anything else becomes a 500 problem without internals.
/// </summary>
internal sealed partial class BadRequestExceptionHandler(
    IProblemDetailsService problems, IOptions<JsonOptions> json, ILogger<BadRequestExceptionHandler> logger) : IExceptionHandler
{
    public async ValueTask<bool> TryHandleAsync(HttpContext context, Exception exception, CancellationToken cancellationToken)
    {
        if (exception is not BadHttpRequestException bad)
        {
            LogUnhandled(logger, exception, context.Request.Method, context.Request.Path);
            return false;
        }

        var (field, reason, detail) = bad.InnerException is JsonException json
            ? await DescribeBodyAsync(context.Request, json)
            : DescribeParameter(bad);
        var status = bad.StatusCode;
        // A paging value that is not a number is refused by the route's paging rule, as one out of its range is: the
        // same 422 naming the parameter and the range on every list route.
        if (bad.InnerException is not JsonException && PagingRefusal(context, bad) is { } paging)
        {
            (field, reason, detail, status) = paging;
        }

        context.Response.StatusCode = status;
        return await problems.TryWriteAsync(new ProblemDetailsContext
        {
            HttpContext = context,
            Exception = exception,
            ProblemDetails = new HttpValidationProblemDetails(new Dictionary<string, string[]> { [field] = [reason] })
            {
                Status = status,
                Title = "The request could not be read.",
                Detail = detail,
            },
        });
    }

    /// <summary>A query or route value the binder could not convert ("Failed to bind parameter \"int? page\" from \"x\"").</summary>
    private static (string Field, string Reason, string Detail) DescribeParameter(BadHttpRequestException bad)
    {
        if (FailedParameter().Match(bad.Message) is { Success: true } failed)
        {
            var name = failed.Groups["name"].Value;
            var type = TypeNamed(failed.Groups["type"].Value);
            var value = failed.Groups["value"].Value;
            var reason = IsWhole(type) && IsNonIntegerNumber(value)
                ? $"must be {FractionRefusal(value)}; '{Shorten(value)}' is not."
                : $"must be {Expected(type)}; '{Shorten(value)}' is not.";
            return (name, reason, $"The parameter '{name}' {reason}");
        }

        return ("body", bad.Message, bad.Message);
    }

    /// <summary>The paging rule's 422 for a paging parameter of a list route the binder could not read, else null.</summary>
    private static (string Field, string Reason, string Detail, int Status)? PagingRefusal(HttpContext context, BadHttpRequestException bad)
    {
        // The exception handler runs with the endpoint cleared; the feature keeps the one that failed.
        var endpoint = context.Features.Get<IExceptionHandlerFeature>()?.Endpoint ?? context.GetEndpoint();
        if (endpoint?.Metadata.GetMetadata<PagingRule>() is not { } rule || FailedParameter().Match(bad.Message) is not { Success: true } failed
            || rule.NotANumber(failed.Groups["name"].Value) is not { } stem)
        {
            return null;
        }

        var name = failed.Groups["name"].Value;
        var reason = $"{stem}; '{Shorten(failed.Groups["value"].Value)}' is not.";
        return (name, reason, $"The parameter '{name}' {reason}", StatusCodes.Status422UnprocessableEntity);
    }

    private async Task<(string Field, string Reason, string Detail)> DescribeBodyAsync(HttpRequest request, JsonException exception)
    {
        if (UnmappedProperty().Match(exception.Message) is { Success: true } unmapped)
        {
            return DescribeUnknownProperty(exception.Path, unmapped.Groups["name"].Value, unmapped.Groups["type"].Value);
        }

        return await DescribeValueAsync(request, exception);
    }

    /// <summary>
    /// A property the request record does not have: "'backof' is not a known property of retry; known: maxAttempts, …",
    /// keyed by its path (<c>retry.backof</c>) so the caller sees which object it was in.
    /// </summary>
    private (string Field, string Reason, string Detail) DescribeUnknownProperty(string? path, string name, string typeName)
    {
        // System.Text.Json's path usually ends at the unknown name ($.retry.backof); should it stop at the object, add it.
        var field = FieldOf(path);
        string parent;
        if (field == name)
        {
            parent = "";
        }
        else if (field.EndsWith("." + name, StringComparison.Ordinal))
        {
            parent = field[..^(name.Length + 1)];
        }
        else
        {
            parent = field == "body" ? "" : field;
            field = parent.Length == 0 ? name : $"{parent}.{name}";
        }

        var type = typeof(BadRequestExceptionHandler).Assembly.GetType(typeName);
        var known = type is null ? [] : json.Value.SerializerOptions.GetTypeInfo(type).Properties.Select(p => p.Name).ToList();
        var reason = $"'{Shorten(name)}' is not a known property of {(parent.Length == 0 ? "the request body" : parent)}"
            + (known.Count == 0 ? "." : $"; known: {string.Join(", ", known)}.");
        return (field, reason, $"The body is not valid for this request at '$.{field}': {reason}");
    }

    private static async Task<(string Field, string Reason, string Detail)> DescribeValueAsync(HttpRequest request, JsonException json)
    {
        var field = FieldOf(json.Path);
        var reason = await ReasonAsync(request, json);
        return (field, reason, $"The body is not valid for this request at '{json.Path ?? "$"}': {reason}");
    }

    private static async Task<string> ReasonAsync(HttpRequest request, JsonException json)
    {
        if (DuplicateProperty().Match(json.Message) is { Success: true } duplicate)
        {
            return $"the property '{duplicate.Groups[1].Value}' is given more than once; each property of a JSON object may appear only once.";
        }

        if (!json.Message.Contains("could not be converted to", StringComparison.Ordinal))
        {
            // Malformed JSON: System.Text.Json's first sentence says what it met; the rest is "Path: $.x | LineNumber…" (reported
            // as the field) or advice to the programmer ("Change the reader options.").
            if (json.Message.Contains("trailing comma", StringComparison.Ordinal))
            {
                return "the JSON has a trailing comma, which is not allowed.";
            }

            if (json.Message.Contains("Expected depth to be zero", StringComparison.Ordinal))
            {
                return "the JSON ends before every object and array it opens is closed.";
            }

            var cut = json.Message.IndexOf(". ", StringComparison.Ordinal);
            return cut > 0 ? json.Message[..(cut + 1)] : json.Message;
        }

        // The exception handler runs with the endpoint cleared; the feature keeps the one that failed.
        var endpoint = request.HttpContext.Features.Get<IExceptionHandlerFeature>()?.Endpoint ?? request.HttpContext.GetEndpoint();
        var expected = Expected(MemberTypeAt(endpoint?.Metadata.GetMetadata<Microsoft.AspNetCore.Http.Metadata.IAcceptsMetadata>()?.RequestType, json.Path));
        var wantsNumber = expected.StartsWith("a whole number", StringComparison.Ordinal) || expected == "a number";
        var wantsWhole = expected.StartsWith("a whole number", StringComparison.Ordinal);
        return await ValueAtAsync(request, json.Path) switch
        {
            // 1.5 in an integer field is not too large or too small: the .NET type's range would answer a question not asked.
            (JsonValueKind.Number, var text) when wantsWhole && IsNonIntegerNumber(text) => $"must be {FractionRefusal(text)}; {text} is not.",
            (JsonValueKind.Number, var text) when wantsNumber => $"must be {expected}; {text} is not.",
            (JsonValueKind.Undefined, _) => $"must be {expected}.",
            (var kind, _) => $"must be {expected}, not {KindName(kind)}.",
        };
    }

    private static string KindName(JsonValueKind kind) => kind switch
    {
        JsonValueKind.Number => "a number",
        JsonValueKind.String => "a string",
        JsonValueKind.True or JsonValueKind.False => "true/false",
        JsonValueKind.Object => "an object",
        JsonValueKind.Array => "an array",
        _ => "null",
    };

    /// <summary>"$.trigger.intervalSeconds" → "trigger.intervalSeconds"; "$" (the whole body) → "body".</summary>
    private static string FieldOf(string? path)
    {
        if (string.IsNullOrEmpty(path) || path == "$")
        {
            return "body";
        }

        var field = path.StartsWith("$.", StringComparison.Ordinal) ? path[2..] : path.TrimStart('$');
        return field.Length == 0 ? "body" : field;
    }

    /// <summary>The .NET type a parameter's display name ("int?", "Nullable<long>", "DateTimeOffset") stands for, if it is a simple one.</summary>
    private static Type? TypeNamed(string name)
    {
        var bare = NullableName().Match(name) is { Success: true } nullable ? nullable.Groups[1].Value : name.TrimEnd('?');
        return bare switch
        {
            "int" => typeof(int),
            "long" => typeof(long),
            "short" => typeof(short),
            "byte" => typeof(byte),
            "uint" => typeof(uint),
            "ulong" => typeof(ulong),
            "double" or "float" or "decimal" => typeof(double),
            "bool" => typeof(bool),
            "string" => typeof(string),
            "DateTimeOffset" or "DateTime" => typeof(DateTimeOffset),
            "Guid" => typeof(Guid),
            _ => null,
        };
    }

    /// <summary>
    /// The type of the member the body's <paramref name="path"/> names, walked from the route's body type: System.Text.Json
    /// names the record it was building, not the member, when the record is built through its constructor.
    /// </summary>
    private static Type? MemberTypeAt(Type? root, string? path)
    {
        if (root is null || path is null)
        {
            return null;
        }

        var type = root;
        foreach (var step in Steps(path))
        {
            type = Nullable.GetUnderlyingType(type) ?? type;
            type = step switch
            {
                string name => type.GetProperty(name, System.Reflection.BindingFlags.Public | System.Reflection.BindingFlags.Instance | System.Reflection.BindingFlags.IgnoreCase)?.PropertyType,
                _ when type.IsArray => type.GetElementType(),
                _ => type.GetInterfaces().Prepend(type).FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>))?.GetGenericArguments()[0],
            };
            if (type is null)
            {
                return null;
            }
        }

        return Nullable.GetUnderlyingType(type) ?? type;
    }

    /// <summary>What a field of <paramref name="type"/> takes, in the caller's words.</summary>
    private static string Expected(Type? type) => type switch
    {
        null => "a value of another kind",
        _ when type == typeof(int) => Between(int.MinValue, int.MaxValue),
        _ when type == typeof(long) => Between(long.MinValue, long.MaxValue),
        _ when type == typeof(short) => Between(short.MinValue, short.MaxValue),
        _ when type == typeof(byte) => Between(byte.MinValue, byte.MaxValue),
        _ when type == typeof(uint) => Between(uint.MinValue, uint.MaxValue),
        _ when type == typeof(ulong) => Between(ulong.MinValue, ulong.MaxValue),
        _ when type == typeof(double) || type == typeof(float) || type == typeof(decimal) => "a number",
        _ when type == typeof(bool) => "true or false",
        _ when type == typeof(string) => "a string",
        _ when type == typeof(DateTimeOffset) || type == typeof(DateTime) => "a date and time as an ISO 8601 string (e.g. 2026-01-01T09:00:00Z)",
        _ when type == typeof(Guid) => "a UUID string",
        _ when type == typeof(JsonArray) || (type != typeof(string) && type.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IEnumerable<>))
            && !type.GetInterfaces().Any(i => i.IsGenericType && i.GetGenericTypeDefinition() == typeof(IDictionary<,>)) && type != typeof(JsonObject)) => "a JSON array",
        _ => "a JSON object",
    };

    private static bool IsWhole(Type? type) =>
        type == typeof(int) || type == typeof(long) || type == typeof(short) || type == typeof(byte) || type == typeof(uint) || type == typeof(ulong);

    /// <summary>
    /// Whether <paramref name="text"/> is a number written with a fraction or an exponent (<c>1.5</c>, <c>2.0</c>,
    /// <c>1e3</c>): no integer field reads one, whatever its value, so it is refused as not whole rather than as out of range.
    /// </summary>
    private static bool IsNonIntegerNumber(string text) =>
        text.AsSpan().ContainsAny('.', 'e', 'E')
        && double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && double.IsFinite(number);

    /// <summary>The refusal of a number with a fraction or exponent: "a whole number", and how to write it when its value is one (2.0, 1e3).</summary>
    private static string FractionRefusal(string text) =>
        double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var number) && number == Math.Floor(number) && Math.Abs(number) < 1e15
            ? $"a whole number written without a decimal point or exponent (such as {number.ToString("0", CultureInfo.InvariantCulture)})"
            : "a whole number";

    private static string Between<T>(T min, T max) where T : IFormattable =>
        $"a whole number between {min.ToString(null, CultureInfo.InvariantCulture)} and {max.ToString(null, CultureInfo.InvariantCulture)}";

    /// <summary>
    /// The kind and text of the value the body holds at <paramref name="path"/>, read again from the buffered body
    /// (UseJsonObjectBodies buffers every JSON body); Undefined when it cannot be found.
    /// </summary>
    private static async Task<(JsonValueKind Kind, string Text)> ValueAtAsync(HttpRequest request, string? path)
    {
        if (path is null || !request.Body.CanSeek)
        {
            return default;
        }

        try
        {
            request.Body.Position = 0;
            var node = await JsonNode.ParseAsync(request.Body, documentOptions: new JsonDocumentOptions { AllowTrailingCommas = false });
            foreach (var step in Steps(path))
            {
                node = step switch
                {
                    string name when node is JsonObject o => o.TryGetPropertyValue(name, out var v) ? v : o.FirstOrDefault(p => string.Equals(p.Key, name, StringComparison.OrdinalIgnoreCase)).Value,
                    int index when node is JsonArray a && index < a.Count => a[index],
                    _ => null,
                };
                if (node is null)
                {
                    return (JsonValueKind.Null, "null");
                }
            }

            return node is null ? (JsonValueKind.Null, "null") : (node.GetValueKind(), Shorten(node.ToJsonString()));
        }
        catch (Exception ex) when (ex is JsonException or IOException or InvalidOperationException or NotSupportedException)
        {
            return default;
        }
    }

    private static string Shorten(string text) => text.Length <= 40 ? text : text[..40] + "…";

    /// <summary>The steps of a System.Text.Json path: <c>$.a.b[2]['c.d']</c> → "a", "b", 2, "c.d".</summary>
    private static IEnumerable<object> Steps(string path)
    {
        foreach (Match step in PathStep().Matches(path))
        {
            if (step.Groups["name"].Success)
            {
                yield return step.Groups["name"].Value;
            }
            else if (step.Groups["quoted"].Success)
            {
                yield return step.Groups["quoted"].Value;
            }
            else
            {
                yield return int.Parse(step.Groups["index"].Value, CultureInfo.InvariantCulture);
            }
        }
    }

    [GeneratedRegex(@"\.(?<name>[^.\[]+)|\['(?<quoted>[^']*)'\]|\[(?<index>\d+)\]", RegexOptions.CultureInvariant)]
    private static partial Regex PathStep();

    [GeneratedRegex("^Nullable<(.+)>$", RegexOptions.CultureInvariant)]
    private static partial Regex NullableName();

    [GeneratedRegex("^Failed to bind parameter \"(?<type>.+) (?<name>[^ ]+)\" from \"(?<value>.*)\"\\.$", RegexOptions.CultureInvariant | RegexOptions.Singleline)]
    private static partial Regex FailedParameter();

    [GeneratedRegex("^The JSON property '(?<name>.*)' could not be mapped to any .NET member contained in type '(?<type>[^']+)'", RegexOptions.CultureInvariant | RegexOptions.Singleline)]
    private static partial Regex UnmappedProperty();

    [GeneratedRegex("^Duplicate property '(.*?)' encountered", RegexOptions.CultureInvariant)]
    private static partial Regex DuplicateProperty();

    [LoggerMessage(Level = LogLevel.Error, Message = "Unhandled exception for {Method} {Path}")]
    private static partial void LogUnhandled(ILogger logger, Exception exception, string method, string path);
}
