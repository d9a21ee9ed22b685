using System.Globalization;

namespace Orchestrator.Api;

public sealed record PagedList<T>(IReadOnlyList<T> Items, int Page, int PageSize, int Total);

/// <summary>
/// The page of a list that answers its newest items only (<see cref="PagingRule.NewestOnly"/>): the same envelope as
/// every other list (<c>items</c>, <c>pageSize</c>), with <see cref="HasMore"/> saying whether older items were left out.
/// </summary>
/// <param name="Items">The newest items, newest first.</param>
/// <param name="PageSize">How many were asked for (the default when none was).</param>
/// <param name="HasMore">Whether older items exist beyond these; a larger pageSize shows more of them.</param>
public sealed record NewestPage<T>(IReadOnlyList<T> Items, int PageSize, bool HasMore);

/// <summary>A page as the service reads it: its 1-based number and its size, already checked against the route's rule.</summary>
public readonly record struct Paging(int Number, int Size)
{
    public const int MaxSize = 200;

    public int Skip => (Number - 1) * Size;

    /// <summary>
    /// For callers inside the server that page through everything (apply, the schedule tools): their numbers are their
    /// own, never a client's. A client's paging goes through <see cref="PagingRule.Read(int?, int?, FieldErrors, string?)"/>.
    /// </summary>
    public static Paging From(int? page, int? pageSize) =>
        new(Math.Max(1, page ?? 1), Math.Clamp(pageSize ?? 50, 1, MaxSize));
}

/// <summary>
/// The paging one list route takes, and the one parser of it: every list route reads <c>page</c>, <c>pageSize</c> and
/// <c>cursor</c> here, so a value outside the range is the same 422 naming the parameter and the range everywhere
/// (silently clamped, <c>pageSize=5000</c> returned 200 rows that looked like all of them). The rule is also endpoint
/// metadata (<see cref="PagingEndpointConventions.WithPaging"/>): the OpenAPI document shows its limits from it, and a
/// value that is not a number is answered by the same rule (<see cref="NotANumber"/>).
/// </summary>
/// <param name="DefaultSize">The page size when none is given.</param>
/// <param name="MaxSize">The largest page size the route serves.</param>
/// <param name="ByNumber">Whether the route takes <c>page</c> (1-based).</param>
/// <param name="ByCursor">Whether the route takes <c>cursor</c> (the previous page's <c>nextCursor</c>).</param>
public sealed record PagingRule(int DefaultSize, int MaxSize, bool ByNumber = true, bool ByCursor = false)
{
    public const string PageName = "page";
    public const string PageSizeName = "pageSize";
    public const string CursorName = "cursor";

    /// <summary>Most lists: <c>page</c> from 1, <c>pageSize</c> 1 to 200 (50 when not given).</summary>
    public static readonly PagingRule Standard = new(50, Paging.MaxSize);

    /// <summary>Schedules: by <c>page</c> or by <c>cursor</c>, 1 to 200 a page.</summary>
    public static readonly PagingRule NumberOrCursor = new(50, Paging.MaxSize, ByCursor: true);

    /// <summary>The audit log: by <c>cursor</c> only, newest first, 1 to 200 a page.</summary>
    public static readonly PagingRule CursorOnly = new(50, Paging.MaxSize, ByNumber: false, ByCursor: true);

    /// <summary>Misfire histories: the newest <c>pageSize</c> (1 to 1000, 100 when not given), no further pages.</summary>
    public static readonly PagingRule NewestOnly = new(100, 1000, ByNumber: false);

    /// <summary>Why a page number is refused (the value follows), the same words for a number out of range and for text that is not one.</summary>
    public const string PageReason = "must be a whole number, 1 or more";

    /// <summary>Why a page size is refused (the value follows), naming this route's range.</summary>
    public string PageSizeReason => string.Create(CultureInfo.InvariantCulture, $"must be a whole number between 1 and {MaxSize}");

