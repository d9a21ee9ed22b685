using Orchestrator.Hosting;

namespace Orchestrator.UnitTests.Agents;

public sealed class AgentsOptionsValidatorTests
{
    private static OrchestratorOptions With(ModelOptions model, string name = "default")
    {
        var options = new OrchestratorOptions();
        options.Secrets["key"] = "sk-1";
        options.Agents.Models[name] = model;
        return options;
    }

    private static ModelOptions Valid() => new() { Endpoint = "https://api.openai.com/v1", Model = "gpt-4.1-mini", ApiKeySecret = "key" };

    [Test]
    public void A_complete_model_and_the_default_caps_are_valid()
    {
        var options = With(Valid());
        Assert.That(OrchestratorOptionsValidator.Check(options), Is.Empty);
        Assert.That(options.Agents.MaxSteps, Is.EqualTo(AgentsOptions.DefaultMaxSteps));
        Assert.That(options.Agents.KeepTranscripts, Is.False);
        Assert.That(options.Agents.DailyTokenBudget, Is.Zero);
    }

    [Test]
    public void An_unknown_secret_name_is_named_with_where_to_add_it()
    {
        var model = Valid();
        model.ApiKeySecret = "missing";
        Assert.That(OrchestratorOptionsValidator.Check(With(model)), Is.EqualTo(new[]
        {
            "Orchestrator:Agents:Models:default:ApiKeySecret = 'missing' names no secret: add Orchestrator:Secrets:missing " +
            "(e.g. the environment variable Orchestrator__Secrets__missing), or name a configured one.",
        }));
    }

    [TestCase("ftp://models.example.com/v1", "is not an absolute http or https URL")]
    [TestCase("/v1", "is not an absolute http or https URL")]
    [TestCase("https://user:pw@models.example.com/v1", "carries credentials")]
    public void A_bad_endpoint_is_refused(string endpoint, string reason)
    {
        var model = Valid();
        model.Endpoint = endpoint;
        var failure = OrchestratorOptionsValidator.Check(With(model)).Single();
        Assert.That(failure, Does.StartWith("Orchestrator:Agents:Models:default:Endpoint").And.Contain(reason));
        Assert.That(failure, Does.Not.Contain("pw@"), "credentials in a URL are not echoed");
    }

    [Test]
    public void Empty_model_id_bad_name_and_out_of_range_values_are_each_named()
    {
        var model = Valid();
        model.Model = " ";
        model.Temperature = 3;
        model.MaxOutputTokens = 0;
        var options = With(model, "my model");
        options.Agents.MaxSteps = 0;
        options.Agents.MaxTokens = -1;
        options.Agents.DailyTokenBudget = -5;
        options.Agents.ToolResultMaxChars = 10;

        var failures = OrchestratorOptionsValidator.Check(options);

        Assert.That(failures, Has.Count.EqualTo(8), string.Join("\n", failures));
        Assert.That(failures, Has.Some.Contains("Models:my model: a model name must be"));
        Assert.That(failures, Has.Some.Contains("Models:my model:Model is required"));
        Assert.That(failures, Has.Some.Contains("Temperature = 3 must be between 0 and 2"));
        Assert.That(failures, Has.Some.Contains("MaxOutputTokens = 0 must be between 1 and 1000000"));
        Assert.That(failures, Has.Some.Contains("Agents:MaxSteps = 0"));
        Assert.That(failures, Has.Some.Contains("Agents:MaxTokens = -1"));
        Assert.That(failures, Has.Some.Contains("Agents:DailyTokenBudget = -5"));
        Assert.That(failures, Has.Some.Contains("Agents:ToolResultMaxChars = 10"));
    }
}
