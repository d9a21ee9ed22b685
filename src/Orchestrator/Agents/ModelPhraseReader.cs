using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.AI;
using Microsoft.Extensions.Options;
using Orchestrator.Hosting;

namespace Orchestrator.Agents;

/// <summary>What a model made of a phrase: a cron expression and, if the phrase named one, a time zone.</summary>
public sealed record ModelPhraseAnswer(string Model, string Cron, string? TimeZone, string? Reading, long TotalTokens);

/// <summary>
/// Asks a configured model for the cron expression of a phrase the deterministic parser could not place
/// (<c>POST /api/cron/parse</c> with <c>"useModel": true</c>). The model only proposes: the caller validates the answer
/// with Quartz exactly as a schedule's trigger before anyone sees it, so a wrong or invented expression is refused,
/// never saved. The phrase is the only thing sent; no secret, schedule or project reaches the model.
/// </summary>
public sealed class ModelPhraseReader(ModelClients models, IOptionsMonitor<OrchestratorOptions> options, TimeProvider time)
{
    /// <summary>How long one reading may take, retries of a 429/5xx included.</summary>
    public static readonly TimeSpan Deadline = TimeSpan.FromSeconds(30);

    private const string Instructions =
        """
        You turn an English scheduling phrase into a Quartz.NET cron expression.
        Quartz cron has 6 or 7 space-separated fields: seconds minutes hours day-of-month month day-of-week [year].
        Exactly one of day-of-month and day-of-week is '?'. Days of week are SUN-SAT or 1-7 with 1 = Sunday.
        'L', 'W' and '#' are allowed where Quartz allows them.
        Answer with one JSON object and nothing else:
        {"cron": "<expression>", "timeZone": "<IANA zone named in the phrase, or null>", "reading": "<the schedule in a few plain words>"}
        If the phrase is not a recurring schedule a cron expression can express, answer {"cron": null, "reason": "<why>"}.
        """;

    /// <summary>
    /// The model to use when the caller names none: the one called <c>default</c>, else the only one configured.
    /// Null when that choice is not clear.
    /// </summary>
    public string? DefaultModel()
    {
        var configured = options.CurrentValue.Agents.Models;
        return configured.ContainsKey("default") ? "default" : configured.Count == 1 ? configured.Keys.First() : null;
    }

    public bool IsConfigured(string model) => models.IsConfigured(model);

    /// <exception cref="ModelUnavailableException">The model is not configured or its key has no value.</exception>
    /// <exception cref="ModelPhraseException">The model could not be reached in time or gave no usable answer.</exception>
    public async Task<ModelPhraseAnswer> ReadAsync(string model, string phrase, CancellationToken cancellationToken)
    {
        var client = models.Create(model, time.GetUtcNow() + Deadline);
        ChatResponse response;
        try
        {
            response = await client.GetResponseAsync(
                [new ChatMessage(ChatRole.System, Instructions), new ChatMessage(ChatRole.User, phrase)],
                new ChatOptions { ResponseFormat = ChatResponseFormat.Json, Temperature = 0 },
                cancellationToken);
        }
        catch (ModelDeadlineExceededException)
        {
            throw new ModelPhraseException($"Model '{model}' did not answer within {Deadline.TotalSeconds:0} s.");
        }
        catch (HttpRequestException ex)
        {
            // The message names the host at most; the key never appears in an exception from the transport.
            throw new ModelPhraseException($"Model '{model}' could not be reached: {ex.Message}");
        }
        catch (System.ClientModel.ClientResultException ex)
        {
            throw new ModelPhraseException($"Model '{model}' refused the request with HTTP {ex.Status}.");
        }

        var tokens = response.Usage?.TotalTokenCount ?? 0;
        var text = response.Text.Trim();
        // Some endpoints wrap JSON in a code fence even when asked for a JSON object.
        if (text.StartsWith("```", StringComparison.Ordinal))
        {
            text = text.Trim('`').Trim();
            if (text.StartsWith("json", StringComparison.OrdinalIgnoreCase))
            {
                text = text[4..].Trim();
            }
        }

        JsonObject? answer;
        try
        {
            answer = JsonNode.Parse(text) as JsonObject;
        }
        catch (JsonException)
        {
            answer = null;
        }

        if (answer is null)
        {
            throw new ModelPhraseException($"Model '{model}' did not answer with a JSON object.");
        }

        var cron = StringOf(answer["cron"]);
        if (string.IsNullOrWhiteSpace(cron))
        {
            var reason = StringOf(answer["reason"]);
            throw new ModelPhraseException($"Model '{model}' found no cron expression for it{(string.IsNullOrWhiteSpace(reason) ? "." : $": {Shorten(reason)}")}");
        }

        return new ModelPhraseAnswer(model, cron.Trim(), NullIfBlank(StringOf(answer["timeZone"])), NullIfBlank(Shorten(StringOf(answer["reading"]))), tokens);
    }

    private static string? StringOf(JsonNode? node) =>
        node is JsonValue value && value.TryGetValue<string>(out var s) ? s : null;

    private static string? NullIfBlank(string? value) => string.IsNullOrWhiteSpace(value) ? null : value.Trim();

    /// <summary>The model's words are shown back to the caller: bounded, one line.</summary>
    private static string? Shorten(string? value) =>
        value is null ? null : string.Concat(value.Where(c => !char.IsControl(c)).Take(200));
}

/// <summary>A model asked to read a phrase gave no usable answer; the message says why, never the key.</summary>
public sealed class ModelPhraseException(string message) : Exception(message);