    /// <summary>
    /// The page to read: each refused value added to <paramref name="errors"/> (so a route names it together with its
    /// filters' refusals, in one answer), and the defaults for what is not given. The cursor itself is the route's to
    /// decode (its format is the list's own); here it is refused only together with <c>page</c>, which it replaces.
    /// </summary>
    public Paging Read(int? page, int? pageSize, FieldErrors errors, string? cursor = null)
    {
        if (page is < 1)
        {
            errors.Add(PageName, $"{PageReason}; {page.Value.ToString(CultureInfo.InvariantCulture)} is not.");
        }

        if (pageSize is { } size && (size < 1 || size > MaxSize))
        {
            errors.Add(PageSizeName, $"{PageSizeReason}; {size.ToString(CultureInfo.InvariantCulture)} is not.");
        }

        if (page is not null && !string.IsNullOrEmpty(cursor) && ByNumber && ByCursor)
        {
            const string reason = "give page or cursor, not both: a cursor already says where the page starts.";
            errors.Add(PageName, reason);
            errors.Add(CursorName, reason);
        }

        return new Paging(page is >= 1 ? page.Value : 1, pageSize is { } s && s >= 1 && s <= MaxSize ? s : DefaultSize);
    }

    /// <summary>The page to read, or the 422 naming each refused paging value (for a route with no filters of its own to check).</summary>
    public Outcome<Paging> Read(int? page, int? pageSize)
    {
        var errors = new FieldErrors();
        var paging = Read(page, pageSize, errors);
        return errors.Any ? errors.ToProblemDetails() : paging;
    }

    /// <summary>The three paging parameters, each of which a route either reads or refuses (see <see cref="Unread"/>).</summary>
    public static readonly string[] Names = [PageName, PageSizeName, CursorName];

    /// <summary>What this route pages by, in the words a refusal of another paging parameter uses.</summary>
    public string PagesBy => (ByNumber, ByCursor) switch
    {
        (true, true) => "page or cursor, with pageSize",
        (true, false) => "page and pageSize",
        (false, true) => "cursor (the previous page's nextCursor) and pageSize",
        _ => "pageSize only: it answers the newest items, with no further pages",
    };

    /// <summary>Whether this route reads the paging parameter <paramref name="name"/> (one of <see cref="Names"/>).</summary>
    public bool Reads(string name) => name switch
    {
        PageName => ByNumber,
        CursorName => ByCursor,
        _ => true,
    };

    /// <summary>
    /// The paging parameters in <paramref name="query"/> that a route with <paramref name="rule"/> (null: a route that
    /// is not paged) does not read, each with the reason to refuse it. Ignored, <c>cursor</c> on the runs list answered
    /// the first page again as if it were the next, and a client walked the same rows forever.
    /// </summary>
    public static IEnumerable<(string Name, string Reason)> Unread(PagingRule? rule, IQueryCollection query)
    {
        foreach (var name in Names)
        {
            if (query.ContainsKey(name) && rule?.Reads(name) != true)
            {
                yield return (name, rule is null
                    ? $"is not read by this route: it is not paged (it answers all it has at once); leave {name} out."
                    : $"is not read by this route: it pages by {rule.PagesBy}; leave {name} out.");
            }
        }
    }

    /// <summary>
    /// The reason for a paging parameter the binder could not read as a number (<c>pageSize=abc</c>), or null when
    /// <paramref name="name"/> is not one of this rule's numbers: the same words as for a number out of range.
    /// </summary>
    public string? NotANumber(string name) => name switch
    {
        PageSizeName => PageSizeReason,
        PageName when ByNumber => PageReason,
        _ => null,
    };
}

/// <summary>Marks a list route with its <see cref="PagingRule"/>.</summary>
public static class PagingEndpointConventions
{
    /// <summary>
    /// Puts the rule in the route's metadata: the OpenAPI document shows its limits and the 422 it answers with
    /// (<see cref="PagingOperationTransformer"/>), and a paging value that is not a number is refused by it.
    /// </summary>
    public static RouteHandlerBuilder WithPaging(this RouteHandlerBuilder builder, PagingRule rule) => builder.WithMetadata(rule);
}
