using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Orchestrator.IntegrationTests.Infrastructure;

/// <summary>
/// An OpenAI-compatible chat-completions endpoint on 127.0.0.1 (<c>POST /v1/chat/completions</c>, non-streaming) that
/// answers from a script: each request takes the next <see cref="Reply"/> in order — an assistant message with
/// content and/or <c>tool_calls</c> and its <c>usage</c>, or an error status (429 with <c>Retry-After</c>, 500) — and
/// every request is recorded with its headers and body, so a test can see what the model was sent, how often, and
/// with which key. A request past the end of the script is answered 500 "script exhausted" and recorded too, so an
/// unexpected extra model call fails the test that made it.
/// </summary>
public sealed class ScriptedChatServer : IAsyncDisposable
{
    public const string CompletionsPath = "/v1/chat/completions";

    private readonly WebApplication app;
    private readonly ConcurrentQueue<Reply> script = new();
    private readonly ConcurrentQueue<RecordedRequest> requests = new();
    private int served;

    /// <summary>A tool call the scripted model makes: <paramref name="Arguments"/> is the JSON text of its arguments.</summary>
    public sealed record ToolCall(string Id, string Name, string Arguments);

    /// <summary>
    /// One scripted answer. With <paramref name="Status"/> other than 200 an error body is sent (and
    /// <paramref name="RetryAfter"/> as the Retry-After header, if given); otherwise an assistant message with
    /// <paramref name="Content"/> and <paramref name="ToolCalls"/> and the token counts as <c>usage</c>. With
    /// <paramref name="Hold"/> the answer waits until that task completes (or the client goes away). With
    /// <paramref name="Location"/> the answer is a redirect there (status <paramref name="Status"/>, 307 by default).
    /// </summary>
    public sealed record Reply(
        string? Content = null,
        IReadOnlyList<ToolCall>? ToolCalls = null,
        int PromptTokens = 10,
        int CompletionTokens = 5,
        int Status = 200,
        string? RetryAfter = null,
        Task? Hold = null,
        string? Location = null)
    {
        public static Reply Answer(string content, int promptTokens = 10, int completionTokens = 5) =>
            new(content, PromptTokens: promptTokens, CompletionTokens: completionTokens);

        public static Reply Calls(params ToolCall[] calls) => new(ToolCalls: calls);

        public static Reply Error(int status, string? retryAfter = null) => new(Status: status, RetryAfter: retryAfter);

        public static Reply Redirect(string location, int status = 307) => new(Status: status, Location: location);
    }

    /// <summary>A request as received: its headers (names case-insensitive) and body, parsed when it was JSON.</summary>
    public sealed record RecordedRequest(string Method, string Path, IReadOnlyDictionary<string, string> Headers, string Body, DateTimeOffset At, bool Aborted)
    {
        public JsonNode? Json => TryParse(Body);

        public string? Authorization => Headers.GetValueOrDefault("Authorization");

        private static JsonNode? TryParse(string text)
        {
            try
            {
                return JsonNode.Parse(text);
            }
            catch (JsonException)
            {
                return null;
            }
        }
    }

    private ScriptedChatServer(WebApplication app) => this.app = app;

    public string BaseUrl { get; private set; } = "";

    /// <summary>The base URL a model's <c>Endpoint</c> setting takes (the SDK appends <c>/chat/completions</c>).</summary>
    public string Endpoint => BaseUrl + "/v1";

    public IReadOnlyList<RecordedRequest> Requests => [.. requests];

    /// <summary>Scripted replies not yet used.</summary>
    public int Remaining => script.Count;

    public void Enqueue(params Reply[] replies)
    {
        foreach (var reply in replies)
        {
            script.Enqueue(reply);
        }
    }

    public static async Task<ScriptedChatServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        var app = builder.Build();
        var server = new ScriptedChatServer(app);
        app.Run(server.HandleAsync);
        await app.StartAsync();
        server.BaseUrl = app.Urls.First();
        return server;
    }

    private async Task HandleAsync(HttpContext context)
    {
        using var reader = new StreamReader(context.Request.Body);
        var body = await reader.ReadToEndAsync();
        var path = context.Request.Path.Value ?? "/";
        var aborted = false;
        try
        {
            if (context.Request.Method != HttpMethods.Post || path != CompletionsPath)
            {
                await WriteErrorAsync(context, 404, $"no route {context.Request.Method} {path}; this server speaks POST {CompletionsPath}");
                return;
            }

            if (!script.TryDequeue(out var reply))
            {
                await WriteErrorAsync(context, 500, "script exhausted: the test scripted fewer replies than the client asked for");
                return;
            }

            if (reply.Hold is { } hold)
            {
                await hold.WaitAsync(context.RequestAborted);
            }

            if (reply.Location is not null)
            {
                context.Response.StatusCode = reply.Status;
                context.Response.Headers.Location = reply.Location;
                return;
            }

            if (reply.Status != 200)
            {
                if (reply.RetryAfter is not null)
                {
                    context.Response.Headers.RetryAfter = reply.RetryAfter;
                }

                await WriteErrorAsync(context, reply.Status, reply.Status == 429 ? "rate limited (scripted)" : $"scripted failure {reply.Status}");
                return;
            }

            var n = Interlocked.Increment(ref served);
            var model = TryModel(body) ?? "scripted";
            var message = new JsonObject { ["role"] = "assistant", ["content"] = reply.Content };
            if (reply.ToolCalls is { Count: > 0 } calls)
            {
                message["tool_calls"] = new JsonArray([.. calls.Select(c => (JsonNode)new JsonObject
                {
                    ["id"] = c.Id,
                    ["type"] = "function",
                    ["function"] = new JsonObject { ["name"] = c.Name, ["arguments"] = c.Arguments },
                })]);
            }

            var completion = new JsonObject
            {
                ["id"] = $"chatcmpl-scripted-{n}",
                ["object"] = "chat.completion",
                ["created"] = TimeProvider.System.GetUtcNow().ToUnixTimeSeconds(),
                ["model"] = model,
                ["choices"] = new JsonArray(new JsonObject
                {
                    ["index"] = 0,
                    ["message"] = message,
                    ["finish_reason"] = reply.ToolCalls is { Count: > 0 } ? "tool_calls" : "stop",
                }),
                ["usage"] = new JsonObject
                {
                    ["prompt_tokens"] = reply.PromptTokens,
                    ["completion_tokens"] = reply.CompletionTokens,
                    ["total_tokens"] = reply.PromptTokens + reply.CompletionTokens,
                },
            };
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(completion.ToJsonString(), context.RequestAborted);
        }
        catch (Exception ex) when (ex is OperationCanceledException or IOException)
        {
            // The client went away (cancelled, or its deadline passed) while the reply was held.
            aborted = true;
        }
        finally
        {
            requests.Enqueue(new RecordedRequest(
                context.Request.Method, path,
                context.Request.Headers.ToDictionary(h => h.Key, h => h.Value.ToString(), StringComparer.OrdinalIgnoreCase),
                body, TimeProvider.System.GetUtcNow(), aborted));
        }
    }

    private static async Task WriteErrorAsync(HttpContext context, int status, string message)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        var error = new JsonObject { ["error"] = new JsonObject { ["message"] = message, ["type"] = "scripted", ["code"] = status } };
        await context.Response.WriteAsync(error.ToJsonString(), context.RequestAborted);
    }

    private static string? TryModel(string body)
    {
        try
        {
            return JsonNode.Parse(body)?["model"]?.GetValue<string>();
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            return null;
        }
    }

    public async ValueTask DisposeAsync()
    {
        await app.StopAsync();
        await app.DisposeAsync();
    }
}
