using System.Text.Json.Nodes;
using Orchestrator.Audit;

namespace Orchestrator.UnitTests.Audit;

public sealed class AuditRedactionTests
{
    [Test]
    public void Header_values_and_secret_named_properties_are_masked_wherever_they_are()
    {
        var value = new
        {
            action = new { type = "call_api", config = new { url = "https://x.example", headers = new Dictionary<string, string> { ["Authorization"] = "Bearer abc123", ["X-Trace"] = "t" } } },
            nodes = new[] { new { email = new { password = "pw-1", host = "smtp" } } },
            settings = new { headerNames = new[] { "X-Token" } },
        };

        var json = JsonNode.Parse(AuditRedaction.Serialize(value)!)!;

        Assert.That(json["action"]!["config"]!["headers"]!["Authorization"]!.GetValue<string>(), Is.EqualTo(AuditRedaction.Mask));
        Assert.That(json["action"]!["config"]!["headers"]!["X-Trace"]!.GetValue<string>(), Is.EqualTo(AuditRedaction.Mask));
        Assert.That(json["nodes"]![0]!["email"]!["password"]!.GetValue<string>(), Is.EqualTo(AuditRedaction.Mask));
        Assert.That(json["nodes"]![0]!["email"]!["host"]!.GetValue<string>(), Is.EqualTo("smtp"), "other values stay");
        Assert.That(json["settings"]!["headerNames"]![0]!.GetValue<string>(), Is.EqualTo("X-Token"), "header names are not secret");
        Assert.That(json["action"]!["config"]!["url"]!.GetValue<string>(), Is.EqualTo("https://x.example"));
    }

    [Test]
    public void Nothing_serializes_to_null()
    {
        Assert.That(AuditRedaction.Serialize(null), Is.Null);
    }

    [TestCase("00:00:00", true)]
    [TestCase("23:59:59", true)]
    [TestCase("1.00:00:00", false)]
    [TestCase("365.00:00:00", false)]
    public void A_retention_under_a_day_is_refused_at_start(string retention, bool refused)
    {
        var failure = new AuditOptions { Retention = TimeSpan.Parse(retention, System.Globalization.CultureInfo.InvariantCulture) }.Check();
        Assert.That(failure is not null, Is.EqualTo(refused));
        if (refused)
        {
            Assert.That(failure, Does.StartWith("Orchestrator:Audit:Retention"));
        }
    }
}
