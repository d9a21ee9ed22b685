namespace Orchestrator.Hosting;

/// <summary>
/// The <c>Orchestrator:Agents</c> section: the models agent tasks may use, each named by the operator (a task says
/// <c>"model": "default"</c>, never an endpoint or a key), and the server's caps on one agent run.
/// </summary>
public sealed class AgentsOptions
{
    public const int DefaultMaxSteps = 20;
    public const int DefaultMaxTokens = 100_000;
    public const int DefaultToolResultMaxChars = 8_000;

    /// <summary>Models by name. Configured only, never posted through the API: an endpoint and a key are the operator's choice.</summary>
    public Dictionary<string, ModelOptions> Models { get; set; } = new(StringComparer.Ordinal);

    /// <summary>The most steps (model turns and tool calls) an agent task may allow itself; its own <c>maxSteps</c> may only be lower.</summary>
    public int MaxSteps { get; set; } = DefaultMaxSteps;

    /// <summary>The most tokens (input plus output, all turns) an agent task may allow itself; its own <c>maxTokens</c> may only be lower.</summary>
    public int MaxTokens { get; set; } = DefaultMaxTokens;

    /// <summary>Tokens a project's agent runs may spend per UTC day before new agent runs are refused; 0 means no budget.</summary>
    public long DailyTokenBudget { get; set; }

    /// <summary>Keep prompts, replies and tool results after a run ends; by default only the token counts outlive the run.</summary>
    public bool KeepTranscripts { get; set; }

    /// <summary>A tool result longer than this many characters is cut before it goes back to the model.</summary>
    public int ToolResultMaxChars { get; set; } = DefaultToolResultMaxChars;
}

/// <summary>One OpenAI-compatible chat-completions endpoint and the model asked there.</summary>
public sealed class ModelOptions
{
    /// <summary>The API's base URL, the part before <c>/chat/completions</c>: <c>https://api.openai.com/v1</c>, <c>http://127.0.0.1:11434/v1</c>.</summary>
    public string? Endpoint { get; set; }

    /// <summary>The model id the endpoint knows, sent as <c>model</c>: <c>gpt-4.1-mini</c>, <c>llama3.1:8b</c>.</summary>
    public string? Model { get; set; }

    /// <summary>
    /// The NAME of the secret under <c>Orchestrator:Secrets</c> that holds the API key, never the key itself: the key
    /// stays where every other secret is, sent only as the bearer token, never listed or logged.
    /// </summary>
    public string? ApiKeySecret { get; set; }

    /// <summary>Upper bound on the tokens of one reply; unset leaves it to the endpoint.</summary>
    public int? MaxOutputTokens { get; set; }

    /// <summary>Sampling temperature, 0 to 2; unset leaves it to the endpoint.</summary>
    public double? Temperature { get; set; }
}
