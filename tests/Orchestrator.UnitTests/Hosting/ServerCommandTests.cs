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

    [TestCase("--role' is required", "keys", "create")]
    [TestCase("'frob' is not a role", "keys", "create", "--role", "frob")]
    [TestCase("Required argument missing for option: '--role'", "keys", "create", "--role")]
    [TestCase("1–100", "keys", "create", "--role", "admin", "--name", "")]
    [TestCase("control characters", "keys", "create", "--role", "admin", "--name", "ci\nAdmin API key: forged")]
    [TestCase("control characters", "keys", "create", "--role", "admin", "--name", "tab\there")]
    public async Task Keys_create_refuses_bad_arguments_before_anything_runs(string said, params string[] arguments)
    {
        var command = ServerCommand.Parse(arguments);
        Assert.That(command.Verb, Is.EqualTo(ServerCommand.Invalid));
        var errors = new StringWriter();
        Assert.That(await command.RunWithoutServerAsync(TextWriter.Null, errors), Is.EqualTo(2));
        Assert.That(errors.ToString(), Does.Contain(said).And.Contain("Usage:").And.Contain(" keys create [options]"));
    }

    [Test]
    public void Configuration_keys_pass_to_the_host_with_their_values_in_either_form()
    {
        var command = ServerCommand.Parse(["--urls", "http://x", "--environment", "Production", "--contentRoot=/srv", "--Orchestrator:Database:Provider", "Postgres", "--Logging:LogLevel:Default=Warning"]);
        Assert.That(command.Verb, Is.EqualTo(ServerCommand.Serve), command.Error);
        Assert.That(command.HostArgs, Is.EqualTo(new[] { "--urls", "http://x", "--environment", "Production", "--contentRoot=/srv", "--Orchestrator:Database:Provider", "Postgres", "--Logging:LogLevel:Default=Warning" }));
    }

    [TestCase("--help")]
    [TestCase("-h")]
    [TestCase("keys", "create", "--help")]
    [TestCase("schedules", "create", "-h")]
    [TestCase("runs", "watch", "--help")]
    [TestCase("serve", "--help")]
    public async Task Help_anywhere_prints_the_usage_and_exits_0(params string[] args)
    {
        var command = ServerCommand.Parse(args);
        Assert.That(command.Verb, Is.EqualTo(ServerCommand.Client));
        var output = new StringWriter();
        Assert.That(await command.RunWithoutServerAsync(output, TextWriter.Null), Is.Zero);
        Assert.That(output.ToString(), Does.Contain("Usage:").And.Contain($" {string.Join(' ', args[..^1])} "));
    }

    [TestCase("/?")]
    [TestCase("--urls", "http://x", "/h")]
    [TestCase("keys", "create", "--role", "viewer", "-h")]
    [TestCase("--urls", "http://x", "--help")]
    public void Help_in_option_position_asks_for_the_usage(params string[] args) =>
        Assert.That(ServerCommand.Parse(args).Verb, Is.EqualTo(ServerCommand.Client));

    [TestCase("--contentRoot", "/h")]
    [TestCase("--urls", "-h")]
    [TestCase("--Orchestrator:DataDirectory", "/?")]
    [TestCase("keys", "create", "--role", "viewer", "--name", "-h")]
    public void A_value_that_looks_like_help_is_a_value_not_a_request_for_the_usage(params string[] args)
    {
        var command = ServerCommand.Parse(args);
        Assert.That(command.Verb, Is.Not.EqualTo(ServerCommand.Client));
        Assert.That(command.Verb, Is.Not.EqualTo(ServerCommand.Invalid), command.Error);
    }

    [TestCase("frobnicate")]
    [TestCase("--frobnicate")]
    [TestCase("--frobnicate=1")]
    [TestCase("keys")]
    [TestCase("migrate", "extra")]
    [TestCase("--urls")]
    [TestCase("schedules")]
    [TestCase("schedules", "frob")]
    [TestCase("schedules", "get")]
    [TestCase("schedules", "create")]
    [TestCase("runs", "watch", "x", "--interval", "0")]
    [TestCase("schedules", "list", "--urls", "http://x")]
    [TestCase("keys", "create", "--role", "admin", "--project", "p")]
    public async Task Unknown_verbs_options_and_missing_values_are_refused(params string[] args)
    {
        var command = ServerCommand.Parse(args);
        Assert.That(command.Verb, Is.EqualTo(ServerCommand.Invalid));
        var errors = new StringWriter();
        Assert.That(await command.RunWithoutServerAsync(TextWriter.Null, errors), Is.EqualTo(2));
        Assert.That(errors.ToString(), Does.Contain("Usage:"));
    }

    [TestCase("serve")]
    [TestCase("run", "--urls", "http://x")]
    public void Serve_and_run_are_the_default_verb_by_name(params string[] args)
    {
        var command = ServerCommand.Parse(args);
        Assert.That(command.Verb, Is.EqualTo(ServerCommand.Serve));
        Assert.That(command.HostArgs, Is.EqualTo(args[1..]));
    }

    [Test]
    public void Configuration_may_come_before_the_verb()
    {
        var command = ServerCommand.Parse(["--Orchestrator:Database:Provider=Postgres", "migrate"]);
        Assert.That(command.Verb, Is.EqualTo(ServerCommand.Migrate));
        Assert.That(command.HostArgs, Is.EqualTo(new[] { "--Orchestrator:Database:Provider=Postgres" }));
    }

    [Test]
    public void Keys_create_with_a_server_is_a_remote_command_not_the_local_bootstrap()
    {
        var command = ServerCommand.Parse(["keys", "create", "--role", "viewer", "--server", "http://127.0.0.1:1"]);
        Assert.That(command.Verb, Is.EqualTo(ServerCommand.Client));
    }

    [Test]
    public async Task A_remote_command_without_a_server_is_a_usage_error()
    {
        var previous = Environment.GetEnvironmentVariable("ORCHESTRATOR_SERVER");
        Environment.SetEnvironmentVariable("ORCHESTRATOR_SERVER", null);
        try
        {
            var command = ServerCommand.Parse(["schedules", "list"]);
            var errors = new StringWriter();
            Assert.That(await command.RunWithoutServerAsync(TextWriter.Null, errors), Is.EqualTo(2));
            Assert.That(errors.ToString(), Does.Contain("--server").And.Contain("ORCHESTRATOR_SERVER"));
        }
        finally
        {
            Environment.SetEnvironmentVariable("ORCHESTRATOR_SERVER", previous);
        }
    }
}
