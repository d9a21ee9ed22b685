using Orchestrator.Hosting;

namespace Orchestrator.UnitTests.Hosting;

public sealed class ServerCommandTests
{
    [Test]
    public void No_verb_serves_and_passes_every_argument_to_the_host()
    {
        var command = ServerCommand.Parse(["--urls", "http://127.0.0.1:1"]);
        Assert.That(command.Verb, Is.EqualTo(ServerCommand.Serve));
        Assert.That(command.HostArgs, Is.EqualTo(new[] { "--urls", "http://127.0.0.1:1" }));
    }

    [Test]
    public void Migrate_keeps_configuration_arguments_for_the_host()
    {
        var command = ServerCommand.Parse(["migrate", "--Orchestrator:Database:Provider=Postgres"]);
        Assert.That(command.Verb, Is.EqualTo(ServerCommand.Migrate));
        Assert.That(command.HostArgs, Is.EqualTo(new[] { "--Orchestrator:Database:Provider=Postgres" }));
    }

    [Test]
    public void Keys_create_separates_its_own_options_from_configuration()
    {
        var command = ServerCommand.Parse(["keys", "create", "--role", "viewer", "--Orchestrator:DataDirectory=/d", "--name", "ci"]);
        Assert.That(command.Verb, Is.EqualTo(ServerCommand.CreateKey));
        Assert.That(command.CommandArgs, Is.EqualTo(new[] { "--role", "viewer", "--name", "ci" }));
        Assert.That(command.HostArgs, Is.EqualTo(new[] { "--Orchestrator:DataDirectory=/d" }));
    }
}
