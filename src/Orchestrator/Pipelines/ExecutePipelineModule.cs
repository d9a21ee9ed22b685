using Orchestrator.Actions;

namespace Orchestrator.Pipelines;

/// <summary>
/// The <c>execute_pipeline</c> action type, which lives with pipelines: its job runs a pipeline through
/// <see cref="PipelineExecutor"/>, registered by <see cref="PipelineEndpoints.AddPipelines"/>.
/// </summary>
public sealed class ExecutePipelineModule : IActionModule
{
    public void AddServices(IServiceCollection services) => services.AddActionType<ExecutePipelineAction, ExecutePipelineJob>();
}
