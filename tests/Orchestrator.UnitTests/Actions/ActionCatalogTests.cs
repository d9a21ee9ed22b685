using System.Text.Json;
using System.Text.Json.Nodes;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Actions;
using Orchestrator.Api;
using Orchestrator.Hosting;
using Orchestrator.Pipelines;

namespace Orchestrator.UnitTests.Actions;

/// <summary>
/// The catalog is the one list of action types: the dispatcher (pipeline action nodes), the pipeline validator and
/// <c>GET /api/actions</c> all read it, so a type added as one <see cref="ActionDefinition"/> is known to each.
/// </summary>
public sealed class ActionCatalogTests
{
    private static readonly string[] ScheduleTypes = ["call_api", "execute_pipeline", "noop", "run_task", "send_notification"];

    /// <summary>A type the server does not have, registered only as a definition.</summary>
    private sealed class EchoAction(string type, bool runsInPipelineNodes = true) : ActionDefinition
    {
        public override string Type => type;

        public override Type JobType => typeof(object);

        public override string Description => "Answers with its config.";

        public override bool RunsInPipelineNodes => runsInPipelineNodes;

        public override string SchemaJson => """{ "type": "object" }""";

        public override Task<ActionOutcome> ExecuteAsync(ActionInvocation invocation, IServiceProvider services, CancellationToken cancellationToken) =>
            Task.FromResult(new ActionOutcome(true, new JsonObject { ["echo"] = JsonNode.Parse(invocation.Config.GetRawText()) }));
    }

    /// <summary>The catalog as the server composes it: the definitions AddActions and AddPipelines register.</summary>
    private static ActionCatalog ServerCatalog()
    {
        var services = new ServiceCollection();
        services.AddOptions<OrchestratorOptions>();
        services.AddLogging();
        services.AddActions();
        services.AddPipelines();
        return services.BuildServiceProvider().GetRequiredService<ActionCatalog>();
    }

    private static ActionInvocation Invocation(string config) =>
        new(Guid.NewGuid(), "default.s", "s", "default", 1, "key-1", DateTimeOffset.UnixEpoch, JsonDocument.Parse(config).RootElement);

    [Test]
    public void The_server_registers_the_action_types_of_the_spec_each_with_a_description_and_an_object_schema()
    {
        var catalog = ServerCatalog();
        Assert.That(catalog.All.Select(a => a.Type), Is.EqualTo(ScheduleTypes), "every type, ordered by name");
        foreach (var action in catalog.All)
        {
            Assert.That(action.Description, Is.Not.Empty, action.Type);
            Assert.That(JsonNode.Parse(action.SchemaJson), Is.InstanceOf<JsonObject>(), action.Type);
        }
    }

    [Test]
    public void The_server_registers_exactly_its_five_action_types_each_with_its_job_resolvable_from_the_container()
    {
        var services = new ServiceCollection();
        services.AddOptions<OrchestratorOptions>();
        services.AddLogging();
        services.AddActions();
        services.AddPipelines();
        using var provider = services.BuildServiceProvider();
        var catalog = provider.GetRequiredService<ActionCatalog>();
        Assert.That(catalog.All.Select(a => a.Type), Is.EqualTo(ScheduleTypes));

        // The job factory resolves a firing's job from the container (falling back to activating it), so each type's job
        // is registered where its module registers its definition.
        var isService = provider.GetRequiredService<IServiceProviderIsService>();
        foreach (var action in catalog.All)
        {
            Assert.That(action.JobType.IsAssignableTo(typeof(Quartz.IJob)), action.Type);
            Assert.That(isService.IsService(action.JobType), $"{action.Type}'s job {action.JobType.Name} is registered");
            Assert.That(services.Count(d => d.ServiceType == action.JobType), Is.EqualTo(1), $"{action.Type}'s job is registered once");
        }

        // Every action type written in the server has a module that registers it: none is left out of the catalog.
        var written = typeof(ActionDefinition).Assembly.GetTypes().Where(t => !t.IsAbstract && t.IsSubclassOf(typeof(ActionDefinition)));
        Assert.That(written.Select(t => provider.GetServices<ActionDefinition>().Single(d => d.GetType() == t).Type).Order(StringComparer.Ordinal), Is.EqualTo(ScheduleTypes));
    }

    [Test]
    public void Dispatcher_and_pipeline_validator_agree_with_the_catalog_on_what_a_node_runs()
    {
        var catalog = ServerCatalog();
        var dispatcher = new ActionDispatcher(catalog);
        Assert.That(catalog.PipelineNodeTypes, Is.EqualTo(new[] { "call_api", "noop", "run_task", "send_notification" }), "a sub-pipeline is a 'pipeline' node");
        foreach (var type in catalog.Types)
        {
            var errors = new FieldErrors();
            var accepted = PipelineValidator.NodeAction(catalog, type, "nodes[0]", errors) is not null;
            Assert.That(accepted, Is.EqualTo(catalog.PipelineNodeTypes.Contains(type)), $"validator on {type}: {errors.Summary}");
            Assert.That(dispatcher.CanRun(type), Is.EqualTo(accepted), $"dispatcher on {type}");
        }
    }

    [Test]
    public void A_type_registered_once_is_validated_and_dispatched_without_another_list()
    {
        var catalog = new ActionCatalog([new EchoAction("zz_echo"), new EchoAction("aa_starter", runsInPipelineNodes: false)]);
        Assert.That(catalog.All.Select(a => a.Type), Is.EqualTo(new[] { "aa_starter", "zz_echo" }));

        var errors = new FieldErrors();
        Assert.That(PipelineValidator.NodeAction(catalog, "zz_echo", "nodes[0]", errors)?.Type, Is.EqualTo("zz_echo"));
        Assert.That(PipelineValidator.NodeAction(catalog, "aa_starter", "nodes[1]", errors), Is.Null);
        Assert.That(errors.Entries["nodes[1].action.type"].Single(), Does.Contain("use zz_echo"));
    }

    [Test]
    public async Task The_dispatcher_runs_a_type_through_its_definition_and_refuses_one_a_node_cannot_run()
    {
        var catalog = new ActionCatalog([new EchoAction("zz_echo"), new EchoAction("aa_starter", runsInPipelineNodes: false)]);
        var dispatcher = new ActionDispatcher(catalog);
        using var services = new ServiceCollection().BuildServiceProvider();

        var outcome = await dispatcher.ExecuteAsync("zz_echo", Invocation("""{ "n": 1 }"""), services, CancellationToken.None);
        Assert.That(outcome.Result.ToJsonString(), Is.EqualTo("""{"echo":{"n":1}}"""));

        Assert.ThrowsAsync<ActionFailedException>(() => dispatcher.ExecuteAsync("aa_starter", Invocation("{}"), services, CancellationToken.None));
        Assert.ThrowsAsync<ActionFailedException>(() => dispatcher.ExecuteAsync("unknown", Invocation("{}"), services, CancellationToken.None));
    }
}
