using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authorization;

namespace Orchestrator.Security;

public static class SecurityServiceCollectionExtensions
{
    public static IServiceCollection AddOrchestratorSecurity(this IServiceCollection services)
    {
        services.AddHttpContextAccessor();
        services.AddScoped<ApiKeyStore>();
        services.AddScoped<ProjectScope>();
        services.AddScoped<ScopedKeyLimits>();
        services.AddScoped<KeyService>();
        services.AddSingleton<IAuthorizationHandler, ScopedRouteHandler>();
        services.AddSingleton<AdminKeyBootstrap>();
        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        services.AddAuthorizationBuilder()
            .AddPolicy(Policies.Viewer, p => p.RequireRole("viewer", "operator", "admin").AddRequirements(new ScopedRouteRequirement()))
            .AddPolicy(Policies.Operator, p => p.RequireRole("operator", "admin").AddRequirements(new ScopedRouteRequirement()))
            .AddPolicy(Policies.Admin, p => p.RequireRole("admin").AddRequirements(new ScopedRouteRequirement()));
        return services;
    }

    public static bool TryParseRole(string? text, out ApiRole role) =>
        Enum.TryParse(text, ignoreCase: true, out role) && Enum.IsDefined(role) && !int.TryParse(text, out _);
}
