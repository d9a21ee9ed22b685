using Microsoft.Extensions.Options;
using Orchestrator.Cluster;

namespace Orchestrator.Hosting;

public static class OrchestratorSettings
{
    /// <summary>
    /// Binds and validates the <c>Orchestrator</c> section before anything is built, because the
    /// database choice decides which services exist. Returns null, having printed every problem, when
    /// the settings cannot be used.
    /// </summary>
    public static StorageChoice? AddOrchestratorSettings(this WebApplicationBuilder builder, TextWriter errors)
    {
        // The content root is the working directory (data paths are relative to it), but the shipped defaults
        // live beside the binary; load them first so every other source still overrides them.
        builder.Configuration.Sources.Insert(0, new Microsoft.Extensions.Configuration.Json.JsonConfigurationSource
        {
            FileProvider = new Microsoft.Extensions.FileProviders.PhysicalFileProvider(AppContext.BaseDirectory),
            Path = "appsettings.json",
            Optional = true,
        });

        OrchestratorOptions options;
        try
        {
            options = builder.Configuration.GetSection(OrchestratorOptions.SectionName).Get<OrchestratorOptions>() ?? new OrchestratorOptions();
        }
        catch (InvalidOperationException ex)
        {
            // The binder's message names the key and the value it could not convert (e.g. a duration that is not hh:mm:ss).
            errors.WriteLine($"Invalid configuration: {ex.Message}{(ex.InnerException is null ? "" : " " + ex.InnerException.Message)}");
            return null;
        }

        var failures = OrchestratorOptionsValidator.Check(options);
        if (OrchestratorOptionsValidator.CheckEnvironment(options, builder.Environment) is { } environmentFailure)
        {
            failures.Add(environmentFailure);
        }

        failures.AddRange(Orchestrator.Telemetry.TelemetrySettings.Check(options, builder.Configuration));
        if (failures.Count > 0)
        {
            errors.WriteLine("Invalid configuration:");
            foreach (var failure in failures)
            {
                errors.WriteLine($"  - {failure}");
            }

            return null;
        }

        var choice = StorageChoice.Resolve(options, builder.Environment.ContentRootPath);
        builder.Services.AddSingleton(choice);
        builder.Services.AddSingleton(new FaultPoints(options.FaultPoints.Crash));
        builder.Services.AddSingleton<IValidateOptions<OrchestratorOptions>, OrchestratorOptionsValidator>();
        builder.Services.AddOptions<OrchestratorOptions>()
            .Bind(builder.Configuration.GetSection(OrchestratorOptions.SectionName))
            .ValidateOnStart();
        return choice;
    }
}
