namespace Orchestrator.Actions.Tasks;

/// <summary>The <c>run_task</c> action type and its executor (scoped: it reads the tool registry of the caller's scope).</summary>
public sealed class RunTaskModule : IActionModule
{
    public void AddServices(IServiceCollection services)
    {
        services.AddActionType<RunTaskAction, RunTaskJob>();
        services.AddScoped<TaskExecutor>();
    }
}
