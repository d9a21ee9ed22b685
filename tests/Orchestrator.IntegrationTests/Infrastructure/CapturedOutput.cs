using System.Text;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Logging.Console;

namespace Orchestrator.IntegrationTests.Infrastructure;

/// <summary>
/// An in-process server's "console": what it prints (the admin key banner) and every log entry, formatted by the same
/// console formatter the binary writes with, so that <see cref="ServerLog"/> and the tests' text checks read one
/// in-process server's output exactly as they read a process's.
/// </summary>
public sealed class CapturedOutput
{
    private readonly StringBuilder text = new();
    private readonly Lock gate = new();

    public CapturedOutput() => Console = new Writer(this);

    /// <summary>Stands in for standard output where the server writes to it directly.</summary>
    public TextWriter Console { get; }

    public string Text
    {
        get
        {
            lock (gate)
            {
                return text.ToString();
            }
        }
    }

    public void Append(string value)
    {
        lock (gate)
        {
            text.Append(value);
        }
    }

    /// <summary>A logger provider writing through <paramref name="formatter"/> (the console's "simple" formatter).</summary>
    public ILoggerProvider LoggerProvider(ConsoleFormatter formatter) => new Provider(this, formatter);

    private sealed class Writer(CapturedOutput output) : TextWriter
    {
        public override Encoding Encoding => Encoding.UTF8;

        public override void Write(char value) => output.Append(value.ToString());

        public override void Write(string? value) => output.Append(value ?? "");

        public override void WriteLine(string? value) => output.Append((value ?? "") + NewLine);

        public override Task WriteLineAsync(string? value)
        {
            WriteLine(value);
            return Task.CompletedTask;
        }

        public override Task WriteAsync(string? value)
        {
            Write(value);
            return Task.CompletedTask;
        }
    }

    private sealed class Provider(CapturedOutput output, ConsoleFormatter formatter) : ILoggerProvider, ISupportExternalScope
    {
        private readonly CapturedOutput output = output;
        private readonly ConsoleFormatter formatter = formatter;
        private IExternalScopeProvider scopes = new LoggerExternalScopeProvider();

        public ILogger CreateLogger(string categoryName) => new Logger(this, categoryName);

        public void SetScopeProvider(IExternalScopeProvider scopeProvider) => scopes = scopeProvider;

        public void Dispose()
        {
        }

        private sealed class Logger(Provider provider, string category) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state)
                where TState : notnull => provider.scopes.Push(state);

            public bool IsEnabled(LogLevel logLevel) => logLevel != LogLevel.None;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                var entry = new LogEntry<TState>(logLevel, category, eventId, state, exception, formatter);
                using var writer = new StringWriter();
                provider.formatter.Write(in entry, provider.scopes, writer);
                provider.output.Append(writer.ToString());
            }
        }
    }
}
