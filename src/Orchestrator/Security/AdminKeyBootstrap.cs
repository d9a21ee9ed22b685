using Microsoft.EntityFrameworkCore;
using Orchestrator.Audit;
using Orchestrator.Hosting;

namespace Orchestrator.Security;

/// <summary>
/// On the very first start (no keys at all) creates an admin key and prints it once to standard output.
/// It is never logged: logs are shipped and kept, the console of a first start is seen once.
/// </summary>
public sealed class AdminKeyBootstrap(IServiceScopeFactory scopes, StorageChoice storage, TextWriter? console = null)
{
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        await using var scope = scopes.CreateAsyncScope();
        var keys = scope.ServiceProvider.GetRequiredService<ApiKeyStore>();
        if (await keys.AnyAsync(cancellationToken))
        {
            return;
        }

        ApiKey key;
        string plain;
        try
        {
            (key, plain) = await keys.CreateAsync(ApiKeyStore.BootstrapKeyName, ApiRole.Admin, cancellationToken);
        }
        catch (DbUpdateException)
        {
            // Another node starting at the same moment inserted the bootstrap key first (unique name); it printed it.
            return;
        }

        // The first admin key is the root of every later change: the log says when it appeared and that the server made
        // it (no request, so the actor and source are "system"), as for any key, never its secret or hash.
        await scope.ServiceProvider.GetRequiredService<AuditLog>().RecordAsync(
            new AuditChange("key.create", "key", key.Id.ToString(), null, null, KeyService.Described(key), "first start: no API keys existed"), cancellationToken);

        var output = console ?? Console.Out;
        await output.WriteLineAsync("==================================================================");
        await output.WriteLineAsync("No API keys existed, so an admin key was created. It is shown once:");
        await output.WriteLineAsync($"  Admin API key: {plain}");
        await output.WriteLineAsync("Keep it somewhere safe; make more with 'Orchestrator keys create --role <role>'.");
        // The keys, schedules and runs live there: say where, so nobody deletes it by accident (Orchestrator:DataDirectory moves it).
        await output.WriteLineAsync($"Database: {storage.DescribeDatabase()}");
        await output.WriteLineAsync("==================================================================");
        await output.FlushAsync(cancellationToken);
    }
}
