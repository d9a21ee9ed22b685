using System.Security.Claims;
using Microsoft.AspNetCore.Http;
using Orchestrator.Security;

namespace Orchestrator.UnitTests.Security;

public sealed class ProjectScopeTests
{
    private static ProjectScope ScopeOf(params string[] projects)
    {
        var claims = projects.Select(p => new Claim(ProjectScope.ProjectClaim, p)).Append(new Claim(ClaimTypes.Role, "admin"));
        var context = new DefaultHttpContext { User = new ClaimsPrincipal(new ClaimsIdentity(claims, "ApiKey")) };
        return new ProjectScope(new HttpContextAccessor { HttpContext = context });
    }

    [Test]
    public void A_key_without_projects_sees_every_project()
    {
        var scope = ScopeOf();
        Assert.That(scope.IsScoped, Is.False);
        Assert.That(scope.Allows("anything"), Is.True);
        Assert.That(scope.Allows(null), Is.True, "a record of no project is visible to an unscoped key");
        Assert.That(scope.RefuseOutside("anything"), Is.Null);
    }

    [Test]
    public void Outside_a_request_nothing_is_confined()
    {
        // A schedule's run, its tools and housekeeping run with no request: they act as the schedule, not as a key.
        var scope = new ProjectScope(new HttpContextAccessor());
        Assert.That(scope.Projects, Is.Null);
        Assert.That(scope.Allows("beta"), Is.True);
    }

    [Test]
    public void A_scoped_key_sees_only_its_projects_and_is_refused_elsewhere_naming_the_project()
    {
        var scope = ScopeOf("alpha", "gamma");
        Assert.That(scope.Projects, Is.EqualTo(new[] { "alpha", "gamma" }));
        Assert.That(scope.Allows("alpha"), Is.True);
        Assert.That(scope.Allows("Alpha"), Is.False, "project ids compare exactly");
        Assert.That(scope.Allows("beta"), Is.False);
        Assert.That(scope.Allows(null), Is.False);
        var refusal = scope.RefuseOutside("beta");
        Assert.That(refusal?.Status, Is.EqualTo(StatusCodes.Status403Forbidden));
        Assert.That(refusal?.Detail, Does.Contain("'beta'").And.Contain("'alpha', 'gamma'"));
    }

    [TestCase("GET", "/api/schedules/{id}", true)]
    [TestCase("get", "api/schedules/{id}/", true)]
    [TestCase("POST", "/api/schedules", true)]
    [TestCase("GET", "/api/projects/{id}/files/{**path}", true)]
    [TestCase("POST", "/api/tools", false)]
    [TestCase("DELETE", "/api/channels/{name}", false)]
    [TestCase("POST", "/api/projects", false)]
    [TestCase("GET", "/api/keys", false)]
    [TestCase("GET", "/api/audit", false)]
    [TestCase("POST", "/api/apply", false)]
    [TestCase("POST", "/api/schedules/pause", false)]
    [TestCase("GET", null, false)]
    public void Only_listed_routes_are_open_to_scoped_keys(string method, string? pattern, bool open) =>
        Assert.That(ScopedRoutes.Allows(method, pattern), Is.EqualTo(open));
}
