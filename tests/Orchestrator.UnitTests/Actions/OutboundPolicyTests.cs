using System.Net;
using Microsoft.Extensions.Options;
using Orchestrator.Actions.CallApi;
using Orchestrator.Hosting;

namespace Orchestrator.UnitTests.Actions;

public sealed class OutboundPolicyTests
{
    private sealed class Monitor(OrchestratorOptions value) : IOptionsMonitor<OrchestratorOptions>
    {
        public OrchestratorOptions CurrentValue => value;

        public OrchestratorOptions Get(string? name) => value;

        public IDisposable? OnChange(Action<OrchestratorOptions, string?> listener) => null;
    }

    private static OutboundPolicy Policy(params string[] allowed) => new(new Monitor(new OrchestratorOptions { Outbound = { AllowedHosts = [.. allowed] } }));

    [TestCase("127.0.0.1", "a loopback")]
    [TestCase("127.255.0.9", "a loopback")]
    [TestCase("10.20.30.40", "a private")]
    [TestCase("172.31.255.255", "a private")]
    [TestCase("192.168.0.1", "a private")]
    [TestCase("169.254.169.254", "a link-local")]
    [TestCase("100.64.0.1", "a carrier-grade NAT")]
    [TestCase("0.0.0.0", "an unspecified")]
    [TestCase("224.0.0.1", "a multicast")]
    [TestCase("255.255.255.255", "a reserved")]
    [TestCase("::1", "a loopback")]
    [TestCase("fe80::1", "a link-local")]
    [TestCase("fd00::1", "a private")]
    [TestCase("::ffff:10.0.0.1", "a private")]
    [TestCase("::ffff:169.254.169.254", "a link-local")]
    [TestCase("::127.0.0.1", "a loopback")]
    [TestCase("::169.254.169.254", "a link-local")]
    [TestCase("::10.1.2.3", "a private")]
    [TestCase("64:ff9b::127.0.0.1", "a loopback")]
    [TestCase("64:ff9b::a9fe:a9fe", "a link-local")]
    [TestCase("64:ff9b::192.168.1.1", "a private")]
    [TestCase("2002:7f00:1::", "a loopback")]
    [TestCase("2002:a9fe:a9fe::1", "a link-local")]
    [TestCase("2002:0a00:0001:1::5", "a private")]
    [TestCase("::", "an unspecified")]
    public void Internal_addresses_are_classified(string address, string kind) =>
        Assert.That(OutboundPolicy.RestrictedKind(IPAddress.Parse(address)), Is.EqualTo(kind));

    [TestCase("93.184.216.34")]
    [TestCase("172.32.0.1")]
    [TestCase("8.8.8.8")]
    [TestCase("2606:4700::1111")]
    [TestCase("64:ff9b::8.8.8.8")]
    [TestCase("2002:0808:0808::1")]
    [TestCase("::ffff:93.184.216.34")]
    [TestCase("::93.184.216.34")]
    public void Public_addresses_are_not_restricted(string address) =>
        Assert.That(OutboundPolicy.RestrictedKind(IPAddress.Parse(address)), Is.Null);

    [Test]
    public void An_allowed_host_may_use_a_loopback_address_and_wildcards_match_subdomains_only()
    {
        var policy = Policy("127.0.0.1", "*.internal.example");
        Assert.That(policy.CheckUrl("http://127.0.0.1:8080/x"), Is.Null);
        Assert.That(policy.CheckAddress(IPAddress.Parse("10.0.0.5"), "api.internal.example"), Is.Null);
        Assert.That(policy.CheckAddress(IPAddress.Parse("10.0.0.5"), "internal.example.evil.com"), Is.Not.Null);
        Assert.That(policy.CheckUrl("http://127.0.0.2/"), Does.Contain("loopback"));
    }

    [TestCase("http://[64:ff9b::a9fe:a9fe]/latest/meta-data/")]
    [TestCase("http://[2002:7f00:1::]:8080/")]
    [TestCase("http://[::127.0.0.1]/")]
    public void Urls_with_an_IPv6_literal_embedding_an_internal_IPv4_address_are_refused(string url) =>
        Assert.That(Policy("127.0.0.1").CheckUrl(url), Does.Contain("resolves to"));

    [TestCase("localhost", "loopback name")]
    [TestCase("10.0.0.25", "a private")]
    [TestCase("[::1]", "a loopback")]
    public void Hosts_outside_urls_such_as_smtp_servers_are_checked_the_same_way(string host, string reason)
    {
        Assert.That(Policy().CheckHost(host), Does.Contain(reason));
        Assert.That(Policy(host.Trim('[', ']')).CheckHost(host), Is.Null, "unless allowlisted");
        Assert.That(Policy().CheckHost("smtp.example.com"), Is.Null, "a name is checked when it is resolved, at send time");
    }

    [TestCase("ftp://example.com/", "http")]
    [TestCase("https://user:pw@example.com/", "credentials")]
    [TestCase("http://LOCALHOST/", "loopback")]
    [TestCase("http://app.localhost/", "loopback")]
    public void Urls_are_checked_before_anything_is_stored(string url, string reason) =>
        Assert.That(Policy().CheckUrl(url), Does.Contain(reason));

    [Test]
    public void Restricted_mode_refuses_every_host_not_listed()
    {
        var policy = new OutboundPolicy(new Monitor(new OrchestratorOptions { Outbound = { AllowedHosts = ["api.example.com"], RestrictToAllowedHosts = true } }));
        Assert.That(policy.CheckUrl("https://api.example.com/x"), Is.Null);
        Assert.That(policy.CheckUrl("https://other.example.com/x"), Does.Contain("AllowedHosts"));
    }
}
