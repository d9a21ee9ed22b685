namespace Orchestrator.Hosting;

/// <summary>The <c>Orchestrator:Agents</c> checks of <see cref="OrchestratorOptionsValidator"/>: each names the setting and the fix.</summary>
public static class AgentsOptionsValidator
{
    private const string Prefix = OrchestratorOptions.SectionName + ":Agents:";

    public static IEnumerable<string> Check(OrchestratorOptions options)
    {
        var agents = options.Agents;
        foreach (var (name, model) in agents.Models.OrderBy(m => m.Key, StringComparer.Ordinal))
        {
            var at = $"{Prefix}Models:{name}";
            if (!IsModelName(name))
            {
                yield return $"{at}: a model name must be 1–100 letters, digits, '_', '-' or '.' (agent tasks name the model by it).";
            }

            if (string.IsNullOrWhiteSpace(model.Endpoint))
            {
                yield return $"{at}:Endpoint is required: the API's base URL, e.g. 'https://api.openai.com/v1' or 'http://127.0.0.1:11434/v1'.";
            }
            else if (!Uri.TryCreate(model.Endpoint, UriKind.Absolute, out var endpoint) || (endpoint.Scheme != Uri.UriSchemeHttp && endpoint.Scheme != Uri.UriSchemeHttps))
            {
                yield return $"{at}:Endpoint = '{model.Endpoint}' is not an absolute http or https URL; give the API's base URL, e.g. 'https://api.openai.com/v1'.";
            }
            else if (endpoint.UserInfo.Length > 0)
            {
                // The URL is shown (its host) and may be logged by a proxy: credentials belong in the secret, not in it. Not echoed.
                yield return $"{at}:Endpoint carries credentials (user:password@); remove them and put the key under {OrchestratorOptions.SectionName}:Secrets, named by {at}:ApiKeySecret.";
            }

            if (string.IsNullOrWhiteSpace(model.Model))
            {
                yield return $"{at}:Model is required: the model id the endpoint knows, e.g. 'gpt-4.1-mini'.";
            }

            if (string.IsNullOrWhiteSpace(model.ApiKeySecret))
            {
                yield return $"{at}:ApiKeySecret is required: the NAME of a secret under {OrchestratorOptions.SectionName}:Secrets that holds the API key " +
                             "(for a local server that needs no key, configure a secret with any value).";
            }
            else if (!options.Secrets.ContainsKey(model.ApiKeySecret))
            {
                yield return $"{at}:ApiKeySecret = '{model.ApiKeySecret}' names no secret: add {OrchestratorOptions.SectionName}:Secrets:{model.ApiKeySecret} " +
                             $"(e.g. the environment variable {OrchestratorOptions.SectionName}__Secrets__{model.ApiKeySecret}), or name a configured one.";
            }

            if (model.MaxOutputTokens is < 1 or > 1_000_000)
            {
                yield return $"{at}:MaxOutputTokens = {model.MaxOutputTokens} must be between 1 and 1000000, or unset to leave it to the endpoint.";
            }

            if (model.Temperature is { } temperature && !(temperature >= 0 && temperature <= 2))
            {
                yield return $"{at}:Temperature = {temperature} must be between 0 and 2, or unset to leave it to the endpoint.";
            }
        }

        if (agents.MaxSteps is < 1 or > 1000)
        {
            yield return $"{Prefix}MaxSteps = {agents.MaxSteps} must be between 1 and 1000 (default {AgentsOptions.DefaultMaxSteps}).";
        }

        if (agents.MaxTokens is < 1 or > 100_000_000)
        {
            yield return $"{Prefix}MaxTokens = {agents.MaxTokens} must be between 1 and 100000000 (default {AgentsOptions.DefaultMaxTokens}).";
        }

        if (agents.DailyTokenBudget < 0)
        {
            yield return $"{Prefix}DailyTokenBudget = {agents.DailyTokenBudget} must be 0 (no budget, the default) or a positive number of tokens per project and day.";
        }

        if (agents.ToolResultMaxChars is < 256 or > 1_000_000)
        {
            yield return $"{Prefix}ToolResultMaxChars = {agents.ToolResultMaxChars} must be between 256 and 1000000 (default {AgentsOptions.DefaultToolResultMaxChars}).";
        }
    }

    private static bool IsModelName(string name) =>
        name.Length is >= 1 and <= 100 && name.All(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '-' or '.');
}
