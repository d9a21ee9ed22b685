using System.Net;
using System.Text.RegularExpressions;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Hosting;

/// <summary>
/// The interactive API reference at <c>/docs</c>: anonymous, read-only, over the server's own OpenAPI document, and
/// loading nothing from another host (production networks reach nothing outside the machine).
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed partial class ApiReferenceTests
{
    private InProcessServer server = null!;
    private HttpClient anonymous = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        var database = await TestPostgres.CreateDatabaseAsync("apireference");
        server = InProcessServer.Start(PostgresNode.Environment(database));
        await server.WaitUntilReadyAsync();
        anonymous = server.CreateClient();
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        anonymous?.Dispose();
        if (server is not null)
        {
            await server.DisposeAsync();
        }
    }

    [Test]
    public async Task Docs_is_an_html_page_without_a_key_over_the_openapi_document()
    {
        // Scalar sends /docs on to /docs/ (its page loads the bundle relative to itself); a browser follows that.
        using var redirect = await anonymous.GetAsync("/docs");
        Assert.That(redirect.StatusCode, Is.EqualTo(HttpStatusCode.Found));
        var location = new Uri(new Uri(anonymous.BaseAddress!, "/docs"), redirect.Headers.Location!);
        Assert.That(location.AbsolutePath, Is.EqualTo("/docs/"));
        Assert.That(location.Authority, Is.EqualTo(anonymous.BaseAddress!.Authority));

        using var response = await anonymous.GetAsync(location);
        var html = await response.Content.ReadAsStringAsync();
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(response.Content.Headers.ContentType?.MediaType, Is.EqualTo("text/html"));
        // Scalar's start script resolves the source against the page's path less the '/docs/' suffix (the path base),
        // so "openapi/v1.json" on /docs/ is /openapi/v1.json of this server.
        Assert.That(html, Does.Contain("\"url\":\"openapi/v1.json\"").And.Contain("'%2Fdocs%2F'"));
        using var document = await anonymous.GetAsync("/openapi/v1.json");
        Assert.That(document.StatusCode, Is.EqualTo(HttpStatusCode.OK));

        // "Try it" starts on the document's key scheme, which is HTTP bearer: the key goes out as 'Authorization: Bearer <key>'.
        Assert.That(html, Does.Contain("\"preferredSecurityScheme\":[\"ApiKey\"]"));
        using var json = System.Text.Json.JsonDocument.Parse(await document.Content.ReadAsStringAsync());
        var scheme = json.RootElement.GetProperty("components").GetProperty("securitySchemes").GetProperty("ApiKey");
        Assert.That(scheme.GetProperty("type").GetString(), Is.EqualTo("http"));
        Assert.That(scheme.GetProperty("scheme").GetString(), Is.EqualTo("bearer"));
    }

    [Test]
    public async Task Every_script_and_style_the_page_references_is_served_by_this_server()
    {
        var html = await anonymous.GetStringAsync("/docs/");
        var references = ReferencePattern().Matches(html).Select(m => m.Groups["url"].Value).ToList();
        Assert.That(references, Is.Not.Empty, "the page loads Scalar's bundle");
        Assert.That(AbsoluteUrlPattern().Matches(html).Select(m => m.Value), Is.Empty, "no absolute URL to another host");
        foreach (var reference in references)
        {
            using var asset = await anonymous.GetAsync(new Uri(new Uri(anonymous.BaseAddress!, "/docs/"), reference));
            Assert.That(asset.StatusCode, Is.EqualTo(HttpStatusCode.OK), reference);
            Assert.That((await asset.Content.ReadAsByteArrayAsync()).Length, Is.GreaterThan(1000), reference);
        }
    }

    [Test]
    public async Task Docs_page_may_run_only_what_this_server_serves()
    {
        using var response = await anonymous.GetAsync("/docs/");
        var policy = string.Join(";", response.Headers.GetValues("Content-Security-Policy"));
        Assert.That(policy, Does.Contain("default-src 'none'").And.Contain("connect-src 'self'").And.Contain("frame-ancestors 'none'"));
        Assert.That(policy, Does.Not.Contain("*").And.Not.Contain("http"));

        // The page's inline start script may run by its hash, and nothing else inline may.
        var scriptSource = policy.Split(';').Select(d => d.Trim()).Single(d => d.StartsWith("script-src ", StringComparison.Ordinal));
        Assert.That(scriptSource, Does.Not.Contain("unsafe-inline").And.Not.Contain("unsafe-eval"));
        var html = await response.Content.ReadAsStringAsync();
        var inline = Regex.Match(html, "<script type=\"module\">(?<body>.*?)</script>", RegexOptions.Singleline).Groups["body"].Value;
        Assert.That(inline, Does.Contain("initialize("));
        var hash = Convert.ToBase64String(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(inline)));
        Assert.That(scriptSource, Is.EqualTo($"script-src 'self' 'sha256-{hash}'"));
        Assert.That(response.Headers.GetValues("X-Frame-Options"), Is.EqualTo(new[] { "DENY" }));
    }

    [Test]
    public async Task Docs_answers_HEAD()
    {
        using var head = await anonymous.SendAsync(new HttpRequestMessage(HttpMethod.Head, "/docs/"));
        Assert.That(head.StatusCode, Is.EqualTo(HttpStatusCode.OK));
    }

    [TestCase("POST")]
    [TestCase("PUT")]
    [TestCase("DELETE")]
    public async Task Docs_refuses_other_methods_with_a_405_problem(string method)
    {
        var problem = await ApiAssertions.AssertProblemAsync(await anonymous.SendAsync(new HttpRequestMessage(new HttpMethod(method), "/docs")), HttpStatusCode.MethodNotAllowed);
        Assert.That(problem.GetProperty("status").GetInt32(), Is.EqualTo(405));
    }

    /// <summary>The <c>src</c> of a script and the <c>href</c> of a stylesheet link.</summary>
    [GeneratedRegex("""<(?:script[^>]*\ssrc|link[^>]*\shref)\s*=\s*["'](?<url>[^"']+)["']""", RegexOptions.IgnoreCase)]
    private static partial Regex ReferencePattern();

    [GeneratedRegex("""(?:https?:)?//[a-z0-9.-]+\.[a-z]{2,}""", RegexOptions.IgnoreCase)]
    private static partial Regex AbsoluteUrlPattern();
}
