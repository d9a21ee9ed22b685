using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Agents;

/// <summary>A server whose model settings cannot work does not start: each bad setting is named with its fix.</summary>
[TestFixture]
public sealed class ModelSettingsTests
{
    private static async Task<(int ExitCode, string Output)> StartExpectingExit(Dictionary<string, string?> environment)
    {
        await using var server = ServerProcess.Start(environment);
        var exitCode = await server.WaitForExitAsync(TimeSpan.FromSeconds(60));
        return (exitCode, server.Output);
    }

    [Test]
    public async Task A_model_whose_key_secret_is_not_configured_stops_start_up_naming_the_secret()
    {
        var (exitCode, output) = await StartExpectingExit(new()
        {
            ["Orchestrator__Secrets__other"] = "x",
            ["Orchestrator__Agents__Models__default__Endpoint"] = "https://api.openai.com/v1",
            ["Orchestrator__Agents__Models__default__Model"] = "gpt-4.1-mini",
            ["Orchestrator__Agents__Models__default__ApiKeySecret"] = "openai-key",
        });

        Assert.That(exitCode, Is.Not.Zero);
        Assert.That(output, Does.Contain("Orchestrator:Agents:Models:default:ApiKeySecret = 'openai-key' names no secret")
            .And.Contain("Orchestrator:Secrets:openai-key"), output);
    }

    [Test]
    public async Task A_bad_endpoint_an_empty_model_id_and_a_cap_out_of_range_are_reported_together()
    {
        var (exitCode, output) = await StartExpectingExit(new()
        {
            ["Orchestrator__Secrets__k"] = "x",
            ["Orchestrator__Agents__Models__local__Endpoint"] = "localhost:11434/v1",
            ["Orchestrator__Agents__Models__local__ApiKeySecret"] = "k",
            ["Orchestrator__Agents__MaxSteps"] = "0",
        });

        Assert.That(exitCode, Is.Not.Zero);
        Assert.That(output, Does.Contain("Orchestrator:Agents:Models:local:Endpoint = 'localhost:11434/v1' is not an absolute http or https URL")
            .And.Contain("Orchestrator:Agents:Models:local:Model is required")
            .And.Contain("Orchestrator:Agents:MaxSteps = 0 must be between 1 and 1000"), output);
    }
}
