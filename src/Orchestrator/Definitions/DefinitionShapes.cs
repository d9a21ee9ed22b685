using System.Reflection;
using System.Text.Json;
using System.Text.Json.Nodes;
using Orchestrator.Actions.Notifications;
using Orchestrator.Pipelines;
using Orchestrator.Projects;
using Orchestrator.Schedules;
using Orchestrator.Tools;

namespace Orchestrator.Definitions;

/// <summary>
/// The document form of each resource: <c>kind</c> plus the fields its REST create body takes, null fields left out.
/// A resource's own <c>kind</c> field (a channel's webhook/email, a tool's command/http) is spelled <c>type</c> in a
/// document, since <c>kind</c> names the resource. Export writes this form of what the API reads back, and the plan
/// compares it with the same form of each document as the services would store it.
/// </summary>
public static class DefinitionShapes
{
    /// <summary>What a channel's write-only field is written as when apply did not set it: the secret it would need.</summary>
    public static string PlaceholderSecret(string channel, string field) => $"{{{{secret:channel.{channel}.{field}}}}}";

    public static JsonObject Project(ProjectResponse project) => Shape(DefinitionKinds.Project, project, typeof(ProjectRequest));

    public static JsonObject Tool(ToolResponse tool) => Shape(DefinitionKinds.Tool, tool, typeof(ToolRequest), renameKind: true);

    public static JsonObject Schedule(ScheduleResponse schedule) => Shape(DefinitionKinds.Schedule, schedule, typeof(ScheduleRequest));

    /// <summary>A channel with its secrets as references: those apply recorded, else the placeholder each would need.</summary>
    public static JsonObject Channel(ChannelResponse channel, IReadOnlyDictionary<string, string>? references)
    {
        var document = new JsonObject { ["kind"] = DefinitionKinds.Channel, ["name"] = channel.Name, ["type"] = channel.Kind };
        switch (channel.Settings)
        {
            case WebhookChannelSettings webhook:
                var settings = new JsonObject { ["url"] = webhook.Url, ["format"] = webhook.Format };
                if (webhook.HeaderNames.Count > 0)
                {
                    settings["headers"] = new JsonObject(webhook.HeaderNames.Order(StringComparer.Ordinal).Select(h =>
                        KeyValuePair.Create(h, (JsonNode?)Reference(references, $"webhook.headers.{h}", channel.Name, $"headers.{h}"))));
                }

                document["webhook"] = settings;
                break;
            case EmailChannelSettings email:
                var mail = new JsonObject { ["host"] = email.Host, ["port"] = email.Port, ["security"] = email.Security };
                if (email.Username is not null)
                {
                    mail["username"] = email.Username;
                }

                if (email.HasPassword != false)
                {
                    mail["password"] = Reference(references, "email.password", channel.Name, "password");
                }

                mail["from"] = email.From;
                mail["to"] = new JsonArray([.. email.To.Select(t => (JsonNode?)t)]);
                document["email"] = mail;
                break;
        }

        return document;
    }

    public static JsonObject Pipeline(PipelineResponse pipeline)
    {
        var document = new JsonObject { ["kind"] = DefinitionKinds.Pipeline, ["id"] = pipeline.Id, ["name"] = pipeline.Name, ["project"] = pipeline.Project };
        if (pipeline.Description is not null)
        {
            document["description"] = pipeline.Description;
        }

        document["maxParallelism"] = pipeline.MaxParallelism;
        document["failurePolicy"] = pipeline.FailurePolicy;
        document["nodes"] = new JsonArray([.. pipeline.Nodes.Select(Node)]);
        document["edges"] = new JsonArray([.. pipeline.Edges.Select(e => (JsonNode?)WithoutNulls(JsonSerializer.SerializeToNode(e, JsonSerializerOptions.Web)!.AsObject()))]);
        if (pipeline.Deadline is not null)
        {
            document["deadline"] = JsonSerializer.SerializeToNode(pipeline.Deadline, JsonSerializerOptions.Web);
        }

        if (pipeline.ExpectSuccessEvery is not null)
        {
            document["expectSuccessEvery"] = pipeline.ExpectSuccessEvery;
        }

        return document;
    }

    /// <summary>A stored node in the request's form: <c>action: {type, config}</c> instead of the flattened action type and config.</summary>
    private static JsonNode Node(NodeDefinition node)
    {
        var stored = JsonSerializer.SerializeToNode(node, JsonSerializerOptions.Web)!.AsObject();
        var request = new JsonObject();
        foreach (var (name, value) in stored)
        {
            if (name is "actionType" or "config" || value is null)
            {
                continue;
            }

            request[name] = value.DeepClone();
            if (name == "type" && node.ActionType is not null)
            {
                request["action"] = new JsonObject { ["type"] = node.ActionType, ["config"] = stored["config"]?.DeepClone() };
            }
        }

        return request;
    }

    /// <summary>
    /// The response's fields that the create body also takes (so fields both gain later come along), in the response's
    /// order, nulls left out; read-only fields (ids, state, times, versions) are not in the request and drop out.
    /// </summary>
    private static JsonObject Shape(string kind, object response, Type requestType, bool renameKind = false)
    {
        var accepted = requestType.GetProperties(BindingFlags.Public | BindingFlags.Instance)
            .Select(p => JsonNamingPolicy.CamelCase.ConvertName(p.Name)).ToHashSet(StringComparer.Ordinal);
        var all = JsonSerializer.SerializeToNode(response, response.GetType(), JsonSerializerOptions.Web)!.AsObject();
        var document = new JsonObject { ["kind"] = kind };
        foreach (var (name, value) in all)
        {
            if (accepted.Contains(name) && value is not null)
            {
                document[renameKind && name == "kind" ? "type" : name] = value.DeepClone();
            }
        }

        return document;
    }

    private static JsonObject WithoutNulls(JsonObject node)
    {
        foreach (var name in node.Where(p => p.Value is null).Select(p => p.Key).ToList())
        {
            node.Remove(name);
        }

        return node;
    }

    private static string Reference(IReadOnlyDictionary<string, string>? references, string field, string channel, string placeholderField) =>
        references?.GetValueOrDefault(field) ?? PlaceholderSecret(channel, placeholderField);
}
