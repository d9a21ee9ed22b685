using System.Diagnostics;

namespace Orchestrator.IntegrationTests.Infrastructure;

/// <summary>Poll with a deadline instead of sleeping.</summary>
public static class Poll
{
    public static async Task<T> UntilAsync<T>(Func<Task<T>> read, Func<T, bool> done, TimeSpan within, string what)
    {
        var deadline = Stopwatch.StartNew();
        T value = await read();
        while (!done(value))
        {
            if (deadline.Elapsed > within)
            {
                Assert.Fail($"Timed out after {within} waiting for {what}. Last value: {value}");
            }

            await Task.Delay(150);
            value = await read();
        }

        return value;
    }
}
