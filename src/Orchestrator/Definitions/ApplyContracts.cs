using System.Text.Json.Nodes;

namespace Orchestrator.Definitions;

/// <summary>
/// <c>POST /api/apply</c>: the definition documents (one resource each, <c>kind</c> plus the create body's fields),
/// <c>dryRun</c> to get the plan without changing anything, <c>prune</c> to delete managed resources the documents no
/// longer name, <c>force</c> to take over existing resources that apply does not manage yet.
/// </summary>
public sealed record ApplyRequest(JsonArray? Documents, bool? DryRun, bool? Prune, bool? Force);

/// <summary>The plan (dry run) or what was done, in the order it was (or would be) done.</summary>
public sealed record ApplyResponse(bool DryRun, bool Applied, IReadOnlyList<PlannedChange> Changes);

/// <summary>
/// One resource's change: <c>create</c>, <c>update</c> (with its field diff), <c>delete</c> (under prune) or
/// <c>unchanged</c>. <c>document</c> is the index of the document it comes from (none for a delete).
/// </summary>
public sealed record PlannedChange(string Kind, string Name, string Action, int? Document, IReadOnlyList<FieldChange> Diff);

/// <summary>A field that differs: its path in the document, the value now and the value the document gives (null: absent).</summary>
public sealed record FieldChange(string Path, JsonNode? Before, JsonNode? After);

/// <summary>Why apply refused a document: its index, kind and name, the field (path in the document) and the reason.</summary>
public sealed record ApplyRefusal(int? Document, string Kind, string Name, string Field, string Reason);

/// <summary><c>GET /api/export</c>: every definition as a document apply takes.</summary>
public sealed record ExportResponse(IReadOnlyList<JsonObject> Documents);
