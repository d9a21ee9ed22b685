namespace Orchestrator.Schedules;

/// <summary>
/// The query of <c>GET /api/schedules</c>: filters (all given must match), <c>q</c> (text in the id, case-insensitive),
/// and either a page number or a cursor (<c>cursor</c>: the previous page's <c>nextCursor</c>).
/// </summary>
public sealed record ScheduleListRequest(string? Project, string? ActionType, string? State, string? Q, int? Page, int? PageSize, string? Cursor);

/// <summary>
/// One page of schedules in a stable order (project ordinal, then name). <see cref="Total"/> is the count of what
/// matched when paging by number — null when more than <see cref="TotalAtLeast"/> matched (counting 100,000 rows
/// would cost more than the page), and null when paging by cursor (a count would cost what the cursor saves);
/// <see cref="HasMore"/> says whether another page follows, and <see cref="NextCursor"/> starts it.
/// </summary>
public sealed record SchedulePage(IReadOnlyList<ScheduleResponse> Items, int Page, int PageSize, int? Total, bool HasMore, string? NextCursor)
{
    /// <summary>The most a page counts; past it <see cref="Total"/> is null and <see cref="TotalAtLeast"/> says so.</summary>
    public const int CountLimit = 10_000;

    /// <summary>Set (to <see cref="CountLimit"/> + 1) when a page by number matched more than it counts.</summary>
    public int? TotalAtLeast { get; init; }
}
