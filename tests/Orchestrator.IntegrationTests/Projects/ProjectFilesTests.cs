using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using Orchestrator.IntegrationTests.Infrastructure;

namespace Orchestrator.IntegrationTests.Projects;

/// <summary>The project files API on a real server: reads and writes happen inside the project root, and nothing in the corpus escapes it.</summary>
[TestFixture]
[Parallelizable(ParallelScope.Fixtures)]
public sealed class ProjectFilesTests
{
    private const string Canary = "CANARY-7d1f0c-outside-the-root";
    private InProcessServer server = null!;
    private HttpClient admin = null!;
    private string root = null!;
    private string outside = null!;

    [OneTimeSetUp]
    public async Task StartAsync()
    {
        var workspaces = Directory.CreateTempSubdirectory("orchestrator-files-ws-").FullName;
        outside = Directory.CreateTempSubdirectory("orchestrator-files-outside-").FullName;
        await File.WriteAllTextAsync(Path.Combine(outside, "canary-secret.txt"), Canary);
        await File.WriteAllTextAsync(Path.Combine(workspaces, "canary-secret.txt"), Canary); // beside the project root, still outside it

        var database = await TestPostgres.CreateDatabaseAsync("files");
        server = InProcessServer.Start(PostgresNode.Environment(database, new Dictionary<string, string?> { ["Orchestrator__Workspaces__Roots__0"] = workspaces }), listenOnLoopback: true);
        await server.WaitUntilReadyAsync();
        admin = server.CreateClient(server.PrintedAdminKey);
        root = Path.Combine(workspaces, "ws");
        await admin.PostForJsonAsync("/api/projects", new { id = "ws", name = "Workspace", rootPath = root }, HttpStatusCode.Created);

        Directory.CreateDirectory(Path.Combine(root, "docs"));
        await File.WriteAllTextAsync(Path.Combine(root, "docs", "readme.txt"), "inside");
        Directory.CreateSymbolicLink(Path.Combine(root, "escape"), outside);
        File.CreateSymbolicLink(Path.Combine(root, "link.txt"), Path.Combine(outside, "canary-secret.txt"));
    }

    [OneTimeTearDown]
    public async Task StopAsync()
    {
        admin?.Dispose();
        if (server is not null)
        {
            await server.DisposeAsync();
        }
    }

    private HttpRequestMessage Raw(HttpMethod method, string pathAndQuery) =>
        new(method, new Uri(server.BaseAddress + pathAndQuery.TrimStart('/'), new UriCreationOptions { DangerousDisablePathAndQueryCanonicalization = true }));

    /// <summary>Hostile paths that reach the files endpoint: each must be refused with a 4xx.</summary>
    private static readonly string[] Corpus =
    [
        "..%2Fcanary-secret.txt",
        "%2e%2e%2fcanary-secret.txt",
        "%2E%2E%2Fcanary-secret.txt",
        "docs/..%2F..%2Fcanary-secret.txt",
        "docs%2F..%2F..%2Fcanary-secret.txt",
        "..%5Ccanary-secret.txt",
        "docs%5C..%5C..%5Ccanary-secret.txt",
        "%2Ftmp%2Fcanary-secret.txt",
        "%2Fetc%2Fpasswd",
        "/etc/passwd",
        "C:%5CWindows%5Cwin.ini",
        "c:/windows/win.ini",
        "~/canary-secret.txt",
        "docs/readme.txt%00.png",
        "docs%00/readme.txt",
        "escape/canary-secret.txt",
        "escape",
        "link.txt",
        "%252e%252e/canary-secret.txt",
        "%c0%ae%c0%ae/canary-secret.txt",
        "docs/" + new string('a', 1100),
        "docs/line%0Abreak",
        "docs/%2e%2e%2f%2e%2e%2fcanary-secret.txt",
    ];

    /// <summary>
    /// Paths with dot segments the HTTP layer resolves before routing (RFC 3986): they never reach the files
    /// endpoint as traversal, but whatever they reach must not read or write outside the root. Not sent as DELETE:
    /// "files/.." is, by URL semantics, the project itself.
    /// </summary>
    private static readonly string[] NormalizedByHttp =
    [
        "../canary-secret.txt",
        "docs/../../canary-secret.txt",
        "docs/./../../canary-secret.txt",
        "docs/%2e%2e/%2e%2e/canary-secret.txt",
        "..",
        "%2e%2e",
        "./docs/../..",
    ];

