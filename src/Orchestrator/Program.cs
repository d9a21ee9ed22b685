using Orchestrator.Cluster;
using Orchestrator.Data;
using Orchestrator.Hosting;
using Orchestrator.Projects;
using Orchestrator.Security;

var command = ServerCommand.Parse(args);
var builder = WebApplication.CreateBuilder(command.HostArgs);

var storage = builder.AddOrchestratorSettings(Console.Error);
if (storage is null)
{
    return 2;
}

builder.AddServiceHosting();
builder.Services.AddApiConventions();
builder.Services.AddOrchestratorData(storage);
builder.Services.AddOrchestratorSecurity();
builder.AddOrchestratorScheduler(storage);
builder.Services.AddHealth();
builder.Services.AddProjects();

var app = builder.Build();

try
{
    switch (command.Verb)
    {
        case ServerCommand.Migrate:
            await app.Services.GetRequiredService<DatabaseInitializer>().MigrateAsync(CancellationToken.None);
            return 0;
        case ServerCommand.CreateKey:
            await app.Services.GetRequiredService<DatabaseInitializer>().EnsureUpToDateAsync(CancellationToken.None);
            return await KeyCommands.CreateAsync(app.Services, command.CommandArgs, Console.Out, Console.Error);
    }

    await app.PrepareDatabaseAsync(storage, CancellationToken.None);
}
catch (Exception ex) when (ex is InvalidOperationException or System.Data.Common.DbException)
{
    Console.Error.WriteLine($"Start-up failed: {ex.Message}");
    return 1;
}

app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseAuthentication();
app.UseAuthorization();

app.MapOpenApi();
app.MapHealth();
app.MapCluster();
app.MapProjects();

try
{
    await app.RunAsync();
    return 0;
}
catch (Exception ex) when (ex is not OperationCanceledException)
{
    // A scheduler that cannot start (schema validation, unreachable database) must stop the process with a
    // non-zero code, so a service manager sees the failure instead of a half-alive node.
    Console.Error.WriteLine($"Start-up failed: {ex.GetType().Name}: {ex.Message}");
    return 1;
}

/// <summary>Exposed so integration tests can reference the entry assembly.</summary>
public partial class Program;
