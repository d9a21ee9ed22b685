using System.ClientModel;
using System.Diagnostics;
using System.Text.Json;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orchestrator.Actions;
using Orchestrator.Actions.CallApi;
using Orchestrator.Agents;
using Orchestrator.Hosting;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Agents;

/// <summary>
/// The model client over real HTTP against the scripted OpenAI-compatible server, resolved from the server's own
/// service registrations (<c>AddActions</c> then <c>AddAgents</c>, as Program.cs calls them) with settings in memory:
/// what it sends, what it returns, how it retries, where it stops, and what the outbound policy refuses.
/// </summary>
[TestFixture]
public sealed class ModelClientTests
{
    private const string Key = "sk-scripted-7f3a9c";

    private ScriptedChatServer model = null!;

    [SetUp]
    public async Task StartModelAsync() => model = await ScriptedChatServer.StartAsync();

    [TearDown]
    public async Task StopModelAsync() => await model.DisposeAsync();

    private ServiceProvider Services(bool allowLoopback = true)
    {
        var settings = new Dictionary<string, string?>
        {
            ["Orchestrator:Secrets:model-key"] = Key,
            ["Orchestrator:Agents:Models:default:Endpoint"] = model.Endpoint,
            ["Orchestrator:Agents:Models:default:Model"] = "scripted-1",
            ["Orchestrator:Agents:Models:default:ApiKeySecret"] = "model-key",
            ["Orchestrator:Agents:Models:default:MaxOutputTokens"] = "321",
            ["Orchestrator:Agents:Models:default:Temperature"] = "0.25",
        };
        if (allowLoopback)
        {
            settings["Orchestrator:Outbound:AllowedHosts:0"] = "127.0.0.1";
        }

        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var services = new ServiceCollection();
        services.AddLogging(l => l.AddProvider(new CapturingLoggerProvider(logged)));
        services.AddOptions<OrchestratorOptions>().Bind(configuration.GetSection(OrchestratorOptions.SectionName));
        services.AddActions();
        services.AddAgents();
        var provider = services.BuildServiceProvider();
        var failures = OrchestratorOptionsValidator.Check(provider.GetRequiredService<Microsoft.Extensions.Options.IOptions<OrchestratorOptions>>().Value);
        Assert.That(failures, Is.Empty, "the test's settings pass start-up validation");
        return provider;
    }

    private readonly List<string> logged = [];

    private static List<ChatMessage> Prompt => [new(ChatRole.User, "Say hello.")];

    private static DateTimeOffset InSeconds(double seconds) => TimeProvider.System.GetUtcNow().AddSeconds(seconds);

    [Test]
    public async Task The_key_is_sent_as_a_bearer_token_and_the_answer_and_its_usage_come_back()
    {
        model.Enqueue(ScriptedChatServer.Reply.Answer("Hello.", promptTokens: 12, completionTokens: 7));
        await using var services = Services();
        var client = services.GetRequiredService<ModelClients>().Create("default", InSeconds(30));

        var response = await client.GetResponseAsync(Prompt);

        Assert.That(response.Text, Is.EqualTo("Hello."));
        Assert.That(response.Usage?.InputTokenCount, Is.EqualTo(12));
        Assert.That(response.Usage?.OutputTokenCount, Is.EqualTo(7));
        Assert.That(response.Usage?.TotalTokenCount, Is.EqualTo(19));
        var request = model.Requests.Single();
        Assert.That(request.Path, Is.EqualTo(ScriptedChatServer.CompletionsPath));
        Assert.That(request.Authorization, Is.EqualTo("Bearer " + Key));
        var body = request.Json!;
        Assert.That(body["model"]!.GetValue<string>(), Is.EqualTo("scripted-1"));
        Assert.That(body["messages"]![0]!["content"]!.ToJsonString(), Does.Contain("Say hello."));
        // The model's configured defaults apply where the caller left them unset.
        var maxTokens = body["max_completion_tokens"] ?? body["max_tokens"];
        Assert.That(maxTokens?.GetValue<int>(), Is.EqualTo(321), body.ToJsonString());
        Assert.That(body["temperature"]!.GetValue<double>(), Is.EqualTo(0.25).Within(1e-6));
        Assert.That(logged, Has.None.Contains(Key), "the key is never logged");
    }

