using System.Text.Json;
using Microsoft.EntityFrameworkCore;
using Orchestrator.Actions;
using Orchestrator.Actions.CallApi;
using Orchestrator.Api;
using Orchestrator.Data;
using Orchestrator.Hosting;
using Orchestrator.Projects;

namespace Orchestrator.Pipelines;

/// <summary>
/// The checks of a pipeline definition against what exists outside it: the project, each action node's config as the
/// action type judges it (channels, tools, configured secrets), and the sub-pipelines it runs (they exist, are in the
/// same project, do not recurse and do not nest too deep, also through the pipelines that use this one). One instance
/// per validation: it remembers the deepest sub-pipeline chain for the check of the pipelines above.
/// </summary>
public sealed class PipelineReferenceChecks(ActionCatalog actions, OrchestratorDbContext db, PipelinesOptions settings, SecretTemplates secrets)
{
    /// <summary>The deepest sub-pipeline chain below the definition being validated, and the node it starts at.</summary>
    private (int Levels, string Key, string Path) deepest = (0, "", "");

    public async Task CheckProjectAsync(string project, FieldErrors errors, CancellationToken ct)
    {
        if (!ProjectEndpoints.IsSlug(project) || !await db.Projects.AnyAsync(p => p.Id == project, ct))
        {
            errors.Add("project", $"no project with id '{project}'.");
        }
    }

    /// <summary>The action an action node runs and its config, when the catalog has it; problems are added under <paramref name="key"/>.</summary>
    public async Task<(ActionDefinition? Action, JsonElement? Config)> CheckActionAsync(NodeRequest node, string key, string project, FieldErrors errors, CancellationToken ct)
    {
        if (PipelineValidator.NodeAction(actions, node.Action?.Type, key, errors) is not { } action)
        {
            return (null, null);
        }

        var config = node.Action!.Config ?? JsonDocument.Parse("{}").RootElement;

        // Values with a pipeline placeholder are only known when the node runs (they are checked again then); judge the
        // rest now, with the schedules' own checks, so an unknown secret or placeholder is refused here as it is there.
        var found = new FieldErrors();
        await action.ValidateAsync(config, "config", found, ct, project);
        foreach (var (field, reasons) in found.Entries.Where(e => !PipelineGraphChecks.IsTemplated(config, e.Key)))
        {
            foreach (var reason in reasons)
            {
                errors.Add($"{key}.action.{field}", reason);
            }
        }

        if (config.ValueKind == JsonValueKind.Object)
        {
            CheckTemplatedSecrets(action, config, $"{key}.action.config", errors);
        }

        return (action, config);
    }

    /// <summary>
    /// A value mixing a pipeline placeholder with a secret reference ("Bearer {{secret:X}} {{inputs.t}}") is deferred
    /// above as a whole; what surrounds the pipeline placeholders is known now and gets the same checks a schedule's
    /// value gets: a secret only where the action type takes one (not a notification message, not a URL), well formed
    /// (an opened "{{secret:{{inputs.x}}}}" is not a reference a run input may complete), and configured. (Its
    /// placeholders are the graph checks' part: <see cref="PipelineGraphChecks.CheckPlaceholders"/>.)
    /// </summary>
    private void CheckTemplatedSecrets(ActionDefinition action, JsonElement config, string key, FieldErrors errors)
    {
        foreach (var (path, text) in JsonStrings.WithPaths(config, key))
        {
            if (!PipelineTemplates.HasPlaceholder(text))
            {
                continue;
            }

            var rest = PipelineTemplates.WithoutPlaceholders(text);
            if (action.SecretReferenceProblem(path[(key.Length + 1)..], rest) is { } problem)
            {
                errors.Add(path, problem);
            }

            foreach (var unknown in secrets.UnknownReferences(rest).Distinct(StringComparer.Ordinal))
            {
                errors.Add(path, SecretTemplates.NotConfigured(unknown));
            }
        }
    }

