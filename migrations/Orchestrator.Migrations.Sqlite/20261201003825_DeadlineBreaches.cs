using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Orchestrator.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class DeadlineBreaches : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "deadline_breaches",
                columns: table => new
                {
                    id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    target_type = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    target_id = table.Column<string>(type: "TEXT", maxLength: 400, nullable: false),
                    project = table.Column<string>(type: "TEXT", maxLength: 63, nullable: false),
                    kind = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    occurrence = table.Column<long>(type: "INTEGER", nullable: false),
                    due_at = table.Column<long>(type: "INTEGER", nullable: false),
                    detected_at = table.Column<long>(type: "INTEGER", nullable: false),
                    node = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false),
                    channel = table.Column<string>(type: "TEXT", maxLength: 63, nullable: false),
                    message = table.Column<string>(type: "TEXT", maxLength: 2000, nullable: false),
                    notified_at = table.Column<long>(type: "INTEGER", nullable: true),
                    recovered_at = table.Column<long>(type: "INTEGER", nullable: true),
                    recovery_message = table.Column<string>(type: "TEXT", maxLength: 2000, nullable: true),
                    recovery_notified_at = table.Column<long>(type: "INTEGER", nullable: true),
                    send_lease_until = table.Column<long>(type: "INTEGER", nullable: true),
                    last_send_error = table.Column<string>(type: "TEXT", maxLength: 2000, nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_deadline_breaches", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "deadline_watches",
                columns: table => new
                {
                    target_type = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false),
                    target_id = table.Column<string>(type: "TEXT", maxLength: 400, nullable: false),
                    watched_since = table.Column<long>(type: "INTEGER", nullable: false),
                    start_checked_through = table.Column<long>(type: "INTEGER", nullable: false),
                    succeed_checked_through = table.Column<long>(type: "INTEGER", nullable: false),
                    silence_since = table.Column<long>(type: "INTEGER", nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_deadline_watches", x => new { x.target_type, x.target_id });
                });

            migrationBuilder.CreateIndex(
                name: "ix_deadline_breaches_detected",
                table: "deadline_breaches",
                column: "detected_at");

            migrationBuilder.CreateIndex(
                name: "ix_deadline_breaches_project_recovered",
                table: "deadline_breaches",
                columns: new[] { "project", "recovered_at" });

            migrationBuilder.CreateIndex(
                name: "ux_deadline_breaches_occurrence",
                table: "deadline_breaches",
                columns: new[] { "target_type", "target_id", "kind", "occurrence" },
                unique: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "deadline_breaches");

            migrationBuilder.DropTable(
                name: "deadline_watches");
        }
    }
}
