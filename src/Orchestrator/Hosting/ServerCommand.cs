namespace Orchestrator.Hosting;

/// <summary>
/// What the binary was asked to do: serve (default), <c>migrate</c>, or <c>keys create --role R [--name N]</c>.
/// Every other argument is configuration (<c>--Orchestrator:Database:Provider=Postgres</c>) and goes to the host.
/// </summary>
public sealed record ServerCommand(string Verb, IReadOnlyList<string> CommandArgs, string[] HostArgs)
{
    public const string Serve = "serve";
    public const string Migrate = "migrate";
    public const string CreateKey = "keys create";

    public static ServerCommand Parse(string[] args)
    {
        if (args.Length > 0 && args[0] == "migrate")
        {
            return new(Migrate, [], args[1..]);
        }

        if (args.Length > 1 && args[0] == "keys" && args[1] == "create")
        {
            var own = new List<string>();
            var host = new List<string>();
            for (var i = 2; i < args.Length; i++)
            {
                if (args[i] is "--role" or "--name")
                {
                    own.Add(args[i]);
                    if (i + 1 < args.Length)
                    {
                        own.Add(args[++i]);
                    }
                }
                else
                {
                    host.Add(args[i]);
                }
            }

            return new(CreateKey, own, [.. host]);
        }

        return new(Serve, [], args);
    }
}
