using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Orchestrator.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class SchedulePauseIntervals : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.CreateTable(
                name: "schedule_pauses",
                columns: table => new
                {
                    id = table.Column<long>(type: "INTEGER", nullable: false)
                        .Annotation("Sqlite:Autoincrement", true),
                    schedule_id = table.Column<string>(type: "TEXT", maxLength: 400, nullable: false),
                    paused_at = table.Column<long>(type: "INTEGER", nullable: false),
                    resumed_at = table.Column<long>(type: "INTEGER", nullable: true),
                    reason = table.Column<string>(type: "TEXT", maxLength: 250, nullable: true),
                    paused_by = table.Column<string>(type: "TEXT", maxLength: 200, nullable: false),
                    resumed_by = table.Column<string>(type: "TEXT", maxLength: 200, nullable: true),
                    source = table.Column<string>(type: "TEXT", maxLength: 16, nullable: false)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_schedule_pauses", x => x.id);
                });

            migrationBuilder.CreateIndex(
                name: "ix_schedule_pauses_resumed",
                table: "schedule_pauses",
                column: "resumed_at");

            migrationBuilder.CreateIndex(
                name: "ix_schedule_pauses_schedule",
                table: "schedule_pauses",
                columns: new[] { "schedule_id", "paused_at" });

            migrationBuilder.CreateIndex(
                name: "ux_schedule_pauses_open",
                table: "schedule_pauses",
                column: "schedule_id",
                unique: true,
                filter: "resumed_at IS NULL");
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropTable(
                name: "schedule_pauses");
        }
    }
}
