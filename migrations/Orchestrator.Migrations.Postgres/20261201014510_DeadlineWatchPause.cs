using System;
using Microsoft.EntityFrameworkCore.Migrations;

#nullable disable

namespace Orchestrator.Migrations.Postgres
{
    /// <inheritdoc />
    public partial class DeadlineWatchPause : Migration
    {
        /// <inheritdoc />
        protected override void Up(MigrationBuilder migrationBuilder)
        {
            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "paused_from",
                table: "deadline_watches",
                type: "timestamp with time zone",
                nullable: true);

            migrationBuilder.AddColumn<DateTimeOffset>(
                name: "resumed_at",
                table: "deadline_watches",
                type: "timestamp with time zone",
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
