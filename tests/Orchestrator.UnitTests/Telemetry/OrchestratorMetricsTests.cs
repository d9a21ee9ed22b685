using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Orchestrator.Runs;
using Orchestrator.Telemetry;

namespace Orchestrator.UnitTests.Telemetry;

public sealed class OrchestratorMetricsTests
{
    private sealed record Measurement(string Instrument, long Value, Dictionary<string, string?> Tags);

    /// <summary>Records what the metrics of one container measure (a listener per test: tests run in parallel).</summary>
    private static (OrchestratorMetrics Metrics, List<Measurement> Measured, IDisposable Lifetime) Listen()
    {
        var services = new ServiceCollection().AddMetrics().BuildServiceProvider();
        var factory = services.GetRequiredService<IMeterFactory>();
        var measured = new List<Measurement>();
        var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Meter.Scope == factory)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
        {
            lock (measured)
            {
                measured.Add(new Measurement(instrument.Name, value, tags.ToArray().ToDictionary(t => t.Key, t => t.Value?.ToString())));
            }
        });
        listener.Start();
        var metrics = new OrchestratorMetrics(factory);
        return (metrics, measured, new Disposables(listener, services));
    }

    [TestCase(LedgerDecision.ClaimFirstAttempt, "ran", "claim_first_attempt")]
    [TestCase(LedgerDecision.StartPending, "ran", "start_pending")]
    [TestCase(LedgerDecision.TakeOverAsRecovery, "taken_over", "take_over_as_recovery")]
    [TestCase(LedgerDecision.TakeOverAsRetry, "taken_over", "take_over_as_retry")]
    [TestCase(LedgerDecision.SkipFinished, "skipped_duplicate", "skip_finished")]
    [TestCase(LedgerDecision.SkipSameFiring, "skipped_duplicate", "skip_same_firing")]
    [TestCase(LedgerDecision.SkipStillRunning, "skipped_duplicate", "skip_still_running")]
    [TestCase(LedgerDecision.SkipRunGone, "skipped_run_gone", "skip_run_gone")]
    public void Each_ledger_decision_is_counted_as_ran_skipped_or_taken_over_with_its_rule(LedgerDecision decision, string counted, string reason)
    {
        var (metrics, measured, lifetime) = Listen();
        using (lifetime)
        {
            metrics.RecordLedgerDecision(decision);
        }

        var measurement = measured.Single();
        Assert.That(measurement.Instrument, Is.EqualTo("orchestrator.ledger.decisions"));
        Assert.That(measurement.Value, Is.EqualTo(1));
        Assert.That(measurement.Tags, Is.EquivalentTo(new Dictionary<string, string?> { ["decision"] = counted, ["reason"] = reason }));
    }

    [Test]
    public void Every_ledger_decision_has_a_reason_of_its_own()
    {
        var reasons = Enum.GetValues<LedgerDecision>().Select(OrchestratorMetrics.ReasonName).ToList();
        Assert.That(reasons, Is.Unique.And.None.EqualTo("_OTHER"));
    }

    [Test]
    public void Agent_tokens_are_counted_by_project_model_and_token_type_and_a_zero_count_is_not_measured()
    {
        var (metrics, measured, lifetime) = Listen();
        using (lifetime)
        {
            metrics.RecordAgentTokens("ops", "default", 1200, 300);
            metrics.RecordAgentTokens("ops", "default", 0, 0);
        }

        Assert.That(measured.Select(m => (m.Instrument, m.Value, m.Tags["project"], m.Tags["model"], m.Tags["token_type"])), Is.EqualTo(new[]
        {
            ("orchestrator.agent.tokens", 1200L, "ops", "default", "input"),
            ("orchestrator.agent.tokens", 300L, "ops", "default", "output"),
        }));
    }

    [Test]
    public void A_deadline_breach_is_counted_by_project_and_kind()
    {
        var (metrics, measured, lifetime) = Listen();
        using (lifetime)
        {
            metrics.RecordDeadlineBreach("reports", "succeed");
        }

        var measurement = measured.Single();
        Assert.That(measurement.Instrument, Is.EqualTo("orchestrator.deadline.breaches"));
        Assert.That(measurement.Tags, Is.EquivalentTo(new Dictionary<string, string?> { ["project"] = "reports", ["kind"] = "succeed" }));
    }

    [Test]
    public void A_firing_is_counted_with_its_trigger_and_a_negative_lateness_is_not_recorded_as_negative()
    {
        var (metrics, _, lifetime) = Listen();
        var lateness = new List<double>();
        using var listener = new MeterListener
        {
            InstrumentPublished = (instrument, l) =>
            {
                if (instrument.Name == "orchestrator.firing.lateness" && instrument.Meter.Name == OrchestratorMetrics.MeterName)
                {
                    l.EnableMeasurementEvents(instrument);
                }
            },
        };
        listener.SetMeasurementEventCallback<double>((_, value, tags, _) =>
        {
            if (tags.ToArray().Any(t => t.Key == "project" && (string?)t.Value == "lateness-test"))
            {
                lock (lateness)
                {
                    lateness.Add(value);
                }
            }
        });
        listener.Start();
        using (lifetime)
        {
            metrics.RecordFiring("lateness-test", "noop", RunTrigger.Manual, TimeSpan.FromMilliseconds(-40));
            metrics.RecordFiring("lateness-test", "noop", RunTrigger.Schedule, TimeSpan.FromSeconds(2.5));
        }

        Assert.That(lateness, Is.EqualTo(new[] { 0, 2.5 }));
    }

    private sealed class Disposables(params IDisposable[] items) : IDisposable
    {
        public void Dispose()
        {
            foreach (var item in items)
            {
                item.Dispose();
            }
        }
    }
}