    public async Task CheckSubPipelineAsync(NodeRequest node, string key, string? pipelineId, string project, FieldErrors errors, CancellationToken ct)
    {
        if (node.Pipeline is { } named && !ProjectEndpoints.IsSlug(named))
        {
            // Not a pipeline id at all (a NUL, say, which the database cannot even look up): no need to ask it.
            errors.Add($"{key}.pipeline", $"no pipeline with id '{named}'.");
            return;
        }

        if (node.Pipeline is not { } child)
        {
            errors.Add($"{key}.pipeline", "is required: the id of the pipeline to run.");
            return;
        }

        if (child == pipelineId)
        {
            errors.Add($"{key}.pipeline", $"'{child}' is this pipeline; a pipeline cannot run itself.");
            return;
        }

        // A pipeline of another project is answered exactly as a missing one, so a project-scoped key learns nothing of
        // what other projects hold.
        if (await db.Pipelines.Where(p => p.Id == child).Select(p => p.ProjectId).FirstOrDefaultAsync(ct) is not { } childProject || childProject != project)
        {
            errors.Add($"{key}.pipeline", $"no pipeline with id '{child}' in project '{project}' (a sub-pipeline must be in the same project).");
            return;
        }

        // Walk the sub-pipelines' current versions: reaching this pipeline again is recursion, going too deep is refused.
        var maxDepth = settings.MaxDepth;
        var frontier = new List<(string Id, string Path)> { (child, child) };
        for (var depth = 1; frontier.Count > 0; depth++)
        {
            if (depth > maxDepth)
            {
                errors.Add($"{key}.pipeline", $"nests sub-pipelines deeper than {maxDepth} levels ({frontier[0].Path}).");
                return;
            }

            if (depth > deepest.Levels)
            {
                deepest = (depth, $"{key}.pipeline", frontier[0].Path);
            }

            var next = new List<(string, string)>();
            foreach (var (id, path) in frontier)
            {
                var definition = await (from p in db.Pipelines
                                        join v in db.PipelineVersions on new { p.Id, p.Version } equals new { Id = v.PipelineId, v.Version }
                                        where p.Id == id
                                        select v.Definition).FirstOrDefaultAsync(ct);
                if (definition is null)
                {
                    errors.Add($"{key}.pipeline", depth == 1 ? $"no pipeline with id '{id}'." : $"'{path}' refers to a pipeline that does not exist.");
                    return;
                }

                foreach (var sub in PipelineDefinition.FromJson(definition).Nodes.Where(n => n.Type == NodeDefinition.SubPipeline).Select(n => n.Pipeline!))
                {
                    if (sub == pipelineId)
                    {
                        errors.Add($"{key}.pipeline", $"'{path} → {sub}' leads back to this pipeline; sub-pipelines must not recurse.");
                        return;
                    }

                    next.Add((sub, $"{path} → {sub}"));
                }
            }

            frontier = next;
        }
    }

    /// <summary>
    /// The walk above only looks down. Saving a pipeline that others use also deepens their chains: walk up through
    /// the pipelines whose current version runs this one (a text match narrows the candidates, the parsed definition
    /// decides) and refuse the save if the longest chain through this pipeline would nest deeper than MaxDepth.
    /// </summary>
    public async Task CheckUsersAsync(string pipelineId, FieldErrors errors, CancellationToken ct)
    {
        if (deepest.Levels == 0)
        {
            return;
        }

        var maxDepth = settings.MaxDepth;
        var frontier = new Dictionary<string, string>(StringComparer.Ordinal) { [pipelineId] = pipelineId };
        for (var above = 1; frontier.Count > 0; above++)
        {
            var next = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var (id, path) in frontier)
            {
                var needle = $"\"pipeline\":\"{id}\"";
                var users = await (from p in db.Pipelines
                                   join v in db.PipelineVersions on new { p.Id, p.Version } equals new { Id = v.PipelineId, v.Version }
                                   where p.Id != pipelineId && v.Definition.Contains(needle)
                                   select new { p.Id, v.Definition }).ToListAsync(ct);
                foreach (var user in users.Where(u => PipelineDefinition.FromJson(u.Definition).Nodes.Any(n => n.Type == NodeDefinition.SubPipeline && n.Pipeline == id)))
                {
                    var chain = $"{user.Id} → {path}";
                    if (above + deepest.Levels > maxDepth)
                    {
                        errors.Add(deepest.Key, $"nests sub-pipelines deeper than {maxDepth} levels together with the pipelines that use this one ({chain} → {deepest.Path}).");
                        return;
                    }

                    next.TryAdd(user.Id, chain);
                }
            }

            frontier = next;
        }
    }
}