    [Test]
    public async Task Offered_tools_are_sent_with_their_schema_and_tool_calls_come_back()
    {
        model.Enqueue(ScriptedChatServer.Reply.Calls(new ScriptedChatServer.ToolCall("call_1", "files_write", """{"path":"notes.txt","content":"hi"}""")));
        await using var services = Services();
        var client = services.GetRequiredService<ModelClients>().Create("default", InSeconds(30));
        using var schema = JsonDocument.Parse("""{"type":"object","properties":{"path":{"type":"string"},"content":{"type":"string"}},"required":["path","content"]}""");
        var options = new ChatOptions { Tools = [AIFunctionFactory.CreateDeclaration("files_write", "Writes a file in the project.", schema.RootElement.Clone())] };

        var response = await client.GetResponseAsync(Prompt, options);

        var call = response.Messages.SelectMany(m => m.Contents).OfType<FunctionCallContent>().Single();
        Assert.That(call.CallId, Is.EqualTo("call_1"));
        Assert.That(call.Name, Is.EqualTo("files_write"));
        Assert.That(call.Arguments?["path"]?.ToString(), Is.EqualTo("notes.txt"));
        var tool = model.Requests.Single().Json!["tools"]![0]!;
        Assert.That(tool["type"]!.GetValue<string>(), Is.EqualTo("function"));
        Assert.That(tool["function"]!["name"]!.GetValue<string>(), Is.EqualTo("files_write"));
        Assert.That(tool["function"]!["parameters"]!["required"]!.ToJsonString(), Is.EqualTo("""["path","content"]"""));
    }

