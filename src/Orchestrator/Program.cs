using Orchestrator.Actions;
using Orchestrator.Actions.Notifications;
using Orchestrator.Agents;
using Orchestrator.Api;
using Orchestrator.Audit;
using Orchestrator.Cluster;
using Orchestrator.Dashboard;
using Orchestrator.Deadlines;
using Orchestrator.Data;
using Orchestrator.Definitions;
using Orchestrator.Hosting;
using Orchestrator.Pipelines;
using Orchestrator.Projects;
using Orchestrator.Runs;
using Orchestrator.Schedules;
using Orchestrator.Security;
using Orchestrator.Stats;
using Orchestrator.Telemetry;
using Orchestrator.Tools;

var command = ServerCommand.Parse(args);
if (await command.RunWithoutServerAsync(Console.Out, Console.Error) is { } exitCode)
{
    return exitCode;
}

var builder = WebApplication.CreateBuilder(command.HostArgs);

var storage = builder.AddOrchestratorSettings(Console.Error);
if (storage is null)
{
    return 2;
}

builder.AddServiceHosting();
builder.AddOrchestratorTelemetry();
builder.Services.AddApiConventions();
builder.Services.AddOrchestratorData(storage);
builder.Services.AddOrchestratorSecurity();
builder.AddOrchestratorScheduler(storage);
builder.Services.AddHealth();
builder.Services.AddProjects();
builder.Services.AddRuns();
builder.Services.AddActions();
builder.Services.AddAgents();
builder.Services.AddSchedules();
builder.Services.AddTools();
builder.Services.AddPipelines();
builder.Services.AddDefinitions();
builder.Services.AddAudit();
builder.Services.AddDeadlines();
builder.Services.AddStats();

var app = builder.Build();

if (command.Verb != ServerCommand.Serve)
{
    return await command.RunOneShotAsync(app.Services, storage);
}

if (!await app.Services.TryPrepareDatabaseAsync(storage, Console.Error))
{
    return 1;
}

app.Services.GetRequiredService<SecretBox>().ReportMode();
app.UseSecurityHeaders();
app.UseApiNoStore();
app.UseExceptionHandler();
app.UseStatusCodePages();
app.UseOrchestratorMetrics();
app.UseAuthentication();
app.UseApiAuthenticationFirst();
app.UseAuthorization();
app.UseApiQueryWithoutControlCharacters();
app.UseApiPagingParameters();
app.UseApiKnownQueryParameters();
app.UseJsonObjectBodies();

app.MapOpenApi();
app.MapHealth();
app.MapCluster();
app.MapProjects();
app.MapProjectFiles();
app.MapActions();
app.MapSchedules();
app.MapCronHelpers();
app.MapRuns();
app.MapChannels();
app.MapTools();
app.MapModels();
app.MapAgentSteps();
app.MapPipelines();
app.MapKeys();
app.MapDefinitions();
app.MapAudit();
app.MapDeadlines();
app.MapStats();
app.MapDashboard();
app.MapApiReference();

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
