using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Orchestrator.Migrations.Sqlite
{
    /// <inheritdoc />
    public partial class DeadlineWatchPause : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<long>(
                name: "paused_from",
                table: "deadline_watches",
                type: "INTEGER",
                nullable: true);

            migrationBuilder.AddColumn<long>(
                name: "resumed_at",
                table: "deadline_watches",
                type: "INTEGER",
                nullable: true);
        }

        /// <inheritdoc />
        protected override void Down(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.DropColumn(
                name: "paused_from",
                table: "deadline_watches");

            migrationBuilder.DropColumn(
                name: "resumed_at",
                table: "deadline_watches");
        }
    }
}
