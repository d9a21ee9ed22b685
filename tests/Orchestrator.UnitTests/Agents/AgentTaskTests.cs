using System.Text.Json;
using Orchestrator.Agents;
using Orchestrator.Api;
using Orchestrator.Hosting;
using Orchestrator.Templates;

namespace Orchestrator.UnitTests.Agents;

public sealed class AgentTaskTests
{
    private static JsonElement Parse(string json) => JsonDocument.Parse(json).RootElement.Clone();

    [Test]
    public void Omitted_limits_take_the_servers_caps_and_the_default_timeout()
    {
        var caps = new AgentsOptions { MaxSteps = 7, MaxTokens = 900 };

        var task = AgentTask.From(Parse("""{"goal":"g","model":"m"}"""), caps);

        Assert.That((task.MaxSteps, task.MaxTokens, task.TimeoutSeconds), Is.EqualTo((7, 900, AgentTask.DefaultTimeoutSeconds)));
        Assert.That(task.Tools, Is.Empty);
        Assert.That(task.Inputs, Is.Null);
    }

    [Test]
    public void Given_limits_and_tools_are_kept()
    {
        var task = AgentTask.From(Parse("""{"goal":"g","model":"m","tools":["files.read"],"inputs":{"a":1},"maxSteps":3,"maxTokens":40,"timeoutSeconds":9}"""), new AgentsOptions());

        Assert.That((task.MaxSteps, task.MaxTokens, task.TimeoutSeconds), Is.EqualTo((3, 40, 9)));
        Assert.That(task.Tools, Is.EqualTo(new[] { "files.read" }));
        Assert.That(task.Inputs?.GetProperty("a").GetInt32(), Is.EqualTo(1));
    }

    [TestCase("files.write", "files_write")]
    [TestCase("schedules.list", "schedules_list")]
    [TestCase("my-tool_2", "my-tool_2")]
    public void Tools_are_offered_under_names_openai_compatible_endpoints_accept(string tool, string function) =>
        Assert.That(AgentTask.FunctionName(tool), Is.EqualTo(function));

    [TestCase("Report for {{run.id}} of {{schedule.name}}", true)]
    [TestCase("Report for {{run.nope}}", false)]
    [TestCase("Keep {{this}} as written", true)]
    public void A_goal_may_use_the_runs_placeholders_only(string goal, bool accepted)
    {
        var errors = new FieldErrors();
        TemplateValidator.Check(goal, AgentTask.Context, "goal", errors);
        Assert.That(errors.Any, Is.EqualTo(!accepted), errors.Summary);
    }

    [Test]
    public void Usage_adds_up()
    {
        var usage = AgentUsage.None.Add(10, 5, 15, 1).Add(0, 0, 0, 1).Add(20, 7, 27, 1);
        Assert.That(usage, Is.EqualTo(new AgentUsage(30, 12, 42, 3)));
    }
}
