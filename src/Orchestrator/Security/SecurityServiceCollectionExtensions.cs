using Microsoft.AspNetCore.Authentication;

namespace Orchestrator.Security;

public static class SecurityServiceCollectionExtensions
{
    public static IServiceCollection AddOrchestratorSecurity(this IServiceCollection services)
    {
        services.AddScoped<ApiKeyStore>();
        services.AddSingleton<AdminKeyBootstrap>();
        services.AddAuthentication(ApiKeyAuthenticationHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyAuthenticationHandler>(ApiKeyAuthenticationHandler.SchemeName, null);
        services.AddAuthorizationBuilder()
            .AddPolicy(Policies.Viewer, p => p.RequireRole("viewer", "operator", "admin"))
            .AddPolicy(Policies.Operator, p => p.RequireRole("operator", "admin"))
            .AddPolicy(Policies.Admin, p => p.RequireRole("admin"));
        return services;
    }

    public static bool TryParseRole(string? text, out ApiRole role) =>
        Enum.TryParse(text, ignoreCase: true, out role) && Enum.IsDefined(role) && !int.TryParse(text, out _);
}