    [Test]
    public async Task Every_hostile_path_is_refused_for_reading_and_nothing_outside_is_read()
    {
        Assert.That(Corpus.Length + NormalizedByHttp.Length, Is.GreaterThanOrEqualTo(25));
        var failures = new List<string>();
        foreach (var path in Corpus.Concat(NormalizedByHttp))
        {
            using var response = await admin.SendAsync(Raw(HttpMethod.Get, $"/api/projects/ws/files/{path}"));
            var body = await response.Content.ReadAsStringAsync();
            var mustRefuse = Corpus.Contains(path);
            if ((mustRefuse && (int)response.StatusCode is < 400 or >= 500) || body.Contains(Canary, StringComparison.Ordinal) || body.Contains("root:x:0:0", StringComparison.Ordinal))
            {
                failures.Add($"{path} -> {(int)response.StatusCode} {body[..Math.Min(body.Length, 200)]}");
            }
        }

        Assert.That(failures, Is.Empty);
    }

    [Test]
    public async Task Every_hostile_path_is_refused_for_writing_and_deleting_and_nothing_outside_changes()
    {
        var before = Directory.GetFiles(outside, "*", SearchOption.AllDirectories).Select(f => f + ":" + File.ReadAllText(f)).Order().ToList();
        var failures = new List<string>();
        foreach (var path in Corpus.Concat(NormalizedByHttp))
        {
            foreach (var method in NormalizedByHttp.Contains(path) ? new[] { HttpMethod.Put } : [HttpMethod.Put, HttpMethod.Delete])
            {
                using var request = Raw(method, $"/api/projects/ws/files/{path}");
                if (method == HttpMethod.Put)
                {
                    request.Content = new StringContent("overwritten", Encoding.UTF8);
                }

                using var response = await admin.SendAsync(request);
                if ((int)response.StatusCode is < 400 or >= 500 && Corpus.Contains(path))
                {
                    failures.Add($"{method} {path} -> {(int)response.StatusCode}");
                }
            }
        }

        Assert.That(failures, Is.Empty);
        var after = Directory.GetFiles(outside, "*", SearchOption.AllDirectories).Select(f => f + ":" + File.ReadAllText(f)).Order().ToList();
        Assert.That(after, Is.EqualTo(before), "nothing outside the root was written or deleted");
        Assert.That(Directory.GetFiles(root, "*", SearchOption.AllDirectories).Where(f => File.ReadAllText(f) == "overwritten"), Is.Empty,
            "no hostile path was written inside the root under a mangled name either");
        Assert.That(File.ReadAllText(Path.Combine(Path.GetDirectoryName(root)!, "canary-secret.txt")), Is.EqualTo(Canary));
    }

    [TestCase("%ZZ")]
    [TestCase("docs/a%G1.txt")]
    [TestCase("docs/trailing%")]
    [TestCase("docs/short%4")]
    public async Task Invalid_percent_encoding_is_a_422_naming_path_for_every_method(string path)
    {
        foreach (var method in new[] { HttpMethod.Get, HttpMethod.Put, HttpMethod.Delete })
        {
            using var request = Raw(method, $"/api/projects/ws/files/{path}");
            if (method == HttpMethod.Put)
            {
                request.Content = new StringContent("x", Encoding.UTF8);
            }

            var problem = await ApiAssertions.AssertProblemAsync(await admin.SendAsync(request), HttpStatusCode.UnprocessableEntity);
            Assert.That(problem.GetProperty("errors").GetProperty("path")[0].GetString(), Does.Contain("percent-encoding"), method.Method);
        }

        Assert.That(Directory.GetFiles(root, "*", SearchOption.AllDirectories).Where(f => Path.GetFileName(f).Contains('%', StringComparison.Ordinal)), Is.Empty);
    }

