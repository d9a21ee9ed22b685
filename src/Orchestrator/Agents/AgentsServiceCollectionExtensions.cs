using Microsoft.Extensions.DependencyInjection.Extensions;

namespace Orchestrator.Agents;

public static class AgentsServiceCollectionExtensions
{
    /// <summary>The model clients. Call after <c>AddActions</c>: they send through its outbound HTTP client.</summary>
    public static IServiceCollection AddAgents(this IServiceCollection services)
    {
        services.TryAddSingleton(TimeProvider.System);
        services.AddSingleton<ModelClients>();
        services.AddSingleton<ModelPhraseReader>();
        services.AddScoped<AgentStepStore>();
        services.AddScoped<AgentLoop>();
        services.AddScoped<AgentStepQueries>();
        return services;
    }
}
