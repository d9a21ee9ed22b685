using System.Security.Claims;
using System.Text.Encodings.Web;
using Microsoft.AspNetCore.Authentication;
using Microsoft.Extensions.Options;

namespace Orchestrator.Security;

/// <summary>Accepts <c>Authorization: Bearer &lt;key&gt;</c> or <c>X-Api-Key: &lt;key&gt;</c>.</summary>
public sealed class ApiKeyAuthenticationHandler(
    IOptionsMonitor<AuthenticationSchemeOptions> options,
    ILoggerFactory logger,
    UrlEncoder encoder,
    ApiKeyStore keys)
    : AuthenticationHandler<AuthenticationSchemeOptions>(options, logger, encoder)
{
    public const string SchemeName = "ApiKey";
    public const string RoleClaim = ClaimTypes.Role;

    protected override async Task<AuthenticateResult> HandleAuthenticateAsync()
    {
        var presented = ReadKey(Request);
        if (presented is null)
        {
            return AuthenticateResult.NoResult();
        }

        var check = await keys.CheckAsync(presented, Context.RequestAborted);
        if (check.Key is not { } key)
        {
            // Deliberately vague unless the whole key matched: whether a prefix exists is not the caller's business.
            return AuthenticateResult.Fail(check.Refusal ?? KeyCheck.Invalid.Refusal!);
        }

        List<Claim> claims =
        [
            new Claim(ClaimTypes.NameIdentifier, key.Id.ToString()),
            new Claim(ClaimTypes.Name, key.Name),
            new Claim(RoleClaim, key.Role.ToString().ToLowerInvariant()),
        ];
        claims.AddRange((key.ProjectList ?? []).Select(p => new Claim(ProjectScope.ProjectClaim, p)));
        var identity = new ClaimsIdentity(claims, SchemeName);
        return AuthenticateResult.Success(new AuthenticationTicket(new ClaimsPrincipal(identity), SchemeName));
    }

    protected override async Task HandleChallengeAsync(AuthenticationProperties properties)
    {
        Response.StatusCode = StatusCodes.Status401Unauthorized;
        Response.Headers.WWWAuthenticate = "Bearer";
        // A key that was sent but refused says why (not valid, or expired); no key at all says how to send one.
        var failure = (await HandleAuthenticateOnceSafeAsync()).Failure?.Message;
        await Results.Problem(
                statusCode: StatusCodes.Status401Unauthorized,
                title: "Authentication required",
                detail: failure ?? "Send an API key as 'Authorization: Bearer <key>' or 'X-Api-Key: <key>'.")
            .ExecuteAsync(Context);
    }

    protected override async Task HandleForbiddenAsync(AuthenticationProperties properties)
    {
        await Results.Problem(
                statusCode: StatusCodes.Status403Forbidden,
                title: "Forbidden",
                detail: Context.Items.ContainsKey(ScopedRouteHandler.RefusedItem) && ProjectScope.Of(Context.User) is { } projects
                    ? $"This API key is scoped to {ProjectScope.Describe(projects)}; {Request.Method} {Request.Path} acts on the whole cluster and needs a key without projects."
                    : "This API key's role does not allow this operation.")
            .ExecuteAsync(Context);
    }

    private static string? ReadKey(HttpRequest request)
    {
        var authorization = request.Headers.Authorization.ToString();
        if (authorization.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase))
        {
            return authorization["Bearer ".Length..].Trim();
        }

        var header = request.Headers["X-Api-Key"].ToString();
        return string.IsNullOrWhiteSpace(header) ? null : header.Trim();
    }
}
