using Quartz;

namespace Orchestrator.Actions;

public static class ActionsServiceCollectionExtensions
{
    /// <summary>What every action type shares, then each type's <see cref="IActionModule"/>.</summary>
    public static IServiceCollection AddActions(this IServiceCollection services)
    {
        services.AddScoped<ActionJobServices>();
        services.AddSingleton<ActionCatalog>();
        services.AddSingleton<ActionDispatcher>();
        services.AddScoped<ActionDryRunService>();
        foreach (var module in ModuleTypes)
        {
            ((IActionModule)Activator.CreateInstance(module)!).AddServices(services);
        }

        return services;
    }

    /// <summary>The action modules of the server, in a fixed order (by name) so the registrations do not depend on metadata order.</summary>
    internal static IReadOnlyList<Type> ModuleTypes { get; } =
    [
        .. typeof(IActionModule).Assembly.GetTypes()
            .Where(t => t is { IsClass: true, IsAbstract: false } && typeof(IActionModule).IsAssignableFrom(t))
            .OrderBy(t => t.FullName, StringComparer.Ordinal),
    ];

    /// <summary>
    /// Registers an action type: its definition once (as itself too, for the built-in tools that validate with the very
    /// same definition) and its Quartz job, so the job factory resolves the job from the firing's scope.
    /// </summary>
    public static IServiceCollection AddActionType<TAction, TJob>(this IServiceCollection services)
        where TAction : ActionDefinition
        where TJob : class, IJob
    {
        services.AddSingleton<TAction>();
        services.AddSingleton<ActionDefinition>(sp => sp.GetRequiredService<TAction>());
        services.AddTransient<TJob>();
        return services;
    }
}