    [Test]
    public async Task A_429_with_retry_after_is_waited_out_and_retried()
    {
        model.Enqueue(ScriptedChatServer.Reply.Error(429, retryAfter: "1"), ScriptedChatServer.Reply.Answer("After the wait."));
        await using var services = Services();
        var client = services.GetRequiredService<ModelClients>().Create("default", InSeconds(30));

        var response = await client.GetResponseAsync(Prompt);

        Assert.That(response.Text, Is.EqualTo("After the wait."));
        var requests = model.Requests;
        Assert.That(requests, Has.Count.EqualTo(2));
        Assert.That(requests[1].At - requests[0].At, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(900)), "Retry-After: 1 was honoured");
        Assert.That(requests[1].Authorization, Is.EqualTo("Bearer " + Key));
        Assert.That(requests[1].Body, Is.EqualTo(requests[0].Body), "the retry sends the same request");
    }

    [Test]
    public async Task A_retry_after_past_the_deadline_is_not_waited_for()
    {
        model.Enqueue(ScriptedChatServer.Reply.Error(429, retryAfter: "30"), ScriptedChatServer.Reply.Answer("too late"));
        await using var services = Services();
        var client = services.GetRequiredService<ModelClients>().Create("default", InSeconds(5));
        var clock = Stopwatch.StartNew();

        var error = Assert.ThrowsAsync<ClientResultException>(() => client.GetResponseAsync(Prompt));

        Assert.That(error!.Status, Is.EqualTo(429));
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(4)), "the endpoint's answer came back at once instead of after a wait the deadline could not hold");
        Assert.That(model.Requests, Has.Count.EqualTo(1));
        Assert.That(model.Remaining, Is.EqualTo(1), "no second request");
    }

    [Test]
    public async Task Server_errors_are_retried_with_backoff_until_the_deadline_and_no_further()
    {
        model.Enqueue([.. Enumerable.Repeat(ScriptedChatServer.Reply.Error(500), 6)]);
        await using var services = Services();
        // Backoff 0.8–1.2 s, then 1.6–2.4 s: the second attempt fits in 2.3 s (while the first answers within 1.1 s), a third never does.
        var client = services.GetRequiredService<ModelClients>().Create("default", InSeconds(2.3));
        var clock = Stopwatch.StartNew();

        var error = Assert.ThrowsAsync<ClientResultException>(() => client.GetResponseAsync(Prompt));

        Assert.That(error!.Status, Is.EqualTo(500));
        Assert.That(model.Requests, Has.Count.EqualTo(2));
        Assert.That(model.Requests[1].At - model.Requests[0].At, Is.GreaterThanOrEqualTo(TimeSpan.FromMilliseconds(750)));
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(2.3)), "it gave up before the deadline rather than sleeping past it");
    }

    [Test]
    public async Task An_answer_still_outstanding_at_the_deadline_ends_the_call_there()
    {
        var never = new TaskCompletionSource();
        model.Enqueue(new ScriptedChatServer.Reply("never sent", Hold: never.Task));
        await using var services = Services();
        var client = services.GetRequiredService<ModelClients>().Create("default", InSeconds(1.5));
        var clock = Stopwatch.StartNew();

        Assert.ThrowsAsync<ModelDeadlineExceededException>(() => client.GetResponseAsync(Prompt));

        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)));
        await Poll.UntilAsync(() => Task.FromResult(model.Requests), r => r.Count == 1, TimeSpan.FromSeconds(5), "the held request to be abandoned");
        Assert.That(model.Requests.Single().Aborted, Is.True, "the client hung up at the deadline");
    }

    [Test]
    public async Task An_endpoint_on_a_loopback_address_the_outbound_policy_refuses_is_never_called()
    {
        model.Enqueue(ScriptedChatServer.Reply.Answer("should not be asked"));
        await using var services = Services(allowLoopback: false);
        var client = services.GetRequiredService<ModelClients>().Create("default", InSeconds(30));
        var clock = Stopwatch.StartNew();

        var error = Assert.CatchAsync<Exception>(() => client.GetResponseAsync(Prompt));

        var chain = Chain(error!).ToList();
        Assert.That(chain.OfType<OutboundRefusedException>().Single().Message, Does.Contain("loopback"), string.Join(" <- ", chain.Select(e => e.Message)));
        Assert.That(model.Requests, Is.Empty, "nothing reached the endpoint");
        Assert.That(clock.Elapsed, Is.LessThan(TimeSpan.FromSeconds(5)), "a refusal is not retried");
    }

    [Test]
    public async Task A_redirect_to_another_origin_is_followed_without_the_key()
    {
        // Another port is another origin: the bearer key stays with the endpoint that was configured for it.
        await using var elsewhere = await ScriptedChatServer.StartAsync();
        elsewhere.Enqueue(ScriptedChatServer.Reply.Answer("From elsewhere."));
        model.Enqueue(ScriptedChatServer.Reply.Redirect(elsewhere.BaseUrl + ScriptedChatServer.CompletionsPath));
        await using var services = Services();
        var client = services.GetRequiredService<ModelClients>().Create("default", InSeconds(30));

        var response = await client.GetResponseAsync(Prompt);

        Assert.That(response.Text, Is.EqualTo("From elsewhere."));
        Assert.That(model.Requests.Single().Authorization, Is.EqualTo("Bearer " + Key));
        var redirected = elsewhere.Requests.Single();
        Assert.That(redirected.Authorization, Is.Null, "the key did not follow the redirect to another origin");
        Assert.That(redirected.Body, Is.EqualTo(model.Requests.Single().Body), "a 307 re-sends the same request");
    }

    [Test]
    public async Task A_model_that_is_not_configured_is_refused_by_name()
    {
        await using var services = Services();
        var models = services.GetRequiredService<ModelClients>();
        Assert.That(models.IsConfigured("default"), Is.True);
        Assert.That(models.IsConfigured("gpt-x"), Is.False);
        Assert.That(() => models.Create("gpt-x", InSeconds(30)),
            Throws.TypeOf<ModelUnavailableException>().With.Message.Contains("'gpt-x'").And.Message.Contains("Agents:Models"));
    }

    private static IEnumerable<Exception> Chain(Exception error)
    {
        for (var e = error; e is not null; e = e.InnerException)
        {
            yield return e;
        }
    }

    /// <summary>Everything logged, formatted, so a test can assert the key never appears.</summary>
    private sealed class CapturingLoggerProvider(List<string> lines) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => new Logger(lines);

        public void Dispose()
        {
        }

        private sealed class Logger(List<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => true;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                lock (lines)
                {
                    lines.Add(formatter(state, exception) + " " + exception);
                }
            }
        }
    }
}
