using System.Diagnostics;

namespace Orchestrator.IntegrationTests.Infrastructure;

/// <summary>Poll with a deadline instead of sleeping.</summary>
public static class Poll
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(150);

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

            await Task.Delay(Interval);
            value = await read();
        }

        return value;
    }

    /// <summary>
    /// Asserts an absence: <paramref name="happened"/> stays false for all of <paramref name="quiet"/>. It fails as soon
    /// as the thing happens, naming it, instead of sleeping the whole time and looking once at the end.
    /// </summary>
    public static async Task NothingHappensFor(TimeSpan quiet, Func<Task<bool>> happened, string what)
    {
        var clock = Stopwatch.StartNew();
        do
        {
            if (await happened())
            {
                Assert.Fail($"{what} happened {clock.Elapsed.TotalSeconds:0.0} s into a {quiet.TotalSeconds:0.#} s wait in which it must not.");
            }

            await Task.Delay(Interval);
        }
        while (clock.Elapsed < quiet);

        if (await happened())
        {
            Assert.Fail($"{what} happened at the end of a {quiet.TotalSeconds:0.#} s wait in which it must not.");
        }
    }

    /// <summary>
    /// Waits until <paramref name="read"/> has given the same value for <paramref name="quiet"/> (what is in flight has
    /// landed) and returns it; fails if it is still changing after <paramref name="within"/>.
    /// </summary>
    public static async Task<T> UntilSettledAsync<T>(Func<Task<T>> read, TimeSpan quiet, TimeSpan within, string what)
    {
        var deadline = Stopwatch.StartNew();
        var value = await read();
        var unchanged = Stopwatch.StartNew();
        while (unchanged.Elapsed < quiet)
        {
            if (deadline.Elapsed > within)
            {
                Assert.Fail($"Timed out after {within} waiting for {what} to settle. Last value: {value}");
            }

            await Task.Delay(Interval);
            var next = await read();
            if (!EqualityComparer<T>.Default.Equals(next, value))
            {
                (value, unchanged) = (next, Stopwatch.StartNew());
            }
        }

        return value;
    }
}
