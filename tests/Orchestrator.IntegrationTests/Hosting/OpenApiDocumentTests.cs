using System.Net;
using System.Text;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Hosting;

/// <summary>
/// The OpenAPI document is a typed contract: every <c>/api</c> operation has a success response with a schema, the
/// problem responses it can give, and the role it needs; and that role is the one the server enforces.
/// </summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class OpenApiDocumentTests
{
    private static readonly string[] Roles = ["viewer", "operator", "admin"];

    /// <summary>Schemas that say nothing about a response's shape: what an untyped JsonObject/JsonNode handler gets.</summary>
    private static readonly string[] UntypedSchemas = ["JsonObject", "JsonNode", "JsonElement", "JsonArray"];

    private static readonly string[] ProblemSchemas = ["#/components/schemas/ProblemDetails", "#/components/schemas/HttpValidationProblemDetails"];

    private sealed record Operation(string Method, string Path, JsonElement Body)
    {
        public override string ToString() => $"{Method.ToUpperInvariant()} {Path}";
    }

    private InProcessServer server = null!;
    private Dictionary<string, string?> environment = null!;
    private JsonDocument document = null!;
    private List<Operation> operations = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        var database = await TestPostgres.CreateDatabaseAsync("openapi");
        environment = PostgresNode.Environment(database);
        server = InProcessServer.Start(environment);
        await server.WaitUntilReadyAsync();
        using var anonymous = server.CreateClient();
        document = JsonDocument.Parse(await anonymous.GetStringAsync("/openapi/v1.json"));
        operations =
        [
            .. document.RootElement.GetProperty("paths").EnumerateObject()
                .SelectMany(path => path.Value.EnumerateObject().Select(method => new Operation(method.Name, path.Name, method.Value))),
        ];
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        document?.Dispose();
        if (server is not null)
        {
            await server.DisposeAsync();
        }
    }

    private IEnumerable<Operation> ApiOperations => operations.Where(o => o.Path.StartsWith("/api/", StringComparison.Ordinal));

    [Test]
    public void Every_api_operation_has_a_typed_success_response_a_problem_response_and_its_role()
    {
        Assert.That(ApiOperations.Count(), Is.GreaterThan(40), "the document lists the /api operations");
        var lacking = ApiOperations
            .Select(o => (Operation: o, Missing: MissingPieces(o.Body).ToList()))
            .Where(o => o.Missing.Count > 0)
            .Select(o => $"{o.Operation}: {string.Join("; ", o.Missing)}")
            .ToList();

        Assert.That(lacking, Is.Empty, "operations whose document lacks a typed success response, a problem response or x-required-role:\n" + string.Join("\n", lacking));
    }

    [Test]
    public void The_check_names_what_an_untyped_operation_lacks()
    {
        // The check itself, on operations as an untyped JsonObject handler and a bare route get them documented.
        using var untyped = JsonDocument.Parse("""
            { "responses": { "200": { "description": "OK", "content": { "application/json": { "schema": { "$ref": "#/components/schemas/JsonObject" } } } } } }
            """);
        Assert.That(MissingPieces(untyped.RootElement), Is.EquivalentTo(new[]
        {
            "200 has no typed schema for application/json",
            "no problem response (application/problem+json)",
            "no x-required-role",
        }));

        using var bare = JsonDocument.Parse("""
            { "responses": { "200": { "description": "OK" } }, "x-required-role": "operator" }
            """);
        Assert.That(MissingPieces(bare.RootElement), Is.EquivalentTo(new[]
        {
            "200 has no content (only 202 and 204 may be empty)",
            "no problem response (application/problem+json)",
            "x-required-role 'operator' without a matching security requirement",
            "no sentence saying the role in the description",
            "no 401 problem response",
            "no 403 problem response",
        }));

        using var typed = JsonDocument.Parse("""
            {
              "description": "Lists things.\n\nRequires the viewer role or higher.",
              "responses": {
                "200": { "description": "OK", "content": { "application/json": { "schema": { "type": "array", "items": { "$ref": "#/components/schemas/ThingResponse" } } } } },
                "401": { "description": "No key", "content": { "application/problem+json": { "schema": { "$ref": "#/components/schemas/ProblemDetails" } } } }
              },
              "security": [ { "ApiKey": [ "viewer" ] } ],
              "x-required-role": "viewer"
            }
            """);
        Assert.That(MissingPieces(typed.RootElement), Is.Empty);
    }

    /// <summary>What the operation's document lacks, one phrase each; empty when it is complete.</summary>
    private static IEnumerable<string> MissingPieces(JsonElement operation)
    {
        var responses = operation.TryGetProperty("responses", out var r) ? r.EnumerateObject().ToList() : [];
        var successes = responses.Where(s => s.Name.StartsWith('2')).ToList();
        if (successes.Count == 0)
        {
            yield return "no success response";
        }

        foreach (var success in successes)
        {
            if (!success.Value.TryGetProperty("content", out var content) || !content.EnumerateObject().Any())
            {
                if (success.Name is not ("202" or "204"))
                {
                    yield return $"{success.Name} has no content (only 202 and 204 may be empty)";
                }

                continue;
            }

            foreach (var media in content.EnumerateObject())
            {
                if (!media.Value.TryGetProperty("schema", out var schema) || !IsTyped(schema))
                {
                    yield return $"{success.Name} has no typed schema for {media.Name}";
                }
            }
        }

        var problems = responses.Where(p => p.Name[0] is '4' or '5').ToList();
        if (!problems.Any(p => ProblemSchemaOf(p.Value) is not null))
        {
            yield return "no problem response (application/problem+json)";
        }

        foreach (var problem in problems.Where(p => ProblemSchemaOf(p.Value) is { } s && !ProblemSchemas.Contains(s)))
        {
            yield return $"{problem.Name} problem response does not use the ProblemDetails or HttpValidationProblemDetails schema";
        }

        if (!operation.TryGetProperty("x-required-role", out var roleElement))
        {
            yield return "no x-required-role";
            yield break;
        }

        var role = roleElement.GetString();
        if (!Roles.Contains(role))
        {
            yield return $"x-required-role '{role}' is not one of {string.Join(", ", Roles)}";
            yield break;
        }

        if (SecurityRoles(operation) is not [var securityRole] || securityRole != role)
        {
            yield return $"x-required-role '{role}' without a matching security requirement";
        }

        if (!(operation.TryGetProperty("description", out var description) && description.GetString()!.Contains($"Requires the {role} role", StringComparison.Ordinal)))
        {
            yield return "no sentence saying the role in the description";
        }

        if (!problems.Any(p => p.Name == "401" && ProblemSchemaOf(p.Value) is not null))
        {
            yield return "no 401 problem response";
        }

        var has403 = problems.Any(p => p.Name == "403" && ProblemSchemaOf(p.Value) is not null);
        if (role != "viewer" && !has403)
        {
            yield return "no 403 problem response";
        }
        else if (role == "viewer" && has403)
        {
            yield return "a 403 response, though any valid key may call a viewer operation";
        }
    }

    /// <summary>The schema <c>$ref</c> of a response's problem body, or null when it has none.</summary>
    private static string? ProblemSchemaOf(JsonElement response) =>
        response.TryGetProperty("content", out var content)
        && content.TryGetProperty("application/problem+json", out var media)
        && media.TryGetProperty("schema", out var schema)
            ? schema.TryGetProperty("$ref", out var reference) ? reference.GetString() : "(inline)"
            : null;

    private static bool IsTyped(JsonElement schema)
    {
        if (schema.TryGetProperty("$ref", out var reference))
        {
            var name = reference.GetString()!.Split('/')[^1];
            // A page of untyped items is as untyped as one.
            name = name.StartsWith("PagedListOf", StringComparison.Ordinal) ? name["PagedListOf".Length..] : name;
            return !UntypedSchemas.Contains(name);
        }

        if (schema.TryGetProperty("items", out var items))
        {
            return IsTyped(items);
        }

        return schema.TryGetProperty("type", out _) || schema.TryGetProperty("oneOf", out _) || schema.TryGetProperty("anyOf", out _)
            || schema.TryGetProperty("allOf", out _);
    }

    private static List<string> SecurityRoles(JsonElement operation) =>
        operation.TryGetProperty("security", out var security)
            ? [.. security.EnumerateArray().SelectMany(requirement => requirement.EnumerateObject()).SelectMany(scheme => scheme.Value.EnumerateArray().Select(e => e.GetString()!))]
            : [];

    [Test]
    public async Task Each_operations_documented_role_is_the_one_the_server_enforces()
    {
        var viewerKey = await CreateKeyAsync("viewer");
        var operatorKey = await CreateKeyAsync("operator");
        using var anonymous = server.CreateClient();
        using var viewer = server.CreateClient(viewerKey);
        using var @operator = server.CreateClient(operatorKey);

        var wrong = new List<string>();
        foreach (var operation in ApiOperations)
        {
            var role = operation.Body.TryGetProperty("x-required-role", out var r) ? r.GetString() : null;
            var rank = Array.IndexOf(Roles, role);
            if (rank < 0)
            {
                wrong.Add($"{operation}: x-required-role '{role}'");
                continue;
            }

            // Ids that name nothing: authorization answers before any handler looks them up or acts.
            var expectations = new (HttpClient Client, string Who, HttpStatusCode? Expected)[]
            {
                (anonymous, "no key", HttpStatusCode.Unauthorized),
                (viewer, "a viewer key", rank > 0 ? HttpStatusCode.Forbidden : null),
                (@operator, "an operator key", rank > 1 ? HttpStatusCode.Forbidden : null),
            };
            foreach (var (client, who, expected) in expectations)
            {
                using var response = await client.SendAsync(RequestFor(operation));
                var status = response.StatusCode;
                if (expected is { } e ? status != e : status is HttpStatusCode.Forbidden or HttpStatusCode.Unauthorized)
                {
                    wrong.Add($"{operation} (documented '{role}') with {who}: {(int)status}, expected {(expected is { } x ? ((int)x).ToString(System.Globalization.CultureInfo.InvariantCulture) : "neither 401 nor 403")}");
                }
            }
        }

        Assert.That(wrong, Is.Empty, string.Join("\n", wrong));
    }

    [TestCase("/healthz")]
    [TestCase("/readyz")]
    public async Task Health_probes_are_documented_as_needing_no_key_and_answer_without_one(string path)
    {
        var probe = operations.Single(o => o.Path == path && o.Method == "get").Body;
        Assert.That(probe.GetProperty("x-required-role").GetString(), Is.EqualTo("none"));
        Assert.That(probe.GetProperty("security").GetArrayLength(), Is.Zero, "an empty requirement: no key, whatever the document's default");
        Assert.That(probe.GetProperty("description").GetString(), Does.Contain("Requires no API key."));
        Assert.That(probe.GetProperty("responses").GetProperty("200").GetProperty("content").GetProperty("text/plain").GetProperty("schema")
            .GetProperty("enum").EnumerateArray().Select(e => e.GetString()), Does.Contain("Healthy"));

        using var anonymous = server.CreateClient();
        using var response = await anonymous.GetAsync(path);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That(await response.Content.ReadAsStringAsync(), Is.EqualTo("Healthy"), "the body the document's enum names");
    }

    [Test]
    public void Roles_are_the_strictest_of_group_and_route()
    {
        // Viewer groups with stricter routes: the route's role is what the document says.
        Assert.Multiple(() =>
        {
            Assert.That(RoleOf("get", "/api/actions"), Is.EqualTo("viewer"));
            Assert.That(RoleOf("get", "/api/cluster/nodes"), Is.EqualTo("viewer"));
            Assert.That(RoleOf("post", "/api/schedules/{id}/pause"), Is.EqualTo("operator"));
            Assert.That(RoleOf("delete", "/api/schedules/{id}"), Is.EqualTo("admin"));
            Assert.That(RoleOf("get", "/api/schedules/{id}"), Is.EqualTo("viewer"));
        });
        var admin = operations.Single(o => o.Method == "delete" && o.Path == "/api/schedules/{id}").Body;
        Assert.That(admin.GetProperty("description").GetString(), Does.EndWith("Requires the admin role."));
        Assert.That(SecurityRoles(admin), Is.EqualTo(new[] { "admin" }));
        var @operator = operations.Single(o => o.Method == "post" && o.Path == "/api/schedules/{id}/pause").Body;
        Assert.That(@operator.GetProperty("description").GetString(), Does.EndWith("Requires the operator role or higher."));
    }

    [Test]
    public void Every_operation_with_a_body_lists_the_413_and_415_problems_the_server_gives()
    {
        var withBody = ApiOperations.Where(o => o.Body.TryGetProperty("requestBody", out _)).ToList();
        Assert.That(withBody, Has.Count.GreaterThan(10), "the document lists the operations that take a body");
        var lacking = new List<string>();
        foreach (var operation in withBody)
        {
            var responses = operation.Body.GetProperty("responses");
            var json = operation.Body.GetProperty("requestBody").GetProperty("content").EnumerateObject().Any(c => c.Name.Contains("json", StringComparison.Ordinal));
            foreach (var status in json ? new[] { "413", "415" } : ["413"])
            {
                if (!responses.TryGetProperty(status, out var response) || !response.GetProperty("content").TryGetProperty("application/problem+json", out var problem)
                    || !ProblemSchemas.Contains(problem.GetProperty("schema").GetProperty("$ref").GetString()))
                {
                    lacking.Add($"{operation}: {status}");
                }
            }
        }

        Assert.That(lacking, Is.Empty, "operations with a body whose document lacks the problem response:\n" + string.Join("\n", lacking));
    }

    [Test]
    public async Task The_documented_415_is_what_the_server_answers_to_a_body_that_is_not_json()
    {
        // The 413 is Kestrel's (this fixture runs on TestServer); ScheduleBadInputTests sends an oversized body to a real socket.
        using var admin = server.CreateClient(server.PrintedAdminKey!);
        await ApiAssertions.AssertProblemAsync(
            await admin.PostAsync("/api/schedules", new StringContent("name=x", System.Text.Encoding.UTF8, "text/plain")), HttpStatusCode.UnsupportedMediaType);
    }

    [Test]
    public void A_cluster_nodes_state_is_documented_as_the_three_values_the_api_writes()
    {
        var schemas = document.RootElement.GetProperty("components").GetProperty("schemas");
        var state = schemas.GetProperty("ClusterNodeResponse").GetProperty("properties").GetProperty("state");
        var stateSchema = state.TryGetProperty("$ref", out var reference) ? schemas.GetProperty(reference.GetString()!.Split('/')[^1]) : state;
        Assert.That(stateSchema.GetProperty("enum").EnumerateArray().Select(e => e.GetString()), Is.EquivalentTo(new[] { "alive", "overdue", "failed" }));
    }

    private string? RoleOf(string method, string path) =>
        operations.Single(o => o.Method == method && o.Path == path).Body.GetProperty("x-required-role").GetString();

    private static HttpRequestMessage RequestFor(Operation operation)
    {
        var path = operation.Path;
        if (operation.Body.TryGetProperty("parameters", out var parameters))
        {
            foreach (var parameter in parameters.EnumerateArray().Where(p => p.GetProperty("in").GetString() == "path"))
            {
                var schema = parameter.GetProperty("schema");
                var value = schema.TryGetProperty("format", out var format) && format.GetString() == "uuid" ? Guid.NewGuid().ToString()
                    : schema.TryGetProperty("type", out var type) && type.GetString() == "integer" ? "987654321"
                    : "openapi-check-missing";
                path = path.Replace("{" + parameter.GetProperty("name").GetString() + "}", value, StringComparison.Ordinal);
            }
        }

        var request = new HttpRequestMessage(new HttpMethod(operation.Method.ToUpperInvariant()), path);
        if (operation.Body.TryGetProperty("requestBody", out _))
        {
            request.Content = new StringContent("{}", Encoding.UTF8, "application/json");
        }

        return request;
    }

    private async Task<string> CreateKeyAsync(string role)
    {
        var (exitCode, output) = await ServerProcess.RunCommandAsync(environment, server.WorkingDirectory, "keys", "create", "--role", role);
        Assert.That(exitCode, Is.Zero, output);
        return output.Split('\n').Select(l => l.Trim()).Single(l => l.StartsWith("orch_", StringComparison.Ordinal));
    }
}
