namespace Orchestrator.Security;

/// <summary>Authorization policy names, one per minimum role.</summary>
public static class Policies
{
    public const string Viewer = "viewer";
    public const string Operator = "operator";
    public const string Admin = "admin";
}
