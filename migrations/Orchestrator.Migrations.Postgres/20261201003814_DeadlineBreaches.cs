using System;
using Microsoft.EntityFrameworkCore.Migrations;
using Npgsql.EntityFrameworkCore.PostgreSQL.Metadata;

#nullable disable

namespace Orchestrator.Migrations.Postgres
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
                    id = table.Column<long>(type: "bigint", nullable: false)
                        .Annotation("Npgsql:ValueGenerationStrategy", NpgsqlValueGenerationStrategy.IdentityByDefaultColumn),
                    target_type = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    target_id = table.Column<string>(type: "character varying(400)", maxLength: 400, nullable: false),
                    project = table.Column<string>(type: "character varying(63)", maxLength: 63, nullable: false),
                    kind = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    occurrence = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    due_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    detected_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    node = table.Column<string>(type: "character varying(200)", maxLength: 200, nullable: false),
                    channel = table.Column<string>(type: "character varying(63)", maxLength: 63, nullable: false),
                    message = table.Column<string>(type: "character varying(2000)", maxLength: 2000, nullable: false),
                    notified_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    recovered_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    recovery_message = table.Column<string>(type: "character varying(2000)", maxLength: 2000, nullable: true),
                    recovery_notified_at = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    send_lease_until = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: true),
                    last_send_error = table.Column<string>(type: "character varying(2000)", maxLength: 2000, nullable: true)
                },
                constraints: table =>
                {
                    table.PrimaryKey("PK_deadline_breaches", x => x.id);
                });

            migrationBuilder.CreateTable(
                name: "deadline_watches",
                columns: table => new
                {
                    target_type = table.Column<string>(type: "character varying(16)", maxLength: 16, nullable: false),
                    target_id = table.Column<string>(type: "character varying(400)", maxLength: 400, nullable: false),
                    watched_since = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    start_checked_through = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    succeed_checked_through = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false),
                    silence_since = table.Column<DateTimeOffset>(type: "timestamp with time zone", nullable: false)
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