    [Test]
    public async Task A_percent_sign_written_as_25_is_a_file_name_character()
    {
        using var put = await admin.PutAsync("/api/projects/ws/files/docs/100%25.txt", new StringContent("full", Encoding.UTF8));
        Assert.That(put.StatusCode, Is.EqualTo(HttpStatusCode.OK), await put.Content.ReadAsStringAsync());
        Assert.That(await File.ReadAllTextAsync(Path.Combine(root, "docs", "100%.txt")), Is.EqualTo("full"));
        Assert.That((await admin.DeleteAsync("/api/projects/ws/files/docs/100%25.txt")).StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
    }

    /// <summary>What the README says of dot segments in the URL itself: resolved before routing, so they reach another route (a 404), never a file.</summary>
    [TestCase("../../../etc/passwd")]
    [TestCase("%2e%2e/%2e%2e/etc/passwd")]
    public async Task Dot_segments_of_the_url_are_resolved_before_routing_and_answer_404(string path)
    {
        var problem = await ApiAssertions.AssertProblemAsync(await admin.SendAsync(Raw(HttpMethod.Get, $"/api/projects/ws/files/{path}")), HttpStatusCode.NotFound);
        Assert.That(problem.ToString(), Does.Not.Contain("root:x:0:0"));
    }

    /// <summary>
    /// Request lines whose segments before the file path are not plainly /api/projects/ws/files: Kestrel routes the
    /// normalised path (so most reach the files endpoint), but the file path is read from the line as sent, and must
    /// not be cut at the wrong slash ("/ws/./files/x" once named "files/x"). Each is a 400 naming path, or a 404 for
    /// the ones routing does not send here at all; none reads, writes or deletes a file.
    /// </summary>
    [TestCase("/api/projects/ws/./files/", HttpStatusCode.BadRequest)]
    [TestCase("/api/./projects/ws/files/", HttpStatusCode.BadRequest)]
    [TestCase("/api/projects/ws/docs/../files/", HttpStatusCode.BadRequest)]
    [TestCase("/api/projects/ws/%2e/files/", HttpStatusCode.BadRequest)]
    [TestCase("/api//projects/ws/files/", HttpStatusCode.NotFound)]
    [TestCase("/api/projects//ws/files/", HttpStatusCode.NotFound)]
    [TestCase("/api/projects/ws//files/", HttpStatusCode.NotFound)]
    [TestCase("/api%2Fprojects/ws/files/", HttpStatusCode.NotFound)]
    [TestCase("/api/projects/ws%2Ffiles/files/", HttpStatusCode.NotFound)]
    [TestCase("/api/projects/ws/files%2F", HttpStatusCode.NotFound)]
    public async Task A_request_line_that_does_not_plainly_name_the_files_route_reaches_no_file(string prefix, HttpStatusCode expected)
    {
        await File.WriteAllTextAsync(Path.Combine(root, "docs", "keep.txt"), "kept");
        foreach (var method in new[] { HttpMethod.Get, HttpMethod.Put, HttpMethod.Delete })
        {
            foreach (var file in new[] { "docs/keep.txt", "prefix-probe.txt" })
            {
                using var request = Raw(method, prefix + file);
                if (method == HttpMethod.Put)
                {
                    request.Content = new StringContent("overwritten", Encoding.UTF8);
                }

                var problem = await ApiAssertions.AssertProblemAsync(await admin.SendAsync(request), expected);
                if (expected == HttpStatusCode.BadRequest)
                {
                    Assert.That(problem.GetProperty("errors").GetProperty("path")[0].GetString(), Does.Contain("/api/projects/{id}/files"), $"{method} {prefix}{file}");
                }
            }
        }

        Assert.That(await File.ReadAllTextAsync(Path.Combine(root, "docs", "keep.txt")), Is.EqualTo("kept"), "not deleted or overwritten");
        Assert.That(Directory.GetFiles(root, "*", SearchOption.AllDirectories).Where(f => File.ReadAllText(f) == "overwritten"), Is.Empty,
            "nothing written, under the routed name or the one the wrong cut made ('files/...', 'docs/...')");
    }

    /// <summary>The plain spellings still reach the file: an encoded slash inside the file path, case in the literals, an encoded letter.</summary>
    [Test]
    public async Task Encoded_slashes_in_the_file_path_and_other_plain_spellings_of_the_prefix_still_reach_the_file()
    {
        using (var put = await admin.SendAsync(new HttpRequestMessage(HttpMethod.Put, "/api/projects/ws/files/docs%2Fslashed.txt") { Content = new StringContent("slashed", Encoding.UTF8) }))
        {
            Assert.That(put.StatusCode, Is.EqualTo(HttpStatusCode.OK), await put.Content.ReadAsStringAsync());
        }

        Assert.That(await File.ReadAllTextAsync(Path.Combine(root, "docs", "slashed.txt")), Is.EqualTo("slashed"));
        foreach (var path in new[] { "/api/projects/ws/files/docs%2Fslashed.txt", "/API/Projects/ws/Files/docs/slashed.txt", "/api/projects/ws/%66iles/docs/slashed.txt" })
        {
            using var get = await admin.SendAsync(Raw(HttpMethod.Get, path));
            Assert.That(await get.Content.ReadAsStringAsync(), Is.EqualTo("slashed"), path);
        }

        using var delete = await admin.SendAsync(Raw(HttpMethod.Delete, "/api/projects/ws/files/docs%2Fslashed.txt"));
        Assert.That(delete.StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        Assert.That(File.Exists(Path.Combine(root, "docs", "slashed.txt")), Is.False);
    }

    [Test]
    public async Task Files_inside_the_root_can_be_listed_read_written_and_deleted()
    {
        var listing = await admin.GetFromJsonAsync<JsonElement>("/api/projects/ws/files/");
        Assert.That(listing.EnumerateArray().Select(e => e.GetProperty("name").GetString()), Is.SupersetOf(new[] { "docs", "escape", "link.txt" }));
        Assert.That(await admin.GetStringAsync("/api/projects/ws/files/docs/readme.txt"), Is.EqualTo("inside"));

        var put = await admin.PutAsync("/api/projects/ws/files/out/report.csv", new StringContent("a,b\n1,2\n", Encoding.UTF8));
        Assert.That(put.StatusCode, Is.EqualTo(HttpStatusCode.OK), await put.Content.ReadAsStringAsync());
        Assert.That(File.ReadAllText(Path.Combine(root, "out", "report.csv")), Is.EqualTo("a,b\n1,2\n"), "written under the project root, not the server's working directory");
        Assert.That(File.Exists(Path.Combine(server.WorkingDirectory, "out", "report.csv")), Is.False);

        await ApiAssertions.AssertProblemAsync(await admin.DeleteAsync("/api/projects/ws/files/out"), HttpStatusCode.Conflict);
        Assert.That((await admin.DeleteAsync("/api/projects/ws/files/out/report.csv")).StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        Assert.That((await admin.DeleteAsync("/api/projects/ws/files/out")).StatusCode, Is.EqualTo(HttpStatusCode.NoContent));
        await ApiAssertions.AssertProblemAsync(await admin.GetAsync("/api/projects/ws/files/out/report.csv"), HttpStatusCode.NotFound);
        await ApiAssertions.AssertProblemAsync(await admin.GetAsync("/api/projects/nope/files/x"), HttpStatusCode.NotFound);
    }

    [Test]
    public async Task Reading_a_file_over_the_10_MiB_cap_is_413_and_one_at_the_cap_is_read()
    {
        const long Cap = 10 * 1024 * 1024;
        Directory.CreateDirectory(Path.Combine(root, "big"));
        // Sparse files: the size is what counts, not the disk it takes.
        await using (var over = File.Create(Path.Combine(root, "big", "over.bin")))
        {
            over.SetLength(Cap + 1);
        }

        await using (var at = File.Create(Path.Combine(root, "big", "at.bin")))
        {
            at.SetLength(Cap);
        }

        var problem = await ApiAssertions.AssertProblemAsync(await admin.GetAsync("/api/projects/ws/files/big/over.bin"), HttpStatusCode.RequestEntityTooLarge);
        Assert.That(problem.GetProperty("detail").GetString(), Does.Contain((Cap + 1).ToString(System.Globalization.CultureInfo.InvariantCulture)));
        using var response = await admin.GetAsync("/api/projects/ws/files/big/at.bin", HttpCompletionOption.ResponseHeadersRead);
        Assert.That(response.StatusCode, Is.EqualTo(HttpStatusCode.OK));
        Assert.That((await response.Content.ReadAsByteArrayAsync()).LongLength, Is.EqualTo(Cap));
    }

    [Test]
    public async Task An_upload_cut_off_midway_leaves_no_temporary_file_and_no_file()
    {
        var directory = Path.Combine(root, "uploads");
        Directory.CreateDirectory(directory);
        using var abort = new CancellationTokenSource();
        using var request = new HttpRequestMessage(HttpMethod.Put, "/api/projects/ws/files/uploads/partial.bin") { Content = new StallingContent() };
        var sending = admin.SendAsync(request, abort.Token);

        // Cut the connection only once the server has started writing the body to its temporary file.
        await Poll.UntilAsync(() => Task.FromResult(Directory.GetFiles(directory, "*.tmp")), files => files.Length > 0, TimeSpan.FromSeconds(10), "the temporary file of the upload");
        await abort.CancelAsync();
        Assert.That(async () => await sending, Throws.InstanceOf<OperationCanceledException>());

        await Poll.UntilAsync(() => Task.FromResult(Directory.GetFiles(directory)), files => files.Length == 0, TimeSpan.FromSeconds(10),
            "the temporary file to be removed after the client went away");
        Assert.That(File.Exists(Path.Combine(directory, "partial.bin")), Is.False);
    }

    /// <summary>A request body that sends 64 KiB, then nothing until the request is cancelled, like a client that goes away midway.</summary>
    private sealed class StallingContent : HttpContent
    {
        protected override Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context) => SerializeToStreamAsync(stream, context, CancellationToken.None);

        protected override async Task SerializeToStreamAsync(Stream stream, System.Net.TransportContext? context, CancellationToken cancellationToken)
        {
            await stream.WriteAsync(new byte[64 * 1024], cancellationToken);
            await stream.FlushAsync(cancellationToken);
            await Task.Delay(Timeout.Infinite, cancellationToken);
        }

        protected override bool TryComputeLength(out long length)
        {
            length = -1;
            return false;
        }
    }
}
