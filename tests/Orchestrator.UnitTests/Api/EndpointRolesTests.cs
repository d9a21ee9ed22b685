using Microsoft.AspNetCore.Authorization;
using Orchestrator.Api;
using Orchestrator.Security;

namespace Orchestrator.UnitTests.Api;

/// <summary>The role the OpenAPI document states for an endpoint, read from the metadata authorization enforces.</summary>
public sealed class EndpointRolesTests
{
    [Test]
    public void No_authorization_metadata_needs_no_role() =>
        Assert.That(EndpointRoles.RequiredRole([new object()], "probe"), Is.Null);

    [Test]
    public void A_group_policy_alone_is_the_role() =>
        Assert.That(EndpointRoles.RequiredRole([new AuthorizeAttribute(Policies.Viewer)], "list"), Is.EqualTo(ApiRole.Viewer));

    [TestCase(Policies.Viewer, Policies.Operator, ApiRole.Operator)]
    [TestCase(Policies.Viewer, Policies.Admin, ApiRole.Admin)]
    [TestCase(Policies.Admin, Policies.Viewer, ApiRole.Admin)]
    public void The_strictest_of_group_and_route_policies_wins(string group, string route, ApiRole expected) =>
        // Authorization requires every policy, in whatever order the conventions added them.
        Assert.That(EndpointRoles.RequiredRole([new AuthorizeAttribute(group), new AuthorizeAttribute(route)], "route"), Is.EqualTo(expected));

    [Test]
    public void Allow_anonymous_anywhere_needs_no_role() =>
        Assert.That(EndpointRoles.RequiredRole([new AuthorizeAttribute(Policies.Admin), new AllowAnonymousAttribute()], "open"), Is.Null);

    [Test]
    public void A_role_list_or_the_default_policy_is_refused_naming_the_endpoint()
    {
        Assert.That(() => EndpointRoles.RequiredRole([new AuthorizeAttribute { Roles = "admin" }], "GET /api/x"),
            Throws.InvalidOperationException.With.Message.Contains("GET /api/x").And.Message.Contains("RequireAuthorization(Policies.X)"));
        Assert.That(() => EndpointRoles.RequiredRole([new AuthorizeAttribute()], "GET /api/y"),
            Throws.InvalidOperationException.With.Message.Contains("the default policy"));
        Assert.That(() => EndpointRoles.RequiredRole([new AuthorizeAttribute("auditor")], "GET /api/z"),
            Throws.InvalidOperationException.With.Message.Contains("'auditor'"));
    }
}
