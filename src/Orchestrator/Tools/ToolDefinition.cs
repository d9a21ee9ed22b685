namespace Orchestrator.Tools;

/// <summary>A named operation with a JSON Schema for its arguments, stored in EF Core. Every save is a new version.</summary>
public sealed class ToolDefinition
{
    public required string Name { get; set; }

    public string? Description { get; set; }

    public ToolKind Kind { get; set; }

    /// <summary>JSON Schema (draft 2020-12 unless its <c>$schema</c> says otherwise) that arguments must satisfy.</summary>
    public required string ParametersSchema { get; set; }

    public string? ResultSchema { get; set; }

    /// <summary>Kind-specific settings (argv template for <c>command</c>, request template for <c>http</c>).</summary>
    public required string ConfigJson { get; set; }

    public bool Enabled { get; set; } = true;

    public int Version { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}

public enum ToolKind
{
    Builtin,
    Command,
    Http,
}
