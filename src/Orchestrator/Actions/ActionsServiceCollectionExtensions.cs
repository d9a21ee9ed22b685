using Microsoft.Extensions.Http.Resilience;
using Orchestrator.Actions.CallApi;
using Orchestrator.Actions.Notifications;
using Orchestrator.Runs;
using Polly;

namespace Orchestrator.Actions;

public static class ActionsServiceCollectionExtensions
{
    public static IServiceCollection AddActions(this IServiceCollection services)
    {
        services.AddScoped<RunLedger>();
        services.AddScoped<ActionJobServices>();
        services.AddSingleton<OutboundPolicy>();
        services.AddSingleton<SecretTemplates>();
        // Concrete registrations too: the http.request and notify tools validate with the very same definitions.
        services.AddSingleton<CallApiAction>();
        services.AddSingleton<ActionDefinition>(sp => sp.GetRequiredService<CallApiAction>());
        services.AddSingleton<SendNotificationAction>();
        services.AddSingleton<ActionDefinition>(sp => sp.GetRequiredService<SendNotificationAction>());
        services.AddSingleton<ActionDefinition, NoOp.NoOpAction>();
        services.AddSingleton<ActionDefinition, Tasks.RunTaskAction>();
        services.AddScoped<NotificationSender>();
        services.AddSingleton<SecretBox>();
        services.AddSingleton<ActionCatalog>();
        services.AddSingleton<HttpActionExecutor>();
        services.AddScoped<Tasks.TaskExecutor>();
        services.AddSingleton<ActionDispatcher>();

        services.AddHttpClient(HttpActionExecutor.ClientName, c => c.Timeout = Timeout.InfiniteTimeSpan)
            .ConfigurePrimaryHttpMessageHandler(sp => new SocketsHttpHandler
            {
                // Every connection, including after a redirect, goes through the outbound policy after DNS resolution.
                ConnectCallback = sp.GetRequiredService<OutboundPolicy>().ConnectAsync,
                UseProxy = false,
                AllowAutoRedirect = true,
                MaxAutomaticRedirections = 5,
                PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            })
            .AddResilienceHandler("call_api", pipeline =>
            {
                // No retry here: retries belong to the schedule's Quartz retry policy, each one recorded in the ledger.
                // A breaker per host stops hammering a target that keeps failing.
                pipeline.AddCircuitBreaker(new HttpCircuitBreakerStrategyOptions
                {
                    FailureRatio = 0.5,
                    MinimumThroughput = 10,
                    SamplingDuration = TimeSpan.FromSeconds(30),
                    BreakDuration = TimeSpan.FromSeconds(15),
                });
            })
            .SelectPipelineByAuthority();
        return services;
    }
}
