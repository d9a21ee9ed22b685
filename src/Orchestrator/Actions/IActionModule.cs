namespace Orchestrator.Actions;

/// <summary>
/// One action type's registrations, kept in the type's folder: its <see cref="ActionDefinition"/> and Quartz job (through
/// <see cref="ActionsServiceCollectionExtensions.AddActionType{TAction, TJob}"/>) and whatever its executor needs.
/// <see cref="ActionsServiceCollectionExtensions.AddActions"/> finds every module in the server, so a new type is one
/// folder and no list elsewhere. A module needs a public parameterless constructor.
/// </summary>
public interface IActionModule
{
    void AddServices(IServiceCollection services);
}
