using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;
using Orchestrator.Hosting;

namespace Orchestrator.Actions.CallApi;

/// <summary>
/// Which addresses outbound calls may reach. Loopback, link-local (cloud metadata at 169.254.169.254),
/// private, carrier-grade NAT, multicast and reserved ranges are refused unless the host is on
/// <c>Orchestrator:Outbound:AllowedHosts</c>. Checked at schedule creation for literal hosts and again on
/// every connection, after DNS, so a name that resolves (or is re-bound, or redirects) inward is refused too.
/// </summary>
public sealed class OutboundPolicy(IOptionsMonitor<OrchestratorOptions> options)
{
    private static readonly (IPAddress Network, int Prefix, string Kind)[] RestrictedV4 =
    [
        (IPAddress.Parse("0.0.0.0"), 8, "an unspecified"),
        (IPAddress.Parse("10.0.0.0"), 8, "a private"),
        (IPAddress.Parse("100.64.0.0"), 10, "a carrier-grade NAT"),
        (IPAddress.Parse("127.0.0.0"), 8, "a loopback"),
        (IPAddress.Parse("169.254.0.0"), 16, "a link-local"),
        (IPAddress.Parse("172.16.0.0"), 12, "a private"),
        (IPAddress.Parse("192.0.0.0"), 24, "a reserved"),
        (IPAddress.Parse("192.168.0.0"), 16, "a private"),
        (IPAddress.Parse("198.18.0.0"), 15, "a benchmarking"),
        (IPAddress.Parse("224.0.0.0"), 4, "a multicast"),
        (IPAddress.Parse("240.0.0.0"), 4, "a reserved"),
    ];

    /// <summary>The well-known NAT64 prefix 64:ff9b::/96, whose last 32 bits are the IPv4 address.</summary>
    private static readonly byte[] Nat64Prefix = [0x00, 0x64, 0xff, 0x9b, 0, 0, 0, 0, 0, 0, 0, 0];

