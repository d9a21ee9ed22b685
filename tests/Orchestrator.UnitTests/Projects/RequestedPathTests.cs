using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Orchestrator.Projects;

namespace Orchestrator.UnitTests.Projects;

/// <summary>A files route path is percent-decoded exactly once, from the request line as the client sent it.</summary>
public sealed class RequestedPathTests
{
    [TestCase("docs/readme.txt", "docs/readme.txt")]
    [TestCase("docs%2Freadme.txt", "docs/readme.txt")]
    [TestCase("100%25.txt", "100%.txt")]
    [TestCase("caf%C3%A9.txt", "café.txt")]
    [TestCase("..%2Fx", "../x")]
    [TestCase("", "")]
    public void Decodes_once(string encoded, string decoded) =>
        Assert.That(ProjectFileEndpoints.DecodeOnce(encoded), Is.EqualTo(((string?)decoded, (string?)null)));

    [TestCase("%252e%252e/x")]
    [TestCase("%252Fetc")]
    [TestCase("docs/%25%32%65")]
    public void An_escape_left_after_decoding_is_refused_as_encoded_twice_not_read_as_a_dot(string encoded)
    {
        var (path, error) = ProjectFileEndpoints.DecodeOnce(encoded);
        Assert.That(path, Is.Null);
        Assert.That(error, Does.Contain("encoded twice"));
    }

    [TestCase("%c0%ae%c0%ae/x")]
    [TestCase("%ff")]
    [TestCase("%e2%82")]
    public void Bytes_that_are_not_utf8_are_refused(string encoded) =>
        Assert.That(ProjectFileEndpoints.DecodeOnce(encoded).Error, Does.Contain("not valid UTF-8"));

    [TestCase("/api/projects/ws/files/%252e%252e/x", null)]
    [TestCase("/api/projects/ws/files/docs%2Fa.txt?x=1", "docs/a.txt")]
    [TestCase("/api/projects/ws/files/", "")]
    [TestCase("/api/projects/ws/files", "")]
    [TestCase("http://host:5080/api/projects/ws/files/a%20b", "a b")]
    public void The_path_is_read_from_the_request_line_not_the_already_decoded_route_value(string target, string? expected)
    {
        var context = new DefaultHttpContext();
        context.Features.Get<IHttpRequestFeature>()!.RawTarget = target;
        context.Request.RouteValues["id"] = "ws"; // as routing sets it: the prefix of the request line is checked against it
        // The route value Kestrel hands over has been decoded once already; it must not be decoded again.
        var (path, error) = ProjectFileEndpoints.RequestedPath(context, "%2e%2e/x");
        Assert.That(path, Is.EqualTo(expected));
        Assert.That(error is null, Is.EqualTo(expected is not null));
    }

    /// <summary>The file path is cut after the fifth slash only when the four segments before it are the route's, as sent.</summary>
    [TestCase("/api/projects/ws/./files/x")]
    [TestCase("/api/./projects/ws/files/x")]
    [TestCase("/api/projects/ws/docs/../files/x")]
    [TestCase("/api/projects/other/files/x")]
    [TestCase("/api/projects/ws%2Ffiles/x")]
    [TestCase("/api//projects/ws/files/x")]
    [TestCase("/api/projects/ws")]
    public void A_request_line_whose_prefix_is_not_the_route_s_is_refused(string target)
    {
        var context = new DefaultHttpContext();
        context.Features.Get<IHttpRequestFeature>()!.RawTarget = target;
        context.Request.RouteValues["id"] = "ws";
        var (path, error) = ProjectFileEndpoints.RequestedPath(context, "x");
        Assert.That(path, Is.Null);
        Assert.That(error, Is.EqualTo(ProjectFileEndpoints.NotCanonicalPrefix));
    }

    [TestCase("/API/Projects/ws/FILES/x", "x")]
    [TestCase("/api/projects/ws/%66iles/docs%2Fx", "docs/x")]
    public void Plain_spellings_of_the_prefix_are_accepted(string target, string expected)
    {
        var context = new DefaultHttpContext();
        context.Features.Get<IHttpRequestFeature>()!.RawTarget = target;
        context.Request.RouteValues["id"] = "ws";
        Assert.That(ProjectFileEndpoints.RequestedPath(context, "x"), Is.EqualTo(((string?)expected, (string?)null)));
    }
}
