using System.Net;

namespace Orchestrator.Actions.CallApi;

/// <summary>
/// Follows redirects for every outbound HTTP call (call_api, http tools, pipeline nodes, webhooks), in place of the
/// socket handler's own following, which forwards every custom header to wherever a peer points. Only http and https
/// targets are followed; anything else (<c>file:</c>, <c>gopher:</c>, <c>ftp:</c>…) or an unreadable Location fails
/// the call with the reason (an <see cref="OutboundRefusedException"/>). When a redirect leaves the first request's origin (scheme, host and port), the
/// credential headers (Authorization, Proxy-Authorization, Cookie) and every header the caller marked as carrying a
/// secret (<see cref="SecretHeaders"/>) are dropped for that hop and every later one, and a 307/308 that would re-send
/// a body carrying a secret (<see cref="SecretBody"/>) to the other origin is refused. Each hop's connection still
/// goes through the outbound address policy.
/// </summary>
public sealed class RedirectHandler : DelegatingHandler
{
    public const int MaxRedirects = 5;

    /// <summary>Names of request headers whose values carry secrets, so they never follow a redirect to another origin.</summary>
    public static readonly HttpRequestOptionsKey<IReadOnlyCollection<string>> SecretHeaders = new("orchestrator.secretHeaders");

    /// <summary>Set when the request body carries a secret: it is not re-sent to another origin.</summary>
    public static readonly HttpRequestOptionsKey<bool> SecretBody = new("orchestrator.secretBody");

    private static readonly string[] CredentialHeaders = ["Authorization", "Proxy-Authorization", "Cookie"];

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var origin = request.RequestUri!;
        // Buffered once, so a 307/308 can send the same bytes again (and every hop has a Content-Length).
        var body = request.Content is null ? null : await request.Content.ReadAsByteArrayAsync(cancellationToken);
        var secretHeaders = request.Options.TryGetValue(SecretHeaders, out var names) ? names : [];
        var secretBody = request.Options.TryGetValue(SecretBody, out var carries) && carries;

        var current = request;
        var leftOrigin = false;
        var response = await base.SendAsync(current, cancellationToken);
        for (var hop = 0; hop < MaxRedirects && IsRedirect(response.StatusCode); hop++)
        {
            if (!response.Headers.NonValidated.TryGetValues("Location", out var locations) || locations.Count == 0)
            {
                // A 3xx without a target is the answer itself.
                break;
            }

            var location = locations.First();
            var from = current.RequestUri!;
            if (!Uri.TryCreate(from, location.Trim(), out var target))
            {
                response.Dispose();
                throw Refused($"{Show(origin, hop)} redirected to a Location that is not a URL; the redirect was not followed.");
            }

            if (target.Scheme != Uri.UriSchemeHttp && target.Scheme != Uri.UriSchemeHttps)
            {
                response.Dispose();
                throw Refused($"{Show(origin, hop)} redirected to {SchemeOf(target)} URL; only http and https redirects are followed.");
            }

            var status = (int)response.StatusCode;
            var method = ForcesGet(status, current.Method) ? HttpMethod.Get : current.Method;
            var resend = body is not null && method == current.Method;
            leftOrigin |= !SameOrigin(origin, target);
            if (leftOrigin && resend && secretBody)
            {
                response.Dispose();
                throw Refused($"{Show(origin, hop)} answered {status}, redirecting to another origin; " +
                              "the request body carries a secret, so it is not sent there.");
            }

            var next = new HttpRequestMessage(method, target) { Version = current.Version, VersionPolicy = current.VersionPolicy };
            foreach (var (key, value) in current.Options)
            {
                ((IDictionary<string, object?>)next.Options)[key] = value;
            }

            foreach (var header in current.Headers)
            {
                var secret = CredentialHeaders.Contains(header.Key, StringComparer.OrdinalIgnoreCase) || secretHeaders.Contains(header.Key, StringComparer.OrdinalIgnoreCase);
                if (!(leftOrigin && secret))
                {
                    next.Headers.TryAddWithoutValidation(header.Key, header.Value);
                }
            }

            if (resend)
            {
                next.Content = new ByteArrayContent(body!);
                foreach (var header in request.Content!.Headers.Where(h => !string.Equals(h.Key, "Content-Length", StringComparison.OrdinalIgnoreCase)))
                {
                    next.Content.Headers.TryAddWithoutValidation(header.Key, header.Value);
                }
            }

            response.Dispose();
            if (!ReferenceEquals(current, request))
            {
                current.Dispose();
            }

            current = next;
            response = await base.SendAsync(current, cancellationToken);
        }

        return response;
    }

    private static bool IsRedirect(HttpStatusCode status) => (int)status is 301 or 302 or 303 or 307 or 308;

    /// <summary>As browsers and the socket handler do: 303 turns anything but HEAD into GET; 301 and 302 turn POST into GET.</summary>
    private static bool ForcesGet(int status, HttpMethod method) =>
        (status == 303 && method != HttpMethod.Head) || (status is 301 or 302 && method == HttpMethod.Post);

    private static bool SameOrigin(Uri a, Uri b) =>
        Uri.Compare(a, b, UriComponents.SchemeAndServer, UriFormat.SafeUnescaped, StringComparison.OrdinalIgnoreCase) == 0;

    /// <summary>
    /// Which server redirected, named by the origin the operator configured, never by a later hop's URL or the Location:
    /// a peer chooses those, and could put in them what the call sent (the message reaches logs through the resilience
    /// pipeline, where nothing masks it).
    /// </summary>
    private static string Show(Uri origin, int hop) => hop == 0 ? "the server" : $"the server reached after {hop} redirect(s) from {origin.GetLeftPart(UriPartial.Authority)}";

    /// <summary>
    /// Not an <see cref="HttpRequestException"/>: the host answered, and it is our policy that stops here, so the refusal
    /// does not count as a failure of the host for its circuit breaker.
    /// </summary>
    private static readonly string[] KnownSchemes = ["file", "ftp", "ftps", "sftp", "gopher", "dict", "ldap", "ldaps", "mailto", "data", "javascript", "ws", "wss", "smb", "telnet", "tftp", "jar", "netdoc"];

    /// <summary>A scheme is named only when it is a known one: the peer writes it, and it reaches logs unmasked.</summary>
    private static string SchemeOf(Uri target) =>
        KnownSchemes.Contains(target.Scheme, StringComparer.OrdinalIgnoreCase) ? $"a {target.Scheme}:" : "a non-HTTP";

    private static OutboundRefusedException Refused(string message) => new(message);
}
