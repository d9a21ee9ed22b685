using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Options;
using Orchestrator.Hosting;
using Polly;
using Polly.Timeout;

namespace Orchestrator.Actions.CallApi;

/// <summary>
/// The <c>call_api</c> action type, and the outbound HTTP it runs on: the policy on where calls may go, secret references,
/// and the HTTP client with its breaker, timeout and redirect handling. Notifications' webhooks and the
/// <c>http.request</c> tool send through the same executor.
/// </summary>
public sealed class CallApiModule : IActionModule
{
    public void AddServices(IServiceCollection services)
    {
        services.AddActionType<CallApiAction, CallApiJob>();
        services.AddSingleton<OutboundPolicy>();
        services.AddSingleton<SecretTemplates>();
        services.AddSingleton<HttpActionExecutor>();

        // Polly logs every execution and attempt at Information ("Resilience pipeline executed"), and a failed one with
        // the exception's stack trace, each naming its source, which for an outbound pipeline is the target's URL
        // ("call_api-call_api/http://host:port"). The run already says what happened in one line (a warning for a
        // failed attempt, naming the run, no trace; an information line for a cancellation), so every Polly event is
        // Debug: nothing at Information or above carries a trace or an outbound URL. A breaker that is open shows in
        // the failed run's error (the circuit is open), which is where an operator looks.
        services.Configure<Polly.Telemetry.TelemetryOptions>(telemetry =>
            telemetry.SeverityProvider = _ => Polly.Telemetry.ResilienceEventSeverity.Debug);

        services.AddHttpClient(HttpActionExecutor.ClientName, c => c.Timeout = Timeout.InfiniteTimeSpan)
            // The factory's loggers write every hop's URL ("Sending HTTP request …"): a Location a peer chose, which can
            // carry what the call sent. The run records each call (masked); nothing logs its URLs.
            .RemoveAllLoggers()
            .ConfigurePrimaryHttpMessageHandler(sp => new SocketsHttpHandler
            {
                // Every connection, including after a redirect, goes through the outbound policy after DNS resolution.
                ConnectCallback = sp.GetRequiredService<OutboundPolicy>().ConnectAsync,
                UseProxy = false,
                // Redirects are followed by RedirectHandler (below), which keeps secrets from following them elsewhere.
                AllowAutoRedirect = false,
                PooledConnectionLifetime = TimeSpan.FromMinutes(2),
            })
            .AddResilienceHandler("call_api", (pipeline, context) =>
            {
                var breaker = context.ServiceProvider.GetRequiredService<IOptions<OrchestratorOptions>>().Value.Outbound.CircuitBreaker;
                // No retry here: retries belong to the schedule's Quartz retry policy, each one recorded in the ledger.
                // A breaker per host stops hammering a target that keeps failing; a timeout (the strategy below throws
                // TimeoutRejectedException) counts as a failure, so a host that hangs trips it as one that errors does.
                pipeline.AddCircuitBreaker(new HttpCircuitBreakerStrategyOptions
                {
                    FailureRatio = breaker.FailureRatio,
                    MinimumThroughput = breaker.MinimumThroughput,
                    SamplingDuration = breaker.SamplingDuration,
                    BreakDuration = breaker.BreakDuration,
                });
                pipeline.AddTimeout(new TimeoutStrategyOptions
                {
                    // Each call's own timeout (call_api's timeoutSeconds), carried on the request; until the response headers.
                    TimeoutGenerator = args => ValueTask.FromResult(
                        args.Context.GetRequestMessage()?.Options.TryGetValue(HttpActionExecutor.TimeoutOption, out var timeout) == true
                            ? timeout
                            : TimeSpan.FromSeconds(HttpActionExecutor.DefaultTimeoutSeconds)),
                });
            })
            .SelectPipelineByAuthority();
        // Registered after the resilience handler, so inside it: a chain of redirects is one call for the timeout and
        // for the first host's breaker, and a redirect the policy refuses is not counted against any host.
        services.AddHttpClient(HttpActionExecutor.ClientName).AddHttpMessageHandler(() => new RedirectHandler());
    }
}
