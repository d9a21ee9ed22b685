using System.Collections.Concurrent;
using System.Diagnostics;
using System.Net.Sockets;
using System.Text.Json;

namespace Orchestrator.IntegrationTests.Infrastructure;

/// <summary>
/// The simplest real receiver there is: Python's <c>http.server</c>, which reads exactly <c>Content-Length</c> bytes of a
/// request body (nothing when the header is missing, as with a chunked body). It answers 200 when the header is there
/// and matches the bytes read, 411 otherwise, and reports each request (path, the header, Transfer-Encoding, the body).
/// </summary>
public sealed class PythonHttpReceiver : IAsyncDisposable
{
    private const string Script = """
        import json, sys
        from http.server import BaseHTTPRequestHandler, HTTPServer

        class Receiver(BaseHTTPRequestHandler):
            def do_POST(self):
                length = self.headers.get('Content-Length')
                body = self.rfile.read(int(length)) if length is not None else b''
                ok = length is not None and int(length) == len(body) and len(body) > 0
                print(json.dumps({'path': self.path, 'contentLength': length, 'transferEncoding': self.headers.get('Transfer-Encoding'),
                                  'body': body.decode('utf-8', 'replace')}), flush=True)
                self.send_response(200 if ok else 411)
                self.send_header('Content-Length', '0')
                self.end_headers()

            def log_message(self, *args):
                pass

        HTTPServer(('127.0.0.1', int(sys.argv[1])), Receiver).serve_forever()
        """;

    private readonly Process process;
    private readonly ConcurrentQueue<Received> received = new();

    public sealed record Received(string Path, string? ContentLength, string? TransferEncoding, string Body);

    private PythonHttpReceiver(Process process, int port)
    {
        this.process = process;
        BaseUrl = $"http://127.0.0.1:{port}";
        process.OutputDataReceived += (_, e) =>
        {
            if (!string.IsNullOrWhiteSpace(e.Data))
            {
                var line = JsonDocument.Parse(e.Data).RootElement;
                received.Enqueue(new Received(line.GetProperty("path").GetString()!, line.GetProperty("contentLength").GetString(),
                    line.GetProperty("transferEncoding").GetString(), line.GetProperty("body").GetString()!));
            }
        };
    }

    public string BaseUrl { get; }

    public IReadOnlyList<Received> Requests => [.. received];

    public static async Task<PythonHttpReceiver> StartAsync()
    {
        const string python = "/usr/bin/python3";
        if (!File.Exists(python))
        {
            Assert.Ignore("python3 is not installed.");
        }

        var port = TestPostgres.FreePort();
        var info = new ProcessStartInfo(python) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "-c", Script, port.ToString(System.Globalization.CultureInfo.InvariantCulture) })
        {
            info.ArgumentList.Add(argument);
        }

        var process = Process.Start(info)!;
        var receiver = new PythonHttpReceiver(process, port);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        var deadline = Stopwatch.StartNew();
        while (deadline.Elapsed < TimeSpan.FromSeconds(15))
        {
            try
            {
                using var probe = new TcpClient();
                await probe.ConnectAsync("127.0.0.1", port);
                return receiver;
            }
            catch (SocketException)
            {
                await Task.Delay(100);
            }
        }

        await receiver.DisposeAsync();
        Assert.Fail("python3 http.server did not start listening within 15 s.");
        return null!;
    }

    public ValueTask DisposeAsync()
    {
        if (!process.HasExited)
        {
            process.Kill();
        }

        process.Dispose();
        return ValueTask.CompletedTask;
    }
}
