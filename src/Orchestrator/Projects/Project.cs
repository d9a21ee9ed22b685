namespace Orchestrator.Projects;

/// <summary>A named workspace with a root directory; every file path of its schedules and tools resolves inside that root.</summary>
public sealed class Project
{
    public const int MaxIdLength = 63;
    public const int MaxNameLength = 200;
    public const int MaxRootPathLength = 1024;
    public const string DefaultId = "default";

    public required string Id { get; set; }

    public required string Name { get; set; }

    public required string RootPath { get; set; }

    public DateTimeOffset CreatedAt { get; set; }

    public DateTimeOffset UpdatedAt { get; set; }
}
