using Orchestrator.Tools.Builtin;

namespace Orchestrator.Tools;

public static class ToolsServiceCollectionExtensions
{
    /// <summary>The tool registry (built-in tools from code, operator tools from EF Core) and the invoker that runs either.</summary>
    public static IServiceCollection AddTools(this IServiceCollection services)
    {
        services.AddSingleton<BuiltinTool, FilesReadTool>();
        services.AddSingleton<BuiltinTool, FilesWriteTool>();
        services.AddSingleton<BuiltinTool, FilesListTool>();
        services.AddSingleton<BuiltinTool, FilesDeleteTool>();
        services.AddSingleton<BuiltinTool, ShellRunTool>();
        services.AddSingleton<BuiltinTool, HttpRequestTool>();
        services.AddSingleton<BuiltinTool, NotifyTool>();
        services.AddSingleton<BuiltinTool, WorkspaceCleanupTool>();
        services.AddSingleton<BuiltinTool, SchedulesCreateTool>();
        services.AddSingleton<BuiltinTool, SchedulesListTool>();
        services.AddSingleton<BuiltinTool, SchedulesPauseTool>();
        services.AddSingleton<BuiltinTool, SchedulesResumeTool>();
        services.AddSingleton<BuiltinTool, SchedulesRunTool>();
        services.AddSingleton<BuiltinTool, SchedulesDeleteTool>();
        services.AddSingleton<BuiltinToolCatalog>();
        services.AddScoped<ToolRegistry>();
        services.AddSingleton<ToolInvoker>();
        services.AddScoped<ToolService>();
        return services;
    }
}
