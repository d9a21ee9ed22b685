namespace Orchestrator.Actions.NoOp;

/// <summary>The <c>noop</c> action type: nothing beyond its definition and job.</summary>
public sealed class NoOpModule : IActionModule
{
    public void AddServices(IServiceCollection services) => services.AddActionType<NoOpAction, NoOpJob>();
}