    public bool IsAllowedHost(string host)
    {
        host = host.Trim('[', ']');
        foreach (var allowed in options.CurrentValue.Outbound.AllowedHosts)
        {
            if (string.Equals(allowed, host, StringComparison.OrdinalIgnoreCase) ||
                (allowed.StartsWith("*.", StringComparison.Ordinal) && host.EndsWith(allowed[1..], StringComparison.OrdinalIgnoreCase)))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>Checks a URL before it is stored: scheme, allowlist mode, and literal addresses. Returns the reason it is refused.</summary>
    public string? CheckUrl(string url)
    {
        // Uri would quietly drop or escape them; a URL with a line break or NUL is refused as written, never rewritten.
        if (url.Any(char.IsControl))
        {
            return "must not contain control characters (CR, LF, NUL, tab…).";
        }

        if (!Uri.TryCreate(url, UriKind.Absolute, out var uri) || (uri.Scheme != Uri.UriSchemeHttp && uri.Scheme != Uri.UriSchemeHttps))
        {
            return "must be an absolute http:// or https:// URL.";
        }

        if (!string.IsNullOrEmpty(uri.UserInfo))
        {
            return "must not carry credentials in the URL; use a header with a {{secret:NAME}} reference.";
        }

        return CheckHost(uri.IdnHost);
    }

    /// <summary>The reason an address may not be reached from this host name, or null.</summary>
    public string? CheckAddress(IPAddress address, string host)
    {
        if (IsAllowedHost(host))
        {
            return null;
        }

        if (options.CurrentValue.Outbound.RestrictToAllowedHosts)
        {
            return $"host '{host}' is not on Orchestrator:Outbound:AllowedHosts.";
        }

        var kind = RestrictedKind(address);
        return kind is null ? null : $"'{host}' resolves to {address}, {kind} address; add the host to Orchestrator:Outbound:AllowedHosts to allow it.";
    }

    internal static string? RestrictedKind(IPAddress address)
    {
        if (EmbeddedIPv4(address) is { } embedded)
        {
            // Whatever reaches the IPv4 address behind the IPv6 form is what the call reaches.
            address = embedded;
        }

        if (address.AddressFamily == AddressFamily.InterNetworkV6)
        {
            if (IPAddress.IPv6Loopback.Equals(address))
            {
                return "a loopback";
            }

            if (IPAddress.IPv6None.Equals(address))
            {
                return "an unspecified";
            }

            var first = address.GetAddressBytes()[0];
            var second = address.GetAddressBytes()[1];
            return address.IsIPv6LinkLocal ? "a link-local"
                : (first & 0xFE) == 0xFC ? "a private"
                : first == 0xFF ? "a multicast"
                : address.IsIPv6SiteLocal || (first == 0xFE && (second & 0xC0) == 0xC0) ? "a site-local"
                : null;
        }

        var bytes = address.GetAddressBytes();
        foreach (var (network, prefix, kind) in RestrictedV4)
        {
            var net = network.GetAddressBytes();
            var mask = prefix == 0 ? 0u : uint.MaxValue << (32 - prefix);
            var a = (uint)(bytes[0] << 24 | bytes[1] << 16 | bytes[2] << 8 | bytes[3]);
            var n = (uint)(net[0] << 24 | net[1] << 16 | net[2] << 8 | net[3]);
            if ((a & mask) == (n & mask))
            {
                return kind;
            }
        }

        return bytes.All(b => b == 255) ? "a broadcast" : null;
    }

    /// <summary>
    /// The IPv4 address an IPv6 form carries, or null: IPv4-mapped (<c>::ffff:a.b.c.d</c>), IPv4-compatible
    /// (<c>::a.b.c.d</c>, deprecated but still routed by some stacks), NAT64 (<c>64:ff9b::/96</c>, RFC 6052) and 6to4
    /// (<c>2002:AABB:CCDD::/16</c>, RFC 3056).
    /// </summary>
    internal static IPAddress? EmbeddedIPv4(IPAddress address)
    {
        if (address.AddressFamily != AddressFamily.InterNetworkV6)
        {
            return null;
        }

        if (address.IsIPv4MappedToIPv6)
        {
            return address.MapToIPv4();
        }

        var bytes = address.GetAddressBytes();
        if (bytes[0] == 0x20 && bytes[1] == 0x02)
        {
            return new IPAddress(bytes.AsSpan(2, 4));
        }

        var prefix = bytes.AsSpan(0, 12);
        if (prefix.SequenceEqual(Nat64Prefix))
        {
            return new IPAddress(bytes.AsSpan(12, 4));
        }

        // ::a.b.c.d, but not :: (unspecified) or ::1 (loopback), which are IPv6 addresses of their own.
        if (!prefix.ContainsAnyExcept((byte)0) && (bytes[12] | bytes[13] | bytes[14]) != 0)
        {
            return new IPAddress(bytes.AsSpan(12, 4));
        }

        return null;
    }

    /// <summary>
    /// Checks a host (name or IP literal) that is not part of a URL, such as an SMTP server, as <see cref="CheckUrl"/>
    /// checks a URL's host. Returns the reason it is refused.
    /// </summary>
    public string? CheckHost(string host)
    {
        if (IsAllowedHost(host))
        {
            return null;
        }

        if (options.CurrentValue.Outbound.RestrictToAllowedHosts)
        {
            return $"host '{host}' is not on Orchestrator:Outbound:AllowedHosts, and only those hosts may be called.";
        }

        if (string.Equals(host, "localhost", StringComparison.OrdinalIgnoreCase) || host.EndsWith(".localhost", StringComparison.OrdinalIgnoreCase))
        {
            return $"host '{host}' is a loopback name; add it to Orchestrator:Outbound:AllowedHosts to allow it.";
        }

        return IPAddress.TryParse(host.Trim('[', ']'), out var address) ? CheckAddress(address, host) : null;
    }

    /// <summary>The socket connect used by the call_api HTTP client: resolve, check every address, connect to an allowed one.</summary>
    public async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken) =>
        new NetworkStream(await ConnectSocketAsync(context.DnsEndPoint.Host, context.DnsEndPoint.Port, cancellationToken), ownsSocket: true);

    /// <summary>
    /// Resolves the host, checks every address it resolves to, and connects to them only if all are allowed, so the
    /// addresses checked are the addresses connected to (no second resolution to re-bind). Throws <see cref="OutboundRefusedException"/>.
    /// </summary>
    public async Task<Socket> ConnectSocketAsync(string host, int port, CancellationToken cancellationToken)
    {
        var addresses = IPAddress.TryParse(host.Trim('[', ']'), out var literal)
            ? [literal]
            : await Dns.GetHostAddressesAsync(host, cancellationToken);
        foreach (var address in addresses)
        {
            if (CheckAddress(address, host) is { } reason)
            {
                throw new OutboundRefusedException(reason);
            }
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(addresses, port, cancellationToken);
            return socket;
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }
}

/// <summary>An outbound call the policy refused; its message says which address and how to allow it.</summary>
public sealed class OutboundRefusedException(string message) : Exception(message);
