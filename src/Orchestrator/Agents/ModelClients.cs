using System.ClientModel;
using System.ClientModel.Primitives;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using OpenAI;
using Orchestrator.Actions.CallApi;
using Orchestrator.Hosting;

namespace Orchestrator.Agents;

/// <summary>A configured model as the API shows it: never the key, never the endpoint's path or query.</summary>
public sealed record ConfiguredModel(string Name, string ModelId, string EndpointHost, bool KeyResolves);

/// <summary>
/// The chat clients of the models under <c>Orchestrator:Agents:Models</c>. Each call goes out through the same HTTP
/// client as call_api (<see cref="HttpActionExecutor.ClientName"/>): the outbound address policy after DNS, redirects
/// followed by <see cref="RedirectHandler"/> (which drops the bearer key when one leaves the endpoint's origin), the
/// per-host circuit breaker, and no logger that writes URLs; around it <see cref="ModelRetryHandler"/> retries 429 and
/// 5xx until the caller's deadline.
/// </summary>
public sealed class ModelClients(IHttpMessageHandlerFactory handlers, IOptionsMonitor<OrchestratorOptions> options, TimeProvider time, ILoggerFactory loggers)
{
    /// <summary>The configured models by name, with whether each one's key secret resolves to a value right now.</summary>
    public IReadOnlyList<ConfiguredModel> List()
    {
        var current = options.CurrentValue;
        return
        [
            .. current.Agents.Models
                .OrderBy(m => m.Key, StringComparer.Ordinal)
                .Select(m => new ConfiguredModel(m.Key, m.Value.Model ?? "", HostOf(m.Value.Endpoint), KeyOf(current, m.Value) is not null)),
        ];
    }

    public bool IsConfigured(string name) => options.CurrentValue.Agents.Models.ContainsKey(name);

    /// <summary>
    /// A chat client for the model named <paramref name="name"/> whose calls give up at <paramref name="deadline"/>:
    /// a retry that could not be answered before it is not made (the endpoint's last answer stands), and an attempt
    /// still waiting for its response headers then is cut off with <see cref="ModelDeadlineExceededException"/>.
    /// The model's <c>MaxOutputTokens</c> and <c>Temperature</c> apply where the caller's options leave them unset.
    /// </summary>
    /// <exception cref="ModelUnavailableException">The model is not configured, or its key secret has no value.</exception>
    public IChatClient Create(string name, DateTimeOffset deadline)
    {
        var current = options.CurrentValue;
        if (!current.Agents.Models.TryGetValue(name, out var model))
        {
            throw new ModelUnavailableException($"Model '{name}' is not configured under {OrchestratorOptions.SectionName}:Agents:Models.");
        }

        // Start-up validation saw the secret; a reload may have removed or emptied it since.
        var key = KeyOf(current, model)
            ?? throw new ModelUnavailableException($"Model '{name}': its key secret '{model.ApiKeySecret}' has no value under {OrchestratorOptions.SectionName}:Secrets.");

        var retry = new ModelRetryHandler(time, deadline, loggers.CreateLogger<ModelRetryHandler>())
        {
            // The factory's pooled chain for call_api: never disposed here, the factory owns its lifetime.
            InnerHandler = handlers.CreateHandler(HttpActionExecutor.ClientName),
        };
        var http = new HttpClient(retry, disposeHandler: false) { Timeout = Timeout.InfiniteTimeSpan };
        var clientOptions = new OpenAIClientOptions
        {
            Endpoint = new Uri(model.Endpoint!),
            Transport = new HttpClientPipelineTransport(http, enableLogging: false, loggerFactory: null),
            // The SDK's own retries would wait past the deadline and hide attempts from ours: ModelRetryHandler is the one policy.
            RetryPolicy = new ClientRetryPolicy(maxRetries: 0),
            // The deadline bounds each call (ModelRetryHandler); the SDK's 100 s default would cut a long answer short.
            NetworkTimeout = Timeout.InfiniteTimeSpan,
            // Its message logging could write headers and bodies; the key and the prompts stay out of logs.
            ClientLoggingOptions = new ClientLoggingOptions { EnableLogging = false },
            UserAgentApplicationId = "orchestrator",
        };

        var chat = new OpenAIClient(new ApiKeyCredential(key), clientOptions).GetChatClient(model.Model!).AsIChatClient();
        return new ConfigureOptionsChatClient(chat, o =>
        {
            o.MaxOutputTokens ??= model.MaxOutputTokens;
            o.Temperature ??= (float?)model.Temperature;
        });
    }

    private static string? KeyOf(OrchestratorOptions current, ModelOptions model) =>
        model.ApiKeySecret is { } secret && current.Secrets.TryGetValue(secret, out var value) && !string.IsNullOrEmpty(value) ? value : null;

    /// <summary>Host and port only: an endpoint's path or query can carry a deployment name or a token.</summary>
    private static string HostOf(string? endpoint) =>
        Uri.TryCreate(endpoint, UriKind.Absolute, out var uri) ? uri.IsDefaultPort ? uri.IdnHost : $"{uri.IdnHost}:{uri.Port}" : "";
}

/// <summary>A model a caller asked for cannot be used: not configured, or its key has no value.</summary>
public sealed class ModelUnavailableException(string message) : Exception(message);

/// <summary>A model call did not get its answer before the caller's deadline.</summary>
public sealed class ModelDeadlineExceededException(string message) : TimeoutException(message);
