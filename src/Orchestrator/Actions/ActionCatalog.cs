using System.Diagnostics.CodeAnalysis;
using System.Text.Json;
using NJsonSchema;
using NJsonSchema.Validation;
using Orchestrator.Hosting;

namespace Orchestrator.Actions;

/// <summary>One action type: its name, the Quartz job that runs it, and the JSON Schema its config must satisfy.</summary>
public abstract class ActionDefinition
{
    private JsonSchema? schema;

    public abstract string Type { get; }

    public abstract Type JobType { get; }

    /// <summary>The JSON Schema (draft 7) of the config, as text so it can be served as is.</summary>
    public abstract string SchemaJson { get; }

    public JsonSchema Schema => schema ??= JsonSchema.FromJsonAsync(SchemaJson).GetAwaiter().GetResult();

    /// <summary>Schema validation, then the checks a schema cannot express (e.g. which hosts may be called).</summary>
    /// <param name="projectId">The project the config will run in, when known (a schedule's), for checks that depend on it.</param>
    public async ValueTask ValidateAsync(JsonElement config, string prefix, FieldErrors errors, CancellationToken cancellationToken, string? projectId = null)
    {
        if (!JsonNumbers.TryValidate(Schema, config, out var schemaErrors))
        {
            foreach (var (path, _) in JsonNumbers.OutOfRangeIntegers(config, prefix))
            {
                errors.Add(path, JsonNumbers.OutOfRange);
            }

            return;
        }

        foreach (var error in Flatten(schemaErrors))
        {
            errors.Add(FieldPath(prefix, error.Path), $"{Describe(error)} (keyword: {Keyword(error.Kind)}).");
        }

        if (schemaErrors.Count == 0)
        {
            // A reference anywhere else, or a malformed one ("{{secret: X}}") where secrets go, would be sent as written
            // (a subject reading "{{secret:X}}"): refused here instead.
            foreach (var (field, reason) in CallApi.SecretTemplates.ReferenceProblems(config, prefix, AcceptsSecretAt))
            {
                errors.Add(field, reason);
            }

            await ValidateSemanticsAsync(config, prefix, projectId, errors, cancellationToken);
        }
    }

    /// <summary>
    /// Whether a <c>{{secret:NAME}}</c> reference may stand at <paramref name="path"/> of the config (relative, such as
    /// <c>headers.X-Token</c>): only where the executor resolves it. Nowhere, unless an action type says so.
    /// </summary>
    protected virtual bool AcceptsSecretAt(string path) => false;

    /// <summary>
    /// What is wrong with the secret references in <paramref name="text"/> standing at <paramref name="path"/> of the
    /// config (relative, as for <see cref="AcceptsSecretAt"/>), or null: for the text a pipeline node's value keeps
    /// around its placeholders, judged when it is saved by the rule its action type applies to a whole value.
    /// </summary>
    public string? SecretReferenceProblem(string path, string text) => CallApi.SecretTemplates.ReferenceProblem(text, AcceptsSecretAt(path));

    protected virtual ValueTask ValidateSemanticsAsync(JsonElement config, string prefix, string? projectId, FieldErrors errors, CancellationToken cancellationToken) =>
        ValueTask.CompletedTask;

    private static IEnumerable<ValidationError> Flatten(IEnumerable<ValidationError> errors)
    {
        foreach (var error in errors)
        {
            if (error is ChildSchemaValidationError child && child.Errors.Count > 0)
            {
                foreach (var inner in Flatten(child.Errors.SelectMany(e => e.Value)))
                {
                    yield return inner;
                }
            }
            else
            {
                yield return error;
            }
        }
    }

    private static string FieldPath(string prefix, string? path)
    {
        // NJsonSchema paths look like "#/headers.X-Token" or "#/acceptedStatusCodes[0]".
        var relative = (path ?? "#").TrimStart('#').TrimStart('/').Replace('/', '.');
        return relative.Length == 0 ? prefix : $"{prefix}.{relative}";
    }

    private static string Describe(ValidationError error) => error.Kind switch
    {
        ValidationErrorKind.PropertyRequired => "is required",
        ValidationErrorKind.NoAdditionalPropertiesAllowed => "is not a known property",
        ValidationErrorKind.NotInEnumeration => "is not one of the allowed values",
        ValidationErrorKind.StringTooLong => "is too long",
        ValidationErrorKind.StringTooShort => "is too short",
        ValidationErrorKind.NumberTooBig => "is too large",
        ValidationErrorKind.NumberTooSmall => "is too small",
        ValidationErrorKind.TooManyItems => "has too many items",
        ValidationErrorKind.TooManyProperties => "has too many properties",
        ValidationErrorKind.UriExpected => "must be an absolute URI",
        ValidationErrorKind.IntegerExpected => "must be an integer",
        ValidationErrorKind.StringExpected => "must be a string",
        ValidationErrorKind.ObjectExpected => "must be an object",
        ValidationErrorKind.ArrayExpected => "must be an array",
        ValidationErrorKind.PatternMismatch => "does not match the required pattern",
        _ => error.Kind.ToString(),
    };

    private static string Keyword(ValidationErrorKind kind) => kind switch
    {
        ValidationErrorKind.PropertyRequired => "required",
        ValidationErrorKind.NoAdditionalPropertiesAllowed => "additionalProperties",
        ValidationErrorKind.NotInEnumeration => "enum",
        ValidationErrorKind.StringTooLong => "maxLength",
        ValidationErrorKind.StringTooShort => "minLength",
        ValidationErrorKind.NumberTooBig => "maximum",
        ValidationErrorKind.NumberTooSmall => "minimum",
        ValidationErrorKind.TooManyItems => "maxItems",
        ValidationErrorKind.TooManyProperties => "maxProperties",
        ValidationErrorKind.UriExpected => "format",
        ValidationErrorKind.PatternMismatch => "pattern",
        _ when kind.ToString().EndsWith("Expected", StringComparison.Ordinal) => "type",
        _ => kind.ToString(),
    };
}

/// <summary>The action types this server knows, by name.</summary>
public sealed class ActionCatalog(IEnumerable<ActionDefinition> definitions)
{
    private readonly Dictionary<string, ActionDefinition> byType = definitions.ToDictionary(d => d.Type, StringComparer.Ordinal);

    public IReadOnlyCollection<string> Types => byType.Keys;

    public bool TryGet(string type, [NotNullWhen(true)] out ActionDefinition? definition) => byType.TryGetValue(type, out definition);

    public string? TypeOfJob(string? jobTypeName) =>
        byType.Values.FirstOrDefault(d => jobTypeName is not null && jobTypeName.StartsWith(d.JobType.FullName!, StringComparison.Ordinal))?.Type;
}
